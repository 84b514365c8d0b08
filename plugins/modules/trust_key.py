#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_key
short_description: Manage a signer's delegation key in the local Docker Content Trust store
version_added: 0.1.0
description:
  - Ensures exactly one delegation (signer) key for O(signer) in C(<docker_config>/trust/private),
    as C(docker trust key generate) or C(docker trust key load) would make it, but idempotently.
  - A new key is ECDSA P-256, stored encrypted with O(passphrase) in the format docker and notary read,
    in a file named after its key ID with mode 0600, in a 0700 directory.
  - The key ID returned is the canonical ID that C(docker trust inspect) shows for the signer.
author:
  - Open Banking (@OpenBankingUK)
requirements:
  - Python library C(cryptography) on the host that runs the module
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary_ignored
  - openbanking.content_trust.common.ignored_passphrases
  - ansible.builtin.action_common_attributes
options:
  signer:
    description:
      - Signer name; the key is stored with this role. Must match C(^[a-z0-9][a-z0-9_-]*$).
        C(root), C(targets), C(snapshot), C(timestamp) and C(releases) are reserved (the repository's own
        roles); only delegation (signer) keys are ever created or removed.
    type: str
    required: true
  state:
    description:
      - V(present) ensures one key with this name; V(absent) removes every key file whose role is O(signer).
    type: str
    choices: [present, absent]
    default: present
  passphrase:
    description:
      - Passphrase that protects the stored key; at least 8 characters.
      - Required to create or import a key. When the key exists it is checked against the key, and used
        to derive the public key.
    type: str
  private_key:
    description:
      - PEM of an existing private key to import instead of generating one. Plain (EC, RSA, PKCS#8) or
        PKCS#8-encrypted (C(ENCRYPTED PRIVATE KEY); then set O(private_key_passphrase)).
      - If a different key of this name exists, the task fails unless O(force=true).
    type: str
  private_key_passphrase:
    description:
      - Passphrase of an encrypted O(private_key).
    type: str
  public_key_path:
    description:
      - File to write the public key PEM to (like the C(NAME.pub) file docker writes).
      - Written through a new temporary file in the same directory that is then renamed over it, so a
        symlink at this path is replaced, never followed.
    type: path
  force:
    description:
      - Replace an existing key of this name. With O(private_key), the existing key is replaced by it when they
        differ. Without O(private_key), a new key is generated on every run.
    type: bool
    default: false
seealso:
  - module: openbanking.content_trust.trust_signer
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Ensure signer key jeff exists and write its public key
  openbanking.content_trust.trust_key:
    signer: jeff
    passphrase: "{{ vault_jeff_passphrase }}"
    public_key_path: /srv/trust-keys/jeff.pub
  register: jeff_key

- name: Import an existing key kept in a vault
  openbanking.content_trust.trust_key:
    signer: ci
    private_key: "{{ vault_ci_key_pem }}"
    private_key_passphrase: "{{ vault_ci_key_pem_passphrase }}"
    passphrase: "{{ vault_ci_passphrase }}"

- name: Remove a signer's local key
  openbanking.content_trust.trust_key:
    signer: alice
    state: absent
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
key_id:
  description: Canonical key ID (64 hex), as C(docker trust inspect) lists it for the signer. None when absent.
  returned: always
  type: str
  sample: 8ae710e3ba82b0c1b6a2f7a5c0e3a3cf8c1ab5b6e0b4d1d8b1e1f6f4c8a6f9d1
public_key:
  description: Public key PEM. None when absent, or when the key exists and neither O(passphrase) nor a matching O(public_key_path) lets it be read.
  returned: always
  type: str
public_key_path:
  description: Where the public key was written, if O(public_key_path) was given.
  returned: always
  type: str
key_path:
  description: Path of the encrypted private key file.
  returned: when state=present
  type: str
removed_key_ids:
  description: Key IDs whose files were removed (state=absent, or replaced with O(force)).
  returned: always
  type: list
  elements: str
diff:
  description:
    - The signer's local key IDs before and after. In check mode a key that would be generated shows as C((new key)).
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

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import validate_signer_name
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    KeyProblem, WrongKeyPassphrase, generate_private_key, load_private_pem, notary_key_pem, parse_public_pem,
    public_key_id, public_key_pem,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import (
    find_signer_keys, unlock_key, write_private_key_file,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._passphrases import check_new_passphrase
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import write_file_atomic
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action, InputError, build_module, run


def _existing_public(existing, passphrase, public_key_path, name):
    """Public key PEM of the one existing key, checked against its file name."""
    if passphrase:
        try:
            key = unlock_key(existing, passphrase, 'passphrase', 'existing key of signer %s' % name)
        except KeyProblem as exc:
            raise (WrongKeyPassphrase if isinstance(exc, WrongKeyPassphrase) else KeyProblem)(
                'passphrase does not decrypt the existing key %s of signer %s (%s); nothing was '
                'changed. Check the passphrase (a typo, or the passphrase of another key). Only if it '
                'is lost for good, replace the key as docs/key-management.md says: force=true deletes '
                'key %s, and %s cannot sign until the new key is added to its repositories'
                % (existing['key_id'], name, exc, existing['key_id'], name))
        if public_key_id(key.public_key()) != existing['key_id']:
            raise InputError('key file %s does not hold the key its name says' % existing['path'])
        return public_key_pem(key.public_key())
    if public_key_path and os.path.isfile(public_key_path):
        with open(public_key_path) as f:
            try:
                pub = parse_public_pem(f.read(), 'public_key_path %s' % public_key_path)
            except KeyProblem:
                return None
        if pub['key_id'] == existing['key_id']:
            return pub['pem']
    return None


def _public_differs(path, pem):
    """Whether ``public_key_path`` must be (re)written to hold ``pem``."""
    if not path:
        return False
    if os.path.isfile(path) and not os.path.islink(path):
        with open(path) as f:
            if f.read() == pem:
                return False
    return True


def _write_public(path, pem):
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        write_file_atomic(path, pem, 0o644)
    except (IOError, OSError) as exc:
        raise TrustError('cannot write the public key file %s (public_key_path): %s' % (path, exc.strerror or exc))


class EnsureKey(Action):
    """A signer's key in the local trust store: keep, import, generate or remove it."""

    def plan(self):
        p = self.params
        name = validate_signer_name(p['signer'], 'signer')
        existing = find_signer_keys(self.cli.trust_dir, name)
        before = sorted(k['key_id'] for k in existing)
        plan = dict(name=name, state=p['state'], existing=existing, before=before, keep=None, extra=[], key=None,
                    key_id=None, public=None, key_path=None, write_public=False)
        if p['state'] == 'absent':
            plan['changed'] = bool(existing)
            return plan

        imported = None
        if p['private_key']:
            imported = load_private_pem(p['private_key'], p['private_key_passphrase'], 'private_key')
        elif p['private_key_passphrase']:
            raise InputError('private_key_passphrase is set but private_key is not; give the key to import')

        wanted_id = public_key_id(imported.public_key()) if imported else None
        keep = None
        if imported and any(k['key_id'] == wanted_id for k in existing):
            keep = [k for k in existing if k['key_id'] == wanted_id][0]
        elif existing and not p['force'] and not imported:
            if len(existing) > 1:
                raise InputError('%d keys with role %s exist (%s); exactly one is expected per signer. Remove the '
                                 'extra ones, or set force=true to replace them all with one new key'
                                 % (len(existing), name, ', '.join(before)))
            keep = existing[0]
        elif existing and imported and not p['force']:
            raise InputError('a different key for signer %s exists (key ID %s) and private_key is key %s; to replace '
                             'it, set force=true, which deletes key %s from the trust directory (repositories that '
                             'list it keep it until trust_signer removes it)'
                             % (name, ', '.join(before), wanted_id, ', '.join(before)))

        if keep is not None:
            extra = [k for k in existing if k is not keep]
            if extra and not p['force']:
                raise InputError('%d keys with role %s exist (%s); exactly one is expected. Set force=true to keep '
                                 'only %s' % (len(existing), name, ', '.join(before), keep['key_id']))
            pem = imported and public_key_pem(imported.public_key()) or \
                _existing_public(keep, p['passphrase'], p['public_key_path'], name)
            plan.update(keep=keep, extra=extra, key_id=keep['key_id'], public=pem, key_path=keep['path'],
                        changed=bool(extra))
        else:
            # A new key (imported, or generated in memory). In check mode a generated key is not shown: it
            # would be another key on the real run.
            key = imported or generate_private_key()
            key_id = public_key_id(key.public_key())
            shown = not self.module.check_mode or imported is not None
            plan.update(key=key, new_key_id=key_id, key_id=key_id if shown else None,
                        public=public_key_pem(key.public_key()) if shown else None,
                        key_path=os.path.join(self.cli.trust_dir, 'private', key_id + '.key'), changed=True)
        if plan['public'] and _public_differs(p['public_key_path'], plan['public']):
            plan.update(write_public=True, changed=True)
        return plan

    def preflight(self, plan):
        if plan['key'] is not None:
            passphrase = self.params['passphrase']
            if not passphrase:
                raise InputError('passphrase is required to store a new key for signer %s' % plan['name'])
            check_new_passphrase(passphrase, 'passphrase', 'a new key (as docker requires)')

    def apply(self, plan):
        if plan['state'] == 'absent':
            for k in plan['existing']:
                os.unlink(k['path'])
            return None
        for k in plan['extra']:
            os.unlink(k['path'])
        if plan['key'] is not None:
            # The new key first: a failed write must not leave the signer without a key.
            plan['key_path'] = write_private_key_file(
                self.cli.trust_dir, plan['new_key_id'],
                notary_key_pem(plan['key'], self.params['passphrase'], plan['name']))
            for k in plan['existing']:
                if k['path'] != plan['key_path']:
                    os.unlink(k['path'])
        if plan['write_public']:
            _write_public(self.params['public_key_path'], plan['public'])
        return None

    def verify(self, plan, outcome):
        left = sorted(k['key_id'] for k in find_signer_keys(self.cli.trust_dir, plan['name']))
        wanted = [] if plan['state'] == 'absent' else [plan['key_id']]
        if left != wanted:
            raise KeyProblem('after the change the trust directory holds key(s) %s for signer %s, not %s'
                             % (', '.join(left) or 'none', plan['name'], ', '.join(wanted) or 'none'))

    def result(self, plan, outcome):
        result = dict(changed=plan['changed'], key_id=plan['key_id'], public_key=plan['public'],
                      public_key_path=self.params['public_key_path'])
        if plan['state'] == 'absent':
            result.update(removed_key_ids=plan['before'],
                          diff=dict(before={'key_ids': plan['before']}, after={'key_ids': []}))
            return result
        new = plan['key'] is not None
        result.update(key_path=plan['key_path'],
                      removed_key_ids=plan['before'] if new else sorted(k['key_id'] for k in plan['extra']))
        after = [result['key_id']] if result['key_id'] else (['(new key)'] if result['changed'] else [])
        result['diff'] = dict(before={'key_ids': plan['before']}, after={'key_ids': after})
        return result


def main():
    module = build_module(dict(
        signer=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        passphrase=dict(type='str', no_log=True),
        private_key=dict(type='str', no_log=True),
        private_key_passphrase=dict(type='str', no_log=True),
        public_key_path=dict(type='path'),
        force=dict(type='bool', default=False),
    ), passphrases='ignored', requires=('cryptography',))
    run(module, EnsureKey)


if __name__ == '__main__':
    main()
