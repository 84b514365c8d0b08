# -*- coding: utf-8 -*-
"""publish_release is all or nothing, on the real stack.

Before: with two images, the first with a mistyped source (or a signer missing from its
repository), the play failed naming only the first image while the second was pushed, signed
and pullable; and a failure after the first repository was signed left the release in part.
"""

import shutil
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module
from test_signers_role import run_role

RELEASE = 'v2.1.0'


class Release(object):
    def __init__(self, stack, docker_config, tmp_path):
        self.stack = stack
        self.docker_config = docker_config
        self.tmp_path = tmp_path
        self.repo1, self.repo2 = stack.repo('rel'), stack.repo('rel')
        self.key = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
        self.source = 'rel-source-%s:build' % uuid.uuid4().hex[:8]
        stack.build_image(docker_config, self.source)

    def add_signer(self, repo, name='jeff', public_key=None):
        res = run_module('trust_signer', common(self.stack, self.docker_config, repository=repo, signer=name,
                                                public_keys=[public_key or self.key['public_key']],
                                                root_passphrase=ROOT_PASS, repository_passphrase=REPO_PASS))
        assert not res.failed, res

    def publish(self, images, **extra):
        role_vars = {'content_trust_docker_cli': self.stack.docker_cli, 'content_trust_docker_host': self.stack.docker_host,
                     'content_trust_docker_config': self.docker_config, 'content_trust_server': self.stack.notary_url,
                     'content_trust_timeout': 60, 'content_trust_release_version': RELEASE,
                     'content_trust_release_signer': 'jeff', 'content_trust_signer_passphrase': JEFF_PASS,
                     'content_trust_release_images': images,
                     'content_trust_report_dir': str(self.tmp_path / 'reports')}
        role_vars.update(extra)
        return run_role(self.tmp_path, 'publish_release', role_vars)

    def trust(self, repo):
        """What a consumer sees: signed tags with digests and signers, and the signers' keys."""
        entry = self.stack.inspect(self.docker_config, repo).get(repo) or {}
        return (sorted((t['SignedTag'], t['Digest'], tuple(sorted(t['Signers']))) for t in entry.get('SignedTags') or []),
                sorted((s['Name'], tuple(sorted(k['ID'] for k in s['Keys']))) for s in entry.get('Signers') or []))

    def in_registry(self, repo, tag):
        registry, path = repo.split('/', 1)
        req = urllib.request.Request('http://%s/v2/%s/manifests/%s' % (registry, path, tag), method='HEAD', headers={
            'Accept': 'application/vnd.docker.distribution.manifest.v2+json'})
        try:
            urllib.request.urlopen(req, timeout=10).close()
            return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise


@pytest.fixture
def release(stack, docker_config, tmp_path):
    return Release(stack, docker_config, tmp_path)


@pytest.mark.parametrize('broken', ['mistyped source', 'signer missing from the repository'])
def test_a_release_that_cannot_be_published_in_full_is_not_started(release, stack, broken):
    release.add_signer(release.repo1)
    images = [{'repository': release.repo1, 'source': release.source},
              {'repository': release.repo2, 'source': release.source}]
    if broken == 'mistyped source':
        release.add_signer(release.repo2)
        images[0]['source'] = 'rel-sourse-typo:build'
    else:
        # repo2 has a signer, but not jeff
        release.add_signer(release.repo2, name='alice', public_key=run_module('trust_key', common(
            stack, release.docker_config, signer='alice', passphrase='alice-Passphrase-4'))['public_key'])
    before = {r: (release.trust(r), stack.versions(r)) for r in (release.repo1, release.repo2)}

    rc, out = release.publish(images)
    assert rc != 0, out[-3000:]
    failure = out[out.index('Push and sign every image of the release, all or nothing failed:'):]
    failed_repo = release.repo1 if broken == 'mistyped source' else release.repo2
    assert '1 of 2 images of the release cannot be published; nothing was pushed or signed' in failure, failure[-3000:]
    assert '- %s: ' % failed_repo in failure, failure[-3000:]
    assert 'Nothing to roll back: the run failed before the first push' in failure, failure[-3000:]
    # Nothing new anywhere: not in the registry, not on the Notary.
    for repo in (release.repo1, release.repo2):
        assert not release.in_registry(repo, RELEASE), repo
        assert (release.trust(repo), stack.versions(repo)) == before[repo]


