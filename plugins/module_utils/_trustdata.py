# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: trust data as plain data.

Not a public API; it may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import (
    RELEASES_ROLE, target_hashes,
)

TOP_LEVEL_ROLES = ('root', 'targets', 'snapshot', 'timestamp')


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


# --- the TUF state of a repository ------------------------------------------------------------

def _signed(doc):
    return (doc or {}).get('signed') or {}


def _delegations(doc):
    return (_signed(doc).get('delegations') or {}).get('roles') or []


def tuf_state(documents):
    """``{versions, expires, thresholds}`` of a repository from its verified TUF metadata.

    ``documents``: ``{role: metadata document}`` for root, targets, snapshot, timestamp and each
    delegation role that has metadata.  ``versions`` and ``expires`` (ISO 8601, as the server signed
    it) have one entry per document; ``thresholds`` one per role that root.json or a delegating
    targets document declares, whether or not the role has metadata yet."""
    versions, expires, thresholds = {}, {}, {}
    for role, doc in documents.items():
        signed = _signed(doc)
        if 'version' in signed:
            versions[role] = signed['version']
        if signed.get('expires'):
            expires[role] = signed['expires']
    for role, info in (_signed(documents.get('root')).get('roles') or {}).items():
        thresholds[role] = (info or {}).get('threshold') or 1
    for doc in documents.values():
        for role in _delegations(doc):
            if role.get('name'):
                thresholds[role['name']] = role.get('threshold') or 1
    return dict(versions=versions, expires=expires, thresholds=thresholds)


def delegation_names(doc):
    """Names of the roles a targets (or delegation) document delegates to."""
    return [role['name'] for role in _delegations(doc) if role.get('name')]


def add_tuf_state(parsed, documents):
    """Add ``versions``, ``expires``, ``thresholds`` and each signed tag's ``length`` to a parsed entry.

    A tag's length is the one ``targets/releases`` (else ``targets``, else any signer role) gives
    for the digest docker reports; None when no role holds that digest (never for data docker
    reports).  The existing keys of ``parse_inspect_entry`` are left as they are."""
    parsed.update(tuf_state(documents if parsed['exists'] else {}))
    order = [RELEASES_ROLE, 'targets'] + sorted(r for r in documents if r not in (RELEASES_ROLE, 'targets'))
    held = [target_hashes(documents.get(role)) for role in order]
    for entry in parsed['signed_tags']:
        entry['length'] = None
        for hashes in held:
            digest, length = hashes.get(entry['tag'], (None, None))
            if digest is not None and _digest(digest) == entry['digest']:
                entry['length'] = length
                break
    return parsed
