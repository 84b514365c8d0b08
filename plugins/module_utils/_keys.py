# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: keys as docker and notary store them.

Not a public API; it may change without notice.

* key IDs are computed the way notary does (sha256 of the canonical JSON of the public key),
  so they equal the private key's file name and the IDs ``docker trust inspect`` lists;
* private keys are written in notary's format: PKCS#8 encrypted with PBES2
  (PBKDF2-HMAC-SHA1, AES-256-CBC), because notary's decoder reads nothing else, with the
  ``role:`` (and ``gun:``) PEM headers that tell notary what the key is for.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import json
import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import KeyProblem, WrongKeyPassphrase
# The PEM parser is standard-library only and shared with _ocifiles; re-exported here for the key code.
from ansible_collections.openbanking.content_trust.plugins.module_utils._pem import (  # noqa: F401
    check_pem_size, encode_pem, split_pem,
)

# cryptography.x509 is imported where a certificate is parsed (_x509()): it costs a module run a
# tenth of its start-up, and most runs parse none.
try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    from cryptography.hazmat.primitives import padding
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the modules
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

PBKDF2_ITERATIONS = 10000


def _x509():
    from cryptography import x509
    return x509


# --- key IDs -------------------------------------------------------------------------------

def _canonical_id(keytype, public_bytes):
    doc = {'keytype': keytype, 'keyval': {'private': None, 'public': base64.b64encode(public_bytes).decode('ascii')}}
    canonical = json.dumps(doc, sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()


def _spki(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_id(public_key):
    """Canonical notary key ID of a cryptography public key object."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _canonical_id('ecdsa', _spki(public_key))
    if isinstance(public_key, rsa.RSAPublicKey):
        return _canonical_id('rsa', _spki(public_key))
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return _canonical_id('ed25519', public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    raise KeyProblem('unsupported key type %s: expected an ECDSA, RSA or Ed25519 key' % type(public_key).__name__)


def public_key_pem(public_key):
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')


def _pem_block(text, what, kind, expected):
    """``(type, headers, der)`` of the first PEM block of ``text`` (size-capped), or KeyProblem naming ``what`` as
    not a PEM ``kind`` and what was ``expected``."""
    check_pem_size(text, what)
    try:
        return split_pem(text)
    except KeyProblem:
        raise KeyProblem('%s is not a PEM %s: expected %s' % (what, kind, expected))


def parse_public_pem(text, what='public key'):
    """Parse a public key or certificate PEM as given to ``docker trust signer add``.

    Returns a dict with ``key_id`` (the ID docker and notary show for it) and ``pem``.
    Private material is refused without being echoed.
    """
    pem_type, headers, der = _pem_block(text, what, 'public key or certificate', 'a block starting with '
                                        '"-----BEGIN PUBLIC KEY-----" or "-----BEGIN CERTIFICATE-----"')
    if 'PRIVATE KEY' in pem_type:
        raise KeyProblem('%s is a private key (a PEM "%s" block); give the public key only (the .pub file), '
                         'never a private key' % (what, pem_type))
    if pem_type == 'CERTIFICATE':
        try:
            cert = _x509().load_der_x509_certificate(der)
        except ValueError:
            raise KeyProblem('%s is not a valid X.509 certificate' % what)
        pub = cert.public_key()
        cert_pem = encode_pem('CERTIFICATE', der)
        if isinstance(pub, ec.EllipticCurvePublicKey):
            keytype = 'ecdsa-x509'
        elif isinstance(pub, rsa.RSAPublicKey):
            keytype = 'rsa-x509'
        else:
            raise KeyProblem('%s: certificate key type is not ECDSA or RSA' % what)
        return {'key_id': _canonical_id(keytype, cert_pem.encode('ascii')), 'pem': cert_pem}
    if pem_type != 'PUBLIC KEY':
        raise KeyProblem('%s is a PEM "%s" block; expected "PUBLIC KEY" or "CERTIFICATE"' % (what, pem_type))
    try:
        pub = serialization.load_der_public_key(der)
    except (ValueError, TypeError):
        raise KeyProblem('%s is not a valid public key' % what)
    return {'key_id': public_key_id(pub), 'pem': public_key_pem(pub)}


def canonical_key_id(keytype, public_bytes):
    """The ID ``docker trust inspect`` shows for a TUF key (``keytype``, raw ``keyval.public``).

    For a plain key it is the TUF key ID.  For an X.509 key (``ecdsa-x509``, ``rsa-x509``)
    TUF and notary use the ID of the certificate, but docker shows the ID of the public key
    inside it, which is also the private key's file name.
    """
    if keytype in ('ecdsa-x509', 'rsa-x509'):
        try:
            dummy_type, dummy_headers, der = split_pem(public_bytes)
            return public_key_id(_x509().load_der_x509_certificate(der).public_key())
        except (KeyProblem, ValueError):
            raise KeyProblem('a %s key does not hold a valid certificate' % keytype)
    return _canonical_id(keytype, public_bytes)


def tuf_key_ids(text, what='public key'):
    """``(TUF key ID, ID docker shows)`` of a public key or certificate PEM; they differ for certificates."""
    parsed = parse_public_pem(text, what)
    if parsed['pem'].startswith('-----BEGIN CERTIFICATE-----'):
        cert = _x509().load_pem_x509_certificate(parsed['pem'].encode('ascii'))
        return parsed['key_id'], public_key_id(cert.public_key())
    return parsed['key_id'], parsed['key_id']


# --- private keys --------------------------------------------------------------------------

def generate_private_key():
    """A new ECDSA P-256 key, as ``docker trust key generate`` makes."""
    return ec.generate_private_key(ec.SECP256R1())


def load_private_pem(text, passphrase=None, what='private_key'):
    """Load a plain or PKCS#8-encrypted private key PEM; headers are ignored."""
    pem_type, headers, der = _pem_block(text, what, 'private key', 'a block such as '
                                        '"-----BEGIN EC PRIVATE KEY-----" or "-----BEGIN ENCRYPTED PRIVATE KEY-----"')
    if 'PRIVATE KEY' not in pem_type:
        raise KeyProblem('%s is a PEM "%s" block, not a private key' % (what, pem_type))
    if 'Proc-Type' in headers:
        raise KeyProblem('%s uses legacy OpenSSL PEM encryption (Proc-Type header); convert it to '
                         'PKCS#8 (openssl pkcs8 -topk8) first' % what)
    encrypted = pem_type == 'ENCRYPTED PRIVATE KEY'
    if encrypted and not passphrase:
        raise KeyProblem('%s is encrypted: its passphrase is required' % what)
    if encrypted:
        der = decrypt_pkcs8(der, passphrase, what)
    der = _pkcs8_v1(der)
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        raise KeyProblem('%s is not a valid private key' % what)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise KeyProblem('%s: unsupported key type; expected ECDSA, RSA or Ed25519' % what)
    return key


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b


def _der(tag, content):
    return bytes([tag]) + _der_len(len(content)) + content


def _seq(*items):
    return _der(0x30, b''.join(items))


def _oid(dotted):
    parts = [int(p) for p in dotted.split('.')]
    body = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7f]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7f))
            p >>= 7
        body += bytes(reversed(enc))
    return _der(0x06, body)


