# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the notary CLI and the TUF data it caches.

Not a public API; it may change without notice.

The notary CLI does what ``docker trust`` cannot: remove a signer for real (docker's
``signer remove`` silently keeps it), stage several changes and publish them as one new
TUF version, and sign without a daemon.  It reads and writes the same trust directory as
docker, so both see the same keys and the same cached metadata.

Changes are staged in ``<trust_dir>/tuf/<GUN>/changelist`` (no network, no passphrase)
and go to the Notary server with one ``publish``, which asks for the passphrase of the
repository (targets) key on a pty.  ``delegation remove`` always gets ``-y``: without it
notary asks ``Are you sure you want to remove all data for this delegation? (yes/no)``.

``docker trust inspect`` and notary refresh the cache under ``tuf/<GUN>/metadata`` from the
server; right after one of them it is the server's current view, and reading it costs
no extra call.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import re
import shutil

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import canonical_key_id

RELEASES_ROLE = 'targets/releases'


def signer_role(name):
    """The TUF delegation role of a docker signer."""
    return 'targets/' + name


# --- the local TUF cache -------------------------------------------------------------------

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


def delegation_roles(targets_doc):
    """``{role: {'key_ids': [...], 'threshold': n, 'paths': [...]}}`` of a targets.json."""
    roles = {}
    if not targets_doc:
        return roles
    delegations = (targets_doc.get('signed') or {}).get('delegations') or {}
    for role in delegations.get('roles') or []:
        roles[role.get('name')] = {
            'key_ids': sorted(role.get('keyids') or []),
            'threshold': role.get('threshold') or 1,
            'paths': list(role.get('paths') or []),
        }
    return roles


def delegation_key_ids(targets_doc):
    """``{TUF key ID: ID docker shows}`` for every delegation key of a targets.json.

    They differ for certificates: TUF (and ``notary delegation remove``) use the
    certificate's ID, ``docker trust inspect`` the ID of the public key in it.
    """
    ids = {}
    keys = (((targets_doc or {}).get('signed') or {}).get('delegations') or {}).get('keys') or {}
    for key_id, key in keys.items():
        try:
            public = base64.b64decode(key['keyval']['public'])
            ids[key_id] = canonical_key_id(key['keytype'], public)
        except (KeyError, TypeError, ValueError):
            ids[key_id] = key_id
    return ids


def signature_key_ids(doc):
    """Key IDs that signed a TUF metadata document."""
    if not doc:
        return []
    return sorted(set(s.get('keyid') for s in doc.get('signatures') or [] if s.get('keyid')))


def signed_targets(doc):
    """Target (tag) names in a targets or delegation metadata document."""
    if not doc:
        return []
    return sorted(((doc.get('signed') or {}).get('targets') or {}).keys())


# --- the notary CLI ------------------------------------------------------------------------

def explain_notary(output, what, server, docker_config=None):
    """A clear message for the notary CLI's own failure texts, or None to keep the generic one.

    When it cannot reach the server, notary logs ``could not reach <url>: <reason>`` and
    then fails with ``client is offline``.
    """
    text = output or ''
    if 'x509:' in text:
        hint = ''
        if docker_config:
            hint = '; install its CA as %s/tls/%s/ca.crt' % (docker_config, server.split('://', 1)[-1])
        return '%s: the TLS certificate of the Notary server %s is not trusted%s' % (what, server, hint)
    m = re.search(r'could not reach \S+: ([^\n]+)', text)
    if m or 'client is offline' in text:
        reason = m.group(1).strip().rstrip('"') if m else 'client is offline'
        return '%s: the Notary server %s cannot be reached (%s)' % (what, server, reason)
    return None


