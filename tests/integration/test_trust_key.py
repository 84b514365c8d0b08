# -*- coding: utf-8 -*-
"""trust_key against the real trust store format: docker must read what the module writes."""

import os
import stat
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module
from helpers import signer_add_cli, sign_cli


def key_files(docker_config):
    d = os.path.join(docker_config, 'trust', 'private')
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_generate_then_unchanged_and_docker_uses_the_key(stack, docker_config, tmp_path):
    pub = str(tmp_path / 'jeff.pub')
    first = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS,
                                           public_key_path=pub), diff=True)
    assert first['changed'] is True, first
    assert len(first['key_id']) == 64
    assert key_files(docker_config) == [first['key_id'] + '.key']
    assert mode(os.path.join(docker_config, 'trust')) == 0o700
    assert mode(os.path.join(docker_config, 'trust', 'private')) == 0o700
    assert mode(first['key_path']) == 0o600
    assert 'PRIVATE' not in str(first)
    with open(first['key_path']) as f:
        body = f.read()
    assert body.startswith('-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: jeff\n'), body[:60]
    assert first['diff'] == {'before': {'key_ids': []}, 'after': {'key_ids': [first['key_id']]}}
    with open(pub) as f:
        assert f.read() == first['public_key']

    second = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS,
                                            public_key_path=pub))
    assert second['changed'] is False
    assert second['key_id'] == first['key_id']
    assert key_files(docker_config) == [first['key_id'] + '.key']

    # The key ID is the one docker itself shows once the key is a signer, and docker can
    # decrypt and sign with the key the module wrote.
    repo = stack.repo()
    signer_add_cli(stack, docker_config, 'jeff', pub, repo, ROOT_PASS, REPO_PASS)
    shown = stack.inspect(docker_config, repo)[repo]
    assert [s['Keys'][0]['ID'] for s in shown['Signers'] if s['Name'] == 'jeff'] == [first['key_id']]
    stack.build_image(docker_config, repo + ':v1')
    sign_cli(stack, docker_config, repo + ':v1', {'jeff': JEFF_PASS})
    signed = stack.inspect(docker_config, repo + ':v1')[repo + ':v1']
    assert signed['SignedTags'][0]['Signers'] == ['jeff']
    assert stack.trusted_pull(repo + ':v1').returncode == 0


def test_check_mode_reports_and_writes_nothing(stack, docker_config):
    res = run_module('trust_key', common(stack, docker_config, signer='ci', passphrase=JEFF_PASS),
                     check_mode=True, diff=True)
    assert res['changed'] is True
    assert key_files(docker_config) == []
    assert not os.path.exists(os.path.join(docker_config, 'trust'))
    assert res['diff']['before'] == {'key_ids': []}


def _pem(key, passphrase=None, fmt=serialization.PrivateFormat.PKCS8):
    enc = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc).decode()


def test_import_plain_and_encrypted_pem(stack, docker_config, tmp_path):
    plain_key = ec.generate_private_key(ec.SECP256R1())
    res = run_module('trust_key', common(stack, docker_config, signer='plain', passphrase=JEFF_PASS,
                                         private_key=_pem(plain_key, fmt=serialization.PrivateFormat.TraditionalOpenSSL)))
    assert res['changed'] is True
    expected = run_module('trust_key', common(stack, docker_config, signer='plain', passphrase=JEFF_PASS))
    assert expected['changed'] is False and expected['key_id'] == res['key_id']

    # OpenSSL 3's default PKCS#8 encryption (PBKDF2-HMAC-SHA256), which docker's own
    # `trust key load` cannot read: the module decrypts it and stores it in notary's scheme.
    enc_key = ec.generate_private_key(ec.SECP256R1())
    enc_pem = _pem(enc_key, 'import-Passphrase')
    args = common(stack, docker_config, signer='alice', passphrase=ALICE_PASS, private_key=enc_pem,
                  private_key_passphrase='import-Passphrase')
    first = run_module('trust_key', args, secrets=[ALICE_PASS, 'import-Passphrase'])
    assert first['changed'] is True
    again = run_module('trust_key', args, secrets=[ALICE_PASS, 'import-Passphrase'])
    assert again['changed'] is False and again['key_id'] == first['key_id']
    assert sorted(key_files(docker_config)) == sorted([res['key_id'] + '.key', first['key_id'] + '.key'])

    # docker signs with the imported key under the passphrase the module stored it with.
    pub = tmp_path / 'alice.pub'
    pub.write_text(first['public_key'])
    repo = stack.repo()
    signer_add_cli(stack, docker_config, 'alice', str(pub), repo, ROOT_PASS, REPO_PASS)
    stack.build_image(docker_config, repo + ':v1')
    sign_cli(stack, docker_config, repo + ':v1', {'alice': ALICE_PASS, 'plain': JEFF_PASS})
    assert stack.inspect(docker_config, repo + ':v1')[repo + ':v1']['SignedTags'][0]['Signers'] == ['alice']