def _int(n):
    b = n.to_bytes((n.bit_length() + 8) // 8, 'big')
    return _der(0x02, b)


def _der_read(data, pos=0):
    """Read one DER TLV at ``pos``: return (tag, content, next position)."""
    if pos + 2 > len(data):
        raise KeyProblem('truncated DER')
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7f
        if n == 0 or n > 4 or pos + n > len(data):
            raise KeyProblem('bad DER length')
        length = int.from_bytes(data[pos:pos + n], 'big')
        pos += n
    if pos + length > len(data):
        raise KeyProblem('truncated DER')
    return tag, data[pos:pos + length], pos + length


def _der_items(content):
    items = []
    pos = 0
    while pos < len(content):
        tag, value, pos = _der_read(content, pos)
        items.append((tag, value))
    return items


_PRFS = {
    b'': 'sha1',
    _oid('1.2.840.113549.2.7')[2:]: 'sha1',
    _oid('1.2.840.113549.2.9')[2:]: 'sha256',
    _oid('1.2.840.113549.2.10')[2:]: 'sha384',
    _oid('1.2.840.113549.2.11')[2:]: 'sha512',
}
_CIPHERS = {
    _oid('2.16.840.1.101.3.4.1.2')[2:]: 16,
    _oid('2.16.840.1.101.3.4.1.22')[2:]: 24,
    _oid('2.16.840.1.101.3.4.1.42')[2:]: 32,
}


def _pkcs8_v1(der):
    """Notary writes PrivateKeyInfo with version 1 and no public key field; cryptography
    accepts only version 0 for that shape, so read it as the v1 structure it really is."""
    try:
        tag, content, end = _der_read(der)
        items = _der_items(content)
    except KeyProblem:
        return der
    if tag == 0x30 and items and items[0] == (0x02, b'\x01') and not any(t == 0xa1 for t, v in items):
        body = _der(0x02, b'\x00') + b''.join(_der(t, v) for t, v in items[1:])
        return _der(0x30, body)
    return der


# OpenSSL writes 2048 iterations, docker and notary 10000; a key file asking for more than this
# would only make the module spin.
MAX_PBKDF2_ITERATIONS = 1000000


def decrypt_pkcs8(der, passphrase, what='private_key'):
    """Decrypt a PBES2 (PBKDF2 + AES-CBC) PKCS#8 EncryptedPrivateKeyInfo.

    Done here because cryptography 48 refuses the files docker and notary write (its
    decoder answers "Invalid key" where OpenSSL decrypts them).  Covers notary's scheme
    (HMAC-SHA1) and OpenSSL 3's default (HMAC-SHA256).  Anything malformed is a KeyProblem
    naming ``what``.
    """
    invalid = '%s is not a valid encrypted PKCS#8 key' % what
    try:
        tag, outer, end = _der_read(der)
        if tag != 0x30 or end != len(der):
            raise KeyProblem(invalid)
        (t1, alg), (t2, encrypted) = _der_items(outer)
        (to, alg_oid), (tp, params) = _der_items(alg)
        if (t1, t2, to, tp) != (0x30, 0x04, 0x06, 0x30):
            raise KeyProblem(invalid)
        if alg_oid != _oid('1.2.840.113549.1.5.13')[2:]:
            raise KeyProblem('%s is encrypted with a scheme other than PBES2; re-encrypt it with '
                             '"openssl pkcs8 -topk8 -v2 aes-256-cbc"' % what)
        (tk, kdf), (tc, cipher) = _der_items(params)
        (tko, kdf_oid), (tkp, kdf_params) = _der_items(kdf)
        if kdf_oid != _oid('1.2.840.113549.1.5.12')[2:]:
            raise KeyProblem('%s uses a key derivation other than PBKDF2' % what)
        kp = _der_items(kdf_params)
        if kp[0][0] != 0x04 or kp[1][0] != 0x02:
            raise KeyProblem(invalid)
        salt = kp[0][1]
        iterations = int.from_bytes(kp[1][1], 'big')
        prf_oid = b''
        for tag, value in kp[2:]:
            if tag == 0x30:
                prf_oid = _der_items(value)[0][1]
        (tco, cipher_oid), (tiv, iv) = _der_items(cipher)
    except KeyProblem as exc:
        if what in str(exc):
            raise
        raise KeyProblem('%s (%s)' % (invalid, exc))
    except (ValueError, IndexError, TypeError):
        raise KeyProblem(invalid)
    if prf_oid not in _PRFS or cipher_oid not in _CIPHERS:
        raise KeyProblem('%s uses an unsupported PBES2 hash or cipher (supported: PBKDF2 with HMAC-SHA1/256/384/512, '
                         'AES-CBC)' % what)
    if not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
        raise KeyProblem('%s asks for %d PBKDF2 iterations; expected 1 to %d' % (what, iterations, MAX_PBKDF2_ITERATIONS))
    if len(iv) != 16 or not encrypted or len(encrypted) % 16:
        raise KeyProblem('%s: its AES-CBC IV or ciphertext has the wrong length' % invalid)
    kdf_obj = PBKDF2HMAC(algorithm=getattr(hashes, _PRFS[prf_oid].upper())(), length=_CIPHERS[cipher_oid],
                         salt=salt, iterations=iterations)
    aes_key = kdf_obj.derive(passphrase.encode('utf-8'))
    decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).decryptor()
    try:
        padded = decryptor.update(encrypted) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        tag, dummy, end = _der_read(plain)
        if tag != 0x30 or end != len(plain):
            raise ValueError('not DER')
    except ValueError:
        raise WrongKeyPassphrase('%s could not be decrypted: the passphrase is incorrect' % what)
    return plain