def test_every_failing_image_is_named(release):
    release.add_signer(release.repo1)
    release.add_signer(release.repo2)
    rc, out = release.publish([{'repository': release.repo1, 'source': 'typo-one:build'},
                               {'repository': release.repo2, 'source': 'typo-two:build'}])
    assert rc != 0
    assert 'typo-one:build' in out and 'typo-two:build' in out, out[-3000:]
    assert not release.in_registry(release.repo1, RELEASE) and not release.in_registry(release.repo2, RELEASE)


def failing_notary(tmp_path, repo):
    """The real notary CLI, except that publishing to ``repo`` fails (a failure injected once
    the previous repository was signed)."""
    wrapper = tmp_path / 'notary-failing'
    wrapper.write_text('#!/bin/sh\ncase "$*" in *"publish %s"*) echo "injected: connection reset" >&2; exit 1;; '
                       'esac\nexec %s "$@"\n' % (repo, shutil.which('notary')))
    wrapper.chmod(0o755)
    return str(wrapper)


def test_a_failure_after_the_first_repository_was_signed_rolls_the_trust_data_back(release, stack):
    release.add_signer(release.repo1)
    release.add_signer(release.repo2)
    # repo1:stable is signed for an older image: the release changes its digest.
    old = 'rel-old-%s:build' % uuid.uuid4().hex[:8]
    stack.build_image(release.docker_config, old, content='the previous build\n')
    res = run_module('trust_push', common(stack, release.docker_config, repository=release.repo1, tags=['stable'],
                                          source=old, signer='jeff', signer_passphrase=JEFF_PASS))
    assert res['changed'], res
    old_digest = res['results'][0]['digest']
    before = {r: release.trust(r) for r in (release.repo1, release.repo2)}
    images = [{'repository': release.repo1, 'source': release.source, 'tags': ['stable']},
              {'repository': release.repo2, 'source': release.source, 'tags': ['extra']}]

    rc, out = release.publish(images, content_trust_notary_cli=failing_notary(release.tmp_path, release.repo2))
    assert rc != 0, out[-3000:]
    report = out[out.index('Report what could not be published'):]
    assert '- %s: notary publish %s failed: injected: connection reset; pushed to the registry but not signed: ' \
        '%s, extra' % (release.repo2, release.repo2, RELEASE) in report, report[-3000:]
    assert release.in_registry(release.repo2, RELEASE)
    assert '- %s:%s pushed and signed' % (release.repo1, RELEASE) in report, report[-3000:]
    assert '- %s:%s revoked (this run had signed it anew)' % (release.repo1, RELEASE) in report, report[-3000:]
    assert '- %s:stable signed for its previous digest %s again' % (release.repo1, old_digest) in report, report[-3000:]
    assert 'Every repository shows the trust data it had before this run' in report, report[-3000:]
    # Exactly the trust data each repository had before.
    assert {r: release.trust(r) for r in (release.repo1, release.repo2)} == before
    # A consumer: stable is the old build again, the release tag is refused.
    pulled = stack.trusted_pull(release.repo1 + ':stable')
    assert pulled.returncode == 0 and old_digest.encode() in pulled.stdout + pulled.stderr, pulled
    assert stack.trusted_pull('%s:%s' % (release.repo1, RELEASE)).returncode != 0


