# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: files written whole or not at all.

Not a public API; it may change without notice.

Standard library only, so that the controller-side action plugins (``report``, ``release_report``)
use it without loading what the modules need (cryptography, the Docker SDK).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import os
import stat
import tempfile
import time
from contextlib import contextmanager

# Seconds a run waits for another run's lock on a report: the other run holds it only while it reads, merges and
# writes one report (milliseconds), so a run still waiting after this is stuck, not busy.
LOCK_TIMEOUT = 60


class LockTimeout(Exception):
    """Another process held a report's lock for longer than the timeout."""


def write_file_atomic(path, data, mode):
    """Write ``data`` (text or bytes) to ``path`` through a new temp file in its directory (``mkstemp``:
    never an existing file or symlink), ``fchmod`` before any content, then ``rename`` over ``path``: a
    symlink placed at ``path`` is replaced, never followed, a reader never sees half a file, and a
    failed write leaves ``path`` as it was."""
    if not isinstance(data, bytes):
        data = data.encode('utf-8')
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.rename(tmp, path)
        return path
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def file_mode(value):
    """``0644``, ``'0644'`` or 420: the file mode as an int, or None when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 0o7777 else None
    try:
        mode = int(str(value), 8)
    except ValueError:
        return None
    return mode if 0 <= mode <= 0o7777 else None


def file_names_problem(names):
    """Why ``names`` cannot be files of one directory, or None."""
    bad = [n for n in names if not n or n in ('.', '..') or '/' in n or '\0' in n]
    if bad:
        return 'must be a file name without a directory, got %s' % ', '.join(repr(n) for n in bad)
    if len(set(names)) != len(names):
        return 'must be unique, got %s' % ', '.join(names)
    return None


def _kind(st_mode):
    for test, name in ((stat.S_ISLNK, 'a symbolic link'), (stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a fifo'),
                       (stat.S_ISSOCK, 'a socket'), (stat.S_ISCHR, 'a character device'),
                       (stat.S_ISBLK, 'a block device')):
        if test(st_mode):
            return name
    return 'not a regular file'


def _not_regular(path, st_mode, what='a report is written only over a regular file'):
    return ValueError('%s exists and is %s, not a regular file: %s (nothing was read, written or changed); remove it '
                      'or choose another dest' % (path, _kind(st_mode), what))


def _open_regular(path):
    """An fd of the regular file ``path`` for reading, or None when there is none; ValueError when ``path`` is
    anything else.  ``O_NOFOLLOW`` and ``fstat`` on the fd itself: a symlink swapped in after a check is
    refused too, never followed (``O_NONBLOCK``: opening a fifo does not wait for a writer)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise _not_regular(path, stat.S_IFLNK)
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _not_regular(path, st.st_mode)
    return fd


def read_regular(path):
    """The content (bytes) of the regular file ``path``, or None when there is none; ValueError naming it when it is
    a symlink, directory, fifo or other special file (as ``_open_regular``)."""
    fd = _open_regular(path)
    if fd is None:
        return None
    with os.fdopen(fd, 'rb') as f:
        return f.read()


