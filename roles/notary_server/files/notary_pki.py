# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Notary server's small PKI: a CA and the certificates issued by it, made once.

Private to the openbanking.content_trust.notary_server role, which runs it on the Notary
host with ``ansible.builtin.script`` and the host's Python (roles inside a collection cannot
carry modules). Needs the ``cryptography`` library there.

Usage: notary_pki.py BASE64_JSON   prints one JSON object: changed, created, findings
(or failed and msg). The JSON holds paths and names only, never a secret:

  ca_cert, ca_key        paths of the CA certificate and key
  ca_common_name         common name of a new CA ("Notary CA")
  ca_days                validity of a new CA (3650)
  ca_key_owner/_group    owner and group of the CA key (optional)
  certificates           list of {cert, key, common_name, names, usage: server|client,
                         days (825), key_owner, key_group}; a name that parses as an IP
                         address becomes an IP SAN, any other a DNS SAN
  warn_days              report certificates expiring within this many days (30)
  check                  only report what would be created

Behaviour:
  - keys are ECDSA P-256, unencrypted PKCS#8 (what notary-server and notary-signer load),
    written atomically with mode 0600; certificates with mode 0644;
  - nothing that exists is ever regenerated. A missing certificate whose key exists is
    issued again for that key: removing a .crt and running again renews it;
  - existing certificates are only checked (expiring soon, missing a wanted name, not
    issued by the CA) and each problem is reported in findings;
  - key files get mode 0600 and the given owner and group also when they exist.
