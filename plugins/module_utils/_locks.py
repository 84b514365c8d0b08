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
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import hashlib
import os
from contextlib import ExitStack, contextmanager

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import flock_within
from ansible_collections.openbanking.content_trust.plugins.module_utils._views import _mkdir_private

LOCKS_DIR = '.locks'

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


@contextmanager
def repository_locks(cli, references):
    """The locks of every repository of ``references``, in a fixed order (no two runs deadlock).

    Taken one after another in a flat stack, not nested: a read of a thousand repositories would
    otherwise exceed Python's recursion limit."""
    guns = set(getattr(ref, 'gun', str(ref)) for ref in references)
    paths = dict((lock_path(cli.trust_dir, gun), gun) for gun in guns)
    with ExitStack() as stack:
        for path in sorted(paths):
            stack.enter_context(repository_lock(cli.trust_dir, paths[path], cli.timeout))
        yield
