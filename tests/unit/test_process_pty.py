# -*- coding: utf-8 -*-
"""The one pty runner (``_process.Runner.dialog``) that docker, notary and cosign share, and ``run_parallel``:
decisions checked on a tiny real program on a pty (no stack)."""

import os
import sys
import threading
import time

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _ocisig, _process
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    CommandTimeout, TrustError, WrongPassphrase,
)

# A stand-in for cosign: asks for the password on the terminal (echo off), says whether it was right.
PROMPTER = r'''
import getpass, sys
password = getpass.getpass("Enter password for private key: ")
if password != "right-password":
    sys.stderr.write("Error: decryption failed\n")
    sys.exit(1)
print("signed with a password of %d characters" % len(password))
'''
OVERWRITE = 'import sys; sys.stdout.write("cosign.key already exists. Overwrite (y/n)? "); sys.stdout.flush(); input()'


class _Cli(_process.Runner):
    timeout = 20
    server = None

    def __init__(self):
        self._children = []

    def env(self):
        return dict(os.environ)

    def _binary(self, name, option):
        return name


def _tools():
    return _ocisig.OciTools(_Cli(), cosign_cli=sys.executable, secrets=['right-password'])


def test_cosign_password_prompt_is_answered_and_the_password_never_shows():
    rc, out = _tools().run_pty([sys.executable, '-c', PROMPTER], 'right-password', 'stand-in sign')
    assert rc == 0 and 'signed with a password of 14 characters' in out and 'right-password' not in out


def test_a_wrong_password_is_named_by_its_option():
    with pytest.raises(WrongPassphrase) as exc:
        _tools().run_pty([sys.executable, '-c', PROMPTER], 'wrong-password', 'stand-in sign', option='key_passphrase')
    assert 'key_passphrase' in str(exc.value) and 'wrong-password' not in str(exc.value)


def test_a_command_on_the_pty_costs_no_sleep_on_close():
    # ptyprocess sleeps 0.1 s in close unless told not to (pexpect's own delayafterclose is not passed on to it):
    # ten quick commands would take a second.
    cli = _Cli()
    start = time.time()
    for dummy in range(10):
        rc, out = cli.dialog([sys.executable, '-c', 'print("done")'], [], lambda *a: '')
        assert rc == 0 and 'done' in out
    assert all(child.ptyproc.delayafterclose == 0 for child in cli._children)
    assert time.time() - start < 1.0


def test_no_password_given_fails_before_anything_is_typed():
    with pytest.raises(TrustError, match='none was given'):
        _tools().run_pty([sys.executable, '-c', PROMPTER], None, 'stand-in sign')


def test_an_overwrite_question_is_never_answered_yes():
    with pytest.raises(TrustError, match='would overwrite an existing file; nothing was overwritten'):
        _tools().run_pty([sys.executable, '-c', OVERWRITE], 'right-password', 'stand-in generate-key-pair')


def test_a_command_that_outlives_its_timeout_is_killed_with_a_clear_error():
    cli = _Cli()
    cli.timeout = 1
    start = time.time()
    with pytest.raises(CommandTimeout, match='did not finish within the timeout of 1 seconds'):
        _ocisig.OciTools(cli).run_pty([sys.executable, '-c', 'import time; time.sleep(30)'], 'x', 'stand-in')
    assert time.time() - start < 10
    assert not cli._children[-1].isalive()


def test_docker_and_notary_prompts_go_through_the_same_runner():
    secrets = _process.Secrets(root='root-passphrase-1')
    script = ('import getpass; p = getpass.getpass("Enter passphrase for root key with ID abc1234: "); '
              'print("ok" if p == "root-passphrase-1" else "bad")')
    out = _Cli().run_pty([sys.executable, '-c', script], secrets, what='stand-in notary')
    assert out.strip().endswith('ok') and 'root-passphrase-1' not in out


def test_run_parallel_keeps_the_order_bounds_the_threads_and_raises_the_first_error():
    running, peak, lock = [0], [0], threading.Lock()

    def work(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        if i in (3, 5):
            raise ValueError('item %d' % i)
        return i * 2
    assert _process.run_parallel(lambda i: i * 2, range(6), limit=3) == [0, 2, 4, 6, 8, 10]
    with pytest.raises(ValueError, match='item 3'):
        _process.run_parallel(work, range(8), limit=3)
    assert peak[0] <= 3
    assert _process.run_parallel(work, [], limit=3) == []
