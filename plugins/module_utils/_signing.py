# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: signing and revoking as exactly one signer.

Not a public API; it may change without notice.

``docker trust sign`` and ``docker trust revoke`` act for EVERY delegation role whose
private key is in the trust directory, and fail when any of those keys cannot be
decrypted.  To act as one signer, docker is given a view of the docker configuration:
a private directory whose ``trust/private`` holds copies of that signer's keys only, with
the real ``trust/tuf`` cache, ``config.json`` and ``tls/`` linked in.  The keys are copied,
not linked: notary's key store ignores symlinked key files ("no valid signing keys for
delegation roles").
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib
import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._process import Secrets
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    MissingSigningKey, RepositoryUnknown, TrustError, WrongKeyPassphrase, WrongPassphrase,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import KeyProblem
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import (
    find_signer_keys, list_local_keys, unlock_key, write_private_key_file,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import RELEASES_ROLE, signer_role
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import signer_keys
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import TrustReader


def read_trust(cli, reference):
    """Trust data of one repository (all its tags), read with ``docker trust inspect`` or, where docker
    has no ``docker trust``, the notary CLI (``_trustreader``).

    Fails, naming the server, when the server cannot be reached or the repository has no
    trust data."""
    return read_trust_documents(cli, reference)[0]


def cached_repositories(trust_dir):
    """The GUNs this trust directory holds trust data for (``tuf/<gun>/metadata/root.json``), sorted."""
    tuf = os.path.join(trust_dir, 'tuf')
    found = []
    for top, dirs, files in os.walk(tuf):
        if os.path.basename(top) == 'metadata' and 'root.json' in files:
            found.append(os.path.relpath(os.path.dirname(top), tuf).replace(os.sep, '/'))
            dirs[:] = []
    return sorted(found)


def closest_repositories(gun, known):
    """The repositories of ``known`` that ``gun`` is probably a typo of (closest first, at most 3): compared on the
    path within the registry (a shared registry host would make every repository look alike), then on the whole."""
    def path(name):
        return name.split('/', 1)[1] if '/' in name else name
    paths = {}
    for k in known:
        if k != gun:
            paths.setdefault(path(k), []).append(k)
    close = difflib.get_close_matches(path(gun), sorted(paths), n=3, cutoff=0.8)
    ranked = [k for p in close for k in sorted(paths[p], key=lambda k: -difflib.SequenceMatcher(None, gun, k).ratio())]
    return ranked[:3]


def unknown_repository_message(gun, server, known):
    """What to say of a repository without trust data: a typo of a repository this host knows is named as such
    (creating the misspelled one is the last thing to suggest), otherwise how to create it."""
    close = closest_repositories(gun, known)
    if close:
        return ('repository %s has no trust data on the Notary server %s; did you mean %s? (this host has trust data '
                'for it). Correct the repository name where it is listed (the release images); only a repository new '
                'to the Notary server is created, by listing it with its signers in content_trust_repositories and '
                'running the sync_signers.yml playbook' % (gun, server, ' or '.join(close)))
    return ('repository %s has no trust data on the Notary server %s; initialize it by adding a signer: list it with '
            'its signers in content_trust_repositories and run the sync_signers.yml playbook (or the signers role; in '
            'your own tasks, openbanking.content_trust.trust_signer)' % (gun, server))


def read_trust_documents(cli, reference):
    """``read_trust``, and the TUF metadata that read verified: ``(parsed, {role: metadata})``."""
    cli.require_trusted_notary(reference, reachable=True)
    parsed, documents = TrustReader(cli).read_documents(reference)
    if not parsed['exists']:
        raise RepositoryUnknown(unknown_repository_message(reference.gun, cli.server_for(reference),
                                                           cached_repositories(cli.trust_dir)))
    return parsed, documents


def tag_signatures(parsed, tag):
    """Every ``{digest, signers}`` docker lists for ``tag`` (one per distinct digest)."""
    return [t for t in parsed['signed_tags'] if t['tag'] == tag]


def signed_by(parsed, tag, signer, digests=None):
    """The digest ``signer`` signed for ``tag`` (restricted to ``digests`` if given), or None."""
    for entry in tag_signatures(parsed, tag):
        if signer in entry['signers'] and (digests is None or entry['digest'] in digests):
            return entry['digest']
    return None


# --- the signer's keys -----------------------------------------------------------------------

def signer_local_keys(cli, parsed, signer):
    """The local private keys of ``signer`` that the repository lists for it.

    Fails with what to do when the signer is not a signer of the repository or has no
    usable local key."""
    repo_keys = signer_keys(parsed)
    if signer not in repo_keys:
        raise TrustError('%s is not a signer of repository %s (its signers: %s); add it to that repository\'s signers '
                         'in content_trust_repositories and run the sync_signers.yml playbook (or the signers role; '
                         'in your own tasks, openbanking.content_trust.trust_signer)'
                         % (signer, parsed['repository'], ', '.join(sorted(repo_keys)) or 'none'))
    local = find_signer_keys(cli.trust_dir, signer)
    if not local:
        raise MissingSigningKey('signer %s has no private key in %s/private; list it in content_trust_signing_keys and '
                                'run the provision_signing_host.yml playbook (or the signing_host role; in your own '
                                'tasks, openbanking.content_trust.trust_key with signer: %s), or load it there'
                                % (signer, cli.trust_dir, signer))
    usable = [k for k in local if k['key_id'] in repo_keys[signer]]
    if not usable:
        raise MissingSigningKey('the local key(s) of signer %s (%s) are not keys of signer %s in repository %s (which '
                                'lists %s); add the local public key to that signer in content_trust_repositories and '
                                'run the sync_signers.yml playbook (or the signers role; in your own tasks, '
                                'openbanking.content_trust.trust_signer)'
                                % (signer, ', '.join(k['key_id'] for k in local), signer, parsed['repository'],
                                   ', '.join(repo_keys[signer]) or 'no keys'))
    return usable


def check_passphrase(keys, passphrase, signer, option):
    """Decrypt each key here first, so a wrong passphrase fails before docker pushes anything.

    Keys in a format this check cannot read are left for docker to judge on its pty."""
    if not passphrase:
        raise TrustError('the passphrase of signer %s is needed to sign; set signer_passphrase (or '
                         'repository_passphrase, which docker falls back to)' % signer)
    for key in keys:
        try:
            unlock_key(key, passphrase, option, 'key %s of signer %s' % (key['key_id'], signer))
        except WrongKeyPassphrase:
            raise WrongPassphrase('passphrase incorrect for the signer key "%s" %s (%s); nothing was pushed or signed'
                                  % (signer, key['key_id'][:7], option))
        except KeyProblem:
            pass  # a key in a format this check cannot read: left for docker to judge


def signer_secrets(signer, passphrase, repository_passphrase):
    return Secrets(signers={signer: passphrase}, signer_fallback=passphrase, repository=repository_passphrase)


# --- initializing a repository ----------------------------------------------------------------

def initialize_repository(cli, tx, reference, signer, pems, secrets):
    """Initialize ``reference`` with ``signer`` (its keys also in targets/releases) as one publish, staged
    in a view of the publish transaction ``tx``: ``docker trust signer add``, or where docker has no
    ``docker trust`` the same with the notary CLI.

    The view holds the local root keys (docker and notary use the first, as on the real trust
    directory, or make one).  The root key and repository key the CLI made there are kept in the real
    trust directory once the Notary server has the repository (or cannot say); otherwise they go with
    the view.  notary's own snapshot key is never kept: the server manages the snapshot key, where
    notary publishes root version 2 (the rotation to it) and docker version 1."""
    view = tx.view([k for k in list_local_keys(cli.trust_dir) if k['role'] == 'root'])
    before = set(k['key_id'] for k in list_local_keys(os.path.join(view, 'trust')))
    try:
        if cli.has_docker_trust():
            argv = [cli.docker_path(), 'trust', 'signer', 'add']
            directory = cli.tempdir()
            for i, pem in enumerate(pems):
                argv += ['--key', os.path.join(directory, '%s-%d.pub' % (signer, i))]
                with open(argv[-1], 'w') as f:
                    f.write(pem)
            cli.run_pty(argv + [signer, reference.gun], secrets, env=cli.env(docker_config=view),
                        what='docker trust signer add %s %s' % (signer, reference.gun))
        else:
            notary = tx.notary(view)
            notary.init(secrets, publish=False)
            notary.rotate_key('snapshot', secrets, server_managed=True)
            notary.add_delegation(signer_role(signer), pems, all_paths=True)
            notary.add_delegation(RELEASES_ROLE, pems, all_paths=True)
            notary.publish(secrets)
    except TrustError:
        if server_may_have(cli, reference):
            keep_new_keys(cli, view, before, reference.gun)
        raise
    keep_new_keys(cli, view, before, reference.gun)


def server_may_have(cli, reference):
    """Whether the Notary server has trust data for ``reference`` (True when it cannot say)."""
    try:
        return TrustReader(cli).read_one(reference)['exists']
    except TrustError:
        return True


def keep_new_keys(cli, view, before, gun):
    """Copy the root and ``gun``'s repository keys made in ``view`` (not in ``before``, key IDs) to the real
    trust directory."""
    for key in list_local_keys(os.path.join(view, 'trust')):
        if key['key_id'] not in before and (key['role'] == 'root' or (key['role'] == 'targets' and key['gun'] == gun)):
            with open(key['path']) as f:
                write_private_key_file(cli.trust_dir, key['key_id'], f.read())


# --- the local daemon ------------------------------------------------------------------------