def test_without_rollback_the_release_stays_in_part_and_the_message_says_so(release, stack):
    release.add_signer(release.repo1)
    release.add_signer(release.repo2)
    images = [{'repository': release.repo1, 'source': release.source, 'tags': ['extra']},
              {'repository': release.repo2, 'source': release.source, 'tags': ['extra']}]
    rc, out = release.publish(images, content_trust_release_rollback=False,
                              content_trust_notary_cli=failing_notary(release.tmp_path, release.repo2))
    assert rc != 0
    assert 'Not rolled back (content_trust_release_rollback is false)' in out, out[-3000:]
    assert [t[0] for t in release.trust(release.repo1)[0]] == ['extra', RELEASE]


def test_a_revoked_tag_of_the_release_is_signed_again_and_the_summary_says_so(release, stack):
    release.add_signer(release.repo1)
    images = [{'repository': release.repo1, 'source': release.source, 'tags': ['stable']}]
    rc, out = release.publish(images)
    assert rc == 0, out[-3000:]
    assert 'This run signed 2 tags: %s:%s, %s:stable.' % (release.repo1, RELEASE, release.repo1) in out, out[-3000:]
    res = run_module('trust_revoke', common(stack, release.docker_config, repository=release.repo1, tags=['stable'],
                                            signer='jeff', signer_passphrase=JEFF_PASS))
    assert res['revoked'] == ['stable'], res

    rc, out = release.publish(images)
    assert rc == 0, out[-3000:]
    assert "This run signed 1 tags: %s:stable. The release's tag list is the truth: a tag of it that was revoked is " \
        'signed again; to keep a tag revoked, take it out of content_trust_release_images.' % release.repo1 in out, \
        out[-3000:]
    assert [t[0] for t in release.trust(release.repo1)[0]] == ['stable', RELEASE]

    rc, out = release.publish(images)
    assert rc == 0 and 'This run signs no tag: every tag of the release is already signed by jeff.' in out, out[-3000:]


def test_the_rollback_never_signs_as_this_signer_a_digest_only_another_signer_had_signed(release, stack):
    # Before: the rollback compared every signer's digests before and after and re-signed the difference as the
    # release's signer, so jeff's rollback signed alice's old build of 'shared'.
    alice = run_module('trust_key', common(stack, release.docker_config, signer='alice', passphrase=ALICE_PASS))
    release.add_signer(release.repo1)
    release.add_signer(release.repo1, name='alice', public_key=alice['public_key'])
    release.add_signer(release.repo2)
    old = 'rel-old-%s:build' % uuid.uuid4().hex[:8]
    stack.build_image(release.docker_config, old, content='alice\'s build\n')
    res = run_module('trust_push', common(stack, release.docker_config, repository=release.repo1, tags=['shared'],
                                          source=old, signer='alice', signer_passphrase=ALICE_PASS))
    assert res['changed'], res
    alices = res['results'][0]['digest']
    # Two tags: the notary CLI signs repo2 (one publish), where the injected failure is.
    images = [{'repository': release.repo1, 'source': release.source, 'tags': ['shared']},
              {'repository': release.repo2, 'source': release.source, 'tags': ['extra']}]

    rc, out = release.publish(images, content_trust_notary_cli=failing_notary(release.tmp_path, release.repo2))
    assert rc != 0, out[-3000:]
    report = out[out.index('Report what could not be published'):]
    assert '- %s:shared revoked (this run had signed it anew)' % release.repo1 in report, report[-3000:]
    assert '- %s:shared NOT restored: before this run other signers had signed it for %s; jeff never signed that ' \
        'digest' % (release.repo1, alices) in report, report[-3000:]
    assert 'Every repository shows the trust data it had before this run' not in report, report[-3000:]
    # Nobody's signature for alice's digest was forged as jeff: jeff's role lists no 'shared'; alice's still does.
    jeff = stack.tuf(release.repo1, 'targets/jeff')
    assert 'shared' not in ((jeff or {}).get('signed', {}).get('targets') or {})
    assert 'shared' in stack.tuf(release.repo1, 'targets/alice')['signed']['targets']
    assert [t[0] for t in release.trust(release.repo1)[0]] == []
