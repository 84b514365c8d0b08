#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_signer
short_description: Manage who may sign a repository with Docker Content Trust
version_added: 0.1.0
description:
  - Ensures a signer (a TUF delegation role C(targets/<signer>)) of a repository on its Notary server has
    the given public keys, with the same keys in C(targets/releases), the role C(docker pull) trusts; or
    ensures the signer is gone.
  - Reads the repository's trust data first and changes only what differs. When nothing differs, nothing
    is published and the TUF versions on the Notary server do not move (unlike C(docker trust signer add),
    which publishes a new version even for a key it already has).
  - A repository without trust data is initialized first, as C(docker trust signer add) does it. It reuses
    the local root key or creates one, creates the repository key, and lets the Notary server manage
    the snapshot key.
    Keys that a failed initialization created are removed again. Where docker has no C(docker trust) (docker 29
    and later without the C(docker-trust) plugin) the notary CLI does the same (C(notary init), the snapshot key
    rotated to the server, one publish of the signer); the new repository then starts at root version 2, where
    docker's starts at 1.
  - Changes to an initialized repository are staged with the notary CLI and published as one new TUF
    version. Removal uses the notary CLI because C(docker trust signer remove) silently removes nothing
    (docker 26 and later).
  - Passphrases are checked against the local keys before anything is changed.
author:
  - Open Banking (@OpenBankingUK)
requirements:
  - Python libraries C(cryptography) and C(pexpect) on the host that runs the module
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary
  - openbanking.content_trust.common.passphrases
  - ansible.builtin.action_common_attributes
options:
  repository:
    description:
      - The repository (GUN), such as V(registry.example.com/openbanking/conformance-suite) or
        V(127.0.0.1:5000/acme/app). Short names mean docker.io, as docker reads them. No tag.
    type: str
    required: true
  signer:
    description:
      - Signer name. Must match C(^[a-z0-9][a-z0-9_-]*$); C(root), C(targets), C(snapshot), C(timestamp) and
        C(releases) are reserved.
    type: str
    required: true
  state:
    description:
      - V(present) ensures the signer has O(public_keys), in its own role and in C(targets/releases).
      - V(absent) removes the signer's role and removes its keys from C(targets/releases). Keys that another
        signer also holds stay in C(targets/releases).
    type: str
    choices: [present, absent]
    default: present
  public_keys:
    description:
      - Public keys (C(PUBLIC KEY) PEM, as C(docker trust key generate) writes to C(NAME.pub)) or X.509
        certificates (C(CERTIFICATE) PEM) of the signer. Required, and not empty, for O(state=present).
      - A private key is refused, without being echoed.
      - Not used with O(state=absent), which removes the signer with all its keys.
    type: list
    elements: str
  exclusive_keys:
    description:
      - When V(true), keys of this signer that are not in O(public_keys) are removed (key rotation), from its
        role and from C(targets/releases).
      - When V(false), keys are only added.
    type: bool
    default: false
  force:
    description:
      - Removing keys from C(targets/releases) can leave the tags released there without a valid signature,
        so that C(docker pull) with content trust refuses them until another signer signs them again.
        Such a change fails, naming the tags, unless O(force=true).
    type: bool
    default: false
notes:
  - Initializing a repository needs O(root_passphrase) and O(repository_passphrase); when a new root or
    repository key is created, its passphrase must be at least 8 characters.
  - Every change to an initialized repository needs its repository key in C(<docker_config>/trust/private)
    and O(repository_passphrase).
  - In check mode the module reads trust data and checks passphrases, and never writes.
seealso:
  - module: openbanking.content_trust.trust_key
  - module: openbanking.content_trust.trust_info
attributes:
  check_mode:
    support: full
    details: Reads trust data and checks passphrases against the local keys; never initializes, stages or publishes.
  diff_mode:
    support: full
    details: Shows the signer's key IDs before and after, as C(docker trust inspect) lists them.
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Let jeff sign releases of the conformance suite
  openbanking.content_trust.trust_signer:
    server: https://notary.example.com:4443
    repository: registry.example.com/openbanking/conformance-suite
    signer: jeff
    public_keys:
      - "{{ lookup('file', 'keys/jeff.pub') }}"
    root_passphrase: "{{ vault_root_passphrase }}"
    repository_passphrase: "{{ vault_repository_passphrase }}"

- name: Rotate jeff's key (the old one is removed)
  openbanking.content_trust.trust_signer:
    server: https://notary.example.com:4443
    repository: registry.example.com/openbanking/conformance-suite
    signer: jeff
    public_keys:
      - "{{ lookup('file', 'keys/jeff-2027.pub') }}"
    exclusive_keys: true
    repository_passphrase: "{{ vault_repository_passphrase }}"

- name: Alice leaves the team
  openbanking.content_trust.trust_signer:
    server: https://notary.example.com:4443
    repository: registry.example.com/openbanking/conformance-suite
    signer: alice
    state: absent
    repository_passphrase: "{{ vault_repository_passphrase }}"
