# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: rollback_report
short_description: The lines of a failed release's message - what was signed, what was and was not rolled back
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Lists what a failed release pushed and signed with Notary, the cosign and Notation signatures it pushed (which
    are NOT rolled back, they stay in the registry), and what the rollback of the Notary trust data did - each tag
    revoked or signed for its previous digest again, each tag it could not put back and why, and the tags left
    alone because this run did not change them.
  - The P(openbanking.content_trust.publish_release#role) role ends a failed release with these lines.
  - Runs on the controller. Standard library only.
positional: _input
options:
  _input:
    description: trust_push's RV(openbanking.content_trust.trust_push#module:images) of the failed run (empty when it failed before).
    type: list
    elements: dict
    required: true
  plan:
    description: What P(openbanking.content_trust.rollback_plan#filter) returned.
    type: dict
  enabled:
    description: Whether the rollback was asked for (C(content_trust_release_rollback)).
    type: bool
    default: true
  inspected:
    description: The registered trust_info after the failure (a failed read is reported as such).
    type: raw
  revoked:
    description: The registered loop of the trust_revoke task of the rollback.
    type: raw
  restored:
    description: The registered loop of the trust_push task of the rollback.
    type: raw
  cosign:
    description: The registered loop of the cosign_sign task of the release.
    type: raw
  notation:
    description: The registered loop of the notation_sign task of the release.
    type: raw
  formats:
    description: The release's signature formats (C(content_trust_signature_formats)).
    type: list
    elements: str
    default: [notary]
seealso:
  - plugin: openbanking.content_trust.rollback_plan
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Report what could not be published
  ansible.builtin.fail:
    msg: >-
      {{ failed_push.images | openbanking.content_trust.rollback_report(plan=rollback, inspected=after_failure,
         revoked=revoked, restored=restored, formats=['notary']) | join('\n') }}
'''

RETURN = r'''
_value:
  description: The lines of the message, in order.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._rollback import rollback_report as _report


def rollback_report(progress, plan=None, enabled=True, inspected=None, revoked=None, restored=None, cosign=None,
                    notation=None, formats=None):
    """See DOCUMENTATION."""
    try:
        return _report(progress, plan=plan, enabled=enabled, inspected=inspected, revoked=revoked, restored=restored,
                       cosign=cosign, notation=notation, formats=formats)
    except (InputError, KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('rollback_report: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'rollback_report': rollback_report}