class NotaryRepository(object):
    """The notary CLI bound to one repository (GUN), its server and a trust directory.

    Staging methods change only the local changelist; ``publish`` (or ``publish=True``)
    sends everything staged as one new TUF version and needs ``secrets``
    (a ``_cli.Secrets``) to answer notary's passphrase prompts.
    """

    def __init__(self, cli, reference, trust_dir=None):
        self.cli = cli
        self.reference = reference
        self.gun = reference.gun
        self.trust_dir = trust_dir or cli.trust_dir
        self._prefix = None

    def argv(self, *args):
        if self._prefix is None:
            self._prefix = self.cli.notary_argv(self.reference, trust_dir=self.trust_dir)
        return self._prefix + list(args)

    def _run(self, args, what, secrets=None):
        argv = self.argv(*args)
        try:
            if secrets is not None:
                return self.cli.run_pty(argv, secrets, what=what)
            dummy, out = self.cli.run(argv, check=True, what=what)
            return out
        except TrustError as exc:
            explained = explain_notary(exc.output, what, self.cli.server_for(self.reference),
                                       self.cli.docker_config)
            if explained:
                exc.msg = explained
                exc.args = (explained,)
            raise

    @property
    def server(self):
        return self.cli.server_for(self.reference)

    def _flags(self, publish):
        return ['-p'] if publish else []

    # Staging ---------------------------------------------------------------------------

    def staged(self):
        """File names of the changes staged for this repository."""
        d = changelist_dir(self.trust_dir, self.gun)
        return sorted(f for f in os.listdir(d) if f.endswith('.change')) if os.path.isdir(d) else []

    def reset(self):
        """Drop every staged change (as ``notary reset GUN --all``, without a process)."""
        d = changelist_dir(self.trust_dir, self.gun)
        if os.path.isdir(d):
            shutil.rmtree(d)

    def add_delegation(self, role, public_pems, all_paths=False, paths=None, publish=False, secrets=None):
        """Stage adding keys (public key or certificate PEM texts) to a delegation role.

        ``all_paths`` gives the role every path (what docker gives its signers); pass it
        when creating a role, not when adding keys to one that may have narrower paths.
        """
        if not public_pems:
            raise ValueError('add_delegation needs at least one public key')
        directory = self.cli.tempdir()
        files = []
        for i, pem in enumerate(public_pems):
            path = os.path.join(directory, 'key-%d.pem' % i)
            with open(path, 'w') as f:
                f.write(pem)
            files.append(path)
        args = ['delegation', 'add'] + self._flags(publish) + [self.gun, role] + files
        if all_paths:
            args.append('--all-paths')
        for p in paths or []:
            args.extend(['--paths', p])
        return self._run(args, 'notary delegation add %s %s' % (self.gun, role), secrets if publish else None)

    def remove_delegation(self, role, key_ids=None, publish=False, secrets=None):
        """Stage removing keys from a role, or (no ``key_ids``) the whole role."""
        args = ['delegation', 'remove'] + self._flags(publish)
        if not key_ids:
            args.append('-y')
        args += [self.gun, role] + list(key_ids or [])
        return self._run(args, 'notary delegation remove %s %s' % (self.gun, role), secrets if publish else None)

    def add_hash(self, target, length, sha256_hex, roles=None, publish=False, secrets=None):
        """Stage a target (tag) with its manifest length and bare hex sha256 digest."""
        args = ['addhash'] + self._flags(publish) + [self.gun, target, str(int(length)), '--sha256', sha256_hex]
        if roles:
            args += ['-r', ','.join(roles)]
        return self._run(args, 'notary addhash %s %s' % (self.gun, target), secrets if publish else None)

    def remove_target(self, target, roles=None, publish=False, secrets=None):
        """Stage removing a target (tag) from the given roles."""
        args = ['remove'] + self._flags(publish) + [self.gun, target]
        if roles:
            args += ['-r', ','.join(roles)]
        return self._run(args, 'notary remove %s %s' % (self.gun, target), secrets if publish else None)

    # Publishing --------------------------------------------------------------------------

    def publish(self, secrets):
        """Send every staged change to the Notary server as one new version."""
        return self._run(['publish', self.gun], 'notary publish %s' % self.gun, secrets)

    def init(self, secrets, publish=True, root_key=None):
        """``notary init``: reuses the first local root key, or the given root key file."""
        args = ['init'] + self._flags(publish) + [self.gun]
        if root_key:
            args += ['--rootkey', root_key]
        return self._run(args, 'notary init %s' % self.gun, secrets)
