# -*- coding: utf-8 -*-
"""trust_verify: a release verifies as a consumer would see it, and what does not is named."""

import shutil
import subprocess
import time

import pytest

from conftest import JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module


def release(stack, docker_config, tags=('v1.0.0', 'latest')):
    """A repository with jeff as signer and ``tags`` pushed and signed by the modules."""
    key = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
    repo = stack.repo('release')
    res = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='jeff',
                                            public_keys=[key['public_key']], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert not res.failed, res
    stack.build_image(docker_config, repo + ':build')
    pushed = run_module('trust_push', common(stack, docker_config, repository=repo, tags=list(tags), signer='jeff',
                                             signer_passphrase=JEFF_PASS, source=repo + ':build'))
    assert pushed['changed'], pushed
    return repo, dict((r['tag'], r['digest']) for r in pushed['results'])


def verify(stack, docker_config, images, **kwargs):
    kwargs.setdefault('allow_unpinned', 'root_key_ids' not in kwargs)  # the pins have tests of their own
    return run_module('trust_verify', common(stack, docker_config, images=images, **kwargs))


@pytest.mark.cli_matrix
def test_signed_release_verifies_and_is_pulled_once(stack, docker_config, tmp_path):
    repo, digests = release(stack, docker_config)
    versions = stack.versions(repo)
    # The publisher holds the root key: its own reads are pinned to it (test_pinned_roots.py). A consumer's
    # configuration (the same, without the private keys) reads with the CLI under test.
    held = verify(stack, docker_config, [{'repository': repo, 'tags': ['v1.0.0']}], pull='none')
    assert held['verified'] and list(held['held_root_pins']) == [repo], held
    assert held['verified_with']['trust_data'] == 'notary with trust pinning'
    consumer = str(tmp_path / 'consumer')
    shutil.copytree(docker_config, consumer, symlinks=True, ignore=shutil.ignore_patterns('private', '.views', '.locks'))
    res = verify(stack, consumer, [{'repository': repo, 'tags': ['v1.0.0', 'latest'], 'digests': digests}],
                 signer='jeff')
    assert res['held_root_pins'] == {}, res
    assert not res.failed and res['changed'] is False, res
    assert res['verified'] is True and res['unverified'] == []
    first, second = res['results']
    assert (first['tag'], first['signed_digest'], first['registry_digest'], first['signers'], first['pulled']) == \
        ('v1.0.0', digests['v1.0.0'], digests['v1.0.0'], ['jeff'], True)
    assert second['pulled'] is None and second['verified'] is True
    # what docker itself says agrees
    docker_view = stack.inspect(docker_config, repo + ':latest')[repo + ':latest']
    assert 'sha256:' + docker_view['SignedTags'][0]['Digest'] == second['signed_digest']
    assert stack.versions(repo) == versions
    # Which CLI read the trust data, and how: the pull is by the signed digest whatever the CLI (a trusted
    # pull proves something on docker 28.x and older only).
    how = res['verified_with']
    version = subprocess.run([stack.docker_cli, '--version'], stdout=subprocess.PIPE, check=True).stdout.decode()
    assert how['docker_cli'] == stack.docker_cli and how['docker_version'] in version
    new = how['docker_version'].startswith('29.')
    assert how['pull'] == 'signed digest'
    assert how['trust_data'] == ('docker trust inspect' if stack.trust_plugin or not new else 'notary')
    # A pull that fetches the image reports a change; with the image present again, nothing changes.
    image_id = stack.docker(docker_config, 'image', 'inspect', '--format', '{{.Id}}', repo + ':v1.0.0').stdout.decode().strip()
    stack.docker(docker_config, 'rmi', '-f', image_id)
    fetched = verify(stack, consumer, [{'repository': repo, 'tags': ['v1.0.0'], 'digests': digests}], signer='jeff')
    assert fetched['verified'] and fetched['results'][0]['pulled'] is True and fetched['changed'] is True, fetched
    again = verify(stack, consumer, [{'repository': repo, 'tags': ['v1.0.0'], 'digests': digests}], signer='jeff')
    assert again['verified'] and again['changed'] is False, again


