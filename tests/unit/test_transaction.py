# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The publish transaction: the per-repository lock across processes, its timeout, staging only in views,
and the retries after a TUF version conflict."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import multiprocessing
import os
import stat
import time

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _locks, _transaction
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._locks import lock_path, repository_lock
from ansible_collections.openbanking.content_trust.plugins.module_utils._transaction import Transaction, transaction

GUN = '127.0.0.1:5000/acme/app'
REF = parse_reference(GUN, allow_tag=False)


class FakeCLI(object):
    def __init__(self, docker_config, timeout=5):
        self.docker_config = docker_config
        self.trust_dir = os.path.join(docker_config, 'trust')
        self.timeout = timeout


def _hold(trust_dir, ready, seconds):
    with repository_lock(trust_dir, GUN, 5):
        ready.set()
        time.sleep(seconds)


def _critical(trust_dir, log, start):
    start.wait()
    with repository_lock(trust_dir, GUN, 30):
        with open(log, 'a') as f:
            f.write('in %d\n' % os.getpid())
        time.sleep(0.05)
        with open(log, 'a') as f:
            f.write('out %d\n' % os.getpid())


def _holder(trust_dir, seconds):
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=_hold, args=(trust_dir, ready, seconds))
    proc.start()
    assert ready.wait(10)
    return proc


def test_the_second_process_waits_for_the_lock_then_gets_it(tmp_path):
    trust_dir = str(tmp_path / 'config' / 'trust')
    proc = _holder(trust_dir, 1.0)
    started = time.monotonic()
    with repository_lock(trust_dir, GUN, 10):
        waited = time.monotonic() - started
    proc.join(10)
    assert waited >= 0.5, waited
    path = lock_path(trust_dir, GUN)
    assert os.path.dirname(path) == os.path.join(trust_dir, '.locks')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_a_lock_not_had_within_the_timeout_fails_naming_the_repository(tmp_path):
    trust_dir = str(tmp_path / 'config' / 'trust')
    proc = _holder(trust_dir, 3.0)
    started = time.monotonic()
    with pytest.raises(TrustError) as err:
        with repository_lock(trust_dir, GUN, 0.5):
            pass  # pragma: no cover
    assert 0.4 < time.monotonic() - started < 2.5
    assert GUN in str(err.value) and 'timeout' in str(err.value)
    proc.join(10)
    # other repositories are not locked by it
    with repository_lock(trust_dir, '127.0.0.1:5000/acme/other', 0.5):
        pass


def test_processes_creating_the_lock_at_once_take_turns(tmp_path):
    trust_dir = str(tmp_path / 'config' / 'trust')  # nothing exists yet: all of them create it
    log = str(tmp_path / 'log')
    start = multiprocessing.Event()
    procs = [multiprocessing.Process(target=_critical, args=(trust_dir, log, start)) for dummy in range(6)]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    with open(log) as f:
        lines = f.read().split()
    events = list(zip(lines[0::2], lines[1::2]))
    assert len(events) == 12
    for i in range(0, 12, 2):  # every "in" is followed by the "out" of the same process
        assert events[i][0] == 'in' and events[i + 1] == ('out', events[i][1])


def test_the_lock_is_reentrant_in_one_process(tmp_path):
    trust_dir = str(tmp_path / 'trust')
    with repository_lock(trust_dir, GUN, 0.2):
        with repository_lock(trust_dir, GUN, 0.2):
            pass
        assert lock_path(trust_dir, GUN) in _locks._held
    assert lock_path(trust_dir, GUN) not in _locks._held


def test_a_conflict_is_retried_after_reset_and_other_errors_are_not(tmp_path, monkeypatch):
    monkeypatch.setattr(_transaction.time, 'sleep', lambda seconds: None)
    tx = Transaction(FakeCLI(str(tmp_path)), REF)
    resets = []
    monkeypatch.setattr(tx, 'reset', lambda: resets.append(1))
    calls = []

    def conflicting():
        calls.append(tx.attempt_number)
        if len(calls) < 3:
            raise TrustError('notary publish failed', output='trust server rejected operation')
        return 'done'

    assert tx.attempt(conflicting) == 'done'
    assert calls == [0, 1, 2] and len(resets) == 2
    calls[:] = []

    def failing(message):
        def func():
            calls.append(1)
            raise TrustError(message)
        return func

    with pytest.raises(TrustError):
        tx.attempt(failing('passphrase incorrect'))
    assert len(calls) == 1
    calls[:] = []
    with pytest.raises(TrustError):
        tx.attempt(failing('old version'), attempts=3)
    assert len(calls) == 3


def test_a_transaction_never_stages_in_the_real_trust_directory_and_resets_on_exit(tmp_path):
    cli = FakeCLI(str(tmp_path / 'config'))
    cli.notary_argv = lambda ref, trust_dir=None: ['notary', '-d', trust_dir]
    view = str(tmp_path / 'config' / 'trust' / '.views' / 'view-1')
    changelist = os.path.join(view, 'trust', 'tuf', '127.0.0.1:5000', 'acme', 'app', 'changelist')
    with pytest.raises(RuntimeError):
        with transaction(cli, REF) as tx:
            with pytest.raises(ValueError):
                tx.notary(cli.docker_config)
            tx.notary(view)
            os.makedirs(changelist)
            open(os.path.join(changelist, '1.change'), 'w').close()
            raise RuntimeError('boom')
    assert not os.path.exists(changelist)
    assert lock_path(cli.trust_dir, GUN) not in _locks._held
