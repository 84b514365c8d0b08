# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: signer reconciliation, as pure functions.

What must change so that the signers of a repository are what is declared.  Used by
``trust_signer`` (one signer, against the TUF delegation roles) and, through the
``signer_plan`` filter, by the ``signers`` role (a whole inventory, against ONE
``trust_info`` of every repository).  Nothing here reads or writes anything.

Not a public API; it may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import tuf_key_ids
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import RELEASES_ROLE, signer_role

RELEASES_SIGNER = 'releases'
PRIVATE_KEY_MARK = 'PRIVATE KEY'


# --- one signer ------------------------------------------------------------------------------

def key_changes(current, wanted, present=True, exclusive_keys=False):
    """``(add, remove)``: the key IDs that take a signer holding ``current`` to ``wanted``.

    ``add`` keeps the order of ``wanted`` (each ID once); ``remove`` is sorted.  Without
    ``exclusive_keys`` keys are only added.  ``present=False`` removes every current key.
    """
    current = set(current or [])
    if not present:
        return [], sorted(current)
    add = []
    for key_id in wanted or []:
        if key_id not in current and key_id not in add:
            add.append(key_id)
    remove = sorted(current - set(wanted or [])) if exclusive_keys else []
    return add, remove


def delegation_steps(name, roles, wanted_ids, present, exclusive):
    """trust_signer's plan: the delegation changes that take ``roles`` (targets.json) to what is wanted.

    ``roles`` is ``{role: {'key_ids': [...], 'threshold': n}}`` with TUF key IDs, as
    ``_notary.delegation_roles`` reads it; ``wanted_ids`` are TUF key IDs.  Returns a dict of key
    ID lists: ``add_signer``, ``add_releases``, ``remove_signer``, ``remove_releases``, and
    ``remove_role`` (bool: drop ``targets/<name>`` entirely).  A key another signer also holds
    stays in ``targets/releases``: that signer still signs with it.
    """
    role = signer_role(name)
    current = roles.get(role, {}).get('key_ids', [])
    releases = set(roles.get(RELEASES_ROLE, {}).get('key_ids', []))
    held_elsewhere = set()
    for other, info in roles.items():
        if other not in (role, RELEASES_ROLE):
            held_elsewhere.update(info['key_ids'])
    steps = dict(add_signer=[], add_releases=[], remove_signer=[], remove_releases=[], remove_role=False)
    if present:
        steps['add_signer'], steps['remove_signer'] = key_changes(current, wanted_ids, True, exclusive)
        steps['add_releases'] = key_changes(releases, wanted_ids)[0]
        steps['remove_releases'] = sorted((set(steps['remove_signer']) & releases) - held_elsewhere)
    elif role in roles:
        steps['remove_role'] = True
        steps['remove_releases'] = sorted((set(key_changes(current, [], False)[1]) & releases) - held_elsewhere)
    return steps


# --- the signers role's inventory ----------------------------------------------------------------

def _where(signer, repo):
    return 'signer %s of repository %s' % (signer.get('name'), repo.get('repository'))


def _entries(repositories):
    if repositories is None:
        return []
    if not isinstance(repositories, list):
        raise InputError('content_trust_repositories must be a list of {repository, signers, exclusive}, got %s'
                         % type(repositories).__name__)
    for i, repo in enumerate(repositories):
        if not isinstance(repo, dict) or not repo.get('repository'):
            raise InputError('content_trust_repositories[%d] must be a dict with a repository' % i)
        signers = repo.get('signers') or []
        if not isinstance(signers, list) or not all(isinstance(s, dict) and s.get('name') for s in signers):
            raise InputError('the signers of repository %s in content_trust_repositories must be a list of '
                             '{name, public_key, public_keys}' % repo['repository'])
    return repositories


def signer_pems(signer):
    """The PEMs the inventory gives a signer: ``public_keys`` then ``public_key``, as given."""
    pems = list(signer.get('public_keys') or [])
    if signer.get('public_key'):
        pems.append(signer['public_key'])
    return pems


def inventory_problems(repositories):
    """What is refused before anything is read: ``private_keys`` (a private key given as a public
    key, named by signer and repository, never echoed) and ``keyless`` (signers without a key)."""
    private, keyless = [], []
    for repo in _entries(repositories):
        for signer in repo.get('signers') or []:
            pems = signer_pems(signer)
            if any(PRIVATE_KEY_MARK in str(p) for p in pems):
                private.append(_where(signer, repo))
            if not pems:
                keyless.append('%s in %s' % (signer['name'], repo['repository']))
    return dict(private_keys=private, keyless=keyless)


