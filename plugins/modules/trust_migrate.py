#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_migrate
short_description: Carry repositories' Docker Content Trust data to another Notary server
version_added: 0.1.0
description:
  - Moves the trust data of each repository in O(repositories) from the Notary server O(source_server) (for example
    C(https://notary.docker.io), which shuts down on 2026-12-08) to the Notary server O(server), so that
    C(docker trust inspect) and C(DOCKER_CONTENT_TRUST=1 docker pull) against O(server) report what they reported
    against the source.
  - Reads from the source the signed tags with their digests and lengths, the signers with their public keys, the root
    certificate and the repository key.
  - Initializes the repository on O(server) with the SAME root key and the SAME root certificate (C(notary init
    --rootcert)), so the Root key ID C(docker trust inspect) shows does not change and clients that cached the old root
    keep trusting the new trust data. The repository key stays the same as well (C(notary key rotate targets)); the
    snapshot key is managed by O(server), as docker sets it up.
  - Adds every signer with the same public keys to C(targets/<name>) and C(targets/releases) (the delegation keys of
    the source's C(targets.json)), and signs every tag again with the same digest and length as the local signer
    O(signer), without a docker daemon (C(notary addhash) for all tags, one publish).
  - Reads and compares first and changes only what differs. When everything already matches, nothing is published and
    the TUF versions on O(server) do not move.
  - docker and notary cache trust data per repository whatever the server, so the source and O(server) are each read
    through a trust directory of their own (temporary, 0700, with copies of the needed private keys only). Afterwards
    the cached trust data of each repository in O(docker_config) is replaced by O(server)'s, so that later docker
    commands with O(server) work.
  - Checks before anything changes, for every repository - the source has trust data, the root key, the repository key
    and the key of O(signer) are local and their passphrases decrypt them, O(server) has no trust data with another
    root for it, no tag there is signed for another digest - and fails naming the repository and what is needed.
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.passphrases
  - ansible.builtin.action_common_attributes
options:
  server:
    description:
      - URL of the NEW Notary server, the one the trust data moves to. Required. Must be C(https://).
      - Its CA, if it is not in the system's trust store, goes in C(<docker_config>/tls/<host:port>/ca.crt).
  source_server:
    description:
      - URL of the Notary server that has the trust data now, C(https://host[:port]), for example
        C(https://notary.docker.io). Read only. Its CA, if needed, goes in C(<docker_config>/tls/<host:port>/ca.crt).
    type: str
    required: true
  repositories:
    description:
      - The repositories (GUNs) to migrate, such as V(registry.example.com/openbanking/conformance-suite). No tags.
        Short names mean docker.io, as docker reads them.
    type: list
    elements: str
    required: true
  signer:
    description:
      - The local signer that signs the tags again on O(server). It must be a signer of every repository (on the
        source) that has signed tags, with its private key in C(<docker_config>/trust/private) and in the repository's
        C(targets/releases).
      - Tags are signed into C(targets/<signer>) and C(targets/releases). C(docker trust inspect) therefore lists
        O(signer) as the signer of every tag on O(server), whoever signed it on the source.
    type: str
    required: true
  signer_passphrase:
    description:
      - Passphrase of the key of O(signer). When not set, O(repository_passphrase) is used, as docker does.
    type: str
  force:
    description:
      - When O(server) already has a tag signed for another digest than the source, the task fails naming the tag,
        unless O(force=true); then the source's digest is signed there.
    type: bool
    default: false
notes:
  - Needs the repository's root key, its repository key and the key of O(signer) in C(<docker_config>/trust/private)
    (copy them from where the repository was initialized), with O(root_passphrase), O(repository_passphrase) and
    O(signer_passphrase). The root key is needed only when a repository is initialized on O(server), the repository
    key only when its signers change there.
  - O(repository_passphrase) must be at least 8 characters; C(notary init) encrypts the temporary keys it creates
    with it.
  - Signers are only added on O(server), never removed, and only the tags that C(docker trust inspect) lists
    (C(targets/releases) and C(targets)) are carried over, not tags that are only in a signer's own role.
  - Clients other than this host that cached the source's trust data of a repository may refuse O(server)'s
    (C(version N is lower than current version M)) until their C(<docker config>/trust/tuf/<GUN>) is removed; the
    task warns when the source's versions are higher.
  - When a run stops after the trust data reached O(server) but before O(server) took over the snapshot key, that key
    is kept in C(<docker_config>/trust/private); the next run hands it to O(server) and removes the file.
  - In check mode the module reads both servers and checks keys and passphrases, and writes nothing.
seealso:
  - module: openbanking.content_trust.trust_signer
  - module: openbanking.content_trust.trust_inspect
  - module: openbanking.content_trust.trust_push
attributes:
  check_mode:
    support: full
    details: Reads both Notary servers and checks keys and passphrases; never initializes, stages or publishes, and
      leaves the cached trust data alone.
  diff_mode:
    support: full
    details: Per repository, the root key ID, signers and signed tags on O(server) before and after.
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Move the conformance suite's trust data off Docker Hub's Notary
  openbanking.content_trust.trust_migrate:
    source_server: https://notary.docker.io
    server: https://notary.example.com:4443
    repositories:
      - docker.io/openbanking/conformance-suite
      - docker.io/openbanking/conformance-api
    signer: jeff
    signer_passphrase: "{{ vault_jeff_passphrase }}"
    root_passphrase: "{{ vault_root_passphrase }}"
    repository_passphrase: "{{ vault_repository_passphrase }}"
  register: migration

- name: Preview what would move (nothing is written)
  openbanking.content_trust.trust_migrate:
    source_server: https://notary.docker.io
    server: https://notary.example.com:4443
    repositories: [docker.io/openbanking/conformance-suite]
    signer: jeff
    signer_passphrase: "{{ vault_jeff_passphrase }}"
    root_passphrase: "{{ vault_root_passphrase }}"
    repository_passphrase: "{{ vault_repository_passphrase }}"
  check_mode: true
'''

RETURN = r'''
repositories:
  description: One entry per repository, in the order of O(repositories).
  returned: always
  type: list
  elements: dict
  contains:
    repository:
      description: The repository (GUN).
      type: str
      sample: docker.io/openbanking/conformance-suite
    root_key_id:
      description: The Root key ID C(docker trust inspect) shows, on the source and (afterwards) on O(server).
      type: str
      sample: 9cde00f0541fbda2ec4659baad3f8caa4654a88ffc97fbc04798178e51fbb11b
    signed_tags:
      description: The signed tags of the source and their digests, as they are (or would be) on O(server).
      type: list
      elements: dict
      contains:
        tag:
          description: The tag.
          type: str
          sample: v1.2.0
        digest:
          description: The manifest digest, C(sha256:<hex>).
          type: str
          sample: sha256:a36b20c98c7fbe92df41c42f461c2a167f6c0efd029bf02492359ccff2801822
    signers:
      description: The source's signers and their key IDs, as C(docker trust inspect) lists them.
      type: dict
      sample: {"jeff": ["6d3c419a591439faabe4609a094febc4783e2dff590278e075373e887b68b7b7"]}
    initialized:
      description: Whether the repository was initialized on O(server) (would be, in check mode).
      type: bool
    added_signers:
      description: Signers whose role was created on O(server) or given missing keys (would be, in check mode).
      type: list
      elements: str
      sample: [jeff, alice]
    newly_signed_tags:
      description: Tags signed on O(server) by this task (would be, in check mode).
      type: list
      elements: str
      sample: [v1.2.0, latest]
    signed:
      description:
        - Deprecated, will be removed in 1.0.0; use RV(repositories[].newly_signed_tags), the same list.
          Elsewhere C(signed) is a bool per tag (RV(openbanking.content_trust.trust_push#module:results[].signed)).
      type: list
      elements: str
      sample: [v1.2.0, latest]
    cache_updated:
      description: Whether the cached trust data of the repository in O(docker_config) was replaced by O(server)'s.
      type: bool
    changed:
      description: Whether anything changed for this repository (would, in check mode).
      type: bool
source_server:
  description: The source Notary server.
  returned: always
  type: str
  sample: https://notary.docker.io
server:
  description: The Notary server the trust data moved to.
  returned: always
  type: str
  sample: https://notary.example.com:4443
'''

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import Secrets, TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    check_server_url, parse_reference, validate_signer_name,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    KeyError_, canonical_key_id, check_new_passphrase, list_local_keys, notary_key_pem, public_key_id, read_local_key,
    tuf_key_ids, write_file_atomic, write_private_key_file,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import InputError, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import (
    RELEASES_ROLE, NotaryRepository, cached_metadata, delegation_key_ids, delegation_keys, delegation_roles,
    replace_cached_metadata, role_keys, signer_role, target_hashes, tuf_key_pem,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import (
    add_keys_to_view, check_notary, check_passphrase, isolated_view, signer_local_keys, tag_signatures,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import (
    signer_keys,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import TrustReader


def _inputs(module, cli):
    p = module.params
    if not cli.server:
        raise InputError('server must be set to the URL of the new Notary server, the one the trust data moves to')
    source_server = check_server_url(p['source_server'])
    if source_server == cli.server:
        raise InputError('source_server and server are the same Notary server (%s); server must be the new one'
                         % source_server)
    refs = []
    for i, text in enumerate(p['repositories'] or []):
        ref = parse_reference(text, allow_tag=False, what='repositories[%d]' % i)
        if ref.gun not in [r.gun for r in refs]:
            refs.append(ref)
    if not refs:
        raise InputError('repositories must list at least one repository to migrate')
    return source_server, refs, validate_signer_name(p['signer'], 'signer')


# --- what each server has ----------------------------------------------------------------------

def _versions(trust_dir, gun, roles):
    versions = {}
    for role in roles:
        doc = cached_metadata(trust_dir, gun, role)
        if doc:
            versions[role] = (doc.get('signed') or {}).get('version') or 0
    return versions


def _released(trust_dir, parsed, targets_doc):
    """``{tag: (hex digest, length)}`` of the tags docker lists, as targets/releases (else targets) holds them."""
    gun = parsed['repository']
    holders = [target_hashes(cached_metadata(trust_dir, gun, RELEASES_ROLE)), target_hashes(targets_doc)]
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
    check_notary(cli, refs[0])
    read = TrustReader(cli).read(refs)
    states = {}
    for ref in refs:
        parsed = read[str(ref)]
        if not parsed['exists']:
            states[ref.gun] = None
            continue
        root = cached_metadata(cli.trust_dir, ref.gun, 'root')
        targets = cached_metadata(cli.trust_dir, ref.gun, 'targets')
        if root is None or targets is None:
            raise TrustError('docker trust inspect read %s from %s but cached no root and targets metadata'
                             % (ref.gun, cli.server))
        roles = delegation_roles(targets)
        states[ref.gun] = dict(parsed=parsed, root=root, targets=targets, roles=roles,
                               tags=_released(cli.trust_dir, parsed, targets),
                               versions=_versions(cli.trust_dir, ref.gun, ['root', 'targets'] + list(roles)))
    return states


def describe(state):
    """The part of a state the diff shows."""
    if state is None:
        return {}
    parsed = state['parsed']
    tags = dict((t, 'sha256:' + d) for t, (d, dummy) in state['tags'].items())
    return dict(root_key_id=(parsed['root_key_ids'] or [None])[0], signers=signer_keys(parsed), signed_tags=tags)


# --- what to do ----------------------------------------------------------------------------------

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


# --- the keys it needs -------------------------------------------------------------------------

def _decrypt(ref, key, passphrase, option, what):
    if not passphrase:
        raise InputError('repository %s: %s is required to use its %s' % (ref.gun, option, what))
    try:
        return read_local_key(key['path'], passphrase, what)
    except KeyError_ as exc:
        if 'passphrase is incorrect' in str(exc):
            raise InputError('repository %s: %s is incorrect for its %s' % (ref.gun, option, what))
        raise InputError('repository %s: %s' % (ref.gun, exc))
    except (IOError, OSError) as exc:
        raise InputError('repository %s: cannot read the key file %s: %s' % (ref.gun, key['path'], exc))


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


# --- doing it ------------------------------------------------------------------------------------

def _key_file_for_rotate(view, private_key, root_passphrase):
    # notary key rotate -k asks for an encrypted key's passphrase as "Enter passphrase for root key:"
    # whatever the role, and keeps the answer as the root passphrase: so the file is the repository
    # key encrypted with the root passphrase, in the view (0700). Never decrypted on disk.
    return write_file_atomic(os.path.join(view, 'trust', 'repository-key.pem'),
                             notary_key_pem(private_key, root_passphrase, 'targets'), 0o600)


def apply(cli, dest, view, ref, src, steps, keys, signer, secrets):
    """Initialize (if needed), then stage every delegation and tag and publish them as one TUF version."""
    trust_dir = os.path.join(view, 'trust')
    notary = NotaryRepository(dest, ref, trust_dir=trust_dir)
    notary.reset()
    try:
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
        for tag in steps['tags']:
            digest, length = src['tags'][tag]
            notary.add_hash(tag, length, digest, roles=[signer_role(signer), RELEASES_ROLE])
        if steps['delegations'] or steps['tags']:
            notary.publish(secrets)
    finally:
        # Nothing staged may linger for a later publish, whatever happened.
        notary.reset()


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


def migrate(module, cli):
    p = module.params
    source_server, refs, signer = _inputs(module, cli)
    passphrase = p['signer_passphrase'] or p['repository_passphrase']
    option = 'signer_passphrase' if p['signer_passphrase'] else 'repository_passphrase'

    # Each server through a TUF cache of its own (see _signing.isolated_view).
    source = cli.view(isolated_view(cli, []), server=source_server)
    dest_view = isolated_view(cli, [])
    dest = cli.view(dest_view)
    sources = read_state(source, refs)
    missing = [ref.gun for ref in refs if sources[ref.gun] is None]
    if missing:
        raise InputError('the source Notary server %s has no trust data for %s; nothing to migrate (check the names '
                         'and source_server)' % (source_server, ', '.join(missing)))
    dests = read_state(dest, refs)

    # Decide everything, and check every key it needs, before anything changes.
    plans = {}
    needed = {}
    for ref in refs:
        src, have = sources[ref.gun], dests[ref.gun]
        steps = plan(ref, src, have, p['force'], cli.server)
        if have is not None:
            steps['snapshot_keys'] = local_snapshot_keys(cli, have)
        keys = {}
        if steps['init'] or steps['snapshot_keys']:
            keys['root'] = root_key(cli, ref, src, p['root_passphrase'])
        if steps['init'] or steps['delegations']:
            if steps['init']:
                # notary init encrypts the keys it creates with it
                check_new_passphrase(p['repository_passphrase'], 'repository_passphrase',
                                     'the keys notary init creates for %s' % ref.gun)
            ids = (src if have is None else have)['parsed']['repository_key_ids']
            keys['repository'] = repository_key(cli, ref, ids, p['repository_passphrase'])
        if steps['tags']:
            keys['signer'] = signer_keys_for(cli, ref, src, signer, passphrase, option)
        plans[ref.gun] = steps
        needed[ref.gun] = keys
    if any(has_changes(s) for s in plans.values()):
        cli.notary_path()

    changed_refs = [ref for ref in refs if has_changes(plans[ref.gun])]
    before = dict((ref.gun, describe(dests[ref.gun])) for ref in refs)
    after = dict((ref.gun, _merged(sources[ref.gun], dests[ref.gun])) for ref in refs)
    if not module.check_mode:
        paths = set()
        for keys in needed.values():
            paths.update(k['path'] for k in [keys.get('root'), keys.get('repository')] + keys.get('signer', []) if k)
        for steps in plans.values():
            paths.update(k['path'] for k in steps['snapshot_keys'])
        add_keys_to_view(dest_view, sorted(paths))
        secrets = Secrets(root=p['root_passphrase'], repository=p['repository_passphrase'],
                          signers={signer: passphrase}, signer_fallback=passphrase)
        done = []
        try:
            for ref in changed_refs:
                apply(cli, dest, dest_view, ref, sources[ref.gun], plans[ref.gun], needed[ref.gun], signer, secrets)
                done.append(ref)
        except TrustError as exc:
            if done:
                exc.msg += '; already migrated in this run: %s' % ', '.join(r.gun for r in done)
            raise
        if changed_refs:
            # Read again; this also refreshes the view's cache, which replaces the local one below.
            dests.update(read_state(dest, changed_refs))
            verify(cli.server, changed_refs, sources, dests)
            after.update((ref.gun, describe(dests[ref.gun])) for ref in changed_refs)

    results = []
    for ref in refs:
        src, steps = sources[ref.gun], plans[ref.gun]
        cache_updated = False
        if not module.check_mode:
            cache_updated = replace_cached_metadata(cli.trust_dir, ref.gun, os.path.join(dest_view, 'trust'))
            lower = sorted(role for role, version in src['versions'].items()
                           if version > dests[ref.gun]['versions'].get(role, 0))
            if lower and has_changes(steps):
                module.warn('repository %s: the source has higher TUF versions of %s than the new Notary server; '
                            'clients that cached its trust data from the source refuse the new server\'s ("version '
                            'N is lower than current version M") until their <docker config>/trust/tuf/%s is removed '
                            '(done here for %s)' % (ref.gun, ', '.join(lower), ref.gun, cli.docker_config))
        results.append(dict(
            repository=ref.gun,
            root_key_id=src['parsed']['root_key_ids'][0],
            signed_tags=[dict(tag=t, digest='sha256:' + src['tags'][t][0]) for t in sorted(src['tags'])],
            signers=signer_keys(src['parsed']),
            initialized=steps['init'],
            added_signers=sorted(set(c['role'][len('targets/'):] for c in steps['delegations']
                                     if c['role'] != RELEASES_ROLE)),
            newly_signed_tags=list(steps['tags']),
            signed=list(steps['tags']),  # deprecated name, until 1.0.0
            cache_updated=cache_updated,
            changed=has_changes(steps) or cache_updated,
        ))
    return dict(changed=any(r['changed'] for r in results), repositories=results, source_server=source_server,
                server=cli.server, diff=dict(before=before, after=after))


def _merged(src, dest):
    """What the new server has once ``src`` is carried over; signers and tags it had beyond the source stay."""
    state = describe(src)
    if dest is None:
        return state
    merged = describe(dest)
    merged['signers'].update(state['signers'])
    merged['signed_tags'].update(state['signed_tags'])
    return merged


def main():
    module = build_module(dict(
        source_server=dict(type='str', required=True),
        repositories=dict(type='list', elements='str', required=True),
        signer=dict(type='str', required=True),
        signer_passphrase=dict(type='str', no_log=True),
        force=dict(type='bool', default=False),
    ))
    run(module, migrate)


if __name__ == '__main__':
    main()
