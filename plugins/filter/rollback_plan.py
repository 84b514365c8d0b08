# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: rollback_plan
short_description: What the rollback of a failed release undoes in the Notary trust data, and as whom
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Given what a failed M(openbanking.content_trust.trust_push) run with O(openbanking.content_trust.trust_push#module:images)
    did (its RV(openbanking.content_trust.trust_push#module:images), returned with the failure too) and one
    M(openbanking.content_trust.trust_info) of the release's repositories after the failure, returns the
    M(openbanking.content_trust.trust_revoke) and M(openbanking.content_trust.trust_push) calls that undo ONLY what
    that run changed, as that run's signer.
  - Only tags the run signed (C(results[].signed)) are considered. A tag the run signed anew is revoked; a tag whose
    digest the run changed is signed for the digest the signer had signed before (C(signer_before)), never for a
    digest the signer had not signed. When other signers had signed a tag this signer had not, the tag is revoked
    and reported in C(not_restored), as the signer does not vouch for their digest.
  - A tag whose signature by the signer is no longer the one the run made (another host's release as the same
    signer came after it), and a tag the run did not sign whose trust data changed during the run (another signer
    or host), are left alone and reported in C(left_alone).
  - The P(openbanking.content_trust.publish_release#role) role uses it after a failed release; its failure message
    comes from the P(openbanking.content_trust.rollback_report#filter) filter.
  - Runs on the controller. Standard library only.
positional: _input, inspected, signer
options:
  _input:
    description:
      - trust_push's RV(openbanking.content_trust.trust_push#module:images) of the failed run, C([{repository, before,
        signer_before, results}]).
    type: list
    elements: dict
    required: true
  inspected:
    description: The registered result of trust_info of the release's repositories after the failure, or its C(repositories).
    type: raw
    required: true
  signer:
    description: The signer of the failed run (C(content_trust_release_signer)).
    type: str
    required: true
seealso:
  - module: openbanking.content_trust.trust_push
  - module: openbanking.content_trust.trust_revoke
  - plugin: openbanking.content_trust.rollback_report
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Read the trust data after the failure
  openbanking.content_trust.trust_info:
    references: "{{ release_repositories }}"
  register: after_failure

- name: Revoke the tags the failed run signed anew
  openbanking.content_trust.trust_revoke:
    repository: "{{ item.repository }}"
    tags: "{{ item.tags }}"
    signer: release-bot
    signer_passphrase: "{{ vault_release_bot_passphrase }}"
    missing: ignore
  loop: "{{ (failed_push.images | openbanking.content_trust.rollback_plan(after_failure, 'release-bot')).revoke }}"
'''

RETURN = r'''
_value:
  description:
    - C(revoke) - C([{repository, tags}]), tags to revoke as the signer (it had not signed them before).
    - C(restore) - C([{repository, digests}]), C(digests) mapping each tag to a digest, the tags to sign again for the digest the
      signer had signed before (M(openbanking.content_trust.trust_push) with C(push=false) and C(digests)).
    - C(not_restored) - C([{repository, tag, reason}]), what the rollback cannot put back and why.
    - C(left_alone) - C([{repository, tag, reason}]), trust data that changed but not by this run (or again after it).
    - C(unchanged) - C(repository:tag) the run re-signed for the digest the signer had signed already.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._rollback import rollback_plan as _plan


def rollback_plan(progress, inspected, signer):
    """See DOCUMENTATION."""
    try:
        return _plan(progress, inspected, signer)
    except (InputError, KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('rollback_plan: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'rollback_plan': rollback_plan}
