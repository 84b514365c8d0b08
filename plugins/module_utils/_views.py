# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: trust views, the private docker configurations a run works in.

Not a public API; it may change without notice.

Temporary views (docker configurations, notary configs, copies of encrypted keys) live in the real trust
directory, ``<trust_dir>/.views/view-XXXX/view-YYYY``, 0700, never in /tmp: one directory per run, locked
(``flock``) for as long as the run lives, so a run that died (SIGKILL) leaves views that the next run sweeps
(``sweep_stale_views``) and a live run's views stay.  One lock per run, not per view: each lock is an open file, and
a run over thousands of repositories makes a view or more for each.  ``Views`` is the part of ``_cli.ToolClient``
that makes them (``tempdir``, ``read_view``, ``view``) and removes them (``cleanup``).  The views a run signs or
reads Notary in are made here too, the one place: ``signer_view`` (only the given keys; a copy of the TUF cache
without changelists), ``isolated_view`` (a TUF cache of its own) and ``add_keys_to_view``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import errno
import fcntl
import os
import shutil
import tempfile

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import check_server_url

VIEWS_DIR = '.views'


def _lock(path, create):
    """An open, exclusively flock'ed lock file, or None when another process holds it (or it is gone).

    The descriptor is not inherited by docker or notary (PEP 446), so the lock lives exactly as
    long as the module's process."""
    flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if not create and exc.errno == errno.ENOENT:
            return None
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # The path may have been swept (unlinked) between open and flock: then it is not ours.
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            raise OSError(errno.ESTALE, 'lock file replaced')
    except (IOError, OSError):
        os.close(fd)
        return None
    return fd


