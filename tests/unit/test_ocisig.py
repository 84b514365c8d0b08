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
