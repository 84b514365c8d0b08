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
  - Used by the publish_release role for its report; also fit for a team's own reports.
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

FORMATS = ('notary', 'cosign', 'notation')


def _tag_results(registered):
    """``{(repository, tag): result}`` from a registered loop of cosign_verify/notation_verify."""
    out = {}
    for entry in registered or []:
        if not isinstance(entry, dict) or entry.get('skipped'):
            continue
        repository = (entry.get('item') or {}).get('repository') or entry.get('repository')
        for result in entry.get('results') or []:
            out[(repository, result['tag'])] = result
    return out


def signature_checks(notary_checks, formats, cosign=None, notation=None):
    formats = list(formats or [])
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise AnsibleFilterError('signature formats must be a non-empty list of %s, got %r' % (', '.join(FORMATS), formats))
    by_format = {'cosign': _tag_results(cosign), 'notation': _tag_results(notation)}
    checks = []
    if 'notary' in formats:
        for check in notary_checks or []:
            check = dict(check)
            if 'signed_digest' in check:  # trust_verify's results
                check['digest'] = check.pop('signed_digest')
            checks.append(check)
    else:
        seen = []
        for fmt in ('cosign', 'notation'):
            for key, result in by_format[fmt].items():
                if key not in seen:
                    seen.append(key)
                    checks.append({'repository': key[0], 'tag': key[1], 'reference': '%s:%s' % key,
                                   'digest': result.get('digest'), 'registry_digest': result.get('digest'),
                                   'signers': [], 'pulled': None, 'verified': True, 'problems': []})
    for check in checks:
        key = (check['repository'], check['tag'])
        signatures = {}
        problems = list(check.get('problems') or [])
        if 'notary' in formats:
            signatures['notary'] = bool(check.get('verified'))
        for fmt in ('cosign', 'notation'):
            if fmt not in formats:
                continue
            result = by_format[fmt].get(key)
            if result is None:
                signatures[fmt] = False
                problems.append('%s: not verified' % fmt)
                continue
            ok = bool(result.get('verified'))
            if ok and check.get('digest') and result.get('digest') != check['digest']:
                ok = False
                problems.append('%s: verified %s, not the Notary-signed %s' % (fmt, result.get('digest'), check['digest']))
            elif not ok:
                problems.extend('%s: %s' % (fmt, p) for p in (result.get('problems') or ['not verified']))
            signatures[fmt] = ok
        check['signatures'] = signatures
        check['problems'] = problems
        check['verified'] = all(signatures.values())
        check['line'] = '%s  %s  %s  %s' % (
            check['reference'], check.get('digest') or '-',
            '  '.join('%s: %s' % (f, 'ok' if signatures[f] else 'NO') for f in formats),
            'verified' if check['verified'] else 'NOT VERIFIED: ' + '; '.join(problems))
    return checks


class FilterModule(object):
    def filters(self):
        return {'signature_checks': signature_checks}
