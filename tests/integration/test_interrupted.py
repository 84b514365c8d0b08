# -*- coding: utf-8 -*-
"""A writing module killed mid-run (SIGKILL or SIGTERM) leaves no key material behind and nothing staged.

A stand-in for the notary CLI stalls at a chosen call (while staging, while publishing) so the
kill lands there every time; then the real tools are asked what is left.
"""

import base64
import json
import os
import signal
import stat
import subprocess
import time

import pytest

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module, start_module

from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import load_private_pem
from cryptography.hazmat.primitives import serialization

PASSPHRASES = {'root': ROOT_PASS, 'targets': REPO_PASS, 'jeff': JEFF_PASS, 'alice': ALICE_PASS}
STALL = '''#!/bin/sh
for a in "$@"; do
  if [ "$a" = "%(word)s" ]; then
    echo x >> %(count)s
    if [ "$(wc -l < %(count)s)" -eq %(nth)d ]; then
      echo $$ >> %(pids)s
      touch %(mark)s
      sleep 60 &
      echo $! >> %(pids)s
      wait
    fi
  fi
done
exec %(real)s "$@"
'''


def binary(name):
    for d in os.environ['PATH'].split(os.pathsep):
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    pytest.skip('no %s CLI' % name)


def notary_binary():
    return binary('notary')


def stalling(tmp_path, real, word, nth=1):
    """A stand-in for ``real`` that stalls (60 s) at its ``nth`` call with ``word`` in its argv."""
    path = tmp_path / ('stall-' + os.path.basename(real))
    mark = tmp_path / 'stalled'
    pids = tmp_path / 'stall-pids'
    path.write_text(STALL % dict(word=word, nth=nth, mark=mark, pids=pids, real=real, count=tmp_path / 'stall-count'))
    os.chmod(str(path), 0o755)
    return str(path), str(mark), str(pids)


def stalling_notary(tmp_path, word, nth=1):
    return stalling(tmp_path, notary_binary(), word, nth)


def kill_pids(pids_file):
    """Stop what the stand-in started (by the PIDs it recorded); returns those that were still alive."""
    alive = []
    if not os.path.exists(pids_file):
        return alive
    with open(pids_file) as f:
        for pid in [int(p) for p in f.read().split()]:
            try:
                os.kill(pid, signal.SIGKILL)
                alive.append(pid)
            except OSError:
                pass
    return alive


def _zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except (IOError, OSError):
        return True


