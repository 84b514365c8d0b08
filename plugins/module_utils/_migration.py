# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: carrying trust data to another Notary server (trust_migrate).

Not a public API; it may change without notice.

A state is what one server has for one repository (``read_state``, shown as ``describe`` and ``merged_state``);
the steps that make the new server carry the source are decided per repository (``plan``, ``repository_steps``,
``has_changes``); the keys they need are found and checked with their passphrases before anything changes
(``needed_keys`` over ``root_key``, ``repository_key``, ``signer_keys_for``; ``key_paths``); ``apply`` stages and
publishes one repository's steps inside a publish transaction (``_transaction``), in the view ``view`` that talks
to the new server.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError, TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    canonical_key_id, notary_key_pem, public_key_id, tuf_key_ids,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import (
    list_local_keys, unlock_key, write_private_key_file,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._passphrases import check_new_passphrase
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import write_file_atomic
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import (
    RELEASES_ROLE, delegation_key_ids, delegation_keys, delegation_roles, role_keys, signer_role, target_hashes,
    tuf_key_pem,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import (
    check_passphrase, signer_local_keys, tag_signatures,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import signer_keys
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import TrustReader


# --- what each server has ----------------------------------------------------------------------

def _released(documents, parsed):
    """``{tag: (hex digest, length)}`` of the tags docker lists, as targets/releases (else targets) holds them."""
    gun = parsed['repository']
    holders = [target_hashes(documents.get(RELEASES_ROLE)), target_hashes(documents.get('targets'))]
    tags = {}
    for entry in parsed['signed_tags']:
        for held in holders:
            if entry['tag'] in held:
                tags[entry['tag']] = held[entry['tag']]
                break
        else:
            raise TrustError('repository %s: docker trust inspect lists tag %s, but neither targets/releases nor targets '
                             'holds it' % (gun, entry['tag']))
    return tags


def read_state(cli, refs):
    """What ``cli`` (a view with a TUF cache of its own) reads for each repository: ``{gun: state or None}``."""
    cli.require_trusted_notary(refs[0], reachable=True)
    reader = TrustReader(cli)
    read = reader.read(refs)
    states = {}
    for ref in refs:
        parsed = read[str(ref)]
        if not parsed['exists']:
            states[ref.gun] = None
            continue
        documents = reader.documents.get(ref.gun, {})
        root = documents.get('root')
        targets = documents.get('targets')
        if root is None or targets is None:
            raise TrustError('docker trust inspect read %s from %s but cached no root and targets metadata'
                             % (ref.gun, cli.server))
        roles = delegation_roles(targets)
        # root, targets and the roles targets delegates to (not snapshot and timestamp, which each server signs)
        versions = dict((role, version or 0) for role, version in parsed['versions'].items()
                        if role in ['root', 'targets'] + list(roles))
        states[ref.gun] = dict(parsed=parsed, root=root, targets=targets, roles=roles,
                               tags=_released(documents, parsed), versions=versions)
    return states


# --- the keys it needs -------------------------------------------------------------------------

def _decrypt(ref, key, passphrase, option, what):
    try:
        return unlock_key(key, passphrase, option, what)
    except InputError as exc:  # WrongKeyPassphrase and KeyProblem too, of the same class
        exc.msg = 'repository %s: %s' % (ref.gun, exc.msg)
        raise


def root_key(cli, ref, src, passphrase):
    """The local root key of the source's root certificate, checked with its passphrase."""
    keys = role_keys(src['root'], 'root')
    if len(keys) != 1:
        raise InputError('repository %s has %d root keys on the source; only a single root key (as docker creates it) '
                         'can be carried over' % (ref.gun, len(keys)))
    cert_id, key = list(keys.items())[0]
    if key.get('keytype') not in ('ecdsa-x509', 'rsa-x509'):
        raise InputError('repository %s: its root key is a %s key, not a certificate, which notary init --rootcert needs'
                         % (ref.gun, key.get('keytype')))
    cert_pem = tuf_key_pem(key)
    # The Root key ID docker shows is the certificate's; the private key file is named after the key in it.
    key_id = canonical_key_id(key['keytype'], cert_pem.encode('ascii'))
    local = [k for k in list_local_keys(cli.trust_dir) if k['key_id'] == key_id]
    if not local:
        raise InputError('repository %s: its root key is not in %s: the root certificate %s (the Root key ID docker '
                         'trust inspect shows) belongs to the private key with key ID %s (file %s.key, role root); copy '
                         'that file there from where the repository was initialized'
                         % (ref.gun, os.path.join(cli.trust_dir, 'private'), cert_id, key_id, key_id))
    private = _decrypt(ref, local[0], passphrase, 'root_passphrase', 'root key %s' % key_id)
    if public_key_id(private.public_key()) != key_id:
        raise InputError('repository %s: the key file %s is not the root key %s it is named after'
                         % (ref.gun, local[0]['path'], key_id))
    return dict(path=local[0]['path'], key_id=key_id, cert_id=cert_id, cert_pem=cert_pem)


def repository_key(cli, ref, key_ids, passphrase):
    """The local repository (targets) key with one of ``key_ids``, checked with its passphrase."""
    local = [k for k in list_local_keys(cli.trust_dir) if k['key_id'] in key_ids]
    if not local:
        raise InputError('repository %s: its repository key (key ID %s) is not in %s; migrating it needs that key: copy '
                         'the file %s.key there from where the repository was initialized'
                         % (ref.gun, ', '.join(key_ids) or 'unknown', os.path.join(cli.trust_dir, 'private'),
                            (key_ids or ['<key ID>'])[0]))
    error = None
    for key in local:
        try:
            return dict(key, private=_decrypt(ref, key, passphrase, 'repository_passphrase',
                                              'repository key %s' % key['key_id']))
        except InputError as exc:
            error = error or exc
    raise error


def signer_keys_for(cli, ref, src, signer, passphrase, option):
    """The local keys of ``signer`` that the source lists for it and in targets/releases, checked."""
    try:
        keys = signer_local_keys(cli, src['parsed'], signer)
        check_passphrase(keys, passphrase, signer, option)
    except TrustError as exc:
        raise InputError('repository %s: %s' % (ref.gun, exc.msg))
    shown = delegation_key_ids(src['targets'])
    releases = set(shown.get(k, k) for k in src['roles'].get(RELEASES_ROLE, {}).get('key_ids', []))
    if not any(k['key_id'] in releases for k in keys):
        raise InputError('repository %s: the key of signer %s is not in its targets/releases on the source, so docker '
                         'pull would not trust what it signs; choose a signer whose key is there' % (ref.gun, signer))
    return keys


def local_snapshot_keys(cli, dest):
    """Snapshot keys of the new server's root that are local: a migration stopped before the server took it over."""
    ids = set(role_keys(dest['root'], 'snapshot'))
    return [k for k in list_local_keys(cli.trust_dir) if k['role'] == 'snapshot' and k['key_id'] in ids]


def _key_file_for_rotate(view, private_key, root_passphrase):
    # notary key rotate -k asks for an encrypted key's passphrase as "Enter passphrase for root key:"
    # whatever the role, and keeps the answer as the root passphrase: so the file is the repository
    # key encrypted with the root passphrase, in the view (0700). Never decrypted on disk.
    return write_file_atomic(os.path.join(view, 'trust', 'repository-key.pem'),
                             notary_key_pem(private_key, root_passphrase, 'targets'), 0o600)


# --- what to do ----------------------------------------------------------------------------------

def describe(state):
    """The part of a state the diff shows."""
    if state is None:
        return {}
    parsed = state['parsed']
    tags = dict((t, 'sha256:' + d) for t, (d, dummy) in state['tags'].items())
    return dict(root_key_id=(parsed['root_key_ids'] or [None])[0], signers=signer_keys(parsed), signed_tags=tags)


def plan(ref, src, dest, force, server):
    """The steps that make ``dest`` (the new server's state, None: no trust data) carry ``src``."""
    steps = dict(init=dest is None, snapshot_keys=[], delegations=[], tags=[])
    if dest is not None and sorted(dest['parsed']['root_key_ids']) != sorted(src['parsed']['root_key_ids']):
        raise InputError('repository %s: the new Notary server %s already has trust data for it with another root key '
                         '(%s; the source has %s); it is never overwritten: remove it there first if it is not '
                         'wanted' % (ref.gun, server, ', '.join(dest['parsed']['root_key_ids']),
                                     ', '.join(src['parsed']['root_key_ids'])))
    have_roles = dest['roles'] if dest else {}
    keys = delegation_keys(src['targets'])
    for role, info in src['roles'].items():
        have = have_roles.get(role)
        missing = [k for k in info['key_ids'] if not have or k not in have['key_ids']]
        if missing:
            steps['delegations'].append(dict(role=role, key_ids=missing, new=have is None, paths=info['paths'],
                                             pems=[_delegation_pem(ref, role, k, keys.get(k)) for k in missing]))
    have_tags = dest['tags'] if dest else {}
    conflicts = []
    for tag in sorted(src['tags']):
        there = have_tags.get(tag)
        if there == src['tags'][tag]:
            continue
        if there and there[0] != src['tags'][tag][0] and not force:
            conflicts.append('%s (source sha256:%s, new server sha256:%s)' % (tag, src['tags'][tag][0], there[0]))
        else:
            steps['tags'].append(tag)
    if conflicts:
        raise InputError('repository %s: the new Notary server %s has tag(s) signed for another digest than the source: '
                         '%s; set force=true to sign the source\'s digests there' % (ref.gun, server, '; '.join(conflicts)))
    return steps


def _delegation_pem(ref, role, key_id, key):
    """The PEM to give ``notary delegation add`` for a source key; notary must derive the same key ID from it."""
    try:
        pem = tuf_key_pem(key or {})
        same = tuf_key_ids(pem, 'key %s' % key_id)[0] == key_id
    except ValueError as exc:
        raise InputError('repository %s: key %s of %s on the source cannot be carried over: %s' % (ref.gun, key_id, role, exc))
    if not same:
        raise InputError('repository %s: key %s of %s on the source would get another key ID on the new server'
                         % (ref.gun, key_id, role))
    return pem


def has_changes(steps):
    return bool(steps['init'] or steps['snapshot_keys'] or steps['delegations'] or steps['tags'])


def repository_steps(cli, ref, src, have, force):
    """The plan for one repository, with the local snapshot keys it can reuse."""
    steps = plan(ref, src, have, force, cli.server)
    if have is not None:
        steps['snapshot_keys'] = local_snapshot_keys(cli, have)
    return steps


def needed_keys(cli, ref, src, have, steps, signer, passphrase, option):
    """Every key ``steps`` needs, checked with its passphrase (root and repository: the client's)."""
    keys = {}
    if steps['init'] or steps['snapshot_keys']:
        keys['root'] = root_key(cli, ref, src, cli.root_passphrase)
    if steps['init'] or steps['delegations']:
        if steps['init']:
            # notary init encrypts the keys it creates with it
            check_new_passphrase(cli.repository_passphrase, 'repository_passphrase',
                                 'the keys notary init creates for %s' % ref.gun)
        ids = (src if have is None else have)['parsed']['repository_key_ids']
        keys['repository'] = repository_key(cli, ref, ids, cli.repository_passphrase)
    if steps['tags']:
        keys['signer'] = signer_keys_for(cli, ref, src, signer, passphrase, option)
    return keys


def key_paths(steps, keys):
    """The key files ``apply`` needs in the view."""
    return [k['path'] for k in [keys.get('root'), keys.get('repository')] + keys.get('signer', []) + steps['snapshot_keys']
            if k]


def merged_state(src, dest):
    """What the new server has once ``src`` is carried over; signers and tags it had beyond the source stay."""
    state = describe(src)
    if dest is None:
        return state
    merged = describe(dest)
    merged['signers'].update(state['signers'])
    merged['signed_tags'].update(state['signed_tags'])
    return merged


# --- doing it ------------------------------------------------------------------------------------

def apply(cli, dest, tx, view, ref, src, steps, keys, signer, secrets):
    """Initialize (if needed), then stage every delegation and tag and publish them as one TUF version."""
    trust_dir = os.path.join(view, 'trust')
    notary = tx.notary(view, cli=dest)
    snapshot_keys = steps['snapshot_keys']
    if steps['init']:
        before = set(k['path'] for k in list_local_keys(trust_dir))
        # Staged only: notary creates a targets and a snapshot key; the first rotation publishes it all.
        notary.init_with_root_cert(keys['root']['cert_pem'], secrets)
        snapshot_keys = [k for k in list_local_keys(trust_dir) if k['path'] not in before and k['role'] == 'snapshot']
        key_file = _key_file_for_rotate(view, keys['repository']['private'], secrets.root)
        try:
            notary.rotate_key('targets', secrets, key_file=key_file)
        finally:
            os.unlink(key_file)
    if steps['init'] or snapshot_keys:
        try:
            notary.rotate_key('snapshot', secrets, server_managed=True)
        except TrustError as exc:
            # Every later publish needs the snapshot key until the server manages it: keep it.
            for key in snapshot_keys:
                with open(key['path']) as f:
                    write_private_key_file(cli.trust_dir, key['key_id'], f.read())
            exc.msg = ('repository %s is on the new Notary server, but handing its snapshot key to the server '
                       'failed (%s); the snapshot key was kept in %s: run the migration again'
                       % (ref.gun, exc.msg, os.path.join(cli.trust_dir, 'private')))
            raise
        # A snapshot key kept by an interrupted run signs nothing any more.
        for key in steps['snapshot_keys']:
            if os.path.exists(key['path']):
                os.unlink(key['path'])
    for change in steps['delegations']:
        # A new role gets the source's paths (docker's signers: all paths); an existing one keeps its own.
        all_paths = change['new'] and change['paths'] == ['']
        notary.add_delegation(change['role'], change['pems'], all_paths=all_paths,
                              paths=change['paths'] if change['new'] and not all_paths else None)
    notary.stage_targets([(tag, src['tags'][tag][1], src['tags'][tag][0]) for tag in steps['tags']],
                         roles=[signer_role(signer), RELEASES_ROLE])
    if steps['delegations'] or steps['tags']:
        notary.publish(secrets)


def verify(server, refs, sources, dests):
    """What the new server now has (``dests``, read again) must be what the source had."""
    for ref in refs:
        src, have = sources[ref.gun], dests[ref.gun]
        if have is None:
            raise TrustError('repository %s was migrated to %s, but docker trust inspect finds no trust data there'
                             % (ref.gun, server))
        after = have['parsed']
        problems = []
        if after['root_key_ids'] != src['parsed']['root_key_ids']:
            problems.append('root key %s' % (', '.join(after['root_key_ids']) or 'none'))
        for tag, (digest, dummy) in sorted(src['tags'].items()):
            if not any(e['digest'] == 'sha256:' + digest for e in tag_signatures(after, tag)):
                problems.append('tag %s not signed for sha256:%s' % (tag, digest))
        shown = signer_keys(after)
        for name, ids in sorted(signer_keys(src['parsed']).items()):
            if not set(ids) <= set(shown.get(name, [])):
                problems.append('signer %s with keys %s' % (name, ', '.join(shown.get(name, [])) or 'none'))
        if problems:
            raise TrustError('repository %s was migrated to %s, but docker trust inspect there now reports: %s'
                             % (ref.gun, server, '; '.join(problems)))
