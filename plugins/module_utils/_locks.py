# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the per-repository locks of a host.

Not a public API; it may change without notice.

An exclusive ``fcntl.flock`` on ``<docker_config>/trust/.locks/<sha256 of GUN>.lock``: two modules on one host never
share a repository's changelist or its TUF cache while one of them writes it.  The publish transaction
(``_transaction``) holds it for the whole transaction, and the readers that refresh the cache
(``_trustreader.TrustReader``) take it while they read.  Waiting is bounded by the module's ``timeout``; then the run
fails naming the repository.  The lock is re-entrant within a process; lock files are never removed (removing one
would let two processes lock two different files of the same name).  Apart from both users, so that neither imports
the other for it.

Each held lock is an open file, and a process may open only so many (``RLIMIT_NOFILE``, ``ulimit -n``: a soft limit
of 1024 is usual).  So:

- **Readers lock in batches** (``lock_batches``): at most ``READ_BATCH`` repositories at a time (fewer when fewer
  files are free), each batch locked in the fixed order, read, and released before the next.  What a lock
  protects is one repository's TUF cache while a CLI rewrites it and the reader reads it back, and that holds for
  every repository of a batch: a reader never sees a repository a writer on this host is half-way through.  Holding
  every lock at once would add nothing a reader can rely on: a release of several repositories is published one
  repository at a time, so other hosts see it part-way whatever this host locks.  Not chosen: one host-wide shared
  lock for readers (readers rewrite the cache too, so two readers of one repository must exclude each other, and
  writers of different repositories would serialize); raising the limit alone (``ulimit -n 1024`` sets the hard
  limit too, so there is nothing to raise to).
- **Writers of several repositories** (``repository_locks``: a release, a migration) hold every lock at once, since
  their plan is checked against all of them before anything changes.  When the locks would not fit beside
  ``SPARE_FILES``, the soft limit is raised towards the hard limit, as Go's runtime does for docker and notary;
  when even the hard limit is too low, the run fails before taking any lock (``InputError``), naming the number of
  repositories and the limit.
- The locks are taken sorted by lock file, by writers and by each batch of a reader, so no two runs deadlock.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import hashlib
import os
from contextlib import ExitStack, contextmanager

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX: no limit this module can read
    resource = None

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError, TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import flock_within
from ansible_collections.openbanking.content_trust.plugins.module_utils._views import _mkdir_private

LOCKS_DIR = '.locks'

# The most repositories a reader locks at once: 256 open files, a quarter of the usual soft limit of 1024.
READ_BATCH = 256
# Files left free beside the locks: the pipes and ptys of the CLIs a run starts while it holds them (up to
# _trustreader.MAX_PROCESSES at once), its views, the metadata files it reads back.
SPARE_FILES = 64

_held = {}  # lock path -> [fd, depth]: the locks this process holds (re-entrant)


def lock_path(trust_dir, gun):
    return os.path.join(trust_dir, LOCKS_DIR, hashlib.sha256(gun.encode('utf-8')).hexdigest() + '.lock')


def _open_lock(trust_dir, path):
    while True:
        # Another run may create these at the same moment: EEXIST is fine.
        for directory in (os.path.dirname(trust_dir), trust_dir, os.path.dirname(path)):
            _mkdir_private(directory)
        try:
            # O_CREAT without O_EXCL: two processes creating it at once open the same file.
            return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0), 0o600)
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                raise TrustError('cannot open the lock file %s: this process has as many files open as the host '
                                 'allows (%s)' % (path, describe_limit()))
            if exc.errno != errno.ENOENT:  # a directory removed between mkdir and open: again
                raise


def _acquire(trust_dir, gun, timeout):
    path = lock_path(trust_dir, gun)
    fd = _open_lock(trust_dir, path)
    try:
        if flock_within(fd, timeout):
            return fd
        raise TrustError('repository %s: another run on this host is changing its trust data and did not finish '
                         'within the timeout of %s seconds (lock file %s); try again later or raise timeout'
                         % (gun, timeout, path))
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def repository_lock(trust_dir, gun, timeout):
    """Hold the exclusive lock of repository ``gun`` in ``trust_dir`` (re-entrant in one process)."""
    path = lock_path(trust_dir, gun)
    if path in _held:
        _held[path][1] += 1
        try:
            yield path
        finally:
            _held[path][1] -= 1
        return
    _held[path] = [_acquire(trust_dir, gun, timeout), 1]
    try:
        yield path
    finally:
        fd = _held.pop(path)[0]
        os.close(fd)  # closing the only descriptor releases the flock