def test_import_different_key_needs_force(stack, docker_config):
    first = run_module('trust_key', common(stack, docker_config, signer='bob', passphrase=JEFF_PASS))
    other = _pem(ec.generate_private_key(ec.SECP256R1()))
    refused = run_module('trust_key', common(stack, docker_config, signer='bob', passphrase=JEFF_PASS, private_key=other))
    assert refused.failed and 'force=true' in refused['msg'] and first['key_id'] in refused['msg']
    assert key_files(docker_config) == [first['key_id'] + '.key']
    forced = run_module('trust_key', common(stack, docker_config, signer='bob', passphrase=JEFF_PASS,
                                            private_key=other, force=True), diff=True)
    assert forced['changed'] is True and forced['key_id'] != first['key_id']
    assert forced['removed_key_ids'] == [first['key_id']]
    assert key_files(docker_config) == [forced['key_id'] + '.key']


def test_absent_twice(stack, docker_config):
    made = run_module('trust_key', common(stack, docker_config, signer='gone', passphrase=JEFF_PASS))
    keep = run_module('trust_key', common(stack, docker_config, signer='kept', passphrase=JEFF_PASS))
    res = run_module('trust_key', common(stack, docker_config, signer='gone', state='absent'), diff=True)
    assert res['changed'] is True and res['removed_key_ids'] == [made['key_id']]
    assert key_files(docker_config) == [keep['key_id'] + '.key']
    res2 = run_module('trust_key', common(stack, docker_config, signer='gone', state='absent'))
    assert res2['changed'] is False
    assert key_files(docker_config) == [keep['key_id'] + '.key']


@pytest.mark.parametrize('name', ['Jeff', '-jeff', 'je ff', 'jeff!', '', 'releases', 'a/b'])
def test_invalid_names_fail_before_anything_changes(stack, docker_config, name):
    res = run_module('trust_key', common(stack, docker_config, signer=name, passphrase=JEFF_PASS))
    assert res.failed
    assert 'name' in res['msg'] and ('signer name' in res['msg'] or 'reserved' in res['msg'])
    assert key_files(docker_config) == []


def test_wrong_private_key_passphrase(stack, docker_config):
    pem = _pem(ec.generate_private_key(ec.SECP256R1()), 'right-Passphrase')
    res = run_module('trust_key', common(stack, docker_config, signer='x', passphrase=JEFF_PASS, private_key=pem,
                                         private_key_passphrase='wrong-Passphrase'),
                     secrets=[JEFF_PASS, 'right-Passphrase', 'wrong-Passphrase'])
    assert res.failed and 'passphrase is incorrect' in res['msg'] and 'private_key' in res['msg']
    assert key_files(docker_config) == []


def test_wrong_passphrase_for_existing_key_is_reported(stack, docker_config):
    run_module('trust_key', common(stack, docker_config, signer='carol', passphrase=JEFF_PASS))
    res = run_module('trust_key', common(stack, docker_config, signer='carol', passphrase=ALICE_PASS))
    assert res.failed and 'does not decrypt the existing key' in res['msg']


def test_short_passphrase_and_public_key_as_private_key(stack, docker_config, tmp_path):
    res = run_module('trust_key', common(stack, docker_config, signer='short', passphrase='short'), secrets=[])
    assert res.failed and 'at least 8 characters' in res['msg']
    pub = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    res = run_module('trust_key', common(stack, docker_config, signer='pubonly', passphrase=JEFF_PASS, private_key=pub))
    assert res.failed and 'not a private key' in res['msg']
    assert key_files(docker_config) == []


def test_key_id_matches_docker_generated_key(stack, docker_config, tmp_path):
    """A key made by `docker trust key generate` is found by role and given docker's ID."""
    from helpers import generate_key_cli
    pub = generate_key_cli(stack, docker_config, 'dave', JEFF_PASS, str(tmp_path))
    files = key_files(docker_config)
    res = run_module('trust_key', common(stack, docker_config, signer='dave', passphrase=JEFF_PASS))
    assert res['changed'] is False
    assert [res['key_id'] + '.key'] == files
    with open(pub) as f:
        assert '\n'.join(l for l in f.read().splitlines() if ':' not in l and l).strip() in res['public_key']
    # the same ID from the public key alone, by openssl + sha256 as dct-notes shows
    script = ('sed \'/^-----/d;/:/d;/^$/d\' %s | tr -d \'\\n\' | { read b; printf '
              '\'{"keytype":"ecdsa","keyval":{"private":null,"public":"%%s"}}\' "$b"; } | sha256sum' % pub)
    digest = subprocess.run(['bash', '-c', script], stdout=subprocess.PIPE, check=True).stdout.decode().split()[0]
    assert digest == res['key_id']
