# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: changing the signers (delegations) of a repository (trust_signer).

Not a public API; it may change without notice.

The keys a change needs are checked with their passphrases before anything changes
(``check_repository_key``, ``check_init_passphrases``); ``read_roles`` reads the delegations the
reader has just verified (``TrustReader.read_documents``); ``apply`` stages a plan's steps in a
view of the publish transaction (``_transaction``) and publishes them as one TUF version; ``verify`` reads again what the Notary
server now reports.  Key IDs in plans are TUF key IDs.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import WrongKeyPassphrase
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import list_local_keys, unlock_key
from ansible_collections.openbanking.content_trust.plugins.module_utils._passphrases import check_new_passphrase
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import RELEASES_ROLE, delegation_key_ids, delegation_roles, signer_role
from ansible_collections.openbanking.content_trust.plugins.module_utils._tufcache import gun_dir
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import signer_keys
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import TrustReader


def _decrypts(key, passphrase, option, what):
    try:
        unlock_key(key, passphrase, option, what)
        return True
    except WrongKeyPassphrase:
        return False


def check_repository_key(cli, parsed, passphrase):
    """The local repository (targets) key of an initialized repository, checked with its passphrase."""
    gun = parsed['repository']
    if not passphrase:
        raise InputError('repository_passphrase is required to change the signers of %s (it protects the '
                         'repository key that signs the change)' % gun)
    wanted = set(parsed['repository_key_ids'])
    local = [k for k in list_local_keys(cli.trust_dir) if k['key_id'] in wanted]
    if not local:
        raise InputError('the repository key of %s (key ID %s) is not in %s; changing its signers needs it: '
                         'run this where the repository was initialized, or copy that key file there'
                         % (gun, ', '.join(sorted(wanted)) or 'unknown', os.path.join(cli.trust_dir, 'private')))
    for key in local:
        if _decrypts(key, passphrase, 'repository_passphrase', 'repository key %s' % key['key_id']):
            return key
    raise WrongKeyPassphrase('repository_passphrase is incorrect for the repository key %s of %s'
                             % (local[0]['key_id'], gun))


def check_init_passphrases(cli, gun, root_passphrase, repository_passphrase):
    """What initializing needs: a root key it can use and passphrases for new keys."""
    missing = [o for o, v in (('root_passphrase', root_passphrase), ('repository_passphrase', repository_passphrase))
               if not v]
    if missing:
        raise InputError('%s has no trust data yet; initializing it needs %s' % (gun, ' and '.join(missing)))
    check_new_passphrase(repository_passphrase, 'repository_passphrase', 'the new repository key of %s' % gun)
    roots = [k for k in list_local_keys(cli.trust_dir) if k['role'] == 'root']
    if not roots:
        check_new_passphrase(root_passphrase, 'root_passphrase', 'the new root key')
        return
    # docker reuses a local root key (the first it lists) rather than creating one.
    if not any(_decrypts(k, root_passphrase, 'root_passphrase', 'root key %s' % k['key_id']) for k in roots):
        raise WrongKeyPassphrase('root_passphrase is incorrect for the local root key %s, which docker would use to '
                                 'initialize %s' % (', '.join(k['key_id'] for k in roots), gun))


def read_roles(cli, parsed, documents):
    """Delegation roles, their keys' docker IDs and targets/releases, from ``documents``: the TUF metadata the read
    of ``parsed`` verified (``TrustReader.read_documents``)."""
    gun = parsed['repository']
    targets = documents.get('targets')
    if targets is None:
        raise TrustError('docker trust inspect read %s but left no cached targets metadata under %s'
                         % (gun, gun_dir(cli.trust_dir, gun)))
    roles = delegation_roles(targets)
    ids = delegation_key_ids(targets)
    # Cross-check with what docker itself reported: they must be the same data.
    for signer, shown in signer_keys(parsed).items():
        role = roles.get(signer_role(signer))
        if role is not None and sorted(shown) != sorted(set(ids.get(k, k) for k in role['key_ids'])):
            raise TrustError('the cached trust data of %s disagrees with docker trust inspect about signer %s; '
                             'retry' % (gun, signer))
    return roles, ids, documents.get(RELEASES_ROLE)


def apply(tx, ref, name, steps, keys, roles, secrets):
    """Stage every change with the notary CLI in a view of the transaction and publish them as one TUF version."""
    notary = tx.notary(tx.view(repository_keys=True))
    role = signer_role(name)
    if steps['add_signer']:
        notary.add_delegation(role, [keys[k]['pem'] for k in steps['add_signer']], all_paths=role not in roles)
    if steps['remove_signer']:
        notary.remove_delegation(role, steps['remove_signer'])
    if steps['remove_role']:
        notary.remove_delegation(role)
    if steps['add_releases']:
        notary.add_delegation(RELEASES_ROLE, [keys[k]['pem'] for k in steps['add_releases']],
                              all_paths=RELEASES_ROLE not in roles)
    if steps['remove_releases']:
        notary.remove_delegation(RELEASES_ROLE, steps['remove_releases'])
    notary.publish(secrets)


def verify(cli, ref, name, expected, steps):
    """Read again what docker and the Notary server now say; ``expected``: docker IDs, None for absent."""
    parsed, documents = TrustReader(cli).read_documents(ref)
    shown = signer_keys(parsed).get(name)
    roles = read_roles(cli, parsed, documents)[0] if parsed['exists'] else {}
    releases = set(roles.get(RELEASES_ROLE, {}).get('key_ids', []))
    if expected is None:
        problem = shown is not None or signer_role(name) in roles
    else:
        problem = sorted(shown or []) != sorted(expected) or not set(steps['add_releases']) <= releases
    if problem or releases & set(steps['remove_releases']):
        raise TrustError('published the change of signer %s of %s, but the Notary server now reports signer keys %s '
                         'and releases keys %s' % (name, ref.gun, shown or [], sorted(releases)))
    return sorted(shown or [])