def open_files():
    """How many files this process has open; None where it cannot tell (not Linux nor BSD, or no file left to list
    them with)."""
    for directory in ('/proc/self/fd', '/dev/fd'):
        try:
            return len(os.listdir(directory))
        except OSError:
            continue
    return None


def _limits():
    """``(soft, hard)`` of ``RLIMIT_NOFILE``, None for no limit (or none known)."""
    if resource is None:  # pragma: no cover
        return None, None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return (None if soft == resource.RLIM_INFINITY else soft), (None if hard == resource.RLIM_INFINITY else hard)


def describe_limit():
    soft, hard = _limits()
    used = open_files()
    return 'open files limit (ulimit -n): soft %s, hard %s%s' % (
        'unlimited' if soft is None else soft, 'unlimited' if hard is None else hard,
        '' if used is None else '; %d open' % used)


def room_for_locks(wanted):
    """How many more lock files this process can open now, at most ``wanted``: the soft limit on open files less the
    files open and ``SPARE_FILES``.  Where that is short of ``wanted``, the soft limit is first raised as far as
    needed, up to the hard limit (an unprivileged process may; docker and notary, Go programs, raise theirs to the
    hard limit anyway)."""
    soft, hard = _limits()
    if soft is None:
        return wanted
    used = open_files() or 0
    needed = used + wanted + SPARE_FILES
    if needed > soft and (hard is None or hard > soft):
        raised = needed if hard is None else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, resource.RLIM_INFINITY if hard is None else hard))
            soft = raised
        except (ValueError, OSError):  # pragma: no cover - refused (a sandbox): stay within the soft limit
            pass
    return max(0, min(wanted, soft - used - SPARE_FILES))


def _paths(cli, references):
    """``{lock path: GUN}`` of the repositories of ``references``."""
    guns = set(getattr(ref, 'gun', str(ref)) for ref in references)
    return dict((lock_path(cli.trust_dir, gun), gun) for gun in guns)


@contextmanager
def repository_locks(cli, references):
    """The locks of every repository of ``references``, all held at once, taken in a fixed order (no two runs
    deadlock).  For writers of several repositories; readers take theirs in ``lock_batches``.

    ``InputError`` before any lock is taken when this process cannot open that many lock files, even with its soft
    limit raised to the hard limit.  Taken one after another in a flat stack, not nested: a thousand repositories
    would otherwise exceed Python's recursion limit."""
    paths = _paths(cli, references)
    new = len([path for path in paths if path not in _held])
    room = room_for_locks(new)
    if room < new:
        raise InputError('%d repositories are changed in one run, which holds the lock file of each of them open '
                         'until it ends, and this process can open only %d more files (%s): split the '
                         'repositories over runs of at most %d, or raise the hard limit of open files for the user '
                         'who runs the task' % (len(paths), room, describe_limit(), max(1, room)))
    with ExitStack() as stack:
        for path in sorted(paths):
            stack.enter_context(repository_lock(cli.trust_dir, paths[path], cli.timeout))
        yield


def lock_batches(cli, references, size=READ_BATCH):
    """``references`` in batches for a reader to lock (``repository_locks``) and read one after another: whole
    repositories, at most ``size`` of them per batch, and no more locks to take than this process has files left for
    (the locks it holds already, a writer's, cost none), in the order of their lock files; each batch in input
    order."""
    references = list(references)
    paths = _paths(cli, references)
    new = len([path for path in paths if path not in _held])
    room = max(1, room_for_locks(min(size, new))) if new else size
    batch_of = {}
    index = count = taken = 0
    for path in sorted(paths):
        if count == size or (path not in _held and taken == room):
            index, count, taken = index + 1, 0, 0
        batch_of[paths[path]] = index
        count += 1
        taken += path not in _held
    batches = [[] for dummy in range(index + 1 if paths else 0)]
    for ref in references:
        batches[batch_of[getattr(ref, 'gun', str(ref))]].append(ref)
    return batches
