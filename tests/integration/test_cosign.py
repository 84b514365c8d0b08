# -*- coding: utf-8 -*-
"""cosign_key, cosign_sign and cosign_verify with the real cosign 2.5 and 3.1 on the real registry."""

import hashlib
import os
import stat
import subprocess

import pytest

from conftest import COSIGN_IMPORT_PASS, COSIGN_PASS, common, run_module
from ocitools import (
    COSIGN_VERSIONS, binding, cosign_binary, push_image, real_cosign_verify, registry_digest, registry_state,
)


@pytest.fixture(params=COSIGN_VERSIONS)
def cosign(request):
    return request.param, cosign_binary(request.param)


def _key(stack, docker_config, path, binary, **kwargs):
    args = common(stack, docker_config, path=path, passphrase=COSIGN_PASS, cosign_cli=binary)
    args.update(kwargs)
    return run_module('cosign_key', args)


def _openssl_fingerprint(public_key_path):
    """The public key's fingerprint as the diffs document it, computed by openssl (SHA-256 of the DER key)."""
    der = subprocess.run(['openssl', 'pkey', '-pubin', '-in', public_key_path, '-outform', 'DER'], check=True,
                         stdout=subprocess.PIPE, timeout=30).stdout
    return hashlib.sha256(der).hexdigest()


