# -*- coding: utf-8 -*-
"""The cosign commands the modules build, and the decisions around them (no binaries run)."""

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _ocisig

HELP_2_5 = '''  cosign sign --key cosign.key --tlog-upload=false <IMAGE DIGEST>
    --allow-http-registry=false:
    --registry-referrers-mode=:
    --tlog-upload=true:
'''
HELP_3_1 = HELP_2_5 + '''    --signing-config='':
    --use-signing-config=true:
'''


def test_features_tell_cosign_2_from_3():
    assert _ocisig.cosign_features_from_help(HELP_2_5) == {'major': 2, 'signing_config_flag': False, 'allow_http': True}
    assert _ocisig.cosign_features_from_help(HELP_3_1) == {'major': 3, 'signing_config_flag': True, 'allow_http': True}


def test_sign_without_transparency_log_on_cosign_3_turns_off_the_signing_config():
    f3 = _ocisig.cosign_features_from_help(HELP_3_1)
    argv = _ocisig.cosign_sign_argv('cosign', f3, 'r.example/a@sha256:' + 'a' * 64, '/k/release.key',
                                    {'b': '2', 'a': '1'}, transparency_log=False, loopback=False)
    assert argv == ['cosign', 'sign', '--yes', '--key', '/k/release.key', '--tlog-upload=false',
                    '--use-signing-config=false', '-a', 'a=1', '-a', 'b=2', 'r.example/a@sha256:' + 'a' * 64]
    f2 = _ocisig.cosign_features_from_help(HELP_2_5)
    argv2 = _ocisig.cosign_sign_argv('cosign', f2, '127.0.0.1:5000/a@sha256:' + 'a' * 64, '/k', None, loopback=True)
    assert '--use-signing-config=false' not in argv2 and '--tlog-upload=false' in argv2
    assert argv2[-2:] == ['--allow-http-registry', '127.0.0.1:5000/a@sha256:' + 'a' * 64]


def test_sign_with_transparency_log_uploads_as_cosign_is_configured():
    for text in (HELP_2_5, HELP_3_1):
        argv = _ocisig.cosign_sign_argv('cosign', _ocisig.cosign_features_from_help(text), 'r/a@sha256:' + 'b' * 64,
                                        '/k', transparency_log=True)
        assert not [a for a in argv if a.startswith(('--tlog-upload', '--use-signing-config'))]
        verify = _ocisig.cosign_verify_argv('cosign', {}, 'r/a@sha256:' + 'b' * 64, '/k.pub', transparency_log=True)
        assert not [a for a in verify if 'insecure-ignore-tlog' in a]
    verify = _ocisig.cosign_verify_argv('cosign', {}, 'r/a@sha256:' + 'b' * 64, '/k.pub')
    assert '--insecure-ignore-tlog=true' in verify


def test_no_secret_ever_in_the_commands():
    argv = _ocisig.cosign_sign_argv('cosign', {}, 'r/a@sha256:' + 'c' * 64, '/k.key', {'x': 'y'})
    assert all('pass' not in a.lower() for a in argv)


@pytest.mark.parametrize('annotations,msg', [
    ({'a=b': 'c'}, 'without "="'),
    ({'a': ['x']}, 'must be a string'),
    ({'a': True}, 'must be a string'),
])
def test_bad_annotations_are_named(annotations, msg):
    with pytest.raises(ValueError) as exc:
        _ocisig.check_annotations(annotations)
    assert msg in str(exc.value)


def test_bad_public_keys_are_named():
    with pytest.raises(ValueError) as exc:
        _ocisig.check_public_keys(['not a key'])
    assert 'public_keys[0]' in str(exc.value)
    with pytest.raises(ValueError):
        _ocisig.check_public_keys([])


def test_trust_policy_is_strict_and_scoped():
    policy = _ocisig.notation_trust_policy('127.0.0.1:5000/acme/app')
    tp = policy['trustPolicies'][0]
    assert tp['registryScopes'] == ['127.0.0.1:5000/acme/app']
    assert tp['signatureVerification'] == {'level': 'strict'}
    assert tp['trustedIdentities'] == ['*']


# --- PEM: _pem's linear parser and its size cap ----------------------------------------------

def _fixture(name):
    import os
    with open(os.path.join(os.path.dirname(__file__), 'fixtures', 'keys', name)) as f:
        return f.read()


@pytest.mark.parametrize('body', [
    '-----BEGIN PUBLIC KEY-----\n' + 'A' * 64 + '\n',       # the shape the old regex backtracked on
    '-----BEGIN PUBLIC KEY-----\n',                        # many BEGIN lines
    '-----BEGIN CERTIFICATE-----\n' + 'A' * 64 + '\n',
])
def test_a_216_kib_pem_is_refused_in_under_a_second(body):
    import time
    text = body * (216 * 1024 // len(body))
    for check in (lambda: _ocisig.check_public_keys([text], 'cosign_public_keys'),
                  lambda: _ocisig.check_ca_certificates([text], 'notation_ca_certificates'),
                  lambda: _ocisig.public_key_pem(text)):
        start = time.time()
        with pytest.raises(ValueError) as exc:
            check()
        assert time.time() - start < 1
        assert '64 KiB' in str(exc.value)


def test_a_public_key_is_found_after_text_and_in_crlf():
    pub = _fixture('openssl-ec.pub')
    found = _ocisig.check_public_keys(['Public key written by cosign:\r\n' + pub.replace('\n', '\r\n')])
    assert ''.join(found[0].split()) == ''.join(pub.split())


def test_a_bundle_keeps_every_certificate_in_order():
    with pytest.raises(ValueError) as exc:
        _ocisig.check_ca_certificates(['no certificate here'])
    assert 'ca_certificates[0] holds no PEM certificate' in str(exc.value)
    with pytest.raises(ValueError) as exc:
        _ocisig.check_ca_certificates(['-----BEGIN CERTIFICATE-----\nAAAA\n'])
    assert 'ca_certificates[0]' in str(exc.value) and '-----END CERTIFICATE-----' in str(exc.value)
    certs = [_self_signed(name) for name in ('root', 'intermediate')]
    bundle = '# a comment\n' + certs[0] + 'text between\n' + certs[1]
    assert _ocisig.check_ca_certificates([bundle]) == certs


def _self_signed(cn):
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime(2026, 1, 1)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()) \
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)) \
        .sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')
