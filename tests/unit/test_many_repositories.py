# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Thousands of repositories under the usual limit of 1024 open files (``ulimit -n 1024``): a reader locks them a
batch at a time, each repository read under its lock; a writer of several holds every lock at once, raising its
soft limit where the hard limit allows, and fails before taking any lock where it does not.

Each case runs in a forked process whose limit is set with ``resource.setrlimit``, so the test runner's own limit
does not matter; docker trust inspect answers from recorded output (tests/unit/fixtures/notary_read)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import multiprocessing
import os
import resource
import time
import traceback

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _locks
from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import TrustCLI
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import ContentTrustError, TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._locks import (
    READ_BATCH, SPARE_FILES, lock_batches, lock_path, open_files, repository_lock, repository_locks,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import TrustReader, run_concurrently

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'notary_read', 'docker-trust-inspect.json')
HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def many(count, prefix='127.0.0.1:5000/acme/app'):
    return [parse_reference('%s%05d' % (prefix, i), allow_tag=False) for i in range(count)]


class InspectCLI(object):
    """What TrustReader uses of TrustCLI where docker trust exists.  ``inspect`` checks that every repository it
    reads is locked by this process, and records the most files and locks open while a CLI runs."""

    def __init__(self, docker_config, timeout=5):
        self.docker_config = docker_config
        self.trust_dir = os.path.join(docker_config, 'trust')
        self.timeout = timeout
        self.entry = json.load(open(FIXTURE))[0]
        self.most_files = self.most_locks = 0
        self.read_at = {}
        self.views = set()

    def has_docker_trust(self):
        return True

    def read_view(self):
        return os.path.join(self.docker_config, 'read-view')

    def inspect(self, references, view=None):
        self.views.add(view)
        unlocked = [str(r) for r in references if lock_path(self.trust_dir, r.gun) not in _locks._held]
        assert not unlocked, 'read without its lock: %s' % unlocked[:3]
        self.most_files = max(self.most_files, open_files())
        self.most_locks = max(self.most_locks, len(_locks._held))
        now = time.monotonic()
        for r in references:
            self.read_at[r.gun] = now
        return dict((str(r), dict(self.entry, Name=str(r))) for r in references)


def in_child(func, soft, hard=None):
    """``func()`` in a forked process whose open-files limit is ``(soft, hard)`` (hard: unchanged); its return
    value, or ``{'error': class name, 'kind': error_kind, 'msg': message}``."""
    ctx = multiprocessing.get_context('fork')
    parent, child = ctx.Pipe()

    def run():
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, HARD if hard is None else hard))
            child.send(func())
        except ContentTrustError as exc:
            child.send({'error': type(exc).__name__, 'kind': exc.kind, 'msg': exc.msg, 'files': open_files(),
                        'held': len(_locks._held)})
        except BaseException:
            child.send({'error': traceback.format_exc()})

    proc = ctx.Process(target=run)
    proc.start()
    try:
        assert parent.poll(60), 'the child did not answer'
        return parent.recv()
    finally:
        proc.join(10)


def test_a_reader_of_five_thousand_repositories_runs_under_a_limit_of_1024_open_files(tmp_path):
    refs = many(5000)

    def read():
        cli = InspectCLI(str(tmp_path / 'docker'))
        before = open_files()
        result = TrustReader(cli).read(refs + refs[:3])
        return {'read': [k for k, v in result.items() if v['exists']], 'before': before, 'after': open_files(),
                'most_files': cli.most_files, 'most_locks': cli.most_locks, 'held': len(_locks._held),
                'views': len(cli.views), 'limit': resource.getrlimit(resource.RLIMIT_NOFILE)}

    got = in_child(read, 1024, 1024)  # ulimit -n 1024: the hard limit too, nothing to raise
    assert 'error' not in got, got
    assert got['read'] == [str(r) for r in refs]
    assert got['most_locks'] <= READ_BATCH  # a batch at a time, every lock released before the next
    assert got['most_files'] <= got['before'] + READ_BATCH + 4, got
    assert got['held'] == 0 and got['after'] == got['before']
    assert got['views'] == 1  # one read view for the whole read: a view holds a file open until the run ends
    assert got['limit'] == (1024, 1024)
    assert len(os.listdir(str(tmp_path / 'docker' / 'trust' / '.locks'))) == 5000