def test_cosign_sign_verifies_with_real_cosign_and_is_idempotent(stack, docker_config, tmp_path, cosign):
    version, binary = cosign
    repo = stack.repo('cosign')
    d1 = push_image(stack, docker_config, repo, ['v1', 'latest'])
    d2 = push_image(stack, docker_config, repo, ['v2'])
    keys = str(tmp_path / 'keys')
    key = run_module('cosign_key', common(stack, docker_config, path=keys + '/release', passphrase=COSIGN_PASS,
                                          cosign_cli=binary), diff=True)
    assert not key.failed, key
    assert key['changed'] and key['public_key'].startswith('-----BEGIN PUBLIC KEY-----')
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(key['private_key_path']).st_mode) == 0o600
    with open(key['public_key_path']) as f:
        assert f.read() == key['public_key']
    # The diff: the two files created, the public key's fingerprint as openssl computes it, nothing private.
    fingerprint = _openssl_fingerprint(key['public_key_path'])
    files = {key['private_key_path']: {'mode': '0600', 'public_key_fingerprint': fingerprint},
             key['public_key_path']: {'public_key_fingerprint': fingerprint}}
    assert key['diff']['before'] == {} and key['diff']['after'] == files, key['diff']
    with open(key['private_key_path']) as f:
        private = f.read()
    assert 'PRIVATE KEY' not in str(key['diff']) and private.strip() not in str(key) and COSIGN_PASS not in str(key)
    kept = run_module('cosign_key', common(stack, docker_config, path=keys + '/release', passphrase=COSIGN_PASS,
                                           cosign_cli=binary), diff=True)
    assert not kept['changed'] and kept['diff']['before'] == kept['diff']['after'] == files, kept

    args = common(stack, docker_config, repository=repo, tags=['v1', 'v2', 'latest'], key=key['private_key_path'],
                  key_passphrase=COSIGN_PASS, annotations={'release': 'r1'}, cosign_cli=binary)
    before = registry_state(stack, repo)
    planned = run_module('cosign_sign', args, check_mode=True, diff=True)
    # Each signature binds one tag: `latest`, on v1's digest, gets a signature of its own.
    assert planned['changed'] and [r['signed'] for r in planned['results']] == [True, True, True]
    assert registry_state(stack, repo) == before, 'check mode changed the registry'
    signer = {'public_key_fingerprint': fingerprint}
    unsigned = {'signer': signer, 'signed_tags': {repo + ':v1': None, repo + ':v2': None, repo + ':latest': None}}
    all_signed = {'signer': signer, 'signed_tags': {repo + ':v1': d1, repo + ':v2': d2, repo + ':latest': d1}}
    assert planned['diff']['before'] == unsigned and planned['diff']['after'] == all_signed, planned['diff']

    signed = run_module('cosign_sign', args, diff=True)
    assert not signed.failed, signed
    assert signed['changed'] and signed['cosign_major_version'] == int(version[0])
    assert [(r['tag'], r['digest'], r['signed']) for r in signed['results']] == \
        [('v1', d1, True), ('v2', d2, True), ('latest', d1, True)]
    assert signed['diff']['before'] == unsigned and signed['diff']['after'] == all_signed, signed['diff']
    for tag in ('v1', 'v2', 'latest'):
        proc = real_cosign_verify(binary, key['public_key_path'], '%s:%s' % (repo, tag),
                                  dict(binding(repo, tag), release='r1'))
        assert proc.returncode == 0, proc.stderr.decode()
    # Where each version keeps the signature of a digest.
    state = registry_state(stack, repo)
    for digest in (d1, d2):
        legacy, referrers = 'sha256-%s.sig' % digest[7:], 'sha256-%s' % digest[7:]
        if version.startswith('2'):
            assert legacy in state and referrers not in state, state
        else:
            assert referrers in state and legacy not in state, state

    again = run_module('cosign_sign', args, diff=True)
    assert not again['changed'] and not any(r['signed'] for r in again['results']), again
    assert again['diff']['before'] == again['diff']['after'] == all_signed, again['diff']
    assert registry_state(stack, repo) == state, 'a re-run changed the registry'

    other = _key(stack, docker_config, keys + '/other', binary)
    bad = run_module('cosign_verify', common(stack, docker_config, repository=repo, tags=['v1', 'v2', 'latest'],
                                             public_keys=[other['public_key']], cosign_cli=binary))
    assert bad.failed and all(t in bad['msg'] for t in ('v1 (', 'v2 (', 'latest (')), bad
    assert '3 of 3 tag(s)' in bad['msg']
    good = run_module('cosign_verify', common(stack, docker_config, repository=repo, tags=['v1', 'v2', 'latest'],
                                              public_keys=[other['public_key'], key['public_key']],
                                              annotations={'release': 'r1'}, cosign_cli=binary))
    assert not good.failed and good['verified'] and [r['digest'] for r in good['results']] == [d1, d2, d1], good
    wrong_annotation = run_module('cosign_verify', common(
        stack, docker_config, repository=repo, tags=['v1'], public_keys=[key['public_key']],
        annotations={'release': 'r2'}, fail_on_unverified=False, cosign_cli=binary))
    assert not wrong_annotation.failed and not wrong_annotation['verified'], wrong_annotation

    # Other annotations are another signature: signed again, and both verify.
    more = run_module('cosign_sign', dict(args, tags=['v2'], annotations={'release': 'r1', 'stage': 'prod'}))
    assert more['changed'] and more['results'][0]['signed']
    assert real_cosign_verify(binary, key['public_key_path'], '%s:v2' % repo, {'stage': 'prod'}).returncode == 0

    # Withdrawn: the diff lists the signature bound to `latest` that stops verifying, and nothing after; v1, on the
    # same digest, still verifies.  Again: nothing to withdraw, an equal diff.
    revoke = common(stack, docker_config, repository=repo, tags=['latest'])
    revoked = run_module('cosign_revoke', revoke, diff=True)
    assert not revoked.failed and revoked['changed'], revoked
    withdrawn = ['%s %s' % (s['kind'], s['digest']) for s in revoked['results'][0]['signatures']]
    assert len(withdrawn) == 1 and revoked['diff']['before'] == {'signatures': {repo + ':latest': withdrawn}} and \
        revoked['diff']['after'] == {'signatures': {repo + ':latest': []}}, revoked['diff']
    assert real_cosign_verify(binary, key['public_key_path'], '%s:latest' % repo, binding(repo, 'latest')).returncode
    assert real_cosign_verify(binary, key['public_key_path'], '%s:v1' % repo, binding(repo, 'v1')).returncode == 0
    once_more = run_module('cosign_revoke', dict(revoke, missing='ignore'), diff=True)
    assert not once_more['changed'] and once_more['diff']['before'] == once_more['diff']['after'] == \
        {'signatures': {repo + ':latest': []}}, once_more


def test_cosign_sign_wrong_passphrase_signs_nothing(stack, docker_config, tmp_path, cosign, monkeypatch):
    dummy, binary = cosign
    repo = stack.repo('cosign')
    push_image(stack, docker_config, repo, ['v1'])
    key = _key(stack, docker_config, str(tmp_path / 'k' / 'release'), binary)
    before = registry_state(stack, repo)
    # The right password in cosign's environment variable changes nothing: the module answers the
    # prompt with key_passphrase and keeps COSIGN_* away from cosign.
    monkeypatch.setenv('COSIGN_PASSWORD', COSIGN_PASS)
    res = run_module('cosign_sign', common(stack, docker_config, repository=repo, tags=['v1'],
                                           key=key['private_key_path'], key_passphrase='wrong-Passphrase',
                                           cosign_cli=binary))
    assert res.failed and 'password is incorrect' in res['msg'] and 'key_passphrase' in res['msg'], res
    assert registry_state(stack, repo) == before
    missing = run_module('cosign_sign', common(stack, docker_config, repository=repo, tags=['v1', 'nope'],
                                               key=key['private_key_path'], key_passphrase=COSIGN_PASS,
                                               cosign_cli=binary))
    assert missing.failed and 'no tag nope' in missing['msg'], missing
    assert registry_state(stack, repo) == before


