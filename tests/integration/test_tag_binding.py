# -*- coding: utf-8 -*-
"""A signature names its repository and tag (issue 19): an attacker who can push to the registry, and holds
no key, points v2.0.0 at the digest of the signed v1.0.0.  cosign_verify, notation_verify and trust_pull
(cosign-only and Notation-only) must refuse it, with the real cosign 2.5 and 3.1 and notation 1.3 on the real
registry; unsigned manifest annotations claiming the moved tag change nothing; a signature made without the
binding (by hand, with the CLI) is refused unless require_tag_binding is false, and cosign_sign / notation_sign
re-sign it."""

import json
import os
import subprocess
import tempfile

import pytest

from conftest import COSIGN_PASS, common, run_module
from ocitools import (
    COSIGN_VERSIONS, attacker_annotate, attacker_move_tag, attacker_put_manifest, binding, cosign_binary,
    make_notation_pki, notation_binary, notation_identity, push_image, real_cosign_verify, real_notation_verify,
    registry_digest, registry_manifest, registry_state,
)
from test_trust_pull import image_id

TAG_KEY = 'org.openbanking.content_trust.tag'
REPOSITORY_KEY = 'org.openbanking.content_trust.repository'


@pytest.fixture(params=COSIGN_VERSIONS)
def cosign(request):
    return request.param, cosign_binary(request.param)


def _cosign_key(stack, docker_config, path, binary):
    key = run_module('cosign_key', common(stack, docker_config, path=path, passphrase=COSIGN_PASS, cosign_cli=binary))
    assert not key.failed, key
    return key


def _cosign_verify(stack, docker_config, repo, tags, key, binary, **kwargs):
    return run_module('cosign_verify', common(stack, docker_config, repository=repo, tags=tags,
                                              public_keys=[key['public_key']], cosign_cli=binary, **kwargs))


def _pull(stack, docker_config, repo, tags, formats, check_mode=True, **kwargs):
    if 'notation' in formats:
        kwargs.setdefault('notation_trusted_identities', [notation_identity()])
    return run_module('trust_pull', common(stack, docker_config, docker_cli=stack.reference_cli,
                                           images=[{'repository': repo, 'tags': tags}], formats=formats, **kwargs),
                      check_mode=check_mode)


def _refused(res, tag, *words):
    assert res.failed, res
    for word in (tag,) + words:
        assert word in res['msg'], (word, res['msg'])


def _sig_manifest_claims(stack, repo, digest, tag):
    """The attacker edits cosign 2.x's signature manifest: the manifest's and every layer's annotations now claim
    ``tag`` (the signed payload, a blob, is unchanged, and so is the signature over it)."""
    sig_tag = 'sha256-%s.sig' % digest[7:]
    body, media_type = registry_manifest(stack, repo, sig_tag)
    manifest = json.loads(body.decode())
    claim = {TAG_KEY: tag, REPOSITORY_KEY: repo}
    manifest['annotations'] = dict(manifest.get('annotations') or {}, **claim)
    for layer in manifest['layers']:
        layer['annotations'] = dict(layer.get('annotations') or {}, **claim)
    attacker_put_manifest(stack, repo, sig_tag, manifest, media_type)


