# -*- coding: utf-8 -*-
"""trust_pull with formats: a deploy host that requires a cosign or Notation signature instead of, or as
well as, the Notary one, checked with the real cosign 3.1 and notation 1.3 on the real registry."""

import os

import pytest

from conftest import COSIGN_PASS, JEFF_PASS, common, install_publisher_certificate, run_module
from ocitools import cosign_binary, make_notation_pki, notation_binary, real_cosign_verify, real_notation_verify
from test_trust_pull import add_signers, forget, image_id, sign


class Signed(object):
    pass


@pytest.fixture(scope='module')
def signed(stack, tmp_path_factory):
    """One repository: `both` is signed with Notary, cosign and Notation on the same digest; `notary-only`
    with Notary alone; `cosign-only` (unsigned in Notary) with cosign and Notation alone."""
    s = Signed()
    base = tmp_path_factory.mktemp('formats-publisher')
    s.config = str(base / 'docker')
    os.makedirs(s.config, mode=0o700)
    install_publisher_certificate(s.config)  # the publisher writes; the consumers hold no certificate
    s.cosign, s.notation = cosign_binary('3.1'), notation_binary()
    s.repo = stack.repo('formats')
    add_signers(stack, s.config, s.repo, [('jeff', JEFF_PASS)])
    source = stack.build_image(s.config, 'formats-src:%s' % os.path.basename(s.repo))
    s.digests = sign(stack, s.config, s.repo, ['both'], 'jeff', JEFF_PASS, source)
    alone = stack.build_image(s.config, 'formats-alone:%s' % os.path.basename(s.repo))
    s.digests.update(sign(stack, s.config, s.repo, ['notary-only'], 'jeff', JEFF_PASS, alone))
    assert s.digests['notary-only'] != s.digests['both']
    other = stack.build_image(s.config, 'formats-other:%s' % os.path.basename(s.repo))
    stack.docker(s.config, 'tag', other, '%s:cosign-only' % s.repo)
    stack.docker(s.config, 'push', '-q', '%s:cosign-only' % s.repo)

    key = run_module('cosign_key', common(stack, s.config, path=str(base / 'keys' / 'release'),
                                          passphrase=COSIGN_PASS, cosign_cli=s.cosign))
    assert not key.failed, key
    s.cosign_pub, s.cosign_pub_path = key['public_key'], key['public_key_path']
    wrong = run_module('cosign_key', common(stack, s.config, path=str(base / 'keys' / 'wrong'),
                                            passphrase=COSIGN_PASS, cosign_cli=s.cosign))
    s.wrong_pub = wrong['public_key']
    res = run_module('cosign_sign', common(stack, s.config, repository=s.repo, tags=['both', 'cosign-only'],
                                           key=key['private_key_path'], key_passphrase=COSIGN_PASS,
                                           cosign_cli=s.cosign))
    assert not res.failed and [r['signed'] for r in res['results']] == [True, True], res
    s.cosign_only = [r['digest'] for r in res['results'] if r['tag'] == 'cosign-only'][0]
    assert [r['digest'] for r in res['results'] if r['tag'] == 'both'] == [s.digests['both']]

    s.pki = make_notation_pki(str(base / 'pki'))
    s.other_pki = make_notation_pki(str(base / 'other-pki'), org='Other')
    res = run_module('notation_sign', common(stack, s.config, repository=s.repo, tags=['both', 'cosign-only'],
                                             key=s.pki['key'], certificate_chain=s.pki['chain'],
                                             notation_cli=s.notation))
    assert not res.failed and res['changed'], res
    with open(s.pki['ca']) as f:
        s.ca_pem = f.read()
    with open(s.other_pki['ca']) as f:
        s.other_ca_pem = f.read()
    forget(stack, s.config, s.repo, [s.digests['both'], s.digests['notary-only'], s.cosign_only])
    return s


def pull(stack, config, s, tags, formats, **kwargs):
    args = dict(images=[{'repository': s.repo, 'tags': tags}], formats=formats, cosign_cli=s.cosign,
                notation_cli=s.notation)
    args.update(kwargs)
    if 'notation' in formats:
        args.setdefault('notation_trusted_identities', [s.pki['identity']])
    args.setdefault('allow_unpinned', 'root_key_ids' not in args and 'notary' in formats)
    return run_module('trust_pull', common(stack, config, docker_cli=stack.reference_cli, **args))


