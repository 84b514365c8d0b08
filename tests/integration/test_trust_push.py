# -*- coding: utf-8 -*-
"""trust_push against the real stack: what docker, the Notary server and a trusted pull report."""

import json
import os
import shutil
import time
import urllib.request

import pytest

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module
from helpers import generate_key_cli, signer_add_cli

ROLES = ('targets', 'snapshot', 'targets/releases', 'targets/jeff', 'targets/alice')


def make_repo(stack, docker_config, tmp_path, signers=('jeff',), repo=None, local_keys=None):
    """A repository whose signers are ``signers`` (keys generated with the bare CLI, so the
    keys in the trust directory are docker's own); ``local_keys`` (default: the same) keep
    their private keys locally, the others are removed."""
    passes = {'jeff': JEFF_PASS, 'alice': ALICE_PASS, 'bob': JEFF_PASS}
    repo = repo or stack.repo()
    keydir = tmp_path / 'pub'
    keydir.mkdir(exist_ok=True)
    for name in signers:
        pub = str(keydir / (name + '.pub'))
        if not os.path.exists(pub):
            generate_key_cli(stack, docker_config, name, passes[name], str(keydir))
        signer_add_cli(stack, docker_config, name, pub, repo, ROOT_PASS, REPO_PASS)
    if local_keys is not None:
        private = os.path.join(docker_config, 'trust', 'private')
        for fn in os.listdir(private):
            with open(os.path.join(private, fn)) as f:
                role = [line.split(':', 1)[1].strip() for line in f if line.startswith('role:')][0]
            if role in signers and role not in local_keys:
                os.unlink(os.path.join(private, fn))
    return repo


def push(stack, docker_config, repo, tags, check_mode=False, diff=False, **kwargs):
    args = common(stack, docker_config, repository=repo, tags=list(tags), signer=kwargs.pop('signer', 'jeff'),
                  signer_passphrase=kwargs.pop('signer_passphrase', JEFF_PASS))
    args.update(kwargs)
    return run_module('trust_push', args, check_mode=check_mode, diff=diff)


def signed_tags(stack, docker_config, repo):
    """{tag: (sha256:digest, signers)} as `docker trust inspect` reports them."""
    entry = stack.inspect(docker_config, repo).get(repo) or {}
    return dict((t['SignedTag'], ('sha256:' + t['Digest'], sorted(t['Signers']))) for t in entry.get('SignedTags') or [])


