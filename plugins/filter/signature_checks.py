# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: signature_checks
short_description: One verification result per image tag, with a column per signature format
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Merges the Notary checks of a release (one per repository and tag) with the registered results of
    M(openbanking.content_trust.cosign_verify) and M(openbanking.content_trust.notation_verify) loops, so
    that each tag has C(signatures) - whether it verified in each format - and is C(verified) only when every
    listed format verified it on the same digest.
  - The same checks as M(openbanking.content_trust.release_report), which the publish_release role ends a release with;
    fit for a team's own reports.
positional: _input, formats, cosign, notation
options:
  _input:
    description:
      - The Notary checks (dicts with C(repository), C(tag), C(reference), C(digest), C(verified), C(problems)),
        or an empty list when Notary is not among O(formats).
      - The C(results) of M(openbanking.content_trust.trust_verify) (or of M(openbanking.content_trust.trust_push)'s
        C(verification)) are taken as they are, C(signed_digest) as C(digest).
    type: list
    elements: dict
    required: true
  formats:
    description: The formats that must verify (C(notary), C(cosign), C(notation)).
    type: list
    elements: str
    required: true
  cosign:
    description: The C(results) of a registered cosign_verify loop (each with C(item.repository) and C(results)).
    type: list
    elements: dict
    default: []
  notation:
    description: The C(results) of a registered notation_verify loop.
    type: list
    elements: dict
    default: []
'''

EXAMPLES = r'''
- name: Merge the checks
  ansible.builtin.set_fact:
    checks: "{{ notary_checks | openbanking.content_trust.signature_checks(['notary', 'cosign'], cosign_run.results) }}"
'''

RETURN = r'''
_value:
  description: One check per repository and tag, in order, with C(signatures) (format to bool) and C(line).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils import _report


def signature_checks(notary_checks, formats, cosign=None, notation=None):
    """The checks of ``_report.signature_checks`` (shared with the release_report action)."""
    try:
        return _report.signature_checks(notary_checks, formats, cosign, notation)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {'signature_checks': signature_checks}