def key_material(docker_config):
    """Strings that would betray a copy of each local key: a line of its encrypted file, and the start
    of its decrypted DER (base64), which must exist nowhere."""
    encrypted, decrypted = [], []
    private = os.path.join(docker_config, 'trust', 'private')
    for fn in os.listdir(private):
        with open(os.path.join(private, fn)) as f:
            text = f.read()
        role = [line.split(':', 1)[1].strip() for line in text.splitlines() if line.startswith('role:')][0]
        body = [line for line in text.splitlines() if len(line) == 64]
        encrypted.append(body[1])
        key = load_private_pem(text, PASSPHRASES[role])
        scalar = key.private_numbers().private_value.to_bytes(32, 'big')
        decrypted.extend([scalar, scalar.hex().encode()])
        for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
            der = key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
            # the base64 characters that encode nothing but the secret scalar, wherever it sits
            at = der.find(scalar)
            start, end = -(-at // 3) * 4, (at + len(scalar)) // 3 * 4
            decrypted.append(base64.b64encode(der)[start:end])
    return encrypted, decrypted


# When the running test started: what a killed run leaks in /tmp was written since then.
_STARTED = [0.0]


@pytest.fixture(autouse=True)
def _test_start():
    _STARTED[0] = time.time()


def files_under(top, skip=None, since=None):
    """Every file below ``top`` (at most 1 MiB, no links) with its content; with ``since``, only those modified since
    then (ctime, which a copy that keeps the mtime cannot fake; a shared /tmp holds other runs' files)."""
    for dirpath, dirnames, filenames in os.walk(top):
        if skip and os.path.abspath(dirpath).startswith(skip):
            dirnames[:] = []
            continue
        for fn in filenames:
            path = os.path.join(dirpath, fn)
            try:
                st = os.lstat(path)
                # regular files only: opening another run's fifo (a test of refusing one) would block forever
                if not stat.S_ISREG(st.st_mode) or st.st_size > 1024 * 1024 or (since and st.st_ctime < since):
                    continue
                with open(path, 'rb') as f:
                    yield path, f.read()
            except (IOError, OSError):
                continue


def assert_no_key_leak(docker_config, material):
    encrypted, decrypted = material
    trust = os.path.abspath(os.path.join(docker_config, 'trust'))
    for top, since in (('/tmp', _STARTED[0] - 2), (docker_config, None)):
        for path, data in files_under(top, since=since):
            inside = os.path.abspath(path).startswith(trust + os.sep)
            flat = data.replace(b'\n', b'').replace(b'\r', b'')
            for needle in decrypted:
                assert needle not in flat, 'decrypted key material in %s' % path
            if not inside:
                for needle in encrypted:
                    assert needle.encode() not in flat, 'a copy of a key outside the trust directory: %s' % path
    for path, data in files_under(trust):
        assert b'-----BEGIN PRIVATE KEY' not in data and b'-----BEGIN EC PRIVATE KEY' not in data, path


def views(docker_config):
    d = os.path.join(docker_config, 'trust', '.views')
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def notary_status(stack, docker_config, gun):
    proc = subprocess.run([notary_binary(), '-s', stack.notary_url, '-d', os.path.join(docker_config, 'trust'),
                           '--tlscacert', stack.ca, 'status', gun], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=60, check=False)
    return proc.returncode, proc.stdout.decode()


def staged_files(docker_config, top=('tuf',)):
    found = []
    for dirpath, dummy, filenames in os.walk(os.path.join(docker_config, 'trust', *top)):
        if os.path.basename(dirpath) == 'changelist':
            found.extend(filenames)
    return found


@pytest.fixture
def signed_repo(stack, docker_config):
    """A repository with signer jeff whose tags v1 and v2 are in the registry, unsigned."""
    jeff = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
    repo = stack.repo()
    res = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='jeff',
                                            public_keys=[jeff['public_key']], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert res['changed'] and not res.failed, res
    for tag in ('v1', 'v2'):
        stack.build_image(docker_config, '%s:%s' % (repo, tag))
        stack.docker(docker_config, 'push', '%s:%s' % (repo, tag))
    return repo


def push_args(stack, docker_config, repo, **kwargs):
    return common(stack, docker_config, repository=repo, tags=['v1', 'v2'], signer='jeff',
                  signer_passphrase=JEFF_PASS, repository_passphrase=REPO_PASS, push=False, sign_with='notary',
                  **kwargs)


def kill_while_stalled(docker_config, module, args, mark, pids, sig, at_stall=None):
    """Start ``module``, wait until the stand-in stalls, call ``at_stall()``, send ``sig``; returns the module's
    result or None."""
    proc, args_file = start_module(module, args)
    try:
        deadline = time.time() + 120
        while not os.path.exists(mark):
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, 'the stand-in never stalled'
            time.sleep(0.05)
        assert views(docker_config), 'the run has a view while it stalls'
        if at_stall:
            at_stall()
        proc.send_signal(sig)
        stdout, dummy = proc.communicate(timeout=60)
    finally:
        os.unlink(args_file)
    result = None
    if sig == signal.SIGTERM:
        result = json.loads(stdout.decode())
        assert result['failed'] and 'stopped by signal 15' in result['msg'], result
        assert views(docker_config) == [], 'SIGTERM left a view'
        # the stand-in itself (not the sleep it started) is the CLI the module was waiting for
        with open(pids) as f:
            stand_in = int(f.read().split()[0])
        time.sleep(1)
        assert not os.path.exists('/proc/%d' % stand_in) or _zombie(stand_in), \
            'the module left the CLI it was waiting for running'
    else:
        assert proc.returncode == -signal.SIGKILL
    kill_pids(pids)
    return result


def assert_nothing_left(stack, docker_config, gun, material):
    assert_no_key_leak(docker_config, material)
    assert staged_files(docker_config) == []
    rc, out = notary_status(stack, docker_config, gun)
    assert rc == 0 and 'No unpublished changes for %s' % gun in out, out


SIGNALS = pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGTERM], ids=['SIGKILL', 'SIGTERM'])


