# -*- coding: utf-8 -*-
"""publish_release signs with cosign and Notation exactly what it signed (or pinned), on the real stack.

Before: cosign_sign and notation_sign got no digests and signed whatever the registry served when they ran, so a tag
moved between trust_push and the cosign step got the organisation's cosign and Notation signatures. Now every tag is
pinned to the digest trust_push signed (without Notary: content_trust_release_images[].digest, else the local image's
digest) and every repository is checked against the registry before the first cosign or Notation signature: a moved
tag in any repository fails the release with nothing signed in any OCI format, and the Notary rollback puts the trust
data back.
"""

import shutil
import uuid

import pytest

from conftest import COSIGN_PASS, common, run_module
from ocitools import cosign_binary, make_notation_pki, notation_binary, registry_digest, registry_state
from test_release_all_or_nothing import RELEASE, Release

ROLES = ('root', 'targets', 'targets/releases', 'targets/jeff')


@pytest.fixture
def oci(stack, docker_config, tmp_path):
    """A release of two repositories (jeff signs both) with a cosign key pair and a Notation PKI."""
    release = Release(stack, docker_config, tmp_path)
    release.add_signer(release.repo1)
    release.add_signer(release.repo2)
    release.cosign = cosign_binary('3.1')
    key = run_module('cosign_key', common(stack, docker_config, path=str(tmp_path / 'cosign' / 'release'),
                                          passphrase=COSIGN_PASS, cosign_cli=release.cosign))
    assert not key.failed, key
    pki = make_notation_pki(str(tmp_path / 'pki'))
    with open(pki['ca']) as f:
        ca = f.read()
    release.oci_vars = {
        'content_trust_cosign_key': key['private_key_path'], 'content_trust_cosign_key_passphrase': COSIGN_PASS,
        'content_trust_cosign_cli': release.cosign,
        'content_trust_notation_key': pki['key'], 'content_trust_notation_certificate_chain': pki['chain'],
        'content_trust_notation_ca_certificates': [ca], 'content_trust_notation_cli': notation_binary(),
        'content_trust_notation_trusted_identities': [pki['identity']],
    }
    return release


def trust_data(stack, repo):
    """The Notary server's TUF metadata of the repository, as consumers see it: the root, the delegations and the
    targets of every role (a role without metadata and one that lists no target and delegates nothing, as notary
    writes a role the first time it signs into it, are the same to a consumer)."""
    out = {}
    for role in ROLES:
        doc = stack.tuf(repo, role)
        signed = doc['signed'] if doc else {}
        delegations = signed.get('delegations') or {}
        out[role] = dict(targets=signed.get('targets') or {},
                         delegations=delegations if delegations.get('roles') else None,
                         keys=signed.get('keys') if role == 'root' else None)
    return out


def no_oci_signatures(stack, *repos):
    """No cosign signature (sha256-<hex>.sig), bundle or Notation referrer tag (sha256-<hex>) in any repository."""
    found = dict((r, sorted(t for t in registry_state(stack, r) if t.startswith('sha256-'))) for r in repos)
    assert found == dict((r, []) for r in repos), found


def moving_cosign(release, stack, repo, other):
    """The real cosign, except that its first call first moves repo:RELEASE to the image ``other`` (pushed through
    the daemon with the real docker CLI): the tag moves after trust_push signed it, before any cosign signature."""
    wrapper = release.tmp_path / 'cosign-moving'
    marker = release.tmp_path / 'moved'
    docker = shutil.which(stack.docker_cli) or stack.docker_cli
    values = dict(marker=marker, config=release.docker_config, host=stack.docker_host, docker=docker, other=other,
                  ref='%s:%s' % (repo, RELEASE), cosign=release.cosign)
    wrapper.write_text(
        '#!/bin/sh\n'
        'if [ ! -e %(marker)s ]; then\n'
        '  touch %(marker)s\n'
        '  DOCKER_CONFIG=%(config)s DOCKER_HOST=%(host)s %(docker)s tag %(other)s %(ref)s >&2 || exit 97\n'
        '  DOCKER_CONFIG=%(config)s DOCKER_HOST=%(host)s %(docker)s push -q %(ref)s >&2 || exit 98\n'
        'fi\n'
        'exec %(cosign)s "$@"\n' % values)
    wrapper.chmod(0o755)
    return str(wrapper), marker