def _mkdir_private(directory):
    """Create ``directory`` 0700 unless it exists; another process creating it first (or
    removing it again right after) is fine: the caller retries on ENOENT."""
    try:
        os.mkdir(directory, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise


def sweep_stale_views(views_dir):
    """Remove the views of module runs that died (SIGKILL): those whose lock no process holds.

    A live run holds the lock of each of its views for as long as it runs, so its views stay."""
    try:
        names = os.listdir(views_dir)
    except OSError:
        return []
    swept = []
    for name in sorted(names):
        view = os.path.join(views_dir, name)
        if name.endswith('.lock'):
            # a lock file whose view is gone (the run died between the two) when nobody holds it
            view, lock_path = view[:-len('.lock')], view
            if os.path.lexists(view):
                continue
        else:
            lock_path = view + '.lock'
        try:
            fd = _lock(lock_path, create=False)
            if fd is None and os.path.exists(lock_path):
                continue  # a running module's view
            if os.path.lexists(view):
                shutil.rmtree(view, ignore_errors=True)
                swept.append(name)
            if fd is not None:
                try:
                    os.unlink(lock_path)
                finally:
                    os.close(fd)
        except OSError:
            continue  # not ours to remove (permissions); never fail a run over it
    return swept


class Views(object):
    """The views of one run of ``_cli.ToolClient``: needs its ``docker_config``, ``trust_dir``, ``views_dir`` and
    ``_tmpdirs``."""

    def tempdir(self):
        """A new private directory (0700) in this run's directory under ``<trust_dir>/.views``."""
        if not self._tmpdirs:
            self._run_dir()
        return tempfile.mkdtemp(dir=self._tmpdirs[0][0], prefix='view-')

    def _run_dir(self):
        """Make this run's directory of views, locked for as long as the run lives (``_tmpdirs``: its path, lock
        file and lock descriptor)."""
        while True:
            # Another run on this host may create the same directories at the same moment, or
            # remove the views directory in its cleanup between our mkdir and mkstemp: retry.
            for directory in (self.docker_config, self.trust_dir, self.views_dir):
                _mkdir_private(directory)
            os.chmod(self.trust_dir, 0o700)
            try:
                os.chmod(self.views_dir, 0o700)
                fd, lock_path = tempfile.mkstemp(dir=self.views_dir, prefix='view-', suffix='.lock')
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    continue
                raise
            os.close(fd)
            fd = _lock(lock_path, create=False)
            if fd is not None:
                break
        d = lock_path[:-len('.lock')]
        self._tmpdirs.append((d, lock_path, fd))
        os.mkdir(d, 0o700)

    def temp_files(self, texts, name):
        """Each of ``texts`` (public material only: keys, certificates) in a file of a new ``tempdir``, named
        ``name % i``; returns their paths, in order.  For the CLIs that take files, not text."""
        d = self.tempdir()
        paths = []
        for i, text in enumerate(texts):
            path = os.path.join(d, name % i)
            with open(path, 'w') as f:
                f.write(text)
            paths.append(path)
        return paths

    def read_view(self):
        """A DOCKER_CONFIG (in ``tempdir``) for reads: every entry of the real one (linked), its TUF cache
        (the real ``trust/tuf``, linked: a read refreshes it, as without the view) and an empty
        ``trust/private``.  docker and notary open every private key file of the trust directory for each
        repository they read, and a read uses none: with a repository key per repository, a read of
        1000 repositories spent two thirds of its time there."""
        view = self.tempdir()
        if os.path.isdir(self.docker_config):
            for entry in os.listdir(self.docker_config):
                if entry != 'trust':
                    os.symlink(os.path.join(self.docker_config, entry), os.path.join(view, entry))
        tuf = os.path.join(self.trust_dir, 'tuf')
        _mkdir_private(tuf)
        os.makedirs(os.path.join(view, 'trust', 'private'), 0o700)
        os.chmod(os.path.join(view, 'trust'), 0o700)
        os.symlink(tuf, os.path.join(view, 'trust', 'tuf'))
        return view

    def cleanup(self):
        """Stop any CLI still running, then remove every view of this run."""
        self.stop_children()
        while self._tmpdirs:
            d, lock_path, fd = self._tmpdirs.pop()
            shutil.rmtree(d, ignore_errors=True)
            try:
                os.unlink(lock_path)
            except OSError:
                pass
            os.close(fd)
        try:
            os.rmdir(self.views_dir)
        except OSError:
            pass  # another run's views are there

    def view(self, docker_config, server=None):
        """This client, running docker and notary with another docker configuration and, if given,
        another Notary server (for example ``isolated_view``); temporary directories are shared
        with this client and removed by its ``cleanup``."""
        other = copy.copy(self)
        other.docker_config = docker_config
        other.trust_dir = os.path.join(docker_config, 'trust')
        if server:
            other.server = check_server_url(server)
        return other


# --- the views a run signs or reads in ---------------------------------------------------------------

def _new_view(cli):
    """A temporary DOCKER_CONFIG (0700) with everything of the real one but its trust directory."""
    view = cli.tempdir()
    if os.path.isdir(cli.docker_config):
        for entry in os.listdir(cli.docker_config):
            if entry != 'trust':
                os.symlink(os.path.join(cli.docker_config, entry), os.path.join(view, entry))
    trust = os.path.join(view, 'trust')
    for directory in (trust, os.path.join(trust, 'private')):
        os.makedirs(directory, 0o700)
        os.chmod(directory, 0o700)
    return view


def signer_view(cli, keys):
    """A DOCKER_CONFIG that shows docker and notary only ``keys`` (``[{path}]``, from the key store).

    Its TUF cache is a copy of the real one's metadata (so the trust pinned there still holds),
    without changelists: whatever docker or notary stage lives in the view only, and a run
    killed between staging and publishing leaves nothing that a later ``notary publish`` on the
    real trust directory would send."""
    view = _new_view(cli)
    tuf = os.path.join(cli.trust_dir, 'tuf')
    target = os.path.join(view, 'trust', 'tuf')
    if os.path.isdir(tuf):
        shutil.copytree(tuf, target, symlinks=True, ignore=shutil.ignore_patterns('changelist'))
    else:
        os.mkdir(target, 0o700)
    os.chmod(target, 0o700)
    add_keys_to_view(view, [key['path'] for key in keys])
    return view


def isolated_view(cli, key_paths):
    """A DOCKER_CONFIG like ``signer_view``, but with a TUF cache of its own, empty at first.

    docker and notary cache TUF metadata per repository (``trust/tuf/<GUN>``) whatever the server:
    reading one server and writing another through the same cache makes the client see version
    rollbacks or the other server's data.  ``key_paths`` are copied (0600), not linked: docker and
    notary ignore symlinked key files."""
    view = _new_view(cli)
    tuf = os.path.join(view, 'trust', 'tuf')
    os.makedirs(tuf, 0o700)
    os.chmod(tuf, 0o700)
    add_keys_to_view(view, key_paths)
    return view


def add_keys_to_view(view, key_paths):
    """Copy private key files into a view's ``trust/private`` (0600), as ``isolated_view`` does."""
    for path in key_paths:
        target = os.path.join(view, 'trust', 'private', os.path.basename(path))
        shutil.copyfile(path, target)
        os.chmod(target, 0o600)