def assert_release_staged_in_view(docker_config):
    # trust_push writes the whole changelist (2 tags x jeff and targets/releases) in its view before
    # the one notary publish: killed there, everything is staged, and only in the view
    assert len(staged_files(docker_config, ('.views',))) == 4
    assert staged_files(docker_config) == []


def assert_published(stack, repo, versions):
    # stalled after publishing: the Notary server has the new version of targets/releases already
    assert stack.versions(repo)['targets/releases'] == versions['targets/releases'] + 1, (stack.versions(repo), versions)


@SIGNALS
@pytest.mark.parametrize('point', [('notary', 'publish', 1), ('docker', 'inspect', 2)],
                         ids=['publishing', 'after-publishing'])
def test_killed_trust_push_leaves_no_key_and_nothing_staged(stack, docker_config, tmp_path, signed_repo, sig, point):
    repo = signed_repo
    versions = stack.versions(repo)
    material = key_material(docker_config)
    cli, word, nth = point
    if cli == 'docker' and not stack.cli_has_trust:
        # no docker trust: the notary CLI reads the trust data again after publishing
        cli, word, nth = 'notary', 'delegation', 2
    stand_in, mark, pids = stalling(tmp_path, binary(stack.docker_cli if cli == 'docker' else 'notary'), word, nth)
    kill_while_stalled(docker_config, 'trust_push', push_args(stack, docker_config, repo, timeout=120,
                                                              **{cli + '_cli': stand_in}), mark, pids, sig,
                       at_stall=(lambda: assert_release_staged_in_view(docker_config)) if word == 'publish'
                       else (lambda: assert_published(stack, repo, versions)))
    assert_nothing_left(stack, docker_config, repo, material)
    published = point[0] == 'docker'  # stalled after notary publish returned: the server has it
    assert (stack.versions(repo) != versions) is published

    # the next run (with the real CLIs) sweeps the dead run's view, signs what is left, and leaves no view
    done = run_module('trust_push', push_args(stack, docker_config, repo))
    assert done['changed'] is not published and not done.failed, done
    assert views(docker_config) == []
    entry = stack.inspect(docker_config, repo)[repo]
    assert sorted((t['SignedTag'], t['Signers']) for t in entry['SignedTags']) == [('v1', ['jeff']), ('v2', ['jeff'])]
    assert_nothing_left(stack, docker_config, repo, material)


@SIGNALS
@pytest.mark.parametrize('point', [('add', 2), ('publish', 1)], ids=['staging', 'publishing'])
def test_killed_trust_signer_leaves_nothing_staged(stack, docker_config, tmp_path, signed_repo, sig, point):
    repo = signed_repo
    alice = run_module('trust_key', common(stack, docker_config, signer='alice', passphrase=ALICE_PASS))
    versions = stack.versions(repo)
    material = key_material(docker_config)
    notary_cli, mark, pids = stalling_notary(tmp_path, *point)
    args = common(stack, docker_config, repository=repo, signer='alice', public_keys=[alice['public_key']],
                  repository_passphrase=REPO_PASS)
    kill_while_stalled(docker_config, 'trust_signer', dict(args, notary_cli=notary_cli), mark, pids, sig)
    assert_nothing_left(stack, docker_config, repo, material)
    assert stack.versions(repo) == versions

    done = run_module('trust_signer', args)
    assert done['changed'] and not done.failed, done
    assert views(docker_config) == []
    entry = stack.inspect(docker_config, repo)[repo]
    assert sorted(s['Name'] for s in entry['Signers']) == ['alice', 'jeff']
    assert_nothing_left(stack, docker_config, repo, material)