'''

RETURN = r'''
error_kind:
  description:
    - When the task failed, the class of the failure, the same for the same cause in every module of the collection -
      V(bad_input) (an option, found before anything changed), V(bad_key), V(wrong_passphrase), V(missing_signing_key),
      V(notary_unreachable), V(notary_tls_untrusted), V(repository_unknown), V(registry_unreachable),
      V(credentials_refused), V(cli_failure), V(timeout), V(unverified) (a signature or trust data that does not
      verify), V(missing_requirement) (a Python library the module needs), or V(failed) (another failure of a tool).
  returned: failure
  type: str
  sample: notary_unreachable
repository:
  description: The repository (GUN).
  returned: always
  type: str
  sample: registry.example.com/openbanking/conformance-suite
signer:
  description: The signer name, O(signer).
  returned: always
  type: str
  sample: jeff
key_ids:
  description: The signer's key IDs after the task, as C(docker trust inspect) lists them. Empty when absent.
  returned: always
  type: list
  elements: str
added_key_ids:
  description: Key IDs added to the signer's role or to C(targets/releases).
  returned: always
  type: list
  elements: str
removed_key_ids:
  description: Key IDs removed from the signer's role or from C(targets/releases).
  returned: always
  type: list
  elements: str
initialized:
  description: Whether the repository's trust data was initialized by this task (would be, in check mode).
  returned: always
  type: bool
diff:
  description:
    - The signer's key IDs, as C(docker trust inspect) lists them, before and after (an empty dict when the signer is
      not in the repository).
    - Returned only in diff mode (C(--diff)), in check mode too; always the shape C(before) and C(after) below.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Before the change.
      type: dict
      returned: when diff mode is on
    after:
      description: After the change (would be, in check mode).
      type: dict
      returned: when diff mode is on
