# -*- coding: utf-8 -*-
"""The security defects of issue 9, each pinned on the real stack with the real tools."""

import hashlib
import os
import stat
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module


def key_files(docker_config):
    """{file name: (sha256 of content, mode)} of every file under trust/private."""
    found = {}
    base = os.path.join(docker_config, 'trust', 'private')
    for dirpath, dummy, filenames in os.walk(base):
        for fn in filenames:
            path = os.path.join(dirpath, fn)
            with open(path, 'rb') as f:
                found[os.path.relpath(path, base)] = (hashlib.sha256(f.read()).hexdigest(),
                                                      stat.S_IMODE(os.stat(path).st_mode))
    return found


def roles_of(docker_config):
    roles = {}
    base = os.path.join(docker_config, 'trust', 'private')
    for fn in os.listdir(base):
        with open(os.path.join(base, fn)) as f:
            for line in f:
                if line.startswith('role:'):
                    roles[fn] = line.split(':', 1)[1].strip()
    return roles


def initialised_repo(stack, docker_config):
    """A repository initialised by trust_signer: root and repository keys are in the trust store."""
    jeff = run_module('trust_key', common(stack, docker_config, name='jeff', passphrase=JEFF_PASS))
    assert jeff['changed'] and not jeff.failed, jeff
    repo = stack.repo()
    res = run_module('trust_signer', common(stack, docker_config, repository=repo, name='jeff',
                                            public_keys=[jeff['public_key']], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert res['changed'] and not res.failed, res
    return repo


def test_reserved_names_refused_and_repository_keys_untouched(stack, docker_config):
    repo = initialised_repo(stack, docker_config)
    before = key_files(docker_config)
    assert sorted(roles_of(docker_config).values()) == ['jeff', 'root', 'targets'], roles_of(docker_config)
    versions = stack.versions(repo)
    for name in ['root', 'targets', 'snapshot', 'timestamp', 'releases', 'targets/jeff', 'a/b']:
        for args in (dict(state='absent'), dict(state='present', force=True, passphrase=JEFF_PASS)):
            res = run_module('trust_key', common(stack, docker_config, name=name, **args))
            assert res.failed, res
            assert ('"%s" is reserved' % name in res['msg']) or ('no "/"' in res['msg']), res['msg']
            assert key_files(docker_config) == before
    # docker still signs with the repository's keys and the server saw nothing
    assert stack.versions(repo) == versions
    shown = stack.inspect(docker_config, repo)[repo]
    assert [s['Name'] for s in shown['Signers']] == ['jeff']
    assert shown['AdministrativeKeys'][0]['Keys'], shown


def test_public_key_path_symlink_replaced_victim_untouched(stack, docker_config, tmp_path):
    victim = tmp_path / 'victim-secret'
    victim.write_text('do not touch\n')
    os.chmod(str(victim), 0o600)
    out = tmp_path / 'pub'
    out.mkdir()
    link = out / 'jeff.pub'
    os.symlink(str(victim), str(link))
    # the fixed name the module used to write through
    os.symlink(str(victim), str(out / 'jeff.pub.tmp'))
    res = run_module('trust_key', common(stack, docker_config, name='jeff', passphrase=JEFF_PASS,
                                         public_key_path=str(link)))
    assert res['changed'] and not res.failed, res
    assert victim.read_text() == 'do not touch\n'
    assert stat.S_IMODE(os.stat(str(victim)).st_mode) == 0o600
    assert not os.path.islink(str(link))
    assert link.read_text() == res['public_key']
    assert stat.S_IMODE(os.stat(str(link)).st_mode) == 0o644
    assert sorted(os.listdir(str(out))) == ['jeff.pub', 'jeff.pub.tmp']  # no temp file left


def _pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_force_writes_the_new_key_before_removing_the_old(stack, docker_config):
    first = run_module('trust_key', common(stack, docker_config, name='jeff', passphrase=JEFF_PASS))
    assert first['changed'] and not first.failed, first
    new = ec.generate_private_key(ec.SECP256R1())
    # what the new key's file would be: make the write fail by a directory in its place
    probe = run_module('trust_key', common(stack, docker_config, name='jeff', passphrase=JEFF_PASS,
                                           private_key=_pem(new), force=True), check_mode=True)
    assert probe['changed'] and probe['key_id'] != first['key_id'], probe
    blocker = os.path.join(docker_config, 'trust', 'private', probe['key_id'] + '.key')
    os.mkdir(blocker, 0o700)
    before = key_files(docker_config)
    failed = run_module('trust_key', common(stack, docker_config, name='jeff', passphrase=JEFF_PASS,
                                            private_key=_pem(new), force=True))
    assert failed.failed, failed
    assert key_files(docker_config) == before
    assert os.path.isfile(first['key_path'])
    kept = run_module('trust_key', common(stack, docker_config, name='jeff', passphrase=JEFF_PASS))
    assert not kept['changed'] and kept['key_id'] == first['key_id'], kept

    os.rmdir(blocker)
    replaced = run_module('trust_key', common(stack, docker_config, name='jeff', passphrase=JEFF_PASS,
                                              private_key=_pem(new), force=True))
    assert replaced['changed'] and replaced['key_id'] == probe['key_id'], replaced
    assert replaced['removed_key_ids'] == [first['key_id']]
    assert list(key_files(docker_config)) == [probe['key_id'] + '.key']


def pem_bomb(size):
    line = '-----BEGIN A-----\n'
    return line * (size // len(line))


@pytest.mark.parametrize('size', [60 * 1024, 360 * 1024])
def test_pem_bomb_fails_fast_with_a_clear_message(stack, docker_config, size):
    bomb = pem_bomb(size)
    start = time.time()
    res = run_module('trust_key', common(stack, docker_config, name='jeff', passphrase=JEFF_PASS, private_key=bomb))
    elapsed = time.time() - start
    assert res.failed, res
    assert 'private_key' in res['msg'], res['msg']
    assert ('64 KiB' in res['msg']) if size > 64 * 1024 else ('not a PEM private key' in res['msg']), res['msg']
    assert elapsed < 10, elapsed  # a Python start-up and one parse; the parser alone is timed in the unit tests
    jeff = run_module('trust_key', common(stack, docker_config, name='jeff', passphrase=JEFF_PASS))
    start = time.time()
    repo = stack.repo()
    res = run_module('trust_signer', common(stack, docker_config, repository=repo, name='jeff',
                                            public_keys=[bomb], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert res.failed and 'public_keys' in res['msg'], res
    assert time.time() - start < 10
    assert stack.version(repo, 'root') == 0
    assert jeff['key_id']
