# -*- coding: utf-8 -*-
"""Signers are keys, not names (issue 19): a holder of the repository key makes another "jeff".

The publisher initializes a repository (root and repository keys), adds jeff and jeff signs ``v1``.  Then an
insider who holds a copy of the repository key - but neither the root key nor jeff's key - replaces jeff's
delegation with a key of their own, still named ``jeff``, and signs other content for ``v1`` and ``v2`` as that
"jeff".  The root is unchanged, so the pins pass.

- ``signers: [jeff]`` (name only) accepts the insider's digest: that is what a name protects against and what it
  does not (docs/consumers.md).
- ``signers: [{name: jeff, public_key: <jeff's real public key>}]`` or ``key_ids`` refuses it, in trust_pull and
  trust_verify, and pulls and tags nothing.
- Before the insider's change, the real jeff's signature is accepted with the same keys.

Consumers run with the machine's CLI 28, with no docker CLI and with CLI 29 without its plugin; their docker
configuration is fresh and their roots pinned.
"""

import os
import shutil
import subprocess

import pytest

from conftest import (
    JEFF_PASS, REPO_PASS, ROOT_PASS, assert_trust_modes, common, install_publisher_certificate, run_module,
)
# The consumers' CLIs (28, none, 29 without the plugin), as test_trust_pull parametrizes them.
from test_trust_pull import consumer_cli  # noqa: F401 pylint: disable=unused-import

INSIDER_PASS = 'insider-Passphrase-7'


@pytest.fixture
def consumer_config(tmp_path):
    d = tmp_path / 'consumer'
    d.mkdir(mode=0o700)
    yield str(d)
    assert_trust_modes(str(d))


class Repo(object):
    pass