"""

import base64
import datetime
import grp
import ipaddress
import json
import os
import pwd
import stat
import sys
import tempfile
import traceback

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _not_after(cert):
    # cryptography >= 42 has the timezone-aware property; older ones only the naive one (UTC).
    value = getattr(cert, 'not_valid_after_utc', None)
    if value is None:
        value = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return value


def _write_atomic(path, data, mode):
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path))
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def _new_key():
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_key(path):
    return serialization.load_pem_private_key(_read(path), password=None)


class PkiError(Exception):
    pass


class Pki(object):
    """What exists on disk, what is wanted, and what to create."""

    def __init__(self, params):
        self.params = params
        self.check = params['check']
        self.created = []
        self.findings = []
        self.ca_cert = None
        self.ca_key = None

    def _record(self, path):
        self.created.append(path)

    def _save(self, path, data, mode):
        if not self.check:
            _write_atomic(path, data, mode)
        self._record(path)

    # --- the CA -------------------------------------------------------------------------

    def ensure_ca(self):
        cert_path, key_path = self.params['ca_cert'], self.params['ca_key']
        if os.path.exists(key_path):
            self.ca_key = _load_key(key_path)
        if os.path.exists(cert_path):
            self.ca_cert = x509.load_pem_x509_certificate(_read(cert_path))
            self._check_expiry(cert_path, self.ca_cert)
            return
        if self.ca_key is None:
            self.ca_key = _new_key()
            self._save(key_path, _key_pem(self.ca_key), 0o600)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.params['ca_common_name'])])
        now = _now()
        public = self.ca_key.public_key()
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=self.params['ca_days']))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self._save(cert_path, self.ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)

    # --- issued certificates ------------------------------------------------------------

    def ensure_certificate(self, spec):
        if os.path.exists(spec['cert']):
            self._check_existing(spec)
            return
        if self.ca_key is None:
            raise PkiError('%s must be issued but the CA key %s is not there; give the certificate '
                           'yourself or provide the CA key' % (spec['cert'], self.params['ca_key']))
        if os.path.exists(spec['key']):
            key = _load_key(spec['key'])
        else:
            key = _new_key()
            self._save(spec['key'], _key_pem(key), 0o600)
        now = _now()
        usage = ExtendedKeyUsageOID.SERVER_AUTH if spec['usage'] == 'server' else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec['common_name'])]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=spec['days']))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_cert.public_key()),
                           critical=False)
        )
        names = self._wanted_names(spec)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        self._save(spec['cert'], cert.public_bytes(serialization.Encoding.PEM), 0o644)

    @staticmethod
    def _wanted_names(spec):
        names = []
        for name in spec['names']:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                names.append(x509.DNSName(name))
        return names

    def secure_key(self, path, owner, group):
        """Mode 0600 and the owner the service runs as; a no-op for a key not yet written (check mode)."""
        if not os.path.exists(path):
            return False
        st = os.stat(path)
        uid = pwd.getpwnam(owner).pw_uid if owner else st.st_uid
        gid = grp.getgrnam(group).gr_gid if group else st.st_gid
        changed = False
        if stat.S_IMODE(st.st_mode) != 0o600:
            changed = True
            if not self.check:
                os.chmod(path, 0o600)
        if (st.st_uid, st.st_gid) != (uid, gid):
            changed = True
            if not self.check:
                os.chown(path, uid, gid)
        return changed

    def _check_expiry(self, path, cert):
        left = _not_after(cert) - _now()
        if left < datetime.timedelta(days=self.params['warn_days']):
            self.findings.append('%s expires on %s; remove it and run the role again to renew it'
                                 % (path, _not_after(cert).date().isoformat()))

    def _check_existing(self, spec):
        cert = x509.load_pem_x509_certificate(_read(spec['cert']))
        self._check_expiry(spec['cert'], cert)
        try:
            have = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            have = set()
        missing = [n for n in self._wanted_names(spec) if n not in have]
        if missing:
            self.findings.append('%s lacks the names %s; remove it and run the role again to reissue it'
                                 % (spec['cert'], ', '.join(str(n.value) for n in missing)))
        if self.ca_cert is not None and not self._issued_by_ca(cert):
            self.findings.append('%s was not issued by the CA %s' % (spec['cert'], self.params['ca_cert']))

    def _issued_by_ca(self, cert):
        verify = getattr(cert, 'verify_directly_issued_by', None)
        if verify is None:  # cryptography < 40: compare names only
            return cert.issuer == self.ca_cert.subject
        try:
            verify(self.ca_cert)
            return True
        except Exception:
            return False


DEFAULTS = dict(ca_common_name='Notary CA', ca_days=3650, ca_key_owner=None, ca_key_group=None,
                certificates=[], warn_days=30, check=False)
CERT_DEFAULTS = dict(names=[], usage='server', days=825, key_owner=None, key_group=None)


def run(params):
    params = dict(DEFAULTS, **params)
    params['certificates'] = [dict(CERT_DEFAULTS, **c) for c in params['certificates']]
    for spec in params['certificates']:
        if spec['usage'] not in ('server', 'client'):
            raise PkiError('usage must be server or client, not %r' % spec['usage'])
    pki = Pki(params)
    pki.ensure_ca()
    for spec in params['certificates']:
        pki.ensure_certificate(spec)
    secured = pki.secure_key(params['ca_key'], params['ca_key_owner'], params['ca_key_group'])
    for spec in params['certificates']:
        secured = pki.secure_key(spec['key'], spec['key_owner'], spec['key_group']) or secured
    return dict(changed=bool(pki.created) or secured, created=pki.created, findings=pki.findings)


def main():
    if CRYPTOGRAPHY_IMPORT_ERROR:
        result = dict(failed=True, msg='the Python library cryptography is missing on this host (%s): install '
                                       'python3-cryptography' % sys.executable)
    else:
        try:
            result = run(json.loads(base64.b64decode(sys.argv[1]).decode('utf-8')))
        except (PkiError, KeyError, ValueError, OSError) as exc:
            result = dict(failed=True, msg='%s: %s' % (type(exc).__name__, exc), exception=traceback.format_exc())
    print(json.dumps(result))
    return 1 if result.get('failed') else 0


if __name__ == '__main__':
    sys.exit(main())