def test_cosign_signature_for_another_tag_is_refused(stack, docker_config, tmp_path, cosign):
    version, binary = cosign
    repo = stack.repo('binding')
    d1 = push_image(stack, docker_config, repo, ['v1.0.0'])
    d2 = push_image(stack, docker_config, repo, ['v2.0.0'])
    key = _cosign_key(stack, docker_config, str(tmp_path / 'keys' / 'release'), binary)
    signed = run_module('cosign_sign', common(stack, docker_config, repository=repo, tags=['v1.0.0', 'v2.0.0'],
                                              key=key['private_key_path'], key_passphrase=COSIGN_PASS,
                                              annotations={'release': 'r1'}, cosign_cli=binary))
    assert not signed.failed and [r['signed'] for r in signed['results']] == [True, True], signed
    # What the real cosign says: each signature is bound to its own tag, and to no other.
    assert real_cosign_verify(binary, key['public_key_path'], '%s@%s' % (repo, d1), binding(repo, 'v1.0.0')) \
        .returncode == 0
    assert real_cosign_verify(binary, key['public_key_path'], '%s@%s' % (repo, d1), binding(repo, 'v2.0.0')) \
        .returncode != 0
    good = _cosign_verify(stack, docker_config, repo, ['v1.0.0', 'v2.0.0'], key, binary)
    assert not good.failed and good['verified'] and [r['digest'] for r in good['results']] == [d1, d2], good

    # The attack: v2.0.0 now serves v1.0.0's signed digest.
    attacker_move_tag(stack, repo, 'v2.0.0', d1)
    bad = _cosign_verify(stack, docker_config, repo, ['v1.0.0', 'v2.0.0'], key, binary)
    _refused(bad, 'v2.0.0 (', 'bound to tag v1.0.0', 'not to v2.0.0', '1 of 2 tag(s)')
    assert bad['error_kind'] == 'unverified', bad
    report = _cosign_verify(stack, docker_config, repo, ['v1.0.0', 'v2.0.0'], key, binary, fail_on_unverified=False)
    assert [(r['tag'], r['digest'], r['verified']) for r in report['results']] == \
        [('v1.0.0', d1, True), ('v2.0.0', d1, False)], report
    before = image_id(stack, docker_config, '%s:v2.0.0' % repo)
    pulled = _pull(stack, docker_config, repo, ['v2.0.0'], ['cosign'], check_mode=False,
                   cosign_public_keys=[key['public_key']], cosign_cli=binary)
    _refused(pulled, 'nothing was pulled or tagged', 'v2.0.0', 'bound to tag v1.0.0')
    assert image_id(stack, docker_config, '%s:v2.0.0' % repo) == before

    if version.startswith('2'):
        # The attacker rewrites the signature manifest's annotations to claim v2.0.0: cosign checks the signed
        # payload, not them.
        _sig_manifest_claims(stack, repo, d1, 'v2.0.0')
        _refused(_cosign_verify(stack, docker_config, repo, ['v2.0.0'], key, binary), 'v2.0.0 (',
                 'bound to tag v1.0.0')
        assert not _cosign_verify(stack, docker_config, repo, ['v1.0.0'], key, binary).failed

    # The attacker adds unsigned manifest annotations claiming the moved tag: another digest, signed by nobody.
    forged = attacker_annotate(stack, repo, 'v2.0.0', d1, binding(repo, 'v2.0.0'))
    assert forged not in (d1, d2) and registry_digest(stack, repo, 'v2.0.0') == forged
    _refused(_cosign_verify(stack, docker_config, repo, ['v2.0.0'], key, binary), 'v2.0.0 (',
             'no cosign signature on %s' % forged)
    _refused(_pull(stack, docker_config, repo, ['v2.0.0'], ['cosign'], cosign_public_keys=[key['public_key']],
                   cosign_cli=binary), 'nothing was pulled', 'v2.0.0')

    # The right tag still verifies, and is pulled.
    ok = _pull(stack, docker_config, repo, ['v1.0.0'], ['cosign'], check_mode=False,
               cosign_public_keys=[key['public_key']], cosign_cli=binary)
    assert not ok.failed and [(r['tag'], r['digest'], r['formats']) for r in ok['results']] == \
        [('v1.0.0', d1, ['cosign'])], ok
    pulled_id = image_id(stack, docker_config, '%s@%s' % (repo, d1))
    assert pulled_id and image_id(stack, docker_config, '%s:v1.0.0' % repo) == pulled_id


def _notation_home(pki):
    """A notation configuration of its own whose default signing key is ``pki``'s (as a person signing by
    hand would set it up)."""
    xdg = tempfile.mkdtemp(prefix='notation-sign-', dir=os.path.dirname(pki['key']))  # in the test's own directory
    os.makedirs(os.path.join(xdg, 'notation'))
    with open(os.path.join(xdg, 'notation', 'signingkeys.json'), 'w') as f:
        json.dump({'default': 'hand', 'keys': [{'name': 'hand', 'keyPath': pki['key'], 'certPath': pki['chain']}]}, f)
    return xdg