def registry_digest(stack, repo, tag):
    path = repo.split('/', 1)[1]
    req = urllib.request.Request('http://%s/v2/%s/manifests/%s' % (stack.registry, path, tag), method='HEAD', headers={
        'Accept': 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers['Docker-Content-Digest']


def local_digests(stack, docker_config, ref):
    out = stack.docker(docker_config, 'image', 'inspect', '--format', '{{json .RepoDigests}}', ref).stdout.decode()
    return [d.split('@', 1)[1] for d in json.loads(out) if d.split('@', 1)[0] == ref.rsplit(':', 1)[0]]


@pytest.mark.cli_matrix
@pytest.mark.parametrize('docker_cli, sign_with, publishes', [
    # docker trust sign per tag, CLI 28.x, and the same with Debian's CLI 20.10: whatever the leg's CLI
    pytest.param('docker', 'docker', 3, marks=pytest.mark.cli_independent),
    pytest.param('/usr/bin/docker', 'docker', 3, marks=pytest.mark.cli_independent),
    (None, 'auto', 1),                  # the CLI under test: all tags pushed, then ONE notary publish
])
def test_three_tags_signed_in_one_call_then_rerun_changes_nothing(stack, docker_config, tmp_path, docker_cli,
                                                                  sign_with, publishes):
    docker_cli = docker_cli or stack.docker_cli
    # alice is a signer too and her key is local with another passphrase: only jeff may sign.
    repo = make_repo(stack, docker_config, tmp_path, signers=('jeff', 'alice'))
    tags = ['v1.0.0', 'v1.0', 'latest']
    stack.build_image(docker_config, repo + ':build')
    initial = stack.versions(repo, ROLES)

    preview = push(stack, docker_config, repo, tags, check_mode=True, source=repo + ':build', docker_cli=docker_cli,
                   sign_with=sign_with)
    assert preview['changed'] is True, preview
    assert [(r['tag'], r['pushed'], r['signed']) for r in preview['results']] == [(t, True, True) for t in tags]
    assert stack.versions(repo, ROLES) == initial
    assert signed_tags(stack, docker_config, repo) == {}

    start = time.time()
    res = push(stack, docker_config, repo, tags, source=repo + ':build', docker_cli=docker_cli, diff=True,
               sign_with=sign_with)
    took = time.time() - start
    assert res['changed'] is True, res
    digest = registry_digest(stack, repo, 'v1.0.0')
    assert [(r['tag'], r['digest'], r['pushed'], r['signed'], r['signers']) for r in res['results']] == \
        [(t, digest, True, True, ['jeff']) for t in tags]
    assert signed_tags(stack, docker_config, repo) == dict((t, (digest, ['jeff'])) for t in tags)
    assert all(registry_digest(stack, repo, t) == digest for t in tags)
    after = stack.versions(repo, ROLES)
    assert after['targets/releases'] == initial['targets/releases'] + publishes
    assert after['targets/jeff'] == initial['targets/jeff'] + publishes
    assert after['targets/alice'] == initial['targets/alice'] == 0
    assert res['diff']['before'] == {'signed_by_jeff': dict((t, None) for t in tags)}
    assert res['diff']['after'] == {'signed_by_jeff': dict((t, digest) for t in tags)}
    for t in tags:
        assert stack.trusted_pull('%s:%s' % (repo, t)).returncode == 0
    assert took < 30, took

    again = push(stack, docker_config, repo, tags, source=repo + ':build', docker_cli=docker_cli, sign_with=sign_with)
    assert again['changed'] is False, again
    assert [(r['digest'], r['pushed'], r['signed'], r['signers']) for r in again['results']] == \
        [(digest, False, False, ['jeff'])] * 3
    assert stack.versions(repo, ROLES) == after
    # without source: the tags themselves are the local images now
    third = push(stack, docker_config, repo, tags, docker_cli=docker_cli, check_mode=True)
    assert third['changed'] is False, third


def test_rebuilt_image_is_signed_with_its_new_digest(stack, docker_config, tmp_path):
    repo = make_repo(stack, docker_config, tmp_path)
    stack.build_image(docker_config, repo + ':v1', content='first ' + repo)
    first = push(stack, docker_config, repo, ['v1'])
    old = first['results'][0]['digest']
    assert first['changed'] is True and old == registry_digest(stack, repo, 'v1')
    versions = stack.versions(repo, ROLES)

    stack.build_image(docker_config, repo + ':v1', content='second ' + repo)
    res = push(stack, docker_config, repo, ['v1'])
    assert res['changed'] is True, res
    new = res['results'][0]['digest']
    assert new != old
    assert new == registry_digest(stack, repo, 'v1')
    assert local_digests(stack, docker_config, repo + ':v1') == [new]
    assert signed_tags(stack, docker_config, repo) == {'v1': (new, ['jeff'])}
    assert stack.version(repo, 'targets/releases') == versions['targets/releases'] + 1
    assert stack.trusted_pull(repo + ':v1').returncode == 0


def test_other_local_signer_key_neither_signs_nor_breaks_signing(stack, docker_config, tmp_path):
    repo = make_repo(stack, docker_config, tmp_path, signers=('jeff', 'alice'))
    stack.build_image(docker_config, repo + ':v1')
    # jeff's passphrase is not alice's: had docker seen alice's key it would have to decrypt it.
    res = push(stack, docker_config, repo, ['v1'])
    assert res['changed'] is True, res
    assert res['results'][0]['signers'] == ['jeff']
    assert signed_tags(stack, docker_config, repo)['v1'][1] == ['jeff']
    assert stack.version(repo, 'targets/alice') == 0
    assert stack.tuf(repo, 'targets/jeff')['signed']['targets']['v1']
    # alice, signing the same tag with her own passphrase, does not use jeff's key either
    res = push(stack, docker_config, repo, ['v1'], signer='alice', signer_passphrase=ALICE_PASS)
    assert res['changed'] is True and res['results'][0]['signers'] == ['alice', 'jeff'], res
    assert stack.trusted_pull(repo + ':v1').returncode == 0


def test_push_false_signs_what_another_tool_pushed(stack, docker_config, tmp_path):
    repo = make_repo(stack, docker_config, tmp_path)
    stack.build_image(docker_config, repo + ':v2.0.0')
    stack.docker(docker_config, 'tag', repo + ':v2.0.0', repo + ':v2')
    stack.docker(docker_config, 'push', repo + ':v2.0.0')
    stack.docker(docker_config, 'push', repo + ':v2')
    served = registry_digest(stack, repo, 'v2.0.0')
    before = stack.versions(repo, ROLES)

    preview = push(stack, docker_config, repo, ['v2.0.0', 'v2'], push=False, check_mode=True)
    assert preview['changed'] is True
    assert [(r['digest'], r['pushed'], r['signed']) for r in preview['results']] == [(served, False, True)] * 2
    assert stack.versions(repo, ROLES) == before

    res = push(stack, docker_config, repo, ['v2.0.0', 'v2'], push=False)
    assert res['changed'] is True, res
    assert [(r['tag'], r['digest'], r['pushed'], r['signed'], r['signers']) for r in res['results']] == \
        [('v2.0.0', served, False, True, ['jeff']), ('v2', served, False, True, ['jeff'])]
    assert signed_tags(stack, docker_config, repo) == {'v2.0.0': (served, ['jeff']), 'v2': (served, ['jeff'])}
    after = stack.versions(repo, ROLES)
    # both tags in ONE publish
    assert after['targets/releases'] == before['targets/releases'] + 1
    assert after['targets/jeff'] == before['targets/jeff'] + 1
    assert stack.trusted_pull(repo + ':v2.0.0').returncode == 0
    assert stack.trusted_pull(repo + ':v2').returncode == 0
    assert not os.path.exists(os.path.join(docker_config, 'trust', 'tuf', repo, 'changelist')) or \
        not os.listdir(os.path.join(docker_config, 'trust', 'tuf', repo, 'changelist'))

    again = push(stack, docker_config, repo, ['v2.0.0', 'v2'], push=False)
    assert again['changed'] is False, again
    assert stack.versions(repo, ROLES) == after
    # and the daemon-side view agrees: nothing to push or sign for the local image either
    assert push(stack, docker_config, repo, ['v2.0.0'], check_mode=True)['changed'] is False


@pytest.mark.cli_independent
def test_push_false_needs_no_docker_at_all(stack, docker_config, tmp_path):
    """A host with no docker CLI (or none with `docker trust`): trust data is read and written with
    the notary CLI only."""
    repo = make_repo(stack, docker_config, tmp_path, signers=('jeff', 'alice'))
    stack.build_image(docker_config, repo + ':v3')
    stack.docker(docker_config, 'push', repo + ':v3')
    served = registry_digest(stack, repo, 'v3')
    before = stack.versions(repo, ROLES)
    nodocker = dict(push=False, docker_cli='/nonexistent/docker', docker_host='unix:///nonexistent.sock')

    res = push(stack, docker_config, repo, ['v3'], **nodocker)
    assert res['changed'] is True, res
    assert [(r['digest'], r['signed'], r['signers']) for r in res['results']] == [(served, True, ['jeff'])]
    assert signed_tags(stack, docker_config, repo) == {'v3': (served, ['jeff'])}
    assert stack.version(repo, 'targets/releases') == before['targets/releases'] + 1
    assert stack.trusted_pull(repo + ':v3').returncode == 0

    after = stack.versions(repo, ROLES)
    again = push(stack, docker_config, repo, ['v3'], **nodocker)
    assert again['changed'] is False and again['results'][0]['signers'] == ['jeff'], again
    assert stack.versions(repo, ROLES) == after
    # alice signs the same digest: both are listed, as docker lists them
    res = push(stack, docker_config, repo, ['v3'], signer='alice', signer_passphrase=ALICE_PASS, **nodocker)
    assert res['changed'] is True and res['results'][0]['signers'] == ['alice', 'jeff'], res
    assert signed_tags(stack, docker_config, repo) == {'v3': (served, ['alice', 'jeff'])}

    not_signer = push(stack, docker_config, repo, ['v3'], signer='bob', **nodocker)
    assert not_signer.failed and 'bob is not a signer' in not_signer['msg'], not_signer
    no_trust = push(stack, docker_config, stack.repo('nobody'), ['v3'], **nodocker)
    assert no_trust.failed and 'no trust data' in no_trust['msg'], no_trust


def test_wrong_passphrase_fails_fast_and_signs_nothing(stack, docker_config, tmp_path):
    repo = make_repo(stack, docker_config, tmp_path)
    stack.build_image(docker_config, repo + ':v1')
    before = stack.versions(repo, ROLES)
    for extra in ({}, {'push': False}):
        start = time.time()
        res = run_module('trust_push', common(stack, docker_config, repository=repo, tags=['v1'], signer='jeff',
                                              signer_passphrase='wrong-Passphrase', **extra),
                         secrets=[JEFF_PASS, 'wrong-Passphrase'])
        assert time.time() - start < 15
        assert res.failed, res
        assert 'passphrase incorrect' in res['msg'] and 'jeff' in res['msg'], res['msg']
        assert stack.versions(repo, ROLES) == before
        assert signed_tags(stack, docker_config, repo) == {}
    # checked before docker pushed anything
    assert local_digests(stack, docker_config, repo + ':v1') == []


def test_failures_are_named_before_anything_changes(stack, docker_config, tmp_path):
    repo = make_repo(stack, docker_config, tmp_path, signers=('jeff', 'alice'), local_keys=('jeff',))
    before = stack.versions(repo, ROLES)

    missing = push(stack, docker_config, repo, ['v9'])
    assert missing.failed and repo + ':v9' in missing['msg'] and 'does not exist' in missing['msg'], missing

    stack.build_image(docker_config, repo + ':v1')
    no_key = push(stack, docker_config, repo, ['v1'], signer='alice', signer_passphrase=ALICE_PASS)
    assert no_key.failed and 'alice' in no_key['msg'] and 'trust_key' in no_key['msg'], no_key

    # bob's key is local, but bob is no signer of the repository
    generate_key_cli(stack, docker_config, 'bob', JEFF_PASS, str(tmp_path))
    not_signer = push(stack, docker_config, repo, ['v1'], signer='bob')
    assert not_signer.failed and 'bob is not a signer' in not_signer['msg'], not_signer
    assert 'openbanking.content_trust.trust_signer' in not_signer['msg']

    no_notary = push(stack, docker_config, repo, ['v1'], server='https://127.0.0.1:1')
    assert no_notary.failed and 'https://127.0.0.1:1' in no_notary['msg'] and 'Notary' in no_notary['msg'], no_notary

    no_trust = push(stack, docker_config, stack.repo('nobody'), ['v1'])
    assert no_trust.failed and 'no trust data' in no_trust['msg'], no_trust

    assert stack.versions(repo, ROLES) == before
    assert signed_tags(stack, docker_config, repo) == {}
    assert local_digests(stack, docker_config, repo + ':v1') == []


def test_unreachable_registry_is_named(stack, docker_config, tmp_path):
    # Trust data for a repository whose registry port nothing listens on.
    repo = make_repo(stack, docker_config, tmp_path, repo='127.0.0.1:1/acme/app-unreachable-%d' % os.getpid())
    before = stack.versions(repo, ROLES)
    res = push(stack, docker_config, repo, ['v1'], push=False)
    assert res.failed and 'registry http://127.0.0.1:1' in res['msg'] and 'cannot be reached' in res['msg'], res
    assert stack.versions(repo, ROLES) == before
    stack.build_image(docker_config, repo + ':v1')
    start = time.time()
    res = push(stack, docker_config, repo, ['v1'])
    assert res.failed and 'registry http://127.0.0.1:1' in res['msg'] and 'cannot be reached' in res['msg'], res
    assert stack.versions(repo, ROLES) == before


def test_non_loopback_repository_needs_the_notary_ca(stack, docker_config, tmp_path):
    """docker verifies the Notary certificate for every registry that is not loopback; so does trust_push."""
    tls = os.path.join(docker_config, 'tls', stack.notary_url.split('://', 1)[1])
    os.makedirs(tls, exist_ok=True)
    shutil.copy(stack.ca, os.path.join(tls, 'ca.crt'))
    repo = make_repo(stack, docker_config, tmp_path, repo='%s/acme/app-%d' % (stack.nonloopback_host, os.getpid()))
    before = stack.versions(repo, ROLES)
    # the Notary is trusted, so the next problem is the registry, which does not resolve
    res = push(stack, docker_config, repo, ['v1'], push=False)
    assert res.failed and 'registry https://%s cannot be reached' % stack.nonloopback_host in res['msg'], res

    os.unlink(os.path.join(tls, 'ca.crt'))
    res = push(stack, docker_config, repo, ['v1'], push=False)
    assert res.failed and 'not trusted' in res['msg'] and stack.notary_url in res['msg'], res
    assert os.path.join(tls, 'ca.crt') in res['msg']
    assert stack.versions(repo, ROLES) == before


@pytest.mark.cli_independent
@pytest.mark.parametrize('args, words', [
    (dict(repository='127.0.0.1:5000/Acme/App', tags=['v1']), 'not a valid repository name'),
    (dict(repository='127.0.0.1:5000/acme/app:v1', tags=['v1']), 'must not contain a tag'),
    (dict(repository='127.0.0.1:5000/acme/app', tags=['-v1']), 'is not a valid tag'),
    (dict(repository='127.0.0.1:5000/acme/app', tags=['v1', 'a b']), "tags[1] 'a b' is not a valid tag"),
    (dict(repository='127.0.0.1:5000/acme/app', tags=[]), 'tags must list at least one tag'),
    (dict(repository='127.0.0.1:5000/acme/app', tags=['v1'], signer='Jeff'), 'not a valid signer name'),
    (dict(repository='127.0.0.1:5000/acme/app', tags=['v1'], push=False, source='x'), 'source is only used'),
])
def test_malformed_input_fails_before_any_call(stack, docker_config, args, words):
    full = common(stack, docker_config, signer='jeff', signer_passphrase=JEFF_PASS, docker_cli='/nonexistent/docker')
    full.update(args)
    res = run_module('trust_push', full)
    assert res.failed and words in res['msg'], res


def test_force_re_signs_an_unchanged_digest(stack, docker_config, tmp_path):
    repo = make_repo(stack, docker_config, tmp_path)
    stack.build_image(docker_config, repo + ':v1')
    first = push(stack, docker_config, repo, ['v1'])
    assert first['changed'], first
    versions = stack.versions(repo, ROLES)
    again = push(stack, docker_config, repo, ['v1'], force=True)
    assert again['changed'] is True and again['results'][0]['signed'] is True, again
    after = stack.versions(repo, ROLES)
    assert after['targets/releases'] == versions['targets/releases'] + 1
    assert after['targets/jeff'] == versions['targets/jeff'] + 1
    assert signed_tags(stack, docker_config, repo) == {'v1': (first['results'][0]['digest'], ['jeff'])}
    assert stack.trusted_pull(repo + ':v1').returncode == 0


def test_releases_signed_by_a_removed_key_needs_force(stack, docker_config, tmp_path):
    repo = make_repo(stack, docker_config, tmp_path, signers=('jeff', 'alice'))
    stack.build_image(docker_config, repo + ':v1')
    assert push(stack, docker_config, repo, ['v1'])['changed']
    # jeff alone signed targets/releases; removing him leaves it below its threshold
    removed = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='jeff', state='absent',
                                                force=True, repository_passphrase=REPO_PASS))
    assert removed['changed'], removed
    assert signed_tags(stack, docker_config, repo) == {}
    stack.build_image(docker_config, repo + ':v2', content='v2 ' + repo)
    versions = stack.versions(repo, ROLES)
    start = time.time()
    refused = push(stack, docker_config, repo, ['v2'], signer='alice', signer_passphrase=ALICE_PASS)
    assert refused.failed and 'no longer validly signed' in refused['msg'] and 'force' in refused['msg'], refused
    assert time.time() - start < 15
    assert stack.versions(repo, ROLES) == versions
    res = push(stack, docker_config, repo, ['v2'], signer='alice', signer_passphrase=ALICE_PASS, force=True)
    assert res['changed'] and not res.failed, res
    tags = signed_tags(stack, docker_config, repo)
    assert tags['v2'][1] == ['alice'] and 'v1' in tags
    assert stack.trusted_pull(repo + ':v2').returncode == 0
