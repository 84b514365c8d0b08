# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: signers are keys, not names.

Not a public API; it may change without notice.

A consumer's policy names signers.  A signer given by name only (``jeff``) is matched by name, as
``docker trust inspect`` shows it: the tag is in the role ``targets/jeff``.  Whoever holds the
repository (targets) key can create or change a delegation named ``jeff`` with a key of their own, so a
name only protects against outsiders (the pins keep them from replacing the root).  A signer given with
its keys (``{name, key_ids}`` or ``{name, public_key}``) counts for a tag only when

1. the verified ``targets`` metadata delegates ``targets/<name>`` to at least one of those keys (the key ID
   is computed here from the key material the delegation carries, never read from a map key), and
2. ``targets/<name>`` lists the tag at that digest and its metadata carries a valid signature, over the
   canonical JSON of its ``signed`` part (sorted keys, no whitespace, as notary signs), by one of those keys.
   Every given key is tried against every signature: a signature entry's ``keyid``, which anyone can copy,
   decides nothing.

``targets/releases`` alone does not count for a signer: its one signature vouches for the whole document,
every signer's tags in it, so it does not say which signer released which tag.

Before judging, ``check_encoding`` verifies the ``targets`` metadata that notary has just accepted with the
repository keys of ``root``: if this module's canonical JSON or signature decoding were wrong, that known-good
signature would fail and the read fails loudly (TrustError) instead of refusing every signer quietly.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import hashlib
import json
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import validate_signer_name
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    InputError, KeyProblem, MissingSigningKey, TrustError,
)

KEY_ID_RE = re.compile(r'\A[0-9a-fA-F]{64}\Z')
SIGNER_FIELDS = ('name', 'key_ids', 'public_key', 'public_keys')
_PRIVATE_MARK = 'PRIVATE KEY'


# --- the policy's shape ------------------------------------------------------------------------

def _key_ids_of_pem(pem, what):
    from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import HAS_CRYPTOGRAPHY, tuf_key_ids
    if not isinstance(pem, str):
        raise InputError('%s must be a PEM public key or certificate (a string), not %s' % (what, type(pem).__name__))
    if _PRIVATE_MARK in pem:
        # never echoed: a private key pasted into a policy is refused by where it is, not by what it is
        raise InputError('%s is a private key; give the signer\'s public key only (the .pub file), never a private key'
                         % what)
    if not HAS_CRYPTOGRAPHY:
        raise InputError('%s: reading a public key needs the Python library cryptography; give key_ids instead' % what)
    try:
        return list(tuf_key_ids(pem, what))
    except KeyProblem as exc:
        raise InputError(exc.msg)


def parse_signer(entry, what):
    """``{name, key_ids}`` of one policy entry: a name (``key_ids`` None: matched by name) or a dict with ``name``
    and ``key_ids`` and/or ``public_key`` / ``public_keys`` (PEM; the ID docker and TUF show for it)."""
    if isinstance(entry, str):
        validate_signer_name(entry, what)
        return dict(name=entry, key_ids=None)
    if not isinstance(entry, dict):
        raise InputError('%s must be a signer name or a dict {name, key_ids} or {name, public_key}, not %s'
                         % (what, type(entry).__name__))
    unknown = sorted(str(k) for k in entry if k not in SIGNER_FIELDS)
    if unknown:
        raise InputError('%s: unknown key(s) %s; a signer is {name, key_ids} or {name, public_key} (or public_keys)'
                         % (what, ', '.join(unknown)))
    name = entry.get('name')
    if not isinstance(name, str) or not name:
        raise InputError('%s.name must be the signer\'s name' % what)
    validate_signer_name(name, '%s.name' % what)
    ids = []
    given = entry.get('key_ids')
    if given is not None:
        if isinstance(given, str):
            given = [given]
        if not isinstance(given, (list, tuple)):
            raise InputError('%s.key_ids must be a list of key IDs' % what)
        for key_id in given:
            if not isinstance(key_id, str) or not KEY_ID_RE.match(key_id):
                raise InputError('%s.key_ids: %r is not a key ID: expected 64 hex characters, as trust_info\'s '
                                 'signers[].key_ids and the key_id filter show them'
                                 % (what, key_id if isinstance(key_id, str) and len(key_id) <= 80 else type(key_id).__name__))
            ids.append(key_id.lower())
    pems = []
    if entry.get('public_key') is not None:
        pems.append(('%s.public_key' % what, entry['public_key']))
    keys = entry.get('public_keys')
    if keys is not None:
        if not isinstance(keys, (list, tuple)):
            raise InputError('%s.public_keys must be a list of PEM public keys' % what)
        pems.extend(('%s.public_keys[%d]' % (what, i), pem) for i, pem in enumerate(keys))
    for where, pem in pems:
        ids.extend(_key_ids_of_pem(pem, where))
    if not ids:
        raise InputError('%s: signer %s is given as a dict but with no key_ids or public_key; give its keys, or give '
                         'the name alone to match it by name' % (what, name))
    return dict(name=name, key_ids=sorted(set(ids)))


