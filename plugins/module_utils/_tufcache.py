# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: notary's local TUF cache, standard library only.

Not a public API; it may change without notice.

docker and notary keep each repository's TUF metadata under ``<trust_dir>/tuf/<GUN>/metadata`` and the changes
staged for it under ``.../changelist``.  Here: where they are (``gun_dir``, ``changelist_dir``), a cached role
(``cached_metadata``, ``role_version``) and replacing one repository's cache with another's, whole
(``replace_cached_metadata``: after a move to another Notary server).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil
import tempfile

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError


def gun_dir(trust_dir, gun):
    return os.path.join(trust_dir, 'tuf', *gun.split('/'))


def changelist_dir(trust_dir, gun):
    return os.path.join(gun_dir(trust_dir, gun), 'changelist')


def cached_metadata(trust_dir, gun, role):
    """A role's TUF metadata from the local cache (``None`` when not cached)."""
    path = os.path.join(gun_dir(trust_dir, gun), 'metadata', *(role + '.json').split('/'))
    try:
        with open(path) as f:
            return json.load(f)
    except (IOError, OSError):
        return None
    except ValueError:
        raise TrustError('the cached TUF metadata %s is not valid JSON; remove it and retry' % path)


def _cached_files(trust_dir, gun):
    base = os.path.join(gun_dir(trust_dir, gun), 'metadata')
    files = {}
    for dirpath, dummy, filenames in os.walk(base):
        for fn in filenames:
            path = os.path.join(dirpath, fn)
            with open(path, 'rb') as f:
                files[os.path.relpath(path, base)] = f.read()
    return files


def private_dirs(base, path):
    """Create ``path`` and any missing parents below ``base`` with mode 0700, as notary does."""
    missing = []
    while not os.path.isdir(path) and path != base:
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        os.makedirs(directory, 0o700, exist_ok=True)  # another run may create it first
        os.chmod(directory, 0o700)


def replace_cached_metadata(trust_dir, gun, from_trust_dir):
    """Make the cached TUF metadata of ``gun`` in ``trust_dir`` a copy of ``from_trust_dir``'s.

    The cache is per repository whatever the server, so after moving a repository to another
    Notary server the old server's cache makes docker and notary see version rollbacks; staged
    changes meant for the old server go too.  Returns whether anything changed."""
    wanted = _cached_files(from_trust_dir, gun)
    if not wanted:
        raise TrustError('no cached TUF metadata of %s under %s to copy' % (gun, from_trust_dir))
    staged = changelist_dir(trust_dir, gun)
    if _cached_files(trust_dir, gun) == wanted and not (os.path.isdir(staged) and os.listdir(staged)):
        return False
    target = gun_dir(trust_dir, gun)
    tuf = os.path.join(trust_dir, 'tuf')
    private_dirs(trust_dir, tuf)
    private_dirs(tuf, os.path.dirname(target))
    fresh = tempfile.mkdtemp(dir=os.path.dirname(target), prefix='.replace-')
    try:
        os.chmod(fresh, 0o700)
        for rel, data in wanted.items():
            path = os.path.join(fresh, 'metadata', rel)
            private_dirs(fresh, os.path.dirname(path))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
        os.mkdir(os.path.join(fresh, 'changelist'), 0o700)
        old = None
        if os.path.lexists(target):
            old = tempfile.mkdtemp(dir=os.path.dirname(target), prefix='.old-')
            os.rename(target, os.path.join(old, 'gun'))
        os.rename(fresh, target)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except Exception:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return True


def role_version(trust_dir, gun, role):
    doc = cached_metadata(trust_dir, gun, role)
    return ((doc or {}).get('signed') or {}).get('version', 0)
