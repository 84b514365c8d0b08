# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: bridge_plan
short_description: Which Notary-signed tags may get cosign and Notation signatures
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Takes the C(results) of M(openbanking.content_trust.trust_verify) over every signed tag of the bridged
    repositories and decides, per tag, whether its digest may be signed in another format.
  - A tag qualifies when its Notary signature verifies, one of O(signers) signed it (any signer when empty), and
    the registry still serves the digest Notary signed. Every other tag is refused, with the reason.
  - Used by C(playbooks/bridge_signatures.yml).
positional: _input, signers
options:
  _input:
    description: The C(results) of trust_verify (C(repository), C(tag), C(signed_digest), C(registry_digest), C(signers), C(verified), C(problems)).
    type: list
    elements: dict
    required: true
  signers:
    description: Signers whose Notary signatures are bridged; empty means any signer.
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Decide what to bridge
  ansible.builtin.set_fact:
    plan: "{{ verification.results | openbanking.content_trust.bridge_plan(['jeff']) }}"
'''

RETURN = r'''
_value:
  description:
    - C(sign) - per repository, C(repository), C(tags) and C(digests) (tag to the Notary-signed digest), ready for
      cosign_sign and notation_sign; C(refused) - C(reference), C(signed_digest), C(registry_digest) and C(reason)
      per tag that is not bridged.
  type: dict
'''


def bridge_plan(results, signers=None):
    signers = list(signers or [])
    sign = []
    by_repo = {}
    refused = []
    for r in results or []:
        reason = None
        wanted = [s for s in r.get('signers') or [] if not signers or s in signers]
        if not r.get('signed_digest'):
            # why, when the verification says (a root the pins refuse has no signed digest to show)
            reason = 'not signed with Notary' + (': ' + '; '.join(r['problems']) if r.get('problems') else '')
        elif r.get('registry_digest') and r['registry_digest'] != r['signed_digest']:
            reason = ('the registry serves %s, not the digest %s Notary signed (re-pushed after signing)'
                      % (r['registry_digest'], r['signed_digest']))
        elif not r.get('registry_digest'):
            reason = 'the registry has no such tag'
        elif not r.get('verified'):
            reason = '; '.join(r.get('problems') or ['the Notary signature does not verify'])
        elif not wanted:
            reason = 'signed by %s, none of the bridged signers (%s)' % (
                ', '.join(r.get('signers') or []) or 'nobody', ', '.join(signers))
        if reason:
            refused.append({'reference': r.get('reference') or '%s:%s' % (r['repository'], r['tag']),
                            'repository': r['repository'], 'tag': r['tag'], 'signed_digest': r.get('signed_digest'),
                            'registry_digest': r.get('registry_digest'), 'reason': reason})
            continue
        if r['repository'] not in by_repo:
            by_repo[r['repository']] = {'repository': r['repository'], 'tags': [], 'digests': {}, 'signers': {}}
            sign.append(by_repo[r['repository']])
        entry = by_repo[r['repository']]
        entry['tags'].append(r['tag'])
        entry['digests'][r['tag']] = r['signed_digest']
        entry['signers'][r['tag']] = wanted
    return {'sign': sign, 'refused': refused}


class FilterModule(object):
    def filters(self):
        return {'bridge_plan': bridge_plan}