def parse_signers(signers, what='signers'):
    """The policy's signers, each ``{name, key_ids}`` (``key_ids`` None: by name), each name once; a name given
    twice with keys gets the union of its keys; given both by name alone and with keys is refused as ambiguous."""
    parsed = []
    by_name = {}
    if signers is None:
        return parsed
    if isinstance(signers, (str, dict)):
        signers = [signers]
    for i, entry in enumerate(signers):
        signer = parse_signer(entry, '%s[%d]' % (what, i))
        known = by_name.get(signer['name'])
        if known is None:
            by_name[signer['name']] = signer
            parsed.append(signer)
        elif (known['key_ids'] is None) != (signer['key_ids'] is None):
            raise InputError('%s names signer %s both by name alone and with keys; give it once, with its keys'
                             % (what, signer['name']))
        elif signer['key_ids']:
            known['key_ids'] = sorted(set(known['key_ids']) | set(signer['key_ids']))
    return parsed


def signer_names(signers):
    return [s['name'] for s in signers]


def describe(signer):
    """``jeff`` or ``jeff (key 8ae710e)``, for messages."""
    if not signer.get('key_ids'):
        return signer['name']
    return '%s (key%s %s)' % (signer['name'], 's' if len(signer['key_ids']) > 1 else '',
                              ', '.join(k[:7] for k in signer['key_ids']))


def keys_to_sign_with(signer, keys, repository):
    """Of ``keys`` (the signer's local keys the repository lists for it, ``_signing.signer_local_keys``), those a
    signer given with its keys may sign with: only the given ones, so that what is signed is what its verification
    (``key_verdict``) accepts.  A signer given by name signs with all of them.  None of them given: MissingSigningKey,
    before anything is pushed or signed."""
    if not signer.get('key_ids'):
        return keys
    chosen = [k for k in keys if k['key_id'] in signer['key_ids']]
    if not chosen:
        raise MissingSigningKey('signer is given as %s, but its local key(s) for repository %s are %s: none of the given '
                                'keys is on this host, so nothing it signs would verify; load the given key '
                                '(openbanking.content_trust.trust_key) or correct signer\'s key_ids / public_key'
                                % (describe(signer), repository, ', '.join(k['key_id'][:7] for k in keys) or 'none'))
    return chosen


# --- signatures ----------------------------------------------------------------------------------

def canonical_json(value):
    """notary's canonical JSON: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def tuf_key_id(key):
    """The TUF ID of a TUF key dict, computed from its material (sha256 of its canonical JSON, private null)."""
    return hashlib.sha256(canonical_json({'keytype': key.get('keytype'), 'keyval': {
        'private': None, 'public': (key.get('keyval') or {}).get('public')}})).hexdigest()


def key_ids(key):
    """The IDs a user may give for a TUF key dict: its TUF ID and the ID docker shows (they differ for
    certificates), both computed from the key material."""
    from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import canonical_key_id
    ids = set([tuf_key_id(key)])
    try:
        ids.add(canonical_key_id(key.get('keytype'), base64.b64decode((key.get('keyval') or {}).get('public') or '')))
    except (KeyProblem, TypeError, ValueError, binascii.Error):
        pass
    return ids


def held_root_ids(root, held):
    """The TUF IDs, computed from the key material, of the keys of ``root``'s root role (a root.json document as the
    server serves it, not yet verified) whose public key is one of ``held`` (the canonical IDs of root private keys
    this host holds).  Pinning them is safe whatever the document says: notary then accepts the root only when it
    carries a valid signature by such a certificate's key, which only the holder of the private key can make."""
    try:
        signed = root['signed']
        keys = signed['keys']
        listed = signed['roles']['root']['keyids']
    except (KeyError, TypeError):
        return []
    found = set()
    for key_id in listed if isinstance(listed, list) else []:
        key = keys.get(key_id) if isinstance(keys, dict) and isinstance(key_id, str) else None
        if not isinstance(key, dict) or key.get('keytype') not in ('ecdsa-x509', 'rsa-x509'):
            continue  # notary's roots are certificates; a bare key is no pin notary can check
        ids = key_ids(key)
        if ids & set(held):
            found.add(tuf_key_id(key))
    return sorted(found)


def _public_key(key):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    keytype = key.get('keytype')
    material = base64.b64decode((key.get('keyval') or {}).get('public') or '')
    if keytype == 'ecdsa':
        return serialization.load_der_public_key(material)
    if keytype == 'ecdsa-x509':
        return x509.load_pem_x509_certificate(material).public_key()
    if keytype == 'ed25519':
        return ed25519.Ed25519PublicKey.from_public_bytes(material)
    return None  # rsa and rsa-x509 (rsassa-pss) are not judged here: no signature by them counts