def flock_within(fd, timeout):
    """An exclusive ``flock`` on ``fd``, waited for at most ``timeout`` seconds (polling, backing off to 0.25 s):
    True once held, False when another process held it all that time.  The one lock wait of the collection (the
    repository locks of ``_locks`` and the report locks here)."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except (IOError, OSError) as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.25)


@contextmanager
def locked(directory, name, mode, timeout=LOCK_TIMEOUT):
    """Hold an exclusive ``flock`` on the file ``name`` of ``directory`` (both created when missing: the directory
    0755, the file with ``mode`` and never removed, since removing a lock file lets two runs lock two files of the
    same name).  The lock is released when the block ends, or when the process dies.

    The file must be a regular file: opened with ``O_NOFOLLOW`` and checked with ``fstat``, so a symlink placed there
    is refused (ValueError naming it), never followed into a file created elsewhere.  ``LockTimeout`` when another
    process holds the lock for ``timeout`` seconds."""
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError('dest %s exists and is not a directory' % directory)
    try:
        os.makedirs(directory, 0o755)
    except OSError as exc:
        if exc.errno != errno.EEXIST:  # another run created it at the same moment
            raise
    path = os.path.join(directory, name)
    what = 'a lock file must be a regular file'
    flags = os.O_RDONLY | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0) | \
        getattr(os, 'O_CLOEXEC', 0)
    try:
        # Read-only is enough for flock, and lets a signer lock a file another signer created.
        fd = os.open(path, flags, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise _not_regular(path, stat.S_IFLNK, what)
        if os.path.lexists(path):
            raise _not_regular(path, os.lstat(path).st_mode, what)
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode, what)
        if not flock_within(fd, timeout):
            raise LockTimeout('another run held the lock %s for more than %s seconds; nothing was read or '
                              'written: try again when it has finished' % (path, timeout))
        yield path
    finally:
        os.close(fd)  # releases the flock


def sync_files(dest, files, mode, check_mode=False):
    """Make each ``(name, data)`` of ``files`` a file of the directory ``dest`` (created 0755 when missing)
    with that content and ``mode``; a file already so is left alone.  Returns ``(changed, paths, diffs)``:
    ``diffs`` holds a before/after pair per file whose content changes.  In ``check_mode`` nothing is written.

    An existing entry of ``dest`` named in ``files`` must be a regular file: a symlink, directory, fifo, ...
    fails with ValueError naming it before any file is read or written (a symlink would otherwise carry
    its target's content into the diff and its mode change to the target)."""
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ValueError('dest %s exists and is not a directory' % dest)
    for name, dummy in files:
        path = os.path.join(dest, name)
        try:
            st = os.lstat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                continue
            raise
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
    changed, paths, diffs = False, [], []
    if not os.path.isdir(dest):
        changed = True
        if not check_mode:
            os.makedirs(dest, 0o755)
    for name, data in files:
        path = os.path.join(dest, name)
        if not isinstance(data, bytes):
            data = data.encode('utf-8')
        old = None
        fd = _open_regular(path)
        try:
            if fd is not None:
                with os.fdopen(os.dup(fd), 'rb') as f:
                    old = f.read()
            if old != data:
                changed = True
                diffs.append(dict(before_header=path, after_header=path,
                                  before=old.decode('utf-8', 'replace') if old is not None else '',
                                  after=data.decode('utf-8', 'replace')))
                if not check_mode:
                    write_file_atomic(path, data, mode)
            elif (os.fstat(fd).st_mode & 0o7777) != mode:
                changed = True
                if not check_mode:
                    os.fchmod(fd, mode)
        finally:
            if fd is not None:
                os.close(fd)
        paths.append(path)
    return changed, paths, diffs


def path_state(path, follow=False):
    """What is at ``path``: ``{kind, mode, uid, gid}`` (``kind``: ``directory``, ``file`` or ``other``), or None.
    ``follow``: a symlink is taken for what it points at (a docker configuration directory may be one)."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise
    kind = 'directory' if stat.S_ISDIR(st.st_mode) else 'file' if stat.S_ISREG(st.st_mode) else 'other'
    return dict(kind=kind, mode='%04o' % (st.st_mode & 0o7777), uid=st.st_uid, gid=st.st_gid)


def _owned_as(state, mode, uid, gid):
    """``state`` with the mode and owner asked for (None: as it is, or as a new entry gets it)."""
    after = dict(state or {})
    if mode is not None or state is None:
        after['mode'] = '%04o' % (0o700 if mode is None else mode)
    if uid is not None:
        after['uid'] = uid
    if gid is not None:
        after['gid'] = gid
    return after


def ensure_directory(path, mode, uid=None, gid=None, check_mode=False):
    """Make ``path`` a directory with ``mode`` (None: an existing one keeps its own, a new one gets 0700) and,
    where given, owner ``uid`` / group ``gid`` (its parents are created 0755 when missing); a symlink to a directory
    counts as one.  Returns ``(changed, before, after)``, each
    of those a ``path_state`` (``before`` None when it did not exist).  ValueError naming ``path`` when something
    else is there.  In ``check_mode`` nothing is changed."""
    before = path_state(path, follow=True)
    if before is not None and before['kind'] != 'directory':
        raise ValueError('%s exists and is not a directory; nothing was changed' % path)
    after = _owned_as(before, mode, uid, gid)
    after['kind'] = 'directory'
    if before == after:
        return False, before, after
    if not check_mode:
        wanted = int(after['mode'], 8)
        if before is None:
            os.makedirs(path, wanted)
        if before is None or before['mode'] != after['mode']:
            os.chmod(path, wanted)  # makedirs' mode is masked by the umask
        if uid is not None or gid is not None:
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
    return True, before, after


def ensure_file(path, data, mode, uid=None, gid=None, check_mode=False):
    """Make ``path`` a regular file holding ``data`` (bytes or text) with ``mode`` and, where given, owner ``uid`` /
    group ``gid``; its directory must exist (or be created before, outside check mode).  New content is written
    atomically (``write_file_atomic``); a file already so is not touched.  Returns ``(changed, before, after)``:
    ``path_state`` of each with ``content`` (text) added.  ValueError naming ``path`` when it is a symlink or anything
    but a regular file, before anything is written."""
    if not isinstance(data, bytes):
        data = data.encode('utf-8')
    before = path_state(path)
    if before is not None and before['kind'] != 'file':
        raise _not_regular(path, os.lstat(path).st_mode, 'it is written only over a regular file')
    old = read_regular(path) if before is not None else None
    if before is not None:
        before['content'] = old.decode('utf-8', 'replace')
    after = _owned_as(before, mode, uid, gid)
    after.update(kind='file', content=data.decode('utf-8', 'replace'))
    if before == after:
        return False, before, after
    if not check_mode:
        if old != data:
            write_file_atomic(path, data, mode)
        else:
            os.chmod(path, mode)
        if uid is not None or gid is not None:
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
    return True, before, after