def _publish(stack, config, repo):
    r = Repo()
    r.repo = repo
    key = run_module('trust_key', common(stack, config, docker_cli=stack.reference_cli, signer='jeff', passphrase=JEFF_PASS))
    assert not key.failed, key
    r.jeff_pub, r.jeff_id = key['public_key'], key['key_id']
    res = run_module('trust_signer', common(stack, config, docker_cli=stack.reference_cli, repository=repo, signer='jeff',
                                            public_keys=[r.jeff_pub], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert not res.failed, res
    stack.build_image(config, '%s:v1' % repo, content=repo + '-real')
    res = run_module('trust_push', common(stack, config, docker_cli=stack.reference_cli, repository=repo, tags=['v1'],
                                          signer='jeff', signer_passphrase=JEFF_PASS))
    assert not res.failed, res
    r.real_digest = res['results'][0]['digest']
    info = run_module('trust_info', common(stack, config, docker_cli=stack.reference_cli, references=[repo]))
    assert not info.failed, info
    r.pin = info['repositories'][0]['root_key_ids']
    assert [s['key_ids'] for s in info['repositories'][0]['signers'] if s['name'] == 'jeff'] == [[r.jeff_id]]
    return r


def _insider_takes_jeff(stack, publisher, insider, r):
    """The insider: a copy of the repository key only; a new key named jeff replaces the real one, and v1 and v2 are
    signed for other content by that "jeff"."""
    os.makedirs(os.path.join(insider, 'trust', 'private'), mode=0o700)
    install_publisher_certificate(insider)  # an insider: a publisher of the organisation
    os.chmod(os.path.join(insider, 'trust'), 0o700)
    copied = 0
    for dirpath, dummy, names in os.walk(os.path.join(publisher, 'trust', 'private')):
        for name in names:
            with open(os.path.join(dirpath, name)) as f:
                text = f.read()
            if 'role: targets' in text and 'gun: %s' % r.repo in text:
                dest = os.path.join(insider, 'trust', 'private', name)
                shutil.copyfile(os.path.join(dirpath, name), dest)
                os.chmod(dest, 0o600)
                copied += 1
    assert copied == 1
    key = run_module('trust_key', common(stack, insider, docker_cli=stack.reference_cli, signer='jeff',
                                         passphrase=INSIDER_PASS))
    assert not key.failed, key
    assert key['key_id'] != r.jeff_id
    res = run_module('trust_signer', common(stack, insider, docker_cli=stack.reference_cli, repository=r.repo,
                                            signer='jeff', public_keys=[key['public_key']], exclusive_keys=True,
                                            force=True, repository_passphrase=REPO_PASS))
    assert not res.failed, res
    # The roles that jeff's removed key signed are re-signed with the insider's key (the server refuses an update
    # of a role below its threshold), as notary's own tools let anyone holding the repository key do.
    notary(stack, insider, 'witness', '-p', r.repo, 'targets/jeff', 'targets/releases',
           NOTARY_DELEGATION_PASSPHRASE=INSIDER_PASS, NOTARY_TARGETS_PASSPHRASE=REPO_PASS)
    stack.build_image(insider, '%s:v1' % r.repo, content=r.repo + '-insider')
    stack.docker(insider, 'tag', '%s:v1' % r.repo, '%s:v2' % r.repo)
    res = run_module('trust_push', common(stack, insider, docker_cli=stack.reference_cli, repository=r.repo,
                                          tags=['v1', 'v2'], signer='jeff', signer_passphrase=INSIDER_PASS))
    assert not res.failed, (res['msg'], res.get('stdout'))
    digest = res['results'][0]['digest']
    assert digest != r.real_digest
    # What the bare CLI 28 reports: the insider's "jeff" signed v1, with the insider's key, under the same root.
    entry = stack.inspect(insider, r.repo)[r.repo]
    assert [t['Signers'] for t in entry['SignedTags'] if t['SignedTag'] == 'v1'] == [['jeff']]
    assert ['sha256:' + t['Digest'] for t in entry['SignedTags'] if t['SignedTag'] == 'v1'] == [digest]
    assert [[k['ID'] for k in s['Keys']] for s in entry['Signers'] if s['Name'] == 'jeff'] == [[key['key_id']]]
    assert [k['ID'] for a in entry['AdministrativeKeys'] if a['Name'] == 'Root' for k in a['Keys']] == r.pin
    return digest


def notary(stack, config, *args, **env):
    notary_cli = shutil.which('notary')
    assert notary_cli, 'the notary CLI is part of the test stack'
    publisher = ['--tlscert', stack.client_cert, '--tlskey', stack.client_key] if stack.client_cert else []
    proc = subprocess.run([notary_cli, '-s', stack.notary_url, '-d', os.path.join(config, 'trust'), '--tlscacert',
                           stack.ca] + publisher + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=120, env=dict(os.environ, **env), check=False)
    assert proc.returncode == 0, 'notary %s failed: %s' % (' '.join(args), proc.stdout.decode())
    return proc.stdout.decode()


def _local(stack, config, ref):
    proc = stack.docker(config, 'image', 'inspect', '-f', '{{.Id}}', ref, check=False)
    return proc.returncode == 0


def _forget(stack, config, repo):
    ids = stack.docker(config, 'images', '-q', '--no-trunc', repo).stdout.decode().split()
    if ids:
        stack.docker(config, 'image', 'rm', '-f', *sorted(set(ids)))


@pytest.fixture(scope='module')
def taken(stack, tmp_path_factory):
    """The repository after the insider's change; ``real`` is a repository of the same shape left alone."""
    base = tmp_path_factory.mktemp('signer-keys')
    publisher, insider = str(base / 'publisher'), str(base / 'insider')
    os.makedirs(publisher, mode=0o700)
    install_publisher_certificate(publisher)  # the stack's Notary takes writes from publishers only
    r = _publish(stack, publisher, stack.repo('takenjeff'))
    r.insider_digest = _insider_takes_jeff(stack, publisher, insider, r)
    r.publisher = publisher
    _forget(stack, publisher, r.repo)
    _forget(stack, insider, r.repo)
    return r


@pytest.fixture(scope='module')
def real(stack, tmp_path_factory):
    publisher = str(tmp_path_factory.mktemp('signer-keys-real') / 'publisher')
    os.makedirs(publisher, mode=0o700)
    install_publisher_certificate(publisher)  # the stack's Notary takes writes from publishers only
    r = _publish(stack, publisher, stack.repo('realjeff'))
    r.publisher = publisher
    _forget(stack, publisher, r.repo)
    return r


def pull(stack, config, cli, r, signers, tags=('v1',), check_mode=False):
    return run_module('trust_pull', common(stack, config, docker_cli=cli, images=[{'repository': r.repo, 'tags': list(tags)}],
                                           signers=signers, root_key_ids={r.repo: r.pin}), check_mode=check_mode)


def verify(stack, config, cli, r, signer, tags=('v1',)):
    return run_module('trust_verify', common(stack, config, docker_cli=cli, images=[{'repository': r.repo, 'tags': list(tags)}],
                                             signer=signer, root_key_ids={r.repo: r.pin}, pull='none'))


def test_the_real_jeff_is_accepted_by_its_public_key_and_by_its_key_id(stack, real, consumer_config, consumer_cli):
    _forget(stack, consumer_config, real.repo)  # the daemon is shared by the legs of the CLI matrix
    res = pull(stack, consumer_config, consumer_cli, real, [{'name': 'jeff', 'public_key': real.jeff_pub}])
    assert not res.failed and res['changed'], res
    assert [(x['tag'], x['digest'], x['signers']) for x in res['results']] == [('v1', real.real_digest, ['jeff'])]
    assert _local(stack, consumer_config, '%s:v1' % real.repo)
    res = verify(stack, consumer_config, consumer_cli, real, {'name': 'jeff', 'key_ids': [real.jeff_id]})
    assert not res.failed and res['verified'], res
    assert res['results'][0]['signed_digest'] == real.real_digest


def test_a_jeff_made_with_the_repository_key_passes_by_name_and_is_refused_by_key(
        stack, taken, consumer_config, consumer_cli):
    _forget(stack, consumer_config, taken.repo)
    # Name only: the insider's "jeff" is a jeff (documented in docs/consumers.md).
    res = pull(stack, consumer_config, consumer_cli, taken, ['jeff'], check_mode=True)
    assert not res.failed, res
    assert [(x['digest'], x['signers']) for x in res['results']] == [(taken.insider_digest, ['jeff'])]
    res = verify(stack, consumer_config, consumer_cli, taken, 'jeff')
    assert not res.failed and res['verified'], res

    # With jeff's real key, given as the public key or as its ID: refused, nothing pulled or tagged.
    for signer in ({'name': 'jeff', 'public_key': taken.jeff_pub}, {'name': 'jeff', 'key_ids': [taken.jeff_id]}):
        res = pull(stack, consumer_config, consumer_cli, taken, [signer], tags=('v1', 'v2'))
        assert res.failed and res['error_kind'] == 'unverified', res
        assert 'nothing was pulled or tagged' in res['msg'], res
        assert 'delegates targets/jeff to' in res['msg'] and 'none of the given keys' in res['msg'], res
        assert taken.repo + ':v1' in res['msg'] and taken.repo + ':v2' in res['msg'], res
        assert not _local(stack, consumer_config, '%s@%s' % (taken.repo, taken.insider_digest))
        assert not _local(stack, consumer_config, '%s:v1' % taken.repo)

        res = verify(stack, consumer_config, consumer_cli, taken, signer)
        assert not res.failed and res['verified'] is False, res
        assert res['unverified'] == [taken.repo + ':v1']
        assert any('not signed by jeff (key %s) with its keys' % taken.jeff_id[:7] in p
                   for p in res['results'][0]['problems']), res


def test_a_second_key_added_to_jeff_by_the_insider_does_not_make_its_signature_jeffs(stack, tmp_path, consumer_config):
    """The insider keeps the real key in jeff's delegation and adds their own beside it: the delegation lists the
    given key, but the role's metadata is signed by the insider's key only."""
    publisher, insider = str(tmp_path / 'publisher'), str(tmp_path / 'insider')
    os.makedirs(publisher, mode=0o700)
    install_publisher_certificate(publisher)  # the stack's Notary takes writes from publishers only
    r = _publish(stack, publisher, stack.repo('addedjeff'))
    os.makedirs(os.path.join(insider, 'trust', 'private'), mode=0o700)
    install_publisher_certificate(insider)  # an insider: a publisher of the organisation
    for dirpath, dummy, names in os.walk(os.path.join(publisher, 'trust', 'private')):
        for name in names:
            with open(os.path.join(dirpath, name)) as f:
                if 'role: targets' in f.read():
                    shutil.copyfile(os.path.join(dirpath, name), os.path.join(insider, 'trust', 'private', name))
                    os.chmod(os.path.join(insider, 'trust', 'private', name), 0o600)
    key = run_module('trust_key', common(stack, insider, docker_cli=stack.reference_cli, signer='jeff',
                                         passphrase=INSIDER_PASS))
    assert not key.failed, key
    res = run_module('trust_signer', common(stack, insider, docker_cli=stack.reference_cli, repository=r.repo,
                                            signer='jeff', public_keys=[key['public_key']],
                                            repository_passphrase=REPO_PASS))
    assert not res.failed, res
    stack.build_image(insider, '%s:v1' % r.repo, content=r.repo + '-insider')
    res = run_module('trust_push', common(stack, insider, docker_cli=stack.reference_cli, repository=r.repo,
                                          tags=['v1'], signer='jeff', signer_passphrase=INSIDER_PASS))
    assert not res.failed, res
    insider_digest = res['results'][0]['digest']
    entry = stack.inspect(insider, r.repo)[r.repo]
    assert sorted(k['ID'] for s in entry['Signers'] if s['Name'] == 'jeff' for k in s['Keys']) == sorted(
        [r.jeff_id, key['key_id']])
    _forget(stack, insider, r.repo)
    _forget(stack, publisher, r.repo)

    res = pull(stack, consumer_config, stack.reference_cli, r, ['jeff'], check_mode=True)
    assert not res.failed and res['results'][0]['digest'] == insider_digest, res
    res = pull(stack, consumer_config, stack.reference_cli, r, [{'name': 'jeff', 'public_key': r.jeff_pub}])
    assert res.failed and res['error_kind'] == 'unverified', res
    assert 'carries no valid signature by a given key of jeff' in res['msg'], res
    assert not _local(stack, consumer_config, '%s:v1' % r.repo)
    res = verify(stack, consumer_config, stack.reference_cli, r, {'name': 'jeff', 'key_ids': [r.jeff_id]})
    assert not res.failed and res['verified'] is False, res

    # The real jeff signs again: his own signature over the role counts again, with his key.
    stack.build_image(publisher, '%s:v1' % r.repo, content=r.repo + '-real-again')
    res = run_module('trust_push', common(stack, publisher, docker_cli=stack.reference_cli, repository=r.repo,
                                          tags=['v1'], signer='jeff', signer_passphrase=JEFF_PASS))
    assert not res.failed, res
    again = res['results'][0]['digest']
    res = pull(stack, consumer_config, stack.reference_cli, r, [{'name': 'jeff', 'key_ids': [r.jeff_id]}],
               check_mode=True)
    assert not res.failed and res['results'][0]['digest'] == again, res


@pytest.mark.parametrize('signers, words', [
    ([{'name': 'jeff', 'keys': ['a' * 64]}], 'signers[0]: unknown key(s) keys'),
    ([{'name': 'jeff', 'key_ids': ['abc']}], "signers[0].key_ids: 'abc' is not a key ID: expected 64 hex characters"),
    ([{'name': 'jeff'}], 'no key_ids or public_key'),
    ([{'key_ids': ['a' * 64]}], 'signers[0].name must be'),
    (['jeff', {'name': 'jeff', 'key_ids': ['a' * 64]}], 'both by name alone and with keys'),
])
def test_bad_signers_are_refused_naming_the_option(stack, real, consumer_config, signers, words):
    res = pull(stack, consumer_config, stack.reference_cli, real, signers)
    assert res.failed and res['error_kind'] == 'bad_input', res
    assert words in res['msg'], res


def test_a_private_key_given_as_public_key_is_refused_without_echoing_it(stack, real, consumer_config):
    private = ('-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBogusBogusBogusBogusBogusBogusBogusBogusBogusBoAoGCCqGSM49\n'
               '-----END EC PRIVATE KEY-----\n')
    res = pull(stack, consumer_config, stack.reference_cli, real, [{'name': 'jeff', 'public_key': private}])
    assert res.failed and res['error_kind'] == 'bad_input', res
    assert 'signers[0].public_key is a private key' in res['msg'], res
    assert 'MHcCAQEE' not in str(dict(res)), res
    res = verify(stack, consumer_config, stack.reference_cli, real, {'name': 'jeff', 'public_key': private})
    assert res.failed and res['error_kind'] == 'bad_input', res
    assert 'signer.public_key is a private key' in res['msg'] and 'MHcCAQEE' not in str(dict(res)), res


def test_a_release_signer_given_with_its_keys_signs_with_them_and_its_verification_checks_them(stack, real):
    """trust_push (publish_release's content_trust_release_signer) takes the signer with its keys: keys that are not
    on the host fail before anything changes; the host's own key signs and the verification checks its signature."""
    def gun_state():
        return dict((role, stack.tuf(real.repo, role)['signed']['version']) for role in ('targets', 'snapshot'))

    before = gun_state()
    args = dict(repository=real.repo, tags=['v1'], push=False, signer_passphrase=JEFF_PASS, verify=True,
                verify_pull='none', root_key_ids={real.repo: real.pin})
    res = run_module('trust_push', common(stack, real.publisher, signer={'name': 'jeff', 'key_ids': ['0' * 64]},
                                          **args))
    assert res.failed and res['error_kind'] == 'missing_signing_key', res
    assert 'none of the given keys is on this host' in res['msg'] and real.jeff_id[:7] in res['msg'], res
    assert gun_state() == before
    res = run_module('trust_push', common(stack, real.publisher, signer={'name': 'jeff', 'public_key': real.jeff_pub},
                                          **args))
    assert not res.failed and not res['changed'], res
    assert res['verification']['verified'] and res['verification']['results'][0]['signed_digest'] == real.real_digest
    assert gun_state() == before
