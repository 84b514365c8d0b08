# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the cosign and Notation inputs, checked before anything runs.

Not a public API; it may change without notice.

PEM public keys and certificates (through ``_pem``'s linear parser), Notation's signing files (the user's own
0600 key, matching the leaf, which has the code-signing usage), the trusted identities and the strict trust policy
built from them.  ``cryptography`` parses keys; ``cryptography.x509`` is imported where a certificate is parsed
(Notation's files): Notary and cosign runs never need it, and it is a tenth of a module's start-up.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import re
import stat

try:
    from cryptography.hazmat.primitives import hashes, serialization
except ImportError:  # pragma: no cover - build_module reports a missing cryptography
    hashes = serialization = None

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError, KeyProblem
from ansible_collections.openbanking.content_trust.plugins.module_utils._pem import encode_pem, pem_blocks

NOTATION_STORE = 'content-trust'


def pem_of_type(text, pem_type, what):
    """The blocks of ``pem_type`` in ``text`` (PEM), re-encoded one per string; ``_pem``'s linear parser
    and its size cap."""
    try:
        blocks = pem_blocks(text or '', what)
    except KeyProblem as exc:
        raise InputError('%s: %s' % (what, exc))
    return [encode_pem(t, der) for t, dummy, der in blocks if t == pem_type]


def public_key_pem(text, what='public key'):
    """The first ``PUBLIC KEY`` block of ``text`` (cosign's output, a .pub file), or None."""
    found = pem_of_type(text, 'PUBLIC KEY', what)
    return found[0] if found else None


def public_key_fingerprint(text):
    """SHA-256 (hex) of the DER SubjectPublicKeyInfo of the first ``PUBLIC KEY`` block of ``text`` - what
    ``openssl pkey -pubin -outform DER | sha256sum`` prints for a cosign ``.pub`` -, or None when there is none."""
    try:
        blocks = pem_blocks(text or '', 'public key')
    except KeyProblem:
        return None
    for pem_type, dummy, der in blocks:
        if pem_type == 'PUBLIC KEY':
            return hashlib.sha256(der).hexdigest()
    return None


def check_public_keys(pems, what='public_keys'):
    """PEM public keys (text); each one must load."""
    if not pems:
        raise InputError('%s must list at least one PEM public key ("-----BEGIN PUBLIC KEY-----")' % what)
    out = []
    for i, pem in enumerate(pems):
        found = public_key_pem(pem, '%s[%d]' % (what, i))
        if not found:
            raise InputError('%s[%d] is not a PEM public key: expected a "-----BEGIN PUBLIC KEY-----" block, such as '
                             'the <path>.pub that cosign_key writes' % (what, i))
        try:
            serialization.load_pem_public_key(found.encode('ascii'))
        except (ValueError, TypeError):
            raise InputError('%s[%d] is not a valid public key' % (what, i))
        out.append(found)
    return out


def split_certificates(text, what):
    """The certificates of a PEM bundle, in order; at least one."""
    blocks = pem_of_type(text, 'CERTIFICATE', what)
    if not blocks:
        raise InputError('%s holds no PEM certificate ("-----BEGIN CERTIFICATE-----")' % what)
    from cryptography import x509
    certs = []
    for i, block in enumerate(blocks):
        try:
            certs.append(x509.load_pem_x509_certificate(block.encode('ascii')))
        except ValueError:
            raise InputError('%s: certificate %d is not a valid X.509 certificate' % (what, i + 1))
    return blocks, certs


def check_ca_certificates(pems, what='ca_certificates'):
    if not pems:
        raise InputError('%s must list at least one PEM CA certificate' % what)
    out = []
    for i, pem in enumerate(pems):
        blocks, dummy = split_certificates(pem, '%s[%d]' % (what, i))
        out.extend(b.strip() + '\n' for b in blocks)
    return out


def check_private_file(path, what, owner_uids=None):
    """The user's own regular file, readable by nobody else (0600 or stricter).  ``owner_uids`` are the uids it may
    belong to (``_hostuser.key_owner_uids``: the user the key is meant for, which under become is not the euid);
    by default the user running the task."""
    if owner_uids is None:
        owner_uids = frozenset([os.getuid()])
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError('%s %s cannot be read: %s' % (what, path, exc.strerror))
    if not stat.S_ISREG(st.st_mode):
        raise InputError('%s %s is not a regular file' % (what, path))
    if st.st_uid not in owner_uids:
        raise InputError('%s %s belongs to uid %d, not to the user it is meant for (uid %s): a signing key must be '
                         'the signer\'s own file (under become, set key_owner, or the role\'s '
                         'content_trust_docker_config_owner, to that user)'
                         % (what, path, st.st_uid, ' or '.join(str(u) for u in sorted(owner_uids))))
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise InputError('%s %s is readable by others (mode %o): make it 0600 (chmod 600 %s)'
                         % (what, path, stat.S_IMODE(st.st_mode), path))


def check_notation_signing_files(key_path, chain_path, owner_uids=None):
    """Notation's requirements, checked before anything runs: the key is the user's own 0600 file,
    unencrypted, matching the leaf certificate, which carries the code-signing usage.  Returns the
    leaf's SHA-256 fingerprint (hex) and the chain's PEM blocks."""
    check_private_file(key_path, 'key', owner_uids)
    try:
        with open(chain_path) as f:
            chain_text = f.read()
    except (IOError, OSError) as exc:
        raise InputError('certificate_chain %s cannot be read: %s' % (chain_path, exc))
    blocks, certs = split_certificates(chain_text, 'certificate_chain %s' % chain_path)
    leaf = certs[0]
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = []
    if ExtendedKeyUsageOID.CODE_SIGNING not in usages:
        raise InputError('certificate_chain %s: the leaf certificate (%s) has no code-signing extended key usage '
                         '(extendedKeyUsage=codeSigning), which Notation requires of a signing certificate'
                         % (chain_path, leaf.subject.rfc4514_string()))
    try:
        with open(key_path, 'rb') as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except TypeError:
        raise InputError('key %s is encrypted: Notation signs only with an unencrypted key file (the signer\'s own, '
                         '0600)' % key_path)
    except (ValueError, IOError, OSError):
        raise InputError('key %s is not a PEM private key' % key_path)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != \
            leaf.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise InputError('key %s is not the private key of the leaf certificate of certificate_chain %s (%s); the chain '
                         'must start with the signing certificate' % (key_path, chain_path, leaf.subject.rfc4514_string()))
    return leaf.fingerprint(hashes.SHA256()).hex(), blocks


# --- commands --------------------------------------------------------------------------------


_DN_PART_RE = re.compile(r'(?:[^,\\]|\\.)+')
NOTATION_REQUIRED_DN = ('C', 'ST', 'O')


def check_trusted_identities(identities, trust_any=False, what='trusted_identities', any_option='trust_any_identity'):
    """The trust policy's ``trustedIdentities``: the certificate subjects given, each ``x509.subject: <DN>`` with at
    least C, ST and O (what notation requires), or ``['*']`` - any identity the CAs issued - only when ``trust_any``
    says so.  An empty list is not "any": a setting that names nobody is an error, not a wildcard."""
    identities = list(identities or [])
    if trust_any:
        if identities:
            raise InputError('%s and %s: true are both set: give the subjects to trust, or accept any identity the CAs '
                             'issued, not both' % (what, any_option))
        return ['*']
    if not identities:
        raise InputError('%s must name the subjects of the signing certificates to trust, each as "x509.subject: C=GB, '
                         'ST=London, O=Acme, CN=release signer" (notation requires C, ST and O): without them every '
                         'certificate the CAs ever issued verifies. Set %s: true to accept any identity the CAs issued'
                         % (what, any_option))
    checked = []
    for i, identity in enumerate(identities):
        if not isinstance(identity, str) or identity.strip() == '*':
            raise InputError('%s[%d] is %r: "*" accepts any identity the CAs issued; set %s: true to mean that, or '
                             'give "x509.subject: <distinguished name>"' % (what, i, identity, any_option))
        prefix, sep, dn = identity.partition(':')
        if not sep or prefix.strip() != 'x509.subject' or not dn.strip():
            raise InputError('%s[%d] %r is not "x509.subject: <distinguished name>", for example "x509.subject: C=GB, '
                             'ST=London, O=Acme, CN=release signer"' % (what, i, identity))
        parts = [p.strip() for p in _DN_PART_RE.findall(dn)]
        keys = [p.split('=', 1)[0].strip().upper() for p in parts if '=' in p]
        if len(keys) != len(parts):
            raise InputError('%s[%d] %r: every part of the distinguished name must be KEY=value' % (what, i, identity))
        missing = [k for k in NOTATION_REQUIRED_DN if k not in keys]
        if missing:
            raise InputError('%s[%d] %r lacks %s: notation requires C, ST and O in a trusted identity'
                             % (what, i, identity, ', '.join(missing)))
        checked.append('x509.subject: ' + ', '.join(parts))
    return checked


def notation_trust_policy(scope, identities=None):
    return {
        'version': '1.0',
        'trustPolicies': [{
            'name': 'content-trust',
            'registryScopes': [scope],
            'signatureVerification': {'level': 'strict'},
            'trustStores': ['ca:%s' % NOTATION_STORE],
            'trustedIdentities': list(identities) if identities else ['*'],
        }],
    }
