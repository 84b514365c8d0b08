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
  - A signer given with keys counts for a tag only when its own M(openbanking.content_trust.trust_verify) check
    (O(key_checks)) verified the tag - a signer of the same name that a holder of the repository key made with
    another key does not.
  - Used by C(playbooks/bridge_signatures.yml).
positional: _input, signers, key_checks, revoked
options:
  _input:
    description: The C(results) of trust_verify (C(repository), C(tag), C(signed_digest), C(registry_digest), C(signers), C(verified), C(problems)).
    type: list
    elements: dict
    required: true
  signers:
    description:
      - Signers whose Notary signatures are bridged; empty means any signer.
      - A signer is a name, matched by name, or a dict C({name, key_ids}) or C({name, public_key}) (the inventory's
        C(signers[]) shape), which counts only where O(key_checks) says that one of its keys signed the tag.
    type: list
    elements: raw
    default: []
  key_checks:
    description:
      - For the signers given with keys, the registered result of a M(openbanking.content_trust.trust_verify) loop
        over them (C(signer) set to each one, as C(playbooks/bridge_signatures.yml) runs it) - its C(results); each
        element's C(item) is the signer and its C(results) say per tag whether that signer's keys signed it.
      - A signer with keys and no check of its own is counted for no tag.
    type: list
    elements: dict
    default: []
  revoked:
    description:
      - The revocation list, C(content_trust_revoked_images) (C([{repository, tags, reason}])). A listed tag is never
        carried over, whatever its Notary signature; it is refused with the reason.
    type: list
    elements: dict
    default: []
'''

EXAMPLES = r'''
- name: Decide what to bridge
  ansible.builtin.set_fact:
    plan: "{{ verification.results | openbanking.content_trust.bridge_plan(['jeff']) }}"

- name: Decide what to bridge, counting jeff only where his own key signed (one trust_verify per keyed signer)
  ansible.builtin.set_fact:
    plan: "{{ verification.results | openbanking.content_trust.bridge_plan(signers, key_checks.results) }}"
'''

RETURN = r'''
_value:
  description:
    - C(sign) - per repository, C(repository), C(tags) and C(digests) (tag to the Notary-signed digest), ready for
      cosign_sign and notation_sign; C(refused) - C(reference), C(signed_digest), C(registry_digest) and C(reason)
      per tag that is not bridged.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import parse_revoked, refusal
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerkeys import parse_signers


def _policy(signers):
    try:
        return parse_signers(signers, 'the signers of bridge_plan')
    except InputError as exc:
        raise AnsibleFilterError(str(exc))


def _key_verdicts(key_checks):
    """``{(signer name, repository, tag): (signed digest or None, problems)}`` from trust_verify runs, one per signer
    given with keys."""
    verdicts = {}
    for check in key_checks or []:
        item = (check or {}).get('item')
        name = item.get('name') if isinstance(item, dict) else None
        if not name or check.get('failed') or check.get('skipped'):
            continue
        for r in check.get('results') or []:
            good = r.get('verified') and r.get('signed_digest')
            verdicts[(name, r.get('repository'), r.get('tag'))] = (
                r.get('signed_digest') if good else None, list(r.get('problems') or []))
    return verdicts


def bridge_plan(results, signers=None, key_checks=None, revoked=None):
    policy = _policy(signers or [])
    try:
        revoked = parse_revoked(revoked)
    except InputError as exc:
        raise AnsibleFilterError('bridge_plan: %s' % exc)
    names = [s['name'] for s in policy]
    keyed = set(s['name'] for s in policy if s['key_ids'])
    verdicts = _key_verdicts(key_checks)
    sign = []
    by_repo = {}
    refused = []
    for r in results or []:
        reason = None
        wanted, by_key = [], []
        for s in r.get('signers') or []:
            if names and s not in names:
                continue
            if s in keyed:
                digest, problems = verdicts.get((s, r.get('repository'), r.get('tag')), (None, ['not checked']))
                if digest is None or digest != r.get('signed_digest'):
                    by_key.append('%s: %s' % (s, '; '.join(problems) or 'not signed by its keys'))
                    continue
            wanted.append(s)
        listed = (revoked.get(r.get('repository')) or {}).get(r.get('tag'))
        if listed is not None:
            reason = refusal(listed)
        elif not r.get('signed_digest'):
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
                ', '.join(r.get('signers') or []) or 'nobody', ', '.join(names))
            if by_key:
                reason += '; not by the given keys: %s' % '; '.join(by_key)
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
