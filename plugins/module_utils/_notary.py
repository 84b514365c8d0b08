# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the notary CLI and the TUF documents it reads.

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
import binascii
import json
import os
import re
import shutil
import time
import uuid

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import KeyProblem, explain
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import canonical_key_id, encode_pem
from ansible_collections.openbanking.content_trust.plugins.module_utils._tufcache import cached_metadata, changelist_dir, private_dirs

RELEASES_ROLE = 'targets/releases'
_HEX64_RE = re.compile(r'^[0-9a-f]{64}$')
_CHANGE_NAME_RE = re.compile(r'^(\d{20})_')


def signer_role(name):
    """The TUF delegation role of a docker signer."""
    return 'targets/' + name


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


def target_hashes(doc):
    """``{target: (bare hex sha256, length)}`` of a targets or delegation metadata document."""
    found = {}
    for name, meta in (((doc or {}).get('signed') or {}).get('targets') or {}).items():
        try:
            digest = binascii.hexlify(base64.b64decode(meta['hashes']['sha256'])).decode('ascii')
            found[name] = (digest, int(meta['length']))
        except (KeyError, TypeError, ValueError, binascii.Error):
            continue
    return found


def role_keys(doc, role):
    """``{TUF key ID: key}`` of a top-level role of a root.json, or ``{}``."""
    signed = (doc or {}).get('signed') or {}
    keys = signed.get('keys') or {}
    ids = ((signed.get('roles') or {}).get(role) or {}).get('keyids') or []
    return dict((key_id, keys[key_id]) for key_id in ids if key_id in keys)


def delegation_keys(targets_doc):
    """``{TUF key ID: key}`` of every delegation key of a targets.json."""
    return dict((((targets_doc or {}).get('signed') or {}).get('delegations') or {}).get('keys') or {})


# --- trust data as docker trust inspect reports it ----------------------------------------

REPO_ADMIN = 'Repo Admin'  # docker's name for a tag released with no signer role holding it
_LIST_ROW_RE = re.compile(r'^(?P<name>\S+)\s+(?P<hex>[0-9a-f]{64})\s+(?P<size>\d+)\s+(?P<role>\S+)\s*$')


def list_rows(text, role):
    """``{tag: bare hex sha256}`` of the rows of ``role`` in ``notary list GUN -r ROLE`` output.

    notary walks the role's delegations too and prints each tag once, from the first role that
    has it; only rows naming ``role`` itself are that role's own targets."""
    rows = {}
    for line in (text or '').splitlines():
        m = _LIST_ROW_RE.match(line.strip())
        if m and m.group('role') == role:
            rows[m.group('name')] = m.group('hex')
    return rows


def _natural(text):
    # docker sorts tags with sortorder.NaturalLess: runs of digits compare as numbers.
    return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', text)]


def inspect_entry(name, root_doc, targets_doc, role_targets, tag=None):
    """The ``docker trust inspect`` JSON entry of a repository, from its verified TUF metadata.

    ``role_targets``: ``{role: {tag: bare hex}}`` for ``targets``, ``targets/releases`` and each
    signer role.  As docker: a tag is released when ``targets`` or ``targets/releases`` holds it;
    its signers are the other roles holding the same tag and digest (``Repo Admin`` when none);
    signer key IDs are the public keys' IDs (a certificate's key, not the certificate); the
    administrative keys are the root and targets key IDs that root.json lists (for root, the
    root certificate's ID)."""
    released = {}
    for role in ('targets', RELEASES_ROLE):
        for target, digest in (role_targets.get(role) or {}).items():
            if tag is None or target == tag:
                released.setdefault((target, digest), [])
    for role, rows in role_targets.items():
        if role in ('targets', RELEASES_ROLE):
            continue
        for target, digest in rows.items():
            if (target, digest) in released:
                released[(target, digest)].append(role[len('targets/'):])
    canonical = delegation_key_ids(targets_doc)
    signers = []
    for role, info in sorted(delegation_roles(targets_doc).items()):
        if role == RELEASES_ROLE or not role.startswith('targets/'):
            continue
        signers.append({'Name': role[len('targets/'):],
                        'Keys': [{'ID': canonical.get(k, k)} for k in info['key_ids']]})
    roles = ((root_doc or {}).get('signed') or {}).get('roles') or {}
    return {
        'Name': name,
        'SignedTags': [{'SignedTag': target, 'Digest': digest, 'Signers': sorted(names) or [REPO_ADMIN]}
                       for (target, digest), names in sorted(released.items(), key=lambda i: (_natural(i[0][0]), i[0][1]))],
        'Signers': signers,
        'AdministrativeKeys': [
            {'Name': 'Root', 'Keys': [{'ID': k} for k in sorted((roles.get('root') or {}).get('keyids') or [])]},
            {'Name': 'Repository', 'Keys': [{'ID': k} for k in sorted((roles.get('targets') or {}).get('keyids') or [])]},
        ],
    }