def test_a_tag_moved_after_trust_push_fails_the_release_with_nothing_signed_in_any_oci_format(oci, stack):
    # Two playbook runs: the first signs the release with Notary only; between the runs the tag of the second
    # repository moves; the second run (Notary, cosign, Notation) finds Notary's signatures in place, so the moved
    # tag is exactly "moved between trust_push and the cosign step".
    images = [{'repository': oci.repo1, 'source': oci.source}, {'repository': oci.repo2, 'source': oci.source}]
    rc, out = oci.publish(images)
    assert rc == 0, out[-4000:]
    signed = registry_digest(stack, oci.repo2, RELEASE)
    other = '%s:%s' % (oci.repo2, RELEASE)
    stack.build_image(oci.docker_config, other, content='not the release %s\n' % uuid.uuid4().hex)
    stack.docker(oci.docker_config, 'push', '-q', other)
    moved = registry_digest(stack, oci.repo2, RELEASE)
    assert moved != signed
    before = dict((r, (trust_data(stack, r), stack.versions(r))) for r in (oci.repo1, oci.repo2))

    rc, out = oci.publish(images, content_trust_signature_formats=['notary', 'cosign', 'notation'], **oci.oci_vars)
    assert rc != 0, out[-4000:]
    report = out[out.index('Report what could not be published'):]
    # One read of every repository failed the release before the first signature, naming the tag and both digests.
    assert 'Refuse the release when a tag moved in the registry, before the first cosign or Notation signature ' \
        'failed:' in report, report[-4000:]
    assert 'the registry serves other digests than expected for %s: %s (registry %s, expected %s); nothing was signed' \
        % (oci.repo2, RELEASE, moved, signed) in report, report[-4000:]
    assert 'Nothing was signed with cosign or Notation by this run.' in report, report[-4000:]
    assert 'Rolled back in the trust data:\n- nothing had changed' in report, report[-4000:]
    # The registry holds no cosign or Notation signature; the Notary server's trust data did not move.
    no_oci_signatures(stack, oci.repo1, oci.repo2)
    assert dict((r, (trust_data(stack, r), stack.versions(r))) for r in (oci.repo1, oci.repo2)) == before


def test_a_tag_moved_while_cosign_signs_is_refused_and_the_message_lists_what_stays_signed(oci, stack):
    # The tag moves after the check, right before the first cosign signature: the pins (digests) make cosign_sign
    # refuse the moved tag; the signature of the repository before it stays, and the message says so.
    before = dict((r, trust_data(stack, r)) for r in (oci.repo1, oci.repo2))
    other = 'moved-%s:build' % uuid.uuid4().hex[:8]
    stack.build_image(oci.docker_config, other, content='not the release\n')
    cosign, marker = moving_cosign(oci, stack, oci.repo2, other)
    images = [{'repository': oci.repo1, 'source': oci.source}, {'repository': oci.repo2, 'source': oci.source}]

    rc, out = oci.publish(images, content_trust_signature_formats=['notary', 'cosign', 'notation'],
                          **dict(oci.oci_vars, content_trust_cosign_cli=cosign))
    assert rc != 0, out[-4000:]
    assert marker.exists(), 'cosign never ran: the test did not move the tag'
    report = out[out.index('Report what could not be published'):]
    moved = registry_digest(stack, oci.repo2, RELEASE)
    signed = registry_digest(stack, oci.repo1, RELEASE)
    assert moved != signed
    assert 'the registry serves other digests than expected for %s: %s (registry %s, expected %s); nothing was signed' \
        % (oci.repo2, RELEASE, moved, signed) in report, report[-4000:]
    assert 'Signed with cosign by this run, NOT rolled back' in report, report[-4000:]
    assert '- %s:%s %s\n' % (oci.repo1, RELEASE, signed) in report, report[-4000:]
    for repo in (oci.repo1, oci.repo2):
        assert '- %s:%s revoked (this run had signed it anew)' % (repo, RELEASE) in report, report[-4000:]
    # Notary is as before, the cosign signature is not, and the last lines say exactly that.
    assert 'Every repository shows the trust data it had before this run' not in report, report[-4000:]
    assert 'Every repository shows the Notary trust data it had before this run' in report, report[-4000:]
    assert 'NOT rolled back: the cosign signatures listed above stay in the registry' in report, report[-4000:]
    # repo1's cosign signature is on the digest Notary had signed; nothing at all in repo2; no Notation anywhere.
    sigs = sorted(t for t in registry_state(stack, oci.repo1) if t.startswith('sha256-'))
    assert sigs and all(t.startswith(signed.replace(':', '-')) for t in sigs), sigs
    no_oci_signatures(stack, oci.repo2)
    assert dict((r, trust_data(stack, r)) for r in (oci.repo1, oci.repo2)) == before