def test_unsigned_revoked_and_moved_tags_are_named(stack, docker_config):
    repo, digests = release(stack, docker_config, tags=('v1', 'v2', 'v3'))
    # v2: revoked; v3: moved in the registry by a plain push of another image, never signed
    res = run_module('trust_revoke', common(stack, docker_config, repository=repo, tags=['v2'], signer='jeff',
                                            signer_passphrase=JEFF_PASS))
    assert res['changed'], res
    stack.build_image(docker_config, repo + ':v3', content='moved ' + repo)
    stack.docker(docker_config, 'push', repo + ':v3')
    stack.build_image(docker_config, repo + ':v4', content='never signed')
    stack.docker(docker_config, 'push', repo + ':v4')
    start = time.time()
    res = verify(stack, docker_config, [{'repository': repo, 'tags': ['v1', 'v2', 'v3', 'v4']}], signer='jeff',
                 pull='all')
    assert not res.failed, res
    assert time.time() - start < 30
    by_tag = dict((r['tag'], r) for r in res['results'])
    assert by_tag['v1']['verified'] and by_tag['v1']['pulled'] is True
    assert by_tag['v2']['problems'] == ['tag v2 is not signed']
    assert not by_tag['v3']['verified'] and 'is not the digest' in by_tag['v3']['problems'][0]
    assert by_tag['v3']['signed_digest'] == digests['v3'] != by_tag['v3']['registry_digest']
    assert by_tag['v4']['problems'] == ['tag v4 is not signed']
    assert res['verified'] is False and res['unverified'] == ['%s:%s' % (repo, t) for t in ('v2', 'v3', 'v4')]
    # a consumer's trusted pull agrees
    assert stack.trusted_pull(repo + ':v2').returncode != 0
    assert stack.trusted_pull(repo + ':v1').returncode == 0

    failing = verify(stack, docker_config, [{'repository': repo, 'tags': ['v1', 'v2']}], fail_on_unverified=True)
    assert failing.failed and failing['error_kind'] == 'unverified', failing
    assert '%s:v2' % repo in failing['msg'] and 'not signed' in failing['msg']
    assert '%s:v1 ' not in failing['msg']


def test_wrong_signer_and_expected_digest(stack, docker_config):
    repo, digests = release(stack, docker_config, tags=('v1',))
    res = verify(stack, docker_config, [{'repository': repo, 'tags': ['v1'], 'digests': {'v1': 'sha256:' + '0' * 64}}],
                 signer='alice', pull='none')
    problems = res['results'][0]['problems']
    assert any('expected (pushed) digest' in p for p in problems) and any('not signed by alice' in p for p in problems)
    assert res['results'][0]['pulled'] is None


def test_missing_repository_and_bad_input(stack, docker_config):
    missing = stack.repo('nobody')
    res = verify(stack, docker_config, [{'repository': missing, 'tags': ['v1']}])
    assert not res.failed and res['verified'] is False
    assert 'no trust data' in res['results'][0]['problems'][0]
    for images, words in [([], 'at least one image'), ([{'repository': 'Bad/Repo', 'tags': ['v1']}], 'not a valid'),
                          ([{'repository': missing, 'tags': []}], 'at least one tag'),
                          ([{'repository': missing, 'tags': ['-bad']}], 'not a valid tag')]:
        res = verify(stack, docker_config, images)
        assert res.failed and words in res['msg'], (images, res['msg'])


def test_unreachable_notary_fails_naming_it(stack, docker_config):
    res = verify(stack, docker_config, [{'repository': stack.repo(), 'tags': ['v1']}], server='https://127.0.0.1:1')
    assert res.failed and 'https://127.0.0.1:1' in res['msg']


def test_pinned_root_and_pull_by_signed_digest_without_a_docker_cli(stack, docker_config, tmp_path):
    repo, digests = release(stack, docker_config, tags=('v1',))
    root = [k['ID'] for a in stack.inspect(docker_config, repo)[repo]['AdministrativeKeys'] if a['Name'] == 'Root'
            for k in a['Keys']][0]
    other = 'ab' * 32
    images = [{'repository': repo, 'tags': ['v1']}]
    res = verify(stack, docker_config, images, root_key_ids={repo: [other]}, pull='none')
    assert not res.failed and res['verified'] is False, res
    problem = res['results'][0]['problems'][0]
    assert 'not signed by the pinned root key' in problem and root in problem and other in problem, problem
    # The consumer's pull (trust_pull's): by the signed digest through the daemon, even with no docker CLI.
    local = stack.docker(docker_config, 'image', 'inspect', '-f', '{{.Id}}', repo + ':v1').stdout.decode().strip()
    stack.docker(docker_config, 'image', 'rm', '-f', local)
    res = verify(stack, docker_config, images, root_key_ids={repo: [root]}, docker_cli=str(tmp_path / 'no-docker'))
    assert not res.failed and res['verified'] is True and res['results'][0]['pulled'] is True, res
    pulled = stack.docker(docker_config, 'image', 'inspect', '-f', '{{json .RepoDigests}}',
                          '%s@%s' % (repo, digests['v1'])).stdout.decode()
    assert '%s@%s' % (repo, digests['v1']) in pulled
