# -*- coding: utf-8 -*-
"""One table of bad inputs across trust_signer, trust_push and trust_revoke.

Every case runs against a real, initialized repository with a signed tag, and must fail with
a message that names the input and what was expected, before anything changes: no TUF
version of the repository moves.
"""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from conftest import JEFF_PASS, REPO_PASS, ROOT_PASS, common, install_publisher_certificate, run_module

ROLES = ('root', 'targets', 'snapshot', 'targets/releases', 'targets/jeff')

PRIVATE_PEM = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
PRIVATE_BODY = PRIVATE_PEM.splitlines()[1]
ED25519_PUB = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope='module')
def released(stack, tmp_path_factory):
    """A repository with signer jeff and a signed tag v1."""
    config = str(tmp_path_factory.mktemp('bad-inputs') / 'docker')
    import os
    os.mkdir(config, 0o700)
    install_publisher_certificate(config)
    key = run_module('trust_key', common(stack, config, signer='jeff', passphrase=JEFF_PASS))
    repo = stack.repo('bad')
    res = run_module('trust_signer', common(stack, config, repository=repo, signer='jeff',
                                            public_keys=[key['public_key']], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert not res.failed, res
    stack.build_image(config, repo + ':v1')
    res = run_module('trust_push', common(stack, config, repository=repo, tags=['v1'], signer='jeff',
                                          signer_passphrase=JEFF_PASS))
    assert res['changed'], res
    return dict(config=config, repo=repo, public_key=key['public_key'])


def _cases():
    R = '{repo}'
    P = '{public_key}'
    signer = 'trust_signer'
    push = 'trust_push'
    revoke = 'trust_revoke'
    return [
        # signer names
        (signer, dict(repository=R, signer='Jeff', public_keys=[P]), "signer 'Jeff' is not a valid signer name"),
        (signer, dict(repository=R, signer='releases', public_keys=[P]), 'reserved'),
        (push, dict(repository=R, tags=['v1'], signer='je ff'), "signer 'je ff' is not a valid signer name"),
        (revoke, dict(repository=R, tags=['v1'], signer='-x'), 'not a valid signer name'),
        # repository references
        (signer, dict(repository='127.0.0.1:5000/Acme/App', signer='jeff', public_keys=[P]), 'not a valid repository name'),
        (push, dict(repository=R + ':v1', tags=['v1'], signer='jeff'), 'must not contain a tag'),
        (revoke, dict(repository='acme/app@sha256:00', tags=['v1'], signer='jeff'), 'digest references'),
        (signer, dict(repository='', signer='jeff', public_keys=[P]), 'non-empty'),
        # tags
        (push, dict(repository=R, tags=['v1', '.hidden'], signer='jeff'), "'.hidden' is not a valid tag"),
        (revoke, dict(repository=R, tags=['x' * 129], signer='jeff'), 'is not a valid tag'),
        # PEMs
        (signer, dict(repository=R, signer='jeff', public_keys=[PRIVATE_PEM]), 'private key'),
        (signer, dict(repository=R, signer='jeff', public_keys=['not a pem']), 'not a PEM public key'),
        (signer, dict(repository=R, signer='jeff', public_keys=[ED25519_PUB]), 'not an ECDSA or RSA key'),
        # empty lists
        (signer, dict(repository=R, signer='jeff', public_keys=[]), 'public_keys'),
        (push, dict(repository=R, tags=[], signer='jeff'), 'at least one tag'),
        # conflicting options
        (revoke, dict(repository=R, tags=['v1'], all_tags=True, signer='jeff'), 'mutually exclusive'),
        (push, dict(repository=R, tags=['v1'], signer='jeff', push=False, source='x'), 'source is only used'),
        (signer, dict(repository=R, signer='jeff', state='absent', public_keys=[P], exclusive_keys=True,
                      server='http://127.0.0.1:4443'), 'https://'),
    ]


@pytest.mark.parametrize('module, args, words', _cases(),
                         ids=['%02d-%s' % (i, c[0]) for i, c in enumerate(_cases())])
def test_bad_input_fails_clearly_and_moves_nothing(stack, released, module, args, words):
    args = dict((k, [x.format(**released) if isinstance(x, str) else x for x in v] if isinstance(v, list)
                 else v.format(**released) if isinstance(v, str) else v) for k, v in args.items())
    if module != 'trust_signer':
        args.setdefault('signer_passphrase', JEFF_PASS)
    else:
        args.update(repository_passphrase=REPO_PASS, root_passphrase=ROOT_PASS)
    before = stack.versions(released['repo'], ROLES)
    res = run_module(module, common(stack, released['config'], **args))
    assert res.failed, (module, args)
    assert words in res['msg'], (module, res['msg'])
    assert 'Traceback' not in res['msg'] and 'unexpected error' not in res['msg']
    assert PRIVATE_BODY not in str(res), 'a private key was echoed back'
    assert stack.versions(released['repo'], ROLES) == before
    assert stack.inspect(released['config'], released['repo'])[released['repo']]['SignedTags'][0]['SignedTag'] == 'v1'