@pytest.mark.parametrize('pinned_by', ['local image', 'digest in the inventory'])
def test_a_cosign_only_release_of_a_moved_tag_fails_with_nothing_signed(oci, stack, pinned_by):
    # Without Notary nothing is pushed by the role: the release's images are in the registry already.
    for repo in (oci.repo1, oci.repo2):
        stack.docker(oci.docker_config, 'tag', oci.source, '%s:%s' % (repo, RELEASE))
        stack.docker(oci.docker_config, 'push', '-q', '%s:%s' % (repo, RELEASE))
    built = registry_digest(stack, oci.repo2, RELEASE)
    # Someone moves repo2's release tag to another image before the release is signed.
    other = '%s:%s' % (oci.repo2, RELEASE)
    stack.build_image(oci.docker_config, other, content='not the release %s\n' % uuid.uuid4().hex)
    stack.docker(oci.docker_config, 'push', '-q', other)
    moved = registry_digest(stack, oci.repo2, RELEASE)
    assert moved != built
    images = [{'repository': oci.repo1, 'source': oci.source}, {'repository': oci.repo2, 'source': oci.source}]
    if pinned_by == 'digest in the inventory':
        images = [dict(i, digest=built) for i in images]
    before = dict((r, (trust_data(stack, r), stack.versions(r))) for r in (oci.repo1, oci.repo2))

    rc, out = oci.publish(images, content_trust_signature_formats=['cosign', 'notation'], **oci.oci_vars)
    assert rc != 0, out[-4000:]
    assert 'the registry serves other digests than expected for %s: %s (registry %s, expected %s); nothing was signed' \
        % (oci.repo2, RELEASE, moved, built) in out, out[-4000:]
    assert 'Nothing was signed with cosign or Notation by this run.' in out, out[-4000:]
    no_oci_signatures(stack, oci.repo1, oci.repo2)
    assert dict((r, (trust_data(stack, r), stack.versions(r))) for r in (oci.repo1, oci.repo2)) == before


def test_a_cosign_only_release_signs_the_pinned_digests(oci, stack):
    for repo in (oci.repo1, oci.repo2):
        stack.docker(oci.docker_config, 'tag', oci.source, '%s:%s' % (repo, RELEASE))
        stack.docker(oci.docker_config, 'push', '-q', '%s:%s' % (repo, RELEASE))
    digest = registry_digest(stack, oci.repo1, RELEASE)
    images = [{'repository': oci.repo1, 'digest': digest}, {'repository': oci.repo2, 'source': oci.source}]
    rc, out = oci.publish(images, content_trust_signature_formats=['cosign', 'notation'], **oci.oci_vars)
    assert rc == 0, out[-4000:]
    for repo in (oci.repo1, oci.repo2):
        assert '%s:%s  %s  cosign: signed' % (repo, RELEASE, digest) in out, out[-4000:]
        assert '%s:%s  %s  notation: signed' % (repo, RELEASE, digest) in out, out[-4000:]