def _notation_by_hand(binary, pki, ref):
    proc = subprocess.run([binary, 'sign', '--insecure-registry', ref], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=dict(os.environ, XDG_CONFIG_HOME=_notation_home(pki)),
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout.decode()


def _notation_verify(stack, docker_config, repo, tags, ca_pem, **kwargs):
    return run_module('notation_verify', common(stack, docker_config, repository=repo, tags=tags,
                                                ca_certificates=[ca_pem], notation_cli=notation_binary(),
                                                trusted_identities=[notation_identity()], **kwargs))


def test_notation_signature_for_another_tag_is_refused(stack, docker_config, tmp_path):
    binary = notation_binary()
    pki = make_notation_pki(str(tmp_path / 'pki'))
    with open(pki['ca']) as f:
        ca_pem = f.read()
    repo = stack.repo('binding')
    d1 = push_image(stack, docker_config, repo, ['v1.0.0'])
    d2 = push_image(stack, docker_config, repo, ['v2.0.0'])
    signed = run_module('notation_sign', common(stack, docker_config, repository=repo, tags=['v1.0.0', 'v2.0.0'],
                                                key=pki['key'], certificate_chain=pki['chain'], notation_cli=binary))
    assert not signed.failed and [r['signed'] for r in signed['results']] == [True, True], signed
    assert real_notation_verify(binary, '%s@%s' % (repo, d1), pki['ca'], repo, binding(repo, 'v1.0.0')) \
        .returncode == 0
    assert real_notation_verify(binary, '%s@%s' % (repo, d1), pki['ca'], repo, binding(repo, 'v2.0.0')) \
        .returncode != 0
    good = _notation_verify(stack, docker_config, repo, ['v1.0.0', 'v2.0.0'], ca_pem)
    assert not good.failed and [r['digest'] for r in good['results']] == [d1, d2], good

    attacker_move_tag(stack, repo, 'v2.0.0', d1)
    bad = _notation_verify(stack, docker_config, repo, ['v1.0.0', 'v2.0.0'], ca_pem)
    _refused(bad, 'v2.0.0 (', 'bound to tag v1.0.0', 'not to v2.0.0', '1 of 2 tag(s)')
    assert bad['error_kind'] == 'unverified', bad
    before = image_id(stack, docker_config, '%s:v2.0.0' % repo)
    pulled = _pull(stack, docker_config, repo, ['v2.0.0'], ['notation'], check_mode=False,
                   notation_ca_certificates=[ca_pem], notation_cli=binary)
    _refused(pulled, 'nothing was pulled or tagged', 'v2.0.0', 'Notation')
    assert image_id(stack, docker_config, '%s:v2.0.0' % repo) == before

    forged = attacker_annotate(stack, repo, 'v2.0.0', d1, binding(repo, 'v2.0.0'))
    assert forged not in (d1, d2)
    _refused(_notation_verify(stack, docker_config, repo, ['v2.0.0'], ca_pem), 'v2.0.0 (',
             'no Notation signature on %s' % forged)
    _refused(_pull(stack, docker_config, repo, ['v2.0.0'], ['notation'], notation_ca_certificates=[ca_pem],
                   notation_cli=binary), 'nothing was pulled', 'v2.0.0')

    ok = _pull(stack, docker_config, repo, ['v1.0.0'], ['notation'], notation_ca_certificates=[ca_pem],
               notation_cli=binary)
    assert not ok.failed and [(r['tag'], r['digest']) for r in ok['results']] == [('v1.0.0', d1)], ok


def test_cosign_signature_without_binding_needs_require_tag_binding_false(stack, docker_config, tmp_path, cosign):
    version, binary = cosign
    repo = stack.repo('binding')
    digest = push_image(stack, docker_config, repo, ['v1.0.0'])
    key = _cosign_key(stack, docker_config, str(tmp_path / 'keys' / 'release'), binary)
    # Signed by hand, as before the binding: no annotations.
    argv = ['sign', '--yes', '--key', key['private_key_path'], '--tlog-upload=false', '--allow-http-registry']
    if version.startswith('3'):
        argv.append('--use-signing-config=false')
    proc = subprocess.run([binary] + argv + ['%s@%s' % (repo, digest)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=dict(os.environ, COSIGN_PASSWORD=COSIGN_PASS),
                          stdin=subprocess.DEVNULL, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout.decode()

    refused = _cosign_verify(stack, docker_config, repo, ['v1.0.0'], key, binary)
    _refused(refused, 'v1.0.0 (', 'no tag binding', 're-sign', 'require_tag_binding: false')
    _refused(_pull(stack, docker_config, repo, ['v1.0.0'], ['cosign'], cosign_public_keys=[key['public_key']],
                   cosign_cli=binary), 'nothing was pulled', 'no tag binding')
    allowed = _cosign_verify(stack, docker_config, repo, ['v1.0.0'], key, binary, require_tag_binding=False)
    assert not allowed.failed and allowed['verified'], allowed
    pulled = _pull(stack, docker_config, repo, ['v1.0.0'], ['cosign'], cosign_public_keys=[key['public_key']],
                   cosign_cli=binary, require_tag_binding=False)
    assert not pulled.failed and pulled['results'][0]['digest'] == digest, pulled

    # cosign_sign does not count the unbound signature: it signs again, bound, and then the tag verifies.
    before = registry_state(stack, repo)
    resigned = run_module('cosign_sign', common(stack, docker_config, repository=repo, tags=['v1.0.0'],
                                                key=key['private_key_path'], key_passphrase=COSIGN_PASS,
                                                cosign_cli=binary))
    assert not resigned.failed and resigned['changed'] and resigned['results'][0]['signed'], resigned
    assert registry_state(stack, repo) != before
    assert not _cosign_verify(stack, docker_config, repo, ['v1.0.0'], key, binary).failed


def test_notation_signature_without_binding_needs_require_tag_binding_false(stack, docker_config, tmp_path):
    binary = notation_binary()
    pki = make_notation_pki(str(tmp_path / 'pki'))
    with open(pki['ca']) as f:
        ca_pem = f.read()
    repo = stack.repo('binding')
    digest = push_image(stack, docker_config, repo, ['v1.0.0'])
    _notation_by_hand(binary, pki, '%s@%s' % (repo, digest))

    refused = _notation_verify(stack, docker_config, repo, ['v1.0.0'], ca_pem)
    _refused(refused, 'v1.0.0 (', 'no tag binding', 're-sign', 'require_tag_binding: false')
    _refused(_pull(stack, docker_config, repo, ['v1.0.0'], ['notation'], notation_ca_certificates=[ca_pem],
                   notation_cli=binary), 'nothing was pulled', 'no tag binding')
    allowed = _notation_verify(stack, docker_config, repo, ['v1.0.0'], ca_pem, require_tag_binding=False)
    assert not allowed.failed and allowed['verified'], allowed
    pulled = _pull(stack, docker_config, repo, ['v1.0.0'], ['notation'], notation_ca_certificates=[ca_pem],
                   notation_cli=binary, require_tag_binding=False)
    assert not pulled.failed, pulled

    resigned = run_module('notation_sign', common(stack, docker_config, repository=repo, tags=['v1.0.0'],
                                                  key=pki['key'], certificate_chain=pki['chain'], notation_cli=binary))
    assert not resigned.failed and resigned['changed'], resigned
    assert not _notation_verify(stack, docker_config, repo, ['v1.0.0'], ca_pem).failed
    again = run_module('notation_sign', common(stack, docker_config, repository=repo, tags=['v1.0.0'],
                                               key=pki['key'], certificate_chain=pki['chain'], notation_cli=binary))
    assert not again.failed and not again['changed'], again


def test_user_annotations_cannot_claim_the_binding(stack, docker_config, tmp_path):
    binary = cosign_binary('2.5')
    repo = stack.repo('binding')
    push_image(stack, docker_config, repo, ['v1.0.0'])
    key = _cosign_key(stack, docker_config, str(tmp_path / 'keys' / 'release'), binary)
    before = registry_state(stack, repo)
    res = run_module('cosign_sign', common(stack, docker_config, repository=repo, tags=['v1.0.0'],
                                           key=key['private_key_path'], key_passphrase=COSIGN_PASS,
                                           annotations={TAG_KEY: 'v2.0.0'}, cosign_cli=binary))
    assert res.failed and res['error_kind'] == 'bad_input' and 'reserved' in res['msg'], res
    assert registry_state(stack, repo) == before
