# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the local key store, ``<docker_config>/trust/private``.

Not a public API; it may change without notice.

The keys docker and notary keep on this host (``list_local_keys``: key ID, role, GUN, path - from the files, without
decrypting them), the signer's and the repository's keys among them (``find_signer_keys``,
``local_repository_keys``), the one check of a local key's passphrase (``unlock_key``) and writing a key file
(``write_private_key_file``, 0600 in the 0700 ``private`` directory, atomically).  The key formats are ``_keys``'s.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    InputError, KeyProblem, TrustError, WrongKeyPassphrase,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import write_file_atomic
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import load_private_pem
from ansible_collections.openbanking.content_trust.plugins.module_utils._pem import MAX_PEM_BYTES, split_pem


def private_dir(trust_dir):
    return os.path.join(trust_dir, 'private')


def list_local_keys(trust_dir):
    """Every private key file under ``<trust_dir>/private`` with its role and gun headers."""
    keys = []
    base = private_dir(trust_dir)
    if not os.path.isdir(base):
        return keys
    for dirpath, dummy, filenames in os.walk(base):
        for fn in sorted(filenames):
            if not fn.endswith('.key') or fn.startswith('.'):
                continue
            path = os.path.join(dirpath, fn)
            try:
                with open(path) as f:
                    pem_type, headers, dummy_der = split_pem(f.read(MAX_PEM_BYTES + 1), path)
            except (IOError, OSError, KeyProblem):
                continue
            role = headers.get('role', '')
            # Old notary layouts name files <id>_<role>.key.
            key_id = fn[:-4].split('_', 1)[0]
            keys.append({'key_id': key_id, 'role': role, 'gun': headers.get('gun'), 'path': path})
    return keys


BASE_ROLES = ('root', 'targets', 'snapshot', 'timestamp')


def local_repository_keys(trust_dir, gun):
    """The local keys of ``gun``'s repository: its targets and snapshot keys (or keys of no repository)."""
    return [k for k in list_local_keys(trust_dir) if k['role'] in ('targets', 'snapshot') and k['gun'] in (None, gun)]


def signer_role_matches(role, name):
    """Delegation keys carry ``role: NAME`` (docker) or ``role: targets/NAME`` (notary).

    Never a top-level role's key, whatever ``name`` is: those are the repository's own keys."""
    if not name or '/' in name or name in BASE_ROLES or role in BASE_ROLES:
        return False
    return role in (name, 'targets/' + name)


def find_signer_keys(trust_dir, name):
    return [k for k in list_local_keys(trust_dir) if signer_role_matches(k['role'], name)]


def read_local_key(path, passphrase, what):
    with open(path) as f:
        return load_private_pem(f.read(MAX_PEM_BYTES + 1), passphrase, what)


def unlock_key(key, passphrase, option, what):
    """The one check of a local key's passphrase, before anything changes: the private key of ``key`` (a key store
    entry, ``{path, key_id}``) decrypted with ``passphrase``, which the user gave as ``option``.  A passphrase that
    does not decrypt it raises ``WrongKeyPassphrase`` ("<option> is incorrect for <what>"), a file that cannot be
    read ``InputError``, a key in a format this code does not read ``KeyProblem`` (callers that leave such keys to
    docker catch it)."""
    if not passphrase:
        raise InputError('%s is required to use the %s' % (option, what))
    try:
        return read_local_key(key['path'], passphrase, what)
    except WrongKeyPassphrase:
        raise WrongKeyPassphrase('%s is incorrect for the %s' % (option, what))
    except (IOError, OSError) as exc:
        raise InputError('cannot read the key file %s of the %s: %s' % (key['path'], what, exc))


def ensure_dir(path, mode=0o700):
    os.makedirs(path, mode, exist_ok=True)  # another run on this host may create it first
    os.chmod(path, mode)


def write_private_key_file(trust_dir, key_id, pem_text):
    """Write atomically into a 0600 temp file in the same 0700 directory, then rename."""
    path = os.path.join(private_dir(trust_dir), key_id + '.key')
    try:
        ensure_dir(trust_dir)
        ensure_dir(private_dir(trust_dir))
        return write_file_atomic(path, pem_text, 0o600)
    except (IOError, OSError) as exc:
        # the write goes through a temp file and a rename: what was there (an older key) is as it was
        raise TrustError('cannot write the private key file %s: %s; the keys already there are unchanged'
                         % (path, exc.strerror or exc))