def tuf_key_pem(key):
    """The PEM of a TUF key as notary takes it back (``delegation add``, ``init --rootcert``).

    X.509 key types (``ecdsa-x509``, ``rsa-x509``) hold the certificate PEM itself; plain
    ``ecdsa`` and ``rsa`` keys hold the DER SubjectPublicKeyInfo.  Either way notary computes
    the same TUF key ID from the PEM again."""
    try:
        public = base64.b64decode(key['keyval']['public'])
        keytype = key['keytype']
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise KeyProblem('a TUF key without a readable public key')
    if keytype in ('ecdsa-x509', 'rsa-x509'):
        return public.decode('ascii')
    if keytype in ('ecdsa', 'rsa'):
        return encode_pem('PUBLIC KEY', public)
    raise KeyProblem('%s keys cannot be given to the notary CLI (ECDSA and RSA only)' % keytype)


# --- the notary CLI ------------------------------------------------------------------------

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
            # notary's own texts (offline, TLS) say more than the generic reading of its output
            explained = explain(exc.output, what, sources=('notary',), server=self.cli.server_for(self.reference),
                                docker_config=self.cli.docker_config, rc=exc.rc, cmd=exc.cmd, fallback=False)
            if explained:
                raise explained
            raise

    @property
    def server(self):
        return self.cli.server_for(self.reference)

    def _flags(self, publish):
        return ['-p'] if publish else []

    # Staging ---------------------------------------------------------------------------

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
        files = self.cli.temp_files(public_pems, 'key-%d.pem')
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

    def stage_targets(self, targets, roles):
        """Stage many targets at once, as ``notary addhash -r ROLE,...`` per target would, without a process.

        ``targets``: ``(name, length, bare hex sha256)`` tuples; ``roles``: ``targets`` or delegation roles,
        each target staged for each role in this order.  notary's changelist is a directory of JSON files,
        one change each, applied at ``publish`` in the order of their names (``<20-digit UnixNano>_<uuid>
        .change``); a target change holds the target's FileMeta (length and base64 hashes) as base64 JSON.
        The names here continue after any change already staged, so the order of staging holds.
        Returns the number of changes written."""
        roles = list(roles)
        if not roles:
            raise ValueError('stage_targets needs at least one role')
        for role in roles:
            if role != 'targets' and not role.startswith('targets/'):
                raise ValueError('targets can only be staged for targets or a delegation role, not %r' % role)
        changes = []
        for name, length, sha256_hex in targets:
            if not name or not isinstance(name, str):
                raise ValueError('a target needs a name, got %r' % (name,))
            if not _HEX64_RE.match(sha256_hex or ''):
                raise ValueError('target %s: sha256 must be 64 lowercase hex digits, got %r' % (name, sha256_hex))
            if int(length) < 0:
                raise ValueError('target %s: length must not be negative' % name)
            meta = json.dumps({'length': int(length),
                               'hashes': {'sha256': base64.b64encode(binascii.unhexlify(sha256_hex)).decode('ascii')}},
                              separators=(',', ':'))
            data = base64.b64encode(meta.encode('utf-8')).decode('ascii')
            for role in roles:
                changes.append(json.dumps({'action': 'create', 'role': role, 'type': 'target', 'path': name,
                                           'data': data}, separators=(',', ':')))
        if not changes:
            return 0
        directory = changelist_dir(self.trust_dir, self.gun)
        private_dirs(self.trust_dir, directory)
        stamp = time.time_ns()
        for existing in os.listdir(directory):
            m = _CHANGE_NAME_RE.match(existing)
            if m:
                stamp = max(stamp, int(m.group(1)) + 1)
        for change in changes:
            path = os.path.join(directory, '%020d_%s.change' % (stamp, uuid.uuid4()))
            stamp += 1
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(change)
        return len(changes)

    def remove_target(self, target, roles=None, publish=False, secrets=None):
        """Stage removing a target (tag) from the given roles."""
        args = ['remove'] + self._flags(publish) + [self.gun, target]
        if roles:
            args += ['-r', ','.join(roles)]
        return self._run(args, 'notary remove %s %s' % (self.gun, target), secrets if publish else None)

    # Publishing --------------------------------------------------------------------------

    def witness(self, roles, secrets, publish=True):
        """Re-sign ``roles`` with the keys available locally (a new version even when nothing changed)."""
        return self._run(['witness', self.gun] + list(roles) + self._flags(publish),
                         'notary witness %s %s' % (self.gun, ' '.join(roles)), secrets)

    def publish(self, secrets):
        """Send every staged change to the Notary server as one new version."""
        return self._run(['publish', self.gun], 'notary publish %s' % self.gun, secrets)

    def init_with_root_cert(self, root_cert_pem, secrets):
        """``notary init --rootcert``, staged only: the root key must be in the trust directory.

        The root of the new trust data then lists that certificate, so its root key ID (the ID
        ``docker trust inspect`` shows) is the certificate's.  notary creates new targets and
        snapshot keys locally, encrypted with the repository passphrase; the first publish
        (``rotate_key``, ``publish``) sends it all."""
        path = os.path.join(self.cli.tempdir(), 'root.crt')
        with open(path, 'w') as f:
            f.write(root_cert_pem)
        return self._run(['init', self.gun, '--rootcert', path], 'notary init %s' % self.gun, secrets)

    def rotate_key(self, role, secrets, key_file=None, server_managed=False):
        """``notary key rotate``: a new root listing ``key_file``'s key (or a server-managed key) for
        ``role``, published at once.

        notary asks for the passphrase of an encrypted ``key_file`` as "Enter passphrase for root
        key:" whatever its role, a prompt that names no key: give it an unencrypted key file."""
        args = ['key', 'rotate', self.gun, role]
        if key_file:
            args += ['-k', key_file]
        if server_managed:
            args.append('-r')
        return self._run(args, 'notary key rotate %s %s' % (self.gun, role), secrets)

    def init(self, secrets, publish=True):
        """``notary init``: reuses the first local root key (or makes one)."""
        return self._run(['init'] + self._flags(publish) + [self.gun], 'notary init %s' % self.gun, secrets)


def releases_signature_valid(trust_dir, gun):
    """Whether the cached ``targets/releases`` is signed by enough of its current keys.

    None when the repository has no releases metadata yet.  A key removed from the role
    (``trust_signer`` with ``force``) leaves the role below its threshold: docker then shows
    none of its tags and the Notary server rejects any new version signed only by the
    remaining keys until the role is re-signed (witnessed)."""
    releases = cached_metadata(trust_dir, gun, RELEASES_ROLE)
    role = delegation_roles(cached_metadata(trust_dir, gun, 'targets')).get(RELEASES_ROLE)
    if releases is None or role is None:
        return None
    return len(set(signature_key_ids(releases)) & set(role['key_ids'])) >= role['threshold']
