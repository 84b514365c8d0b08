# -*- coding: utf-8 -*-
"""The error contract (README, docs/architecture.md "The error path"): the same cause gives the same ``error_kind``
in every module that can meet it.

One table, one row per module and cause: bad input, a wrong passphrase, a missing signing key, an unreachable
Notary server or registry, and what does not verify.  Each row runs the real module against the local stack (or
against a port nothing listens on) and checks the kind, that the message names what failed, and that nothing
crashed (run_module's guard).  The world the rows need (a repository jeff signed, alice a signer without a key
here, a cosign key, a Notation PKI) is made once.
"""

import os

import pytest

from conftest import COSIGN_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, install_publisher_certificate, run_module
from ocitools import cosign_binary, make_notation_pki, notation_binary, push_image

WRONG = 'not-the-Passphrase-9'
DOWN_NOTARY = 'https://127.0.0.1:1'
DOWN_REGISTRY = '127.0.0.1:1/acme/app'


class World(object):
    pass


@pytest.fixture(scope='module')
def world(stack, tmp_path_factory):
    w = World()
    base = tmp_path_factory.mktemp('error-contract')
    w.config = str(base / 'publisher')
    os.makedirs(w.config, mode=0o700)
    install_publisher_certificate(w.config)
    w.repo = stack.repo('errors')
    ref = stack.reference_cli
    jeff = run_module('trust_key', common(stack, w.config, docker_cli=ref, signer='jeff', passphrase=JEFF_PASS))
    assert not jeff.failed, jeff
    # alice is a signer of the repository, with a key that is not on this host
    other = str(base / 'alice-host')
    os.makedirs(other, mode=0o700)
    alice = run_module('trust_key', common(stack, other, docker_cli=ref, signer='alice', passphrase=JEFF_PASS))
    assert not alice.failed, alice
    for name, pub in (('jeff', jeff['public_key']), ('alice', alice['public_key'])):
        res = run_module('trust_signer', common(stack, w.config, docker_cli=ref, repository=w.repo, signer=name,
                                                public_keys=[pub], root_passphrase=ROOT_PASS,
                                                repository_passphrase=REPO_PASS))
        assert not res.failed, res
    w.digest = push_image(stack, w.config, w.repo, ['v1', 'unsigned'])
    res = run_module('trust_push', common(stack, w.config, docker_cli=ref, repository=w.repo, tags=['v1'], push=False,
                                          signer='jeff', signer_passphrase=JEFF_PASS))
    assert not res.failed, res
    w.cosign = cosign_binary('2.5')
    key = run_module('cosign_key', common(stack, w.config, path=str(base / 'cosign' / 'release'),
                                          passphrase=COSIGN_PASS, cosign_cli=w.cosign))
    assert not key.failed, key
    w.cosign_key, w.cosign_pub = key['private_key_path'], key['public_key']
    w.notation = notation_binary()
    w.pki = make_notation_pki(str(base / 'pki'))
    with open(w.pki['ca']) as f:
        w.ca = f.read()
    w.pin = {w.repo: run_module('trust_info', common(stack, w.config, references=[w.repo]))
             ['repositories'][0]['root_key_ids']}
    return w


def image(repo, tag='v1'):
    return [dict(repository=repo, tags=[tag])]


