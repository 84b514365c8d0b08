# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the publish transaction of one repository.

Not a public API; it may change without notice.

Every module that changes trust data does it inside ``with transaction(cli, reference) as tx``:

- **Lock.** An exclusive ``fcntl.flock`` on ``<docker_config>/trust/.locks/<sha256 of GUN>.lock``
  for the whole transaction: two modules on one host never share that repository's changelist or
  its TUF cache while one writes.  Waiting is bounded by the module's ``timeout``; then the run
  fails naming the repository.  Readers that refresh the cache (``_trustreader.TrustReader``) take
  the same lock.  The lock is re-entrant within a process; lock files are never removed (removing
  one would let two processes lock two different files of the same name).
- **Staging in views.** ``tx.view`` gives a private docker configuration (``_signing.signer_view``)
  and ``tx.notary`` a ``NotaryRepository`` on it; nothing is staged in the real trust directory,
  and every changelist the transaction staged is reset when it ends, however it ends.
- **Retries.** ``tx.attempt(func)`` calls ``func()`` again, after a jittered backoff, when the
  Notary server refused a TUF version because another writer published first.  ``func`` must
  read the trust data and plan again each time: the other writer's changes stay.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import hashlib
import os
import random
import time
from contextlib import ExitStack, contextmanager

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._views import _mkdir_private
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import NotaryRepository

LOCKS_DIR = '.locks'

# Another host published between our read and our write: the Notary server refuses a TUF version
# that is not newer ("trust server rejected operation").
CONFLICT_MARKERS = ('trust server rejected operation', 'ErrOldVersion', 'old version')
CONFLICT_ATTEMPTS = 6

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
    deadline = time.monotonic() + timeout
    delay = 0.02
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise TrustError('repository %s: another run on this host is changing its trust data and did not '
                                 'finish within the timeout of %s seconds (lock file %s); try again later or raise '
                                 'timeout' % (gun, timeout, path))
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.25)
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


def is_conflict(exc):
    text = '%s %s' % (getattr(exc, 'msg', exc), getattr(exc, 'output', None) or '')
    return any(m in text for m in CONFLICT_MARKERS)


class Transaction(object):
    """What one writer does to one repository; see the module docstring."""

    def __init__(self, cli, reference):
        self.cli = cli
        self.reference = reference
        self._staging = []
        self.attempt_number = 0  # 0 for the first attempt, 1 for the first retry, ...

    def view(self, keys=(), repository_keys=False):
        """A private docker configuration showing ``keys`` (``_signing.signer_view``) or, with
        ``repository_keys``, the repository's own keys (``repository_view``)."""
        # _signing imports _trustreader, which imports this module.
        from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import (
            repository_view, signer_view,
        )
        if repository_keys:
            return repository_view(self.cli, self.reference.gun)
        return signer_view(self.cli, keys)

    def notary(self, view, cli=None):
        """A ``NotaryRepository`` staging in ``view``'s trust directory, reset now and when the transaction ends."""
        trust_dir = os.path.join(view, 'trust')
        if os.path.realpath(trust_dir) == os.path.realpath(self.cli.trust_dir):
            raise ValueError('a transaction never stages in the real trust directory')
        notary = NotaryRepository(cli or self.cli, self.reference, trust_dir=trust_dir)
        notary.reset()
        self._staging.append(notary)
        return notary

    def reset(self):
        """Drop whatever this transaction staged."""
        while self._staging:
            self._staging.pop().reset()

    def attempt(self, func, attempts=CONFLICT_ATTEMPTS):
        """``func()``, called again after a TUF version conflict (at most ``attempts`` times)."""
        for number in range(attempts):
            self.attempt_number = number
            try:
                return func()
            except TrustError as exc:
                if number == attempts - 1 or not is_conflict(exc):
                    raise
            self.reset()
            # jittered exponential backoff: two hosts that collided do not collide again
            time.sleep(random.uniform(0.5, 1.5) * min(0.2 * 2 ** number, 3.0))


@contextmanager
def transaction(cli, reference):
    """``with transaction(cli, reference) as tx``: lock, stage in views, reset, retry (module docstring)."""
    tx = Transaction(cli, reference)
    with repository_lock(cli.trust_dir, reference.gun, cli.timeout):
        try:
            yield tx
        finally:
            tx.reset()
