# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: trust data as plain data.

Not a public API; it may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def _digest(hex_digest):
    if not hex_digest:
        return hex_digest
    return hex_digest if hex_digest.startswith('sha256:') else 'sha256:' + hex_digest


def parse_inspect_entry(reference, entry):
    """One ``docker trust inspect`` JSON entry (or None: no trust data) as plain data."""
    result = {
        'reference': str(reference),
        'repository': reference.gun,
        'exists': entry is not None,
        'signed_tags': [],
        'signers': [],
        'root_key_ids': [],
        'repository_key_ids': [],
    }
    if entry is None:
        return result
    for tag in entry.get('SignedTags') or []:
        result['signed_tags'].append({
            'tag': tag.get('SignedTag'),
            'digest': _digest(tag.get('Digest')),
            'signers': sorted(tag.get('Signers') or []),
        })
    for signer in sorted(entry.get('Signers') or [], key=lambda s: s.get('Name') or ''):
        result['signers'].append({
            'name': signer.get('Name'),
            'key_ids': sorted(k.get('ID') for k in signer.get('Keys') or []),
        })
    for admin in entry.get('AdministrativeKeys') or []:
        ids = sorted(k.get('ID') for k in admin.get('Keys') or [])
        if admin.get('Name') == 'Root':
            result['root_key_ids'] = ids
        elif admin.get('Name') == 'Repository':
            result['repository_key_ids'] = ids
    return result


def signer_keys(parsed):
    """``{signer: [key_ids]}`` of a parsed entry."""
    return dict((s['name'], list(s['key_ids'])) for s in parsed['signers'])


def tag_entry(parsed, tag):
    for t in parsed['signed_tags']:
        if t['tag'] == tag:
            return t
    return None