'''

try:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
except ImportError:  # pragma: no cover - build_module reports the missing library
    pass

from ansible_collections.openbanking.content_trust.plugins.module_utils._process import Secrets
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    parse_reference, validate_signer_name,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._delegations import (
    apply as apply_steps, check_init_passphrases, check_repository_key, read_roles, verify as verify_steps,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import parse_public_pem, tuf_key_ids
from ansible_collections.openbanking.content_trust.plugins.module_utils._notaryaction import NotaryAction
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import InputError, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import (
    RELEASES_ROLE, signature_key_ids, signed_targets, signer_role,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerplan import delegation_steps
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import initialize_repository
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import signer_keys
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import TrustReader

# Key IDs: TUF, notary and this module's plans use the TUF key ID; docker trust inspect,
# and what the module returns, show the ID of the public key.  They differ only for
# certificates (see _keys.canonical_key_id).


# --- what is wanted ------------------------------------------------------------------------

def wanted_keys(public_keys):
    """The given keys without duplicates: ``(TUF key IDs in order, {TUF key ID: {'pem', 'id'}})``."""
    if not public_keys:
        raise InputError('public_keys must list at least one public key or certificate PEM for state=present')
    keys = {}
    order = []
    for i, text in enumerate(public_keys):
        what = 'public_keys[%d]' % i
        key = parse_public_pem(text, what)
        if key['pem'].startswith('-----BEGIN PUBLIC KEY-----') and \
                not isinstance(load_pem_public_key(key['pem'].encode('ascii')), (ec.EllipticCurvePublicKey,
                                                                                 rsa.RSAPublicKey)):
            # notary's key parser takes ECDSA and RSA only.
            raise InputError('%s is not an ECDSA or RSA key; docker and notary accept only those '
                             '(docker trust key generate makes ECDSA P-256 keys)' % what)
        tuf_id, docker_id = tuf_key_ids(key['pem'], what)
        if tuf_id not in keys:
            keys[tuf_id] = dict(pem=key['pem'], id=docker_id)
            order.append(tuf_id)
    return order, keys


# --- what to do ----------------------------------------------------------------------------

def has_changes(steps):
    return bool(steps['add_signer'] or steps['add_releases'] or steps['remove_signer'] or
                steps['remove_releases'] or steps['remove_role'])


def stranded_tags(roles, releases_doc, remove_ids):
    """Tags of targets/releases that would lose their valid signature by removing ``remove_ids``.

    TUF validates targets/releases.json as a whole: it needs signatures from at least
    ``threshold`` keys of the role.  Keys added now have not signed it yet, so only the
    keys that stay count.  Tags already invalid are not this change's doing.
    """
    tags = signed_targets(releases_doc)
    if not tags or not remove_ids or RELEASES_ROLE not in roles:
        return []
    info = roles[RELEASES_ROLE]
    valid_now = set(signature_key_ids(releases_doc)) & set(info['key_ids'])
    valid_after = valid_now - set(remove_ids)
    if len(valid_now) < info['threshold'] or len(valid_after) >= info['threshold']:
        return []
    return tags


# --- reading and doing (the keys, the delegations and publishing: _delegations) -------------

class EnsureSigner(NotaryAction):
    """A signer of a repository with exactly the wanted keys (or none): one publish, in the transaction."""

    def inputs(self):
        p = self.params
        self.name = name = validate_signer_name(p['signer'], 'signer')
        self.reference = parse_reference(p['repository'], allow_tag=False)
        self.present = p['state'] == 'present'
        if self.present:
            self.order, self.keys = wanted_keys(p['public_keys'])
        elif p['public_keys']:
            raise InputError('public_keys is only used with state=present; state=absent removes signer %s with all '
                             'its keys (to remove some keys, use state=present with exclusive_keys=true)' % name)
        else:
            self.order, self.keys = [], {}

    def plan(self):
        # After a TUF conflict this runs again: read and plan again; what the other writer published stays.
        p, cli, ref, name, order, keys = self.params, self.cli, self.reference, self.name, self.order, self.keys
        parsed, documents = TrustReader(cli).read_documents(ref)
        before = sorted(signer_keys(parsed).get(name, []))
        plan = dict(parsed=parsed, before=before, init=False, steps=None, changed=False, expected=before,
                    stranded=[], added=[], removed=[])
        if not parsed['exists']:
            if self.present:
                expected = sorted(set(keys[k]['id'] for k in order))
                plan.update(init=True, changed=True, expected=expected, added=expected)
            return plan
        roles, ids, releases_doc = read_roles(cli, parsed, documents)
        ids.update((k, v['id']) for k, v in keys.items())
        steps = delegation_steps(name, roles, order, self.present, p['exclusive_keys'])
        if not has_changes(steps):
            return plan
        current = roles.get(signer_role(name), {}).get('key_ids', [])
        removed = set(steps['remove_signer']) | set(steps['remove_releases'])
        if steps['remove_role']:
            removed |= set(current)
        plan.update(changed=True, steps=steps, roles=roles, ids=ids,
                    stranded=stranded_tags(roles, releases_doc, steps['remove_releases']),
                    expected=sorted(set(ids.get(k, k) for k in set(current) | set(order)
                                        if k not in steps['remove_signer'])) if self.present else None,
                    removed=sorted(set(ids.get(k, k) for k in removed)),
                    added=sorted(set(ids.get(k, k) for k in steps['add_signer'] + steps['add_releases'])))
        return plan

    def preflight(self, plan):
        p = self.params
        if plan['init']:
            check_init_passphrases(self.cli, self.reference.gun, p['root_passphrase'], p['repository_passphrase'])
        elif plan['changed']:
            if plan['stranded'] and not p['force']:
                raise InputError('removing key(s) %s of signer %s from targets/releases of %s would leave released '
                                 'tag(s) %s without a valid signature (docker pull with content trust would refuse '
                                 'them until another signer signs them again); set force=true to do it anyway'
                                 % (', '.join(plan['ids'].get(k, k) for k in plan['steps']['remove_releases']),
                                    self.name, self.reference.gun, ', '.join(plan['stranded'])))
            check_repository_key(self.cli, plan['parsed'], p['repository_passphrase'])

    def apply(self, plan):
        p, keys = self.params, self.keys
        if plan['init']:
            initialize_repository(self.cli, self.tx, self.reference, self.name, [keys[k]['pem'] for k in self.order],
                                  Secrets(root=p['root_passphrase'], repository=p['repository_passphrase']))
        else:
            apply_steps(self.tx, self.reference, self.name, plan['steps'], keys, plan['roles'],
                        Secrets(repository=p['repository_passphrase']))

    def verify(self, plan, outcome):
        steps = dict(add_releases=self.order, remove_releases=[]) if plan['init'] else plan['steps']
        plan['expected'] = verify_steps(self.cli, self.reference, self.name, plan['expected'], steps)
        if plan['init']:
            plan['added'] = plan['expected']

    def result(self, plan, outcome):
        name = self.name
        if plan['stranded']:
            self.module.warn('released tag(s) %s of %s have no valid signature until another signer signs them '
                             'again' % (', '.join(plan['stranded']), self.reference.gun))
        key_ids = (plan['expected'] or []) if plan['changed'] else plan['before']
        had = name in signer_keys(plan['parsed'])
        return dict(changed=plan['changed'], repository=self.reference.gun, signer=name, key_ids=key_ids,
                    initialized=plan['init'], added_key_ids=plan['added'], removed_key_ids=plan['removed'],
                    diff=dict(before={name: plan['before']} if had else {},
                              after={name: key_ids} if (self.present or (had and not plan['changed'])) else {}))


def main():
    module = build_module(dict(
        repository=dict(type='str', required=True),
        signer=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        public_keys=dict(type='list', elements='str', no_log=False),
        exclusive_keys=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
    ), requires=('cryptography', 'pexpect'))
    run(module, EnsureSigner)


if __name__ == '__main__':
    main()