def encrypt_private_key(key, passphrase, iterations=PBKDF2_ITERATIONS):
    """PKCS#8 EncryptedPrivateKeyInfo in the one scheme notary decrypts.

    PBES2 with PBKDF2-HMAC-SHA1 and AES-256-CBC.  cryptography's own PKCS#8 encryption uses
    HMAC-SHA256, which docker and notary cannot read (seen with docker 28.2).
    """
    plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    salt = os.urandom(16)
    iv = os.urandom(16)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA1(), length=32, salt=salt, iterations=iterations)
    aes_key = kdf.derive(passphrase.encode('utf-8'))
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    pbkdf2 = _seq(_oid('1.2.840.113549.1.5.12'), _seq(_der(0x04, salt), _int(iterations)))
    aes = _seq(_oid('2.16.840.1.101.3.4.1.42'), _der(0x04, iv))
    algorithm = _seq(_oid('1.2.840.113549.1.5.13'), _seq(pbkdf2, aes))
    return _seq(algorithm, _der(0x04, ciphertext))


def notary_key_pem(key, passphrase, role, gun=None):
    headers = {'role': role}
    if gun:
        headers['gun'] = gun
    return encode_pem('ENCRYPTED PRIVATE KEY', encrypt_private_key(key, passphrase), headers)