def _encrypted_pem(path):
    subprocess.run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes-256-cbc',
                    '-pass', 'stdin', '-out', path], input=(COSIGN_IMPORT_PASS + '\n').encode(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    os.chmod(path, 0o600)
    with open(path) as f:
        assert f.read().startswith('-----BEGIN ENCRYPTED PRIVATE KEY-----')


@pytest.mark.parametrize('signing_version', COSIGN_VERSIONS)
def test_cosign_key_imports_encrypted_pem_then_signs(stack, docker_config, tmp_path, signing_version):
    # Debian's cosign 2.5 imports no key at all; 3.1 imports, and its key pair signs with both.
    importer = cosign_binary('3.1')
    signer = cosign_binary(signing_version)
    source = str(tmp_path / 'team-key.pem')
    _encrypted_pem(source)
    keys = tmp_path / 'keys'
    args = dict(private_key_path=source, private_key_passphrase=COSIGN_IMPORT_PASS)
    planned = run_module('cosign_key', common(stack, docker_config, path=str(keys / 'team'), passphrase=COSIGN_PASS,
                                              cosign_cli=importer, **args), check_mode=True)
    assert planned['changed'] and not os.path.exists(str(keys)), planned
    imported = _key(stack, docker_config, str(keys / 'team'), importer, **args)
    assert not imported.failed and imported['changed'], imported
    assert planned['public_key'] == imported['public_key']
    assert sorted(os.listdir(str(keys))) == ['team.key', 'team.pub'], 'a decrypted or temporary copy was left behind'
    with open(imported['private_key_path']) as f:
        assert 'ENCRYPTED SIGSTORE PRIVATE KEY' in f.read()
    again = _key(stack, docker_config, str(keys / 'team'), importer, **args)
    assert not again.failed and not again['changed'], again

    repo = stack.repo('cosign')
    digest = push_image(stack, docker_config, repo, ['v1'])
    res = run_module('cosign_sign', common(stack, docker_config, repository=repo, tags=['v1'],
                                           key=imported['private_key_path'], key_passphrase=COSIGN_PASS,
                                           cosign_cli=signer))
    assert not res.failed and res['results'][0]['signed'], res
    proc = real_cosign_verify(signer, imported['public_key_path'], '%s@%s' % (repo, digest), binding(repo, 'v1'))
    assert proc.returncode == 0, proc.stderr.decode()
    assert registry_digest(stack, repo, 'v1') == digest


def test_cosign_key_import_with_debian_cosign_2_5_explains(stack, docker_config, tmp_path):
    source = str(tmp_path / 'team-key.pem')
    _encrypted_pem(source)
    res = _key(stack, docker_config, str(tmp_path / 'keys' / 'team'), cosign_binary('2.5'),
               private_key_path=source, private_key_passphrase=COSIGN_IMPORT_PASS)
    assert res.failed and 'cosign 3' in res['msg'], res
    assert os.listdir(str(tmp_path / 'keys')) == []


def test_cosign_key_bad_inputs(stack, docker_config, tmp_path):
    binary = cosign_binary('3.1')
    source = str(tmp_path / 'team-key.pem')
    _encrypted_pem(source)
    res = _key(stack, docker_config, str(tmp_path / 'keys' / 'team'), binary, private_key_path=source)
    assert res.failed and 'private_key_passphrase' in res['msg'], res
    res = _key(stack, docker_config, str(tmp_path / 'keys' / 'team'), binary, private_key_path=source,
               private_key_passphrase='wrong-Passphrase')
    assert res.failed and 'incorrect' in res['msg'], res
    open_dir = tmp_path / 'open'
    open_dir.mkdir(mode=0o755)
    os.chmod(str(open_dir), 0o755)
    res = _key(stack, docker_config, str(open_dir / 'team'), binary)
    assert res.failed and '0700' in res['msg'], res
    made = _key(stack, docker_config, str(tmp_path / 'keys' / 'team'), binary)
    assert not made.failed
    replaced = _key(stack, docker_config, str(tmp_path / 'keys' / 'team'), binary, force=True)
    assert not replaced.failed and replaced['changed'] and replaced['public_key'] != made['public_key'], replaced
    with open(replaced['public_key_path']) as f:
        assert f.read() == replaced['public_key']
    assert sorted(os.listdir(str(tmp_path / 'keys'))) == ['team.key', 'team.pub']
    made = replaced
    wrong = run_module('cosign_key', common(stack, docker_config, path=str(tmp_path / 'keys' / 'team'),
                                            passphrase='wrong-Passphrase', cosign_cli=binary))
    assert wrong.failed and 'password is incorrect' in wrong['msg'], wrong