def signature_valid(key, signature, payload):
    """Whether ``signature`` (a TUF ``{keyid, method, sig}``) is a valid signature of ``payload`` by ``key``
    (a TUF key dict).  ECDSA P-256 as notary makes it: raw r||s over SHA-256; Ed25519."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils
    try:
        public = _public_key(key)
        raw = base64.b64decode(signature.get('sig') or '')
    except (TypeError, ValueError, binascii.Error):
        return False
    try:
        if isinstance(public, ec.EllipticCurvePublicKey) and signature.get('method') in ('ecdsa', 'ecdsa-x509'):
            size = (public.curve.key_size + 7) // 8
            if len(raw) != 2 * size:
                return False
            der = utils.encode_dss_signature(int(binascii.hexlify(raw[:size]), 16), int(binascii.hexlify(raw[size:]), 16))
            public.verify(der, payload, ec.ECDSA(hashes.SHA256()))
            return True
        if isinstance(public, ed25519.Ed25519PublicKey) and signature.get('method') in ('eddsa', 'ed25519'):
            public.verify(raw, payload)
            return True
    except InvalidSignature:
        return False
    return False


# ``{(id(doc), key IDs): (doc, valid IDs)}``: a role's signatures are checked once per run, not once per tag (the
# document is kept in the value, so an ``id`` reused by another object never matches).
_CHECKED = {}


def signing_keys(doc, keys):
    """The IDs (of ``keys``: ``{id: TUF key dict}``) whose key made a valid signature over ``doc``'s ``signed``."""
    if not doc or 'signed' not in doc:
        return set()
    key = (id(doc), tuple(sorted(keys)))
    cached = _CHECKED.get(key)
    if cached is not None and cached[0] is doc:
        return set(cached[1])
    payload = canonical_json(doc['signed'])
    valid = set(kid for kid, k in keys.items()
                if any(signature_valid(k, sig, payload) for sig in doc.get('signatures') or []))
    if len(_CHECKED) > 256:
        _CHECKED.clear()
    _CHECKED[key] = (doc, frozenset(valid))
    return valid


# --- the decision ----------------------------------------------------------------------------------

def check_encoding(documents, gun):
    """Raise TrustError unless the ``targets`` metadata (already verified by notary) verifies here with a
    repository key of ``root``: the known-good signature that proves this module's encoding."""
    root = (documents.get('root') or {}).get('signed') or {}
    ids = ((root.get('roles') or {}).get('targets') or {}).get('keyids') or []
    keys = dict((kid, (root.get('keys') or {})[kid]) for kid in ids if kid in (root.get('keys') or {}))
    if not keys or not signing_keys(documents.get('targets'), keys):
        raise TrustError('internal error: the targets metadata of %s, which notary verified, does not verify with '
                         'the repository key by this collection\'s own signature check (canonical JSON, ECDSA); '
                         'signers given with keys cannot be judged, so nothing is accepted' % gun)


def delegated_keys(documents, role):
    """``{TUF key ID: key}`` that the verified ``targets`` metadata delegates ``role`` to (IDs computed)."""
    delegations = ((documents.get('targets') or {}).get('signed') or {}).get('delegations') or {}
    keys = delegations.get('keys') or {}
    for entry in delegations.get('roles') or []:
        if entry.get('name') == role:
            found = {}
            for listed in entry.get('keyids') or []:
                key = keys.get(listed)
                if isinstance(key, dict):
                    found[tuf_key_id(key)] = key
            return found
    return {}


def _held(doc, tag):
    """The bare hex sha256 ``doc`` lists for ``tag``, or None."""
    meta = (((doc or {}).get('signed') or {}).get('targets') or {}).get(tag)
    try:
        return binascii.hexlify(base64.b64decode(meta['hashes']['sha256'])).decode('ascii')
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None


def key_verdict(documents, signer, tag, digest):
    """None when ``signer`` (``{name, key_ids}``) signed ``tag`` at ``digest`` (``sha256:...``) with one of its keys,
    else why not (for a message).  ``documents``: ``{role: metadata}`` that notary verified for the repository."""
    role = 'targets/' + signer['name']
    wanted = set(signer['key_ids'])
    mine = dict((kid, key) for kid, key in delegated_keys(documents, role).items() if key_ids(key) & wanted)
    if not mine:
        listed = sorted(set(min(key_ids(k)) for k in delegated_keys(documents, role).values()))
        return ('the repository delegates %s to %s, none of the given keys (someone holding the repository key '
                'changed the signer, or the keys are not this signer\'s)'
                % (role, ', '.join(k[:7] for k in listed) or 'no key'))
    doc = documents.get(role)
    held = _held(doc, tag)
    if held is None or 'sha256:' + held != digest:
        return '%s does not list tag %s at %s' % (role, tag, digest)
    if not signing_keys(doc, mine):
        return ('%s lists the tag, but its metadata carries no valid signature by a given key of %s (signed by another '
                'key the delegation lists)' % (role, signer['name']))
    return None