def declared_key_ids(signer, repo, known=None):
    """The IDs ``docker trust inspect`` shows for the signer's PEMs (for a certificate: the ID of the
    public key in it, not the certificate's TUF ID), sorted, each once.  ``known`` (``{PEM: ID}``) keeps
    the IDs of PEMs already parsed: an inventory gives the same signer's key to many repositories."""
    known = {} if known is None else known
    ids = set()
    for i, pem in enumerate(signer_pems(signer)):
        if pem not in known:
            known[pem] = tuf_key_ids(pem, 'public key %d of %s' % (i + 1, _where(signer, repo)))[1]
        ids.add(known[pem])
    return sorted(ids)


def current_signers(current):
    """``{signer: sorted key IDs}`` of a ``_trustdata.parse_inspect_entry`` result, without ``releases``."""
    return dict((s['name'], sorted(s['key_ids'])) for s in current.get('signers') or []
                if s['name'] != RELEASES_SIGNER)


def _bool(value, default):
    return default if value is None else boolean(value, strict=False)


def plan_repository(repo, current, known=None):
    """The trust_signer calls that make one repository what the inventory entry ``repo`` declares.

    ``current`` is the repository's ``parse_inspect_entry`` data.  Each change is a dict:
    ``repository`` (GUN), ``reference`` (as the inventory names it), ``signer``, ``state``,
    ``public_keys`` (as given), ``exclusive_keys``, ``new`` (the signer is not there yet),
    ``initialize`` (the repository has no trust data), ``add_key_ids`` and ``remove_key_ids``.
    A listed signer changes when it is missing, lacks a key, or (``exclusive_keys``) has a key
    not listed; in an ``exclusive`` repository an unlisted signer is removed.
    """
    have = current_signers(current)
    exclusive = _bool(repo.get('exclusive'), False)
    changes, listed = [], []

    def change(signer, state, pems, exclusive_keys, add, remove):
        return dict(repository=current['repository'], reference=repo['repository'], signer=signer, state=state,
                    public_keys=pems, exclusive_keys=exclusive_keys,
                    new=state == 'present' and signer not in have,
                    initialize=state == 'present' and not current['exists'], add_key_ids=add, remove_key_ids=remove)

    for signer in repo.get('signers') or []:
        name = signer['name']
        listed.append(name)
        exclusive_keys = _bool(signer.get('exclusive_keys'), exclusive)
        add, remove = key_changes(have.get(name, []), declared_key_ids(signer, repo, known), True, exclusive_keys)
        if name not in have or add or remove:
            changes.append(change(name, 'present', signer_pems(signer), exclusive_keys, add, remove))
    if exclusive:
        for name in sorted(have):
            if name not in listed:
                changes.append(change(name, 'absent', [], False, [], key_changes(have[name], [], False)[1]))
    return changes


def drift(current, changes):
    """``(before, after)`` as ``{signer: [key IDs]}`` of one repository, if ``changes`` all succeed."""
    before = current_signers(current)
    after = dict(before)
    for c in changes:
        if c['state'] == 'absent':
            after.pop(c['signer'], None)
        else:
            kept = set(after.get(c['signer'], [])) - set(c['remove_key_ids'])
            after[c['signer']] = sorted(kept | set(c['add_key_ids']))
    return before, after


def plan_inventory(repositories, inspected):
    """The signers role's plan for a whole inventory, from ONE ``trust_info`` of all its repositories.

    ``inspected`` lists ``parse_inspect_entry`` data in the inventory's order (``trust_info``'s
    ``repositories``).  Returns ``changes`` (see ``plan_repository``, in inventory order),
    ``new_repositories`` (GUNs this plan would initialize), ``drift`` (``before``/``after`` as
    ``{repository: {signer: [key IDs]}}`` of the repositories that change), ``private_keys`` and
    ``keyless`` (see ``inventory_problems``; both must be empty to plan).
    """
    repositories = _entries(repositories)
    problems = inventory_problems(repositories)
    if problems['private_keys']:
        raise InputError('a private key is given as public_key or public_keys of %s; give the public key only'
                         % ', '.join(problems['private_keys']))
    if problems['keyless']:
        raise InputError('these signers have neither public_key nor public_keys: %s' % ', '.join(problems['keyless']))
    if not isinstance(inspected, list) or len(inspected) != len(repositories):
        raise InputError('expected the trust data of the %d repositories of the inventory, in its order (the '
                         'repositories of one trust_info of them all), got %s'
                         % (len(repositories), '%d entries' % len(inspected) if isinstance(inspected, list)
                            else type(inspected).__name__))
    result = dict(problems, changes=[], new_repositories=[], drift=dict(before={}, after={}))
    known = {}
    for repo, current in zip(repositories, inspected):
        changes = plan_repository(repo, current, known)
        if not changes:
            continue
        result['changes'].extend(changes)
        gun = current['repository']
        if any(c['initialize'] for c in changes) and gun not in result['new_repositories']:
            result['new_repositories'].append(gun)
        before, after = drift(current, changes)
        result['drift']['before'][gun] = before
        result['drift']['after'][gun] = after
    return result