def test_batches_are_whole_repositories_in_lock_order_and_fit_the_files_left(tmp_path):
    cli = InspectCLI(str(tmp_path / 'docker'))
    refs = [parse_reference('127.0.0.1:5000/acme/app%03d:v%d' % (i % 600, i // 600)) for i in range(1200)]
    batches = lock_batches(cli, refs)
    assert [len(set(r.gun for r in b)) for b in batches] == [READ_BATCH, READ_BATCH, 600 - 2 * READ_BATCH]
    assert sorted(str(r) for b in batches for r in b) == sorted(str(r) for r in refs)
    for b in batches:  # in input order within a batch
        assert b == [r for r in refs if r in b]
    paths = [sorted(set(lock_path(cli.trust_dir, r.gun) for r in b)) for b in batches]
    assert all(a[-1] < b[0] for a, b in zip(paths, paths[1:]))  # the batches follow the lock order
    assert lock_batches(cli, []) == []

    def sizes():
        # 10 files left beside SPARE_FILES, and the soft limit cannot be raised: batches of 10
        limit = open_files() + SPARE_FILES + 10
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        return [len(b) for b in lock_batches(cli, many(100))]

    assert in_child(sizes, 1024) == [10] * 10

    def inside_a_writer():
        # a writer's reads: the locks it holds cost no file, so they do not shrink the batches
        limit = open_files() + SPARE_FILES + 600 + 10
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        with repository_locks(cli, many(600)):
            batches = lock_batches(cli, many(600) + many(20, '127.0.0.1:5000/acme/new'))
        return [(len(b), len([r for r in b if 'new' in r.gun])) for b in batches]

    batches = in_child(inside_a_writer, 1024)
    assert sum(n for n, dummy in batches) == 620 and len(batches) <= 5, batches
    assert all(n <= READ_BATCH and new <= 10 for n, new in batches), batches


@pytest.mark.skipif(HARD != resource.RLIM_INFINITY and HARD < 3000, reason='hard limit of open files below 3000')
def test_a_writer_of_two_thousand_repositories_raises_its_soft_limit_and_holds_every_lock(tmp_path):
    # a release or migration plans against all of them before changing any; the locks are not nested one call
    # deep per repository either (that exceeded the recursion limit at 1000)
    cli = InspectCLI(str(tmp_path / 'docker'))
    refs = many(2000)

    def write():
        with repository_locks(cli, refs + refs[:3]):
            held = sum(1 for r in refs if lock_path(cli.trust_dir, r.gun) in _locks._held)
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        return {'held': held, 'soft': soft, 'after': len(_locks._held)}

    got = in_child(write, 1024)
    assert got == {'held': 2000, 'soft': got['soft'], 'after': 0}, got
    assert 2000 < got['soft'] <= 2000 + open_files() + SPARE_FILES + 64


def test_a_writer_of_more_repositories_than_the_hard_limit_allows_fails_before_taking_any_lock(tmp_path):
    cli = InspectCLI(str(tmp_path / 'docker'))

    def write():
        with repository_locks(cli, many(5000)):
            return 'held'  # pragma: no cover - the test fails

    got = in_child(write, 1024, 1024)
    assert got['error'] == 'InputError' and got['kind'] == 'bad_input', got
    assert got['msg'].startswith('5000 repositories are changed in one run')
    assert 'soft 1024, hard 1024' in got['msg'] and 'runs of at most' in got['msg']
    assert got['held'] == 0
    assert not os.path.exists(str(tmp_path / 'docker' / 'trust' / '.locks'))  # not one lock taken


def test_no_file_left_to_open_a_lock_is_a_clear_error_not_an_oserror(tmp_path):
    trust_dir = str(tmp_path / 'trust')

    def lock():
        limit = open_files() + 2
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        fds = []
        try:
            while True:
                fds.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        with repository_lock(trust_dir, '127.0.0.1:5000/acme/app', 1):
            return 'held'  # pragma: no cover - the test fails

    got = in_child(lock, 1024)
    assert got['error'] == 'TrustError', got
    assert 'as many files open as the host allows' in got['msg'] and 'ulimit -n' in got['msg']


def _hold(trust_dir, gun, ready, seconds, released):
    with repository_lock(trust_dir, gun, 5):
        ready.set()
        time.sleep(seconds)
        released.value = time.monotonic()


def test_a_reader_still_waits_for_a_writer_holding_one_of_its_repositories(tmp_path):
    cli = InspectCLI(str(tmp_path / 'docker'), timeout=0.3)
    refs = many(600)
    held = refs[450]
    ctx = multiprocessing.get_context('fork')
    ready, released = ctx.Event(), ctx.Value('d', 0.0)
    writer = ctx.Process(target=_hold, args=(cli.trust_dir, held.gun, ready, 1.5, released))
    writer.start()
    try:
        assert ready.wait(10)
        started = time.monotonic()
        with pytest.raises(TrustError) as exc:
            TrustReader(cli).read(refs)
        assert held.gun in exc.value.msg and 'timeout' in exc.value.msg
        assert time.monotonic() - started < 1.4 and not _locks._held
        cli.timeout = 10
        result = TrustReader(cli).read(refs)
    finally:
        writer.join(10)
    assert all(result[str(r)]['exists'] for r in refs)
    assert released.value > 0 and cli.read_at[held.gun] >= released.value  # read only once the writer was done
    assert cli.most_locks <= READ_BATCH and not _locks._held


class FakeModule(object):
    def __init__(self, docker_config):
        # notary_cli: any executable (only its path goes into the argv)
        self.params = dict(docker_cli='docker', notary_cli='/bin/sh', docker_host=None, docker_config=docker_config,
                           server='https://127.0.0.1:4443', timeout=30, root_passphrase=None,
                           repository_passphrase=None)


def test_the_notary_path_writes_one_configuration_file_per_configuration_not_per_repository(tmp_path):
    # On docker 29 without the plugin every repository is read by notary, each call with a configuration file; a
    # file per call, each in a view that holds a file open until the run ends, exhausted the limit at about 1000.
    refs = many(3000)

    def argvs():
        cli = TrustCLI(FakeModule(str(tmp_path / 'docker')))
        before = open_files()
        chunks = [refs[i::4] for i in range(4)]  # from the threads of a read, as _trustreader runs them
        plain = run_concurrently(lambda chunk: [cli.notary_argv(r)[2] for r in chunk], chunks)
        pinned = [cli.notary_argv(r, trust_dir='/p/' + r.gun, pins=['ab' * 32])[2] for r in refs[:3]]
        after = open_files()
        view = cli.view(str(tmp_path / 'other'))
        shared = os.path.dirname(view.notary_argv(refs[0])[2]) == os.path.dirname(plain[0][0])  # its own trust_dir
        cli.cleanup()
        again = cli.notary_argv(refs[0])[2]
        written = os.path.isfile(again)
        cli.cleanup()
        return {'plain': sorted(set(p for chunk in plain for p in chunk)), 'pinned': pinned, 'files': after - before,
                'shared': shared, 'again': written}

    got = in_child(argvs, 1024, 1024)
    assert 'error' not in got, got
    assert len(got['plain']) == 1 and got['files'] <= 1, got  # one configuration: one file, in one view
    assert len(set(got['pinned'])) == 3 and got['plain'][0] not in got['pinned']  # pins differ per repository
    assert set(os.path.dirname(p) for p in got['plain'] + got['pinned']) == set([os.path.dirname(got['plain'][0])])
    assert got['shared'] and got['again']


def test_a_run_s_views_hold_one_open_file_however_many_and_a_dead_run_s_are_swept(tmp_path):
    # a writer of many repositories makes a view or more for each (signer views, staging); each view held a lock
    # file open until the run ended
    config = str(tmp_path / 'docker')

    def make_views():
        cli = TrustCLI(FakeModule(config))
        before = open_files()
        views = [cli.tempdir() for dummy in range(3000)]
        return {'files': open_files() - before, 'views': len(set(views)),
                'runs': len(set(os.path.dirname(v) for v in views))}  # the process ends without a cleanup

    got = in_child(make_views, 1024, 1024)
    assert got == {'files': 1, 'views': 3000, 'runs': 1}, got
    views_dir = os.path.join(config, 'trust', '.views')
    assert len(os.listdir(views_dir)) == 2  # the dead run's directory and its lock
    TrustCLI(FakeModule(config))  # the next run sweeps them
    assert os.listdir(views_dir) == []