@SIGNALS
def test_killed_trust_revoke_leaves_no_view(stack, docker_config, tmp_path, signed_repo, sig):
    repo = signed_repo
    signed = run_module('trust_push', push_args(stack, docker_config, repo))
    assert signed['changed'] and not signed.failed, signed
    material = key_material(docker_config)
    # the second revocation: docker trust revoke, or notary remove where docker has no docker trust
    cli, word = ('docker', 'revoke') if stack.cli_has_trust else ('notary', 'remove')
    stand_in, mark, pids = stalling(tmp_path, binary(stack.docker_cli if cli == 'docker' else 'notary'), word, 2)
    args = common(stack, docker_config, repository=repo, tags=['v1', 'v2'], signer='jeff',
                  signer_passphrase=JEFF_PASS)
    kill_while_stalled(docker_config, 'trust_revoke', dict(args, **{cli + '_cli': stand_in}), mark, pids, sig)
    assert_nothing_left(stack, docker_config, repo, material)

    done = run_module('trust_revoke', args)
    assert not done.failed, done
    assert views(docker_config) == []
    entry = stack.inspect(docker_config, repo)[repo]
    assert [t['SignedTag'] for t in entry['SignedTags']] == []
    assert_nothing_left(stack, docker_config, repo, material)


@SIGNALS
def test_killed_trust_migrate_never_wrote_the_repository_key_decrypted(stack, docker_config, tmp_path, signed_repo,
                                                                       tmp_path_factory, sig):
    from test_migrate_trust import NotaryServer
    repo = signed_repo
    signed = run_module('trust_push', push_args(stack, docker_config, repo))
    assert signed['changed'] and not signed.failed, signed
    material = key_material(docker_config)
    new = NotaryServer(stack, str(tmp_path_factory.mktemp('new-notary')))
    try:
        # notary key rotate -k gets the repository key: stall right there
        notary_cli, mark, pids = stalling_notary(tmp_path, 'rotate', 1)
        args = common(stack, docker_config, server=new.url, source_server=stack.notary_url, repositories=[repo],
                      signer='jeff', signer_passphrase=JEFF_PASS, root_passphrase=ROOT_PASS,
                      repository_passphrase=REPO_PASS)
        kill_while_stalled(docker_config, 'trust_migrate', dict(args, notary_cli=notary_cli), mark, pids, sig)
        assert_no_key_leak(docker_config, material)
        assert staged_files(docker_config) == []

        done = run_module('trust_migrate', args)
        assert done['changed'] and not done.failed, done
        assert views(docker_config) == []
        assert new.versions(repo)['targets'] >= 1
        assert_no_key_leak(docker_config, material)
    finally:
        new.stop()


def test_a_live_run_s_view_is_not_swept(stack, docker_config, tmp_path, signed_repo):
    repo = signed_repo
    notary_cli, mark, pids = stalling_notary(tmp_path, 'publish', 1)
    proc, args_file = start_module('trust_push', push_args(stack, docker_config, repo, notary_cli=notary_cli))
    try:
        deadline = time.time() + 90
        while not os.path.exists(mark):
            assert proc.poll() is None and time.time() < deadline
            time.sleep(0.05)
        live = views(docker_config)
        assert live
        # another module run on the same docker configuration sweeps at start (of another repository:
        # reading this one waits for the push's repository lock)
        res = run_module('trust_info', common(stack, docker_config, references=[stack.repo('other')]))
        assert not res.failed, res
        assert set(live) <= set(views(docker_config))
        # reading the repository being published waits for its lock, bounded by the timeout
        waited = run_module('trust_info', common(stack, docker_config, references=[repo], timeout=3))
        assert waited.failed and repo in waited['msg'] and 'timeout of 3 seconds' in waited['msg'], waited
        assert set(live) <= set(views(docker_config))
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        os.unlink(args_file)
        kill_pids(pids)
    assert views(docker_config) == []


@pytest.mark.cli_independent
def test_the_leak_scan_finds_copies(stack, docker_config, tmp_path):
    """The checks above can fail: an encrypted copy outside the trust directory, or the key decrypted
    anywhere, are found."""
    jeff = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
    material = key_material(docker_config)
    assert_no_key_leak(docker_config, material)
    copy = tmp_path / 'copy.key'
    with open(jeff['key_path']) as f:
        copy.write_text(f.read())
    with pytest.raises(AssertionError, match='outside the trust directory'):
        assert_no_key_leak(docker_config, material)
    with open(jeff['key_path']) as f:
        key = load_private_pem(f.read(), JEFF_PASS)
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        copy.write_bytes(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()))
        with pytest.raises(AssertionError, match='decrypted key material'):
            assert_no_key_leak(docker_config, material)
    copy.unlink()
