# -*- coding: utf-8 -*-
"""trust_push of a release of many tags (from ``_push.MANY_TAGS`` on): the repository's local tags are read
in one daemon call, pushed in one ``--all-tags`` call when they are exactly the release, and never
when another local tag of the repository would go with them."""

import urllib.error
import urllib.request

from conftest import JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module

from ansible_collections.openbanking.content_trust.plugins.module_utils._push import MANY_TAGS

ROLES = ('root', 'targets', 'snapshot', 'targets/releases', 'targets/jeff')


def registry_manifest(stack, repo, tag):
    """The digest the registry serves for ``tag``, or None."""
    path = repo.split('/', 1)[1]
    req = urllib.request.Request('http://%s/v2/%s/manifests/%s' % (stack.registry, path, tag), method='HEAD', headers={
        'Accept': 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.headers['Docker-Content-Digest']
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def new_repo(stack, docker_config):
    jeff = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
    repo = stack.repo()
    res = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='jeff',
                                            public_keys=[jeff['public_key']], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert res['changed'] and not res.failed, res
    return repo


def push(stack, docker_config, repo, tags, source):
    return run_module('trust_push', common(stack, docker_config, repository=repo, tags=tags, source=source,
                                           signer='jeff', signer_passphrase=JEFF_PASS,
                                           repository_passphrase=REPO_PASS, timeout=300))


def assert_signed(stack, docker_config, repo, tags, digest):
    entry = stack.inspect(docker_config, repo)[repo]
    assert sorted((t['SignedTag'], 'sha256:' + t['Digest'], t['Signers']) for t in entry['SignedTags']) == \
        sorted((tag, digest, ['jeff']) for tag in tags)
    for tag in (tags[0], tags[-1]):
        assert registry_manifest(stack, repo, tag) == digest


def test_many_tags_first_publish_then_nothing_moves(stack, docker_config):
    repo = new_repo(stack, docker_config)
    source = stack.build_image(docker_config, 'many/src:%s' % repo.rsplit('-', 1)[1])
    tags = ['r%03d' % i for i in range(MANY_TAGS + 5)]
    before = stack.versions(repo, ROLES)
    res = push(stack, docker_config, repo, tags, source)
    assert res['changed'] and not res.failed, res
    digests = set(r['digest'] for r in res['results'])
    assert len(digests) == 1 and all(r['pushed'] and r['signed'] and r['signers'] == ['jeff'] for r in res['results'])
    assert_signed(stack, docker_config, repo, tags, digests.pop())
    after = stack.versions(repo, ROLES)
    # one publish for the whole release
    assert after['targets/releases'] == before['targets/releases'] + 1 and after['targets/jeff'] == 1
    assert after['targets'] == before['targets'] and after['root'] == before['root']
    # the local tags were made, as source promises
    assert stack.docker(docker_config, 'image', 'inspect', '%s:%s' % (repo, tags[-1])).returncode == 0

    again = push(stack, docker_config, repo, tags, source)
    assert not again['changed'] and not again.failed, again
    assert not any(r['pushed'] or r['signed'] for r in again['results'])
    assert stack.versions(repo, ROLES) == after


def test_another_local_tag_of_the_repository_is_never_pushed(stack, docker_config):
    repo = new_repo(stack, docker_config)
    suffix = repo.rsplit('-', 1)[1]
    source = stack.build_image(docker_config, 'many/src:%s' % suffix)
    # a local tag of the same repository that is not part of the release (another image)
    stack.build_image(docker_config, '%s:work-in-progress' % repo)
    tags = ['r%03d' % i for i in range(MANY_TAGS)]
    res = push(stack, docker_config, repo, tags, source)
    assert res['changed'] and not res.failed, res
    digest = res['results'][0]['digest']
    assert_signed(stack, docker_config, repo, tags, digest)
    assert registry_manifest(stack, repo, 'work-in-progress') is None