# (module, cause, expected error_kind, options given the world, words the message must hold)
ROWS = [
    # bad input: found before anything is read or changed
    ('trust_info', 'bad input', 'bad_input', lambda w: dict(references=['Bad Repo']), 'Bad Repo'),
    ('trust_verify', 'bad input', 'bad_input', lambda w: dict(images=image('Bad Repo')), 'Bad Repo'),
    ('trust_pull', 'bad input', 'bad_input', lambda w: dict(images=image('Bad Repo')), 'Bad Repo'),
    ('trust_push', 'bad input', 'bad_input', lambda w: dict(repository='Bad Repo', tags=['v1'], signer='jeff'),
     'Bad Repo'),
    ('trust_revoke', 'bad input', 'bad_input', lambda w: dict(repository='Bad Repo', tags=['v1'], signer='jeff'),
     'Bad Repo'),
    ('trust_signer', 'bad input', 'bad_input', lambda w: dict(repository='Bad Repo', signer='jeff', public_keys=['x']),
     'Bad Repo'),
    ('trust_migrate', 'bad input', 'bad_input', lambda w: dict(repositories=['Bad Repo'], signer='jeff',
                                                               source_server='https://127.0.0.1:2'), 'Bad Repo'),
    ('trust_key', 'bad input', 'bad_input', lambda w: dict(signer='root', passphrase=JEFF_PASS), 'root'),
    ('cosign_key', 'bad input', 'bad_input', lambda w: dict(path=w.cosign_key[:-4] + '-new', passphrase='',
                                                            cosign_cli=w.cosign), 'passphrase'),
    ('cosign_sign', 'bad input', 'bad_input', lambda w: dict(repository='Bad Repo', tags=['v1'], key=w.cosign_key,
                                                             key_passphrase=COSIGN_PASS, cosign_cli=w.cosign), 'Bad Repo'),
    ('containers_policy', 'bad input', 'bad_input',
     lambda w: dict(scopes=[dict(scope='Bad Scope', public_keys=[w.cosign_pub])], path=w.config + '/policy.json',
                    registries_d=w.config + '/registries.d'), 'Bad Scope'),
    ('trust_config', 'bad input', 'bad_input',
     lambda w: dict(notary_config=w.config + '/notary/config.json',
                    notary_pins={'Bad Repo': ['a' * 64]}), 'Bad Repo'),
    ('cosign_verify', 'bad input', 'bad_input', lambda w: dict(repository='Bad Repo', tags=['v1'],
                                                               public_keys=[w.cosign_pub], cosign_cli=w.cosign), 'Bad Repo'),
    ('notation_sign', 'bad input', 'bad_input', lambda w: dict(repository='Bad Repo', tags=['v1'], key=w.pki['key'],
                                                               certificate_chain=w.pki['chain'],
                                                               notation_cli=w.notation), 'Bad Repo'),
    ('notation_verify', 'bad input', 'bad_input', lambda w: dict(repository='Bad Repo', tags=['v1'], ca_certificates=[w.ca],
                                                                 trusted_identities=[w.pki['identity']],
                                                                 notation_cli=w.notation), 'Bad Repo'),
    ('cosign_revoke', 'bad input', 'bad_input', lambda w: dict(repository='Bad Repo', tags=['v1']), 'Bad Repo'),
    ('notation_revoke', 'bad input', 'bad_input', lambda w: dict(repository='Bad Repo', tags=['v1']), 'Bad Repo'),
    ('trust_verify', 'a revocation list without reasons', 'bad_input',
     lambda w: dict(images=image(w.repo), root_key_ids=w.pin, revoked=[dict(repository=w.repo, tags=['v1'])]),
     'reason'),
    ('trust_verify', 'an option the module does not take', 'bad_input',
     lambda w: dict(images=image(w.repo), no_such_option=1), 'no_such_option'),

    # a wrong passphrase, whoever finds it (the module itself or the CLI on its pty)
    ('trust_key', 'wrong passphrase', 'wrong_passphrase', lambda w: dict(signer='jeff', passphrase=WRONG), 'passphrase'),
    ('trust_push', 'wrong passphrase', 'wrong_passphrase', lambda w: dict(repository=w.repo, tags=['v1'], push=False,
                                                                          signer='jeff', signer_passphrase=WRONG, force=True),
     'passphrase'),
    ('trust_revoke', 'wrong passphrase', 'wrong_passphrase', lambda w: dict(repository=w.repo, tags=['v1'], signer='jeff',
                                                                            signer_passphrase=WRONG), 'passphrase'),
    ('trust_signer', 'wrong passphrase', 'wrong_passphrase', lambda w: dict(repository=w.repo, signer='bob',
                                                                            public_keys=[w.cosign_pub],
                                                                            repository_passphrase=WRONG), 'passphrase'),
    ('cosign_key', 'wrong passphrase', 'wrong_passphrase', lambda w: dict(path=w.cosign_key[:-4], passphrase=WRONG,
                                                                          cosign_cli=w.cosign), 'passphrase'),
    ('cosign_sign', 'wrong passphrase', 'wrong_passphrase', lambda w: dict(repository=w.repo, tags=['v1'],
                                                                           key=w.cosign_key, key_passphrase=WRONG,
                                                                           cosign_cli=w.cosign), 'password'),

    # a key file that cannot be written (its directory would be below a regular file): said, not a traceback
    ('cosign_key', 'key file not writable', 'failed', lambda w: dict(path=w.cosign_key + '/sub/release', passphrase=COSIGN_PASS,
                                                                     cosign_cli=w.cosign), 'cannot write the cosign key pair'),

    # the signer has no key here
    ('trust_push', 'missing signing key', 'missing_signing_key',
     lambda w: dict(repository=w.repo, tags=['v1'], push=False, signer='alice', signer_passphrase=JEFF_PASS),
     'alice'),
    ('trust_revoke', 'missing signing key', 'missing_signing_key',
     lambda w: dict(repository=w.repo, tags=['v1'], signer='alice', signer_passphrase=JEFF_PASS), 'alice'),

    # the Notary server does not answer
    ('trust_info', 'Notary unreachable', 'notary_unreachable', lambda w: dict(references=[w.repo], server=DOWN_NOTARY),
     '127.0.0.1:1'),
    ('trust_verify', 'Notary unreachable', 'notary_unreachable',
     lambda w: dict(images=image(w.repo), server=DOWN_NOTARY, allow_unpinned=True), '127.0.0.1:1'),
    ('trust_pull', 'Notary unreachable', 'notary_unreachable',
     lambda w: dict(images=image(w.repo), server=DOWN_NOTARY, allow_unpinned=True), '127.0.0.1:1'),
    ('trust_push', 'Notary unreachable', 'notary_unreachable',
     lambda w: dict(repository=w.repo, tags=['v1'], push=False, signer='jeff', signer_passphrase=JEFF_PASS,
                    server=DOWN_NOTARY), '127.0.0.1:1'),
    ('trust_revoke', 'Notary unreachable', 'notary_unreachable',
     lambda w: dict(repository=w.repo, tags=['v1'], signer='jeff', signer_passphrase=JEFF_PASS, server=DOWN_NOTARY),
     '127.0.0.1:1'),
    ('trust_signer', 'Notary unreachable', 'notary_unreachable',
     lambda w: dict(repository=w.repo, signer='bob', public_keys=[w.cosign_pub], repository_passphrase=REPO_PASS,
                    server=DOWN_NOTARY), '127.0.0.1:1'),
    ('trust_migrate', 'Notary unreachable', 'notary_unreachable',
     lambda w: dict(repositories=[w.repo], signer='jeff', signer_passphrase=JEFF_PASS, source_server=DOWN_NOTARY),
     '127.0.0.1:1'),

    # the registry does not answer
    ('trust_pull', 'registry unreachable', 'registry_unreachable',
     lambda w: dict(images=image(DOWN_REGISTRY), formats=['cosign'], cosign_public_keys=[w.cosign_pub],
                    cosign_cli=w.cosign), '127.0.0.1:1'),
    ('cosign_verify', 'registry unreachable', 'registry_unreachable',
     lambda w: dict(repository=DOWN_REGISTRY, tags=['v1'], public_keys=[w.cosign_pub], cosign_cli=w.cosign), '127.0.0.1:1'),
    ('cosign_sign', 'registry unreachable', 'registry_unreachable',
     lambda w: dict(repository=DOWN_REGISTRY, tags=['v1'], key=w.cosign_key, key_passphrase=COSIGN_PASS,
                    cosign_cli=w.cosign), '127.0.0.1:1'),
    ('notation_sign', 'registry unreachable', 'registry_unreachable',
     lambda w: dict(repository=DOWN_REGISTRY, tags=['v1'], key=w.pki['key'], certificate_chain=w.pki['chain'],
                    notation_cli=w.notation), '127.0.0.1:1'),
    ('notation_verify', 'registry unreachable', 'registry_unreachable',
     lambda w: dict(repository=DOWN_REGISTRY, tags=['v1'], ca_certificates=[w.ca], trusted_identities=[w.pki['identity']],
                    notation_cli=w.notation), '127.0.0.1:1'),

    ('cosign_revoke', 'registry unreachable', 'registry_unreachable',
     lambda w: dict(repository=DOWN_REGISTRY, tags=['v1']), '127.0.0.1:1'),
    ('notation_revoke', 'registry unreachable', 'registry_unreachable',
     lambda w: dict(repository=DOWN_REGISTRY, tags=['v1']), '127.0.0.1:1'),

    # what does not verify
    ('trust_pull', 'a revoked tag', 'unverified',
     lambda w: dict(images=image(w.repo), root_key_ids=w.pin,
                    revoked=[dict(repository=w.repo, tags=['v1'], reason='built from the wrong branch')]),
     'built from the wrong branch'),
    ('trust_pull', 'unverified', 'unverified', lambda w: dict(images=image(w.repo, 'unsigned'), root_key_ids=w.pin),
     'unsigned'),
    ('trust_verify', 'unverified', 'unverified', lambda w: dict(images=image(w.repo, 'unsigned'), root_key_ids=w.pin,
                                                                fail_on_unverified=True), 'unsigned'),
    ('cosign_verify', 'unverified', 'unverified', lambda w: dict(repository=w.repo, tags=['unsigned'],
                                                                 public_keys=[w.cosign_pub], cosign_cli=w.cosign),
     'unsigned'),
    ('notation_verify', 'unverified', 'unverified', lambda w: dict(repository=w.repo, tags=['unsigned'], ca_certificates=[w.ca],
                                                                   trusted_identities=[w.pki['identity']],
                                                                   notation_cli=w.notation), 'unsigned'),
]


@pytest.mark.parametrize('module, cause, kind, options, words', ROWS,
                         ids=['%s: %s' % (row[0], row[1]) for row in ROWS])
def test_the_same_cause_gives_the_same_error_kind_in_every_module(stack, world, module, cause, kind, options, words):
    res = run_module(module, common(stack, world.config, timeout=20, **options(world)))
    assert res.failed, res
    assert res.get('error_kind') == kind, (cause, res)
    assert words in res['msg'], res


def test_every_module_meets_every_cause_it_can_meet_in_the_table():
    """A new module gets rows: every module of plugins/modules that runs on a host is in the table with bad input."""
    here = os.path.dirname(os.path.abspath(__file__))
    modules = os.path.join(here, '..', '..', 'plugins', 'modules')
    names = sorted(f[:-3] for f in os.listdir(modules) if f.endswith('.py') and not f.startswith('_')
                   and f[:-3] not in ('report', 'release_report', 'drift'))  # controller-side actions
    assert sorted(set(row[0] for row in ROWS if row[2] == 'bad_input')) == names