def test_every_listed_format_verifies_on_the_notary_signed_digest(stack, signed, docker_config):
    s = signed
    ref = '%s:both' % s.repo
    res = pull(stack, docker_config, s, ['both'], ['notary', 'cosign', 'notation'],
               cosign_public_keys=[s.cosign_pub], notation_ca_certificates=[s.ca_pem])
    assert not res.failed and res['changed'], res
    (result,) = res['results']
    assert (result['digest'], result['formats'], result['pulled'], result['tagged']) == \
        (s.digests['both'], ['notary', 'cosign', 'notation'], True, True)
    # What the real tools say of what was pulled: the daemon's RepoDigests, cosign verify, notation verify.
    assert image_id(stack, docker_config, ref) == image_id(stack, docker_config, '%s@%s' % (s.repo, result['digest']))
    assert real_cosign_verify(s.cosign, s.cosign_pub_path, '%s@%s' % (s.repo, result['digest'])).returncode == 0
    assert real_notation_verify(s.notation, '%s@%s' % (s.repo, result['digest']), s.pki['ca'], s.repo).returncode == 0
    again = pull(stack, docker_config, s, ['both'], ['notary', 'cosign', 'notation'],
                 cosign_public_keys=[s.cosign_pub], notation_ca_certificates=[s.ca_pem])
    assert not again.failed and not again['changed'], again
    assert [(r['pulled'], r['tagged']) for r in again['results']] == [(False, False)]


def test_cosign_alone_pulls_what_the_registry_serves_when_cosign_signed_it(stack, signed, docker_config):
    s = signed
    res = pull(stack, docker_config, s, ['cosign-only'], ['cosign'], cosign_public_keys=[s.wrong_pub, s.cosign_pub])
    assert not res.failed and res['changed'], res
    (result,) = res['results']
    assert (result['digest'], result['formats'], result['signers'], result['root_key_id']) == \
        (s.cosign_only, ['cosign'], [], None)
    assert image_id(stack, docker_config, '%s:cosign-only' % s.repo) is not None


@pytest.mark.parametrize('tag, formats, options, words', [
    # Notary-signed, no cosign signature on that digest
    ('notary-only', ['notary', 'cosign'], 'right', ['notary-only', 'cosign signature']),
    # cosign-signed by another key only
    ('cosign-only', ['cosign'], 'wrong', ['cosign-only', 'cosign signature']),
    # Notation from a CA that is not trusted
    ('both', ['notary', 'notation'], 'wrong', ['both', 'Notation signature']),
    # cosign and Notation signed, but not in Notary: notary is required too
    ('cosign-only', ['notary', 'cosign'], 'right', ['cosign-only', 'not signed']),
], ids=['notary-without-cosign', 'cosign-wrong-key', 'notation-wrong-ca', 'cosign-without-notary'])
def test_a_format_that_does_not_verify_fails_and_tags_nothing(stack, signed, docker_config, tag, formats, options,
                                                              words):
    s = signed
    keys = dict(cosign_public_keys=[s.cosign_pub if options == 'right' else s.wrong_pub],
                notation_ca_certificates=[s.ca_pem if options == 'right' else s.other_ca_pem])
    # The daemon is shared by the tests: what counts is that this run moved no local tag.
    before = image_id(stack, docker_config, '%s:%s' % (s.repo, tag))
    res = pull(stack, docker_config, s, [tag], formats, **keys)
    assert res.failed and 'nothing was pulled or tagged' in res['msg'], res
    for word in words:
        assert word in res['msg'], (word, res['msg'])
    assert image_id(stack, docker_config, '%s:%s' % (s.repo, tag)) == before


def test_formats_need_their_keys(stack, signed, docker_config):
    s = signed
    res = pull(stack, docker_config, s, ['both'], ['cosign'])
    assert res.failed and 'cosign_public_keys' in res['msg'], res
    res = pull(stack, docker_config, s, ['both'], ['notation'])
    assert res.failed and 'notation_ca_certificates' in res['msg'], res
