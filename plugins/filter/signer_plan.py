# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: signer_plan
short_description: Which signers of which repositories differ from a signer inventory
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Compares a signer inventory (the C(content_trust_repositories) of the P(openbanking.content_trust.signers#role)
    role) with the trust data of all its repositories, read with ONE M(openbanking.content_trust.trust_info)
    call, and returns the M(openbanking.content_trust.trust_signer) calls that make the Notary server match it.
  - A listed signer changes when it is missing, lacks one of its keys, or (with C(exclusive_keys), which defaults
    to the repository's C(exclusive)) has keys the inventory does not list. In an C(exclusive) repository, a signer
    the inventory does not list is removed. Nothing else changes.
  - Key IDs are compared as C(docker trust inspect) shows them; for a certificate that is the ID of the public key
    in it.
  - Without O(inspected) it only checks the inventory and returns C(private_keys) and C(keyless), reading no key.
    With O(inspected) an inventory with a private key or a signer without keys is refused, naming the signer and
    the repository and never the key.
  - The same reconciliation as trust_signer's own plan (C(plugins/module_utils/_signerplan.py)). Runs on the
    controller; needs the Python library C(cryptography) there.
positional: _input, inspected
options:
  _input:
    description:
      - The signer inventory, a list of C(repository), C(exclusive) and C(signers) (C(name), C(public_key),
        C(public_keys), C(exclusive_keys)), as documented for the signers role's C(content_trust_repositories).
    type: list
    elements: dict
    required: true
  inspected:
    description:
      - The registered result of one trust_info of every repository of the inventory, in the inventory's order,
        or its C(repositories) list.
    type: raw
seealso:
  - module: openbanking.content_trust.trust_signer
  - module: openbanking.content_trust.trust_info
'''

EXAMPLES = r'''
- name: Read the signers of every repository
  openbanking.content_trust.trust_info:
    repositories: "{{ content_trust_repositories | map(attribute='repository') | list }}"
  register: inspected

- name: Work out which signers differ from the inventory
  ansible.builtin.set_fact:
    signer_changes: "{{ (content_trust_repositories | openbanking.content_trust.signer_plan(inspected)).changes }}"

- name: Refuse an inventory with a private key in it, before anything is read
  ansible.builtin.assert:
    that: (content_trust_repositories | openbanking.content_trust.signer_plan).private_keys | length == 0
'''

RETURN = r'''
_value:
  description:
    - C(changes) - one per trust_signer call, in inventory order, with C(repository) (the GUN), C(reference) (as
      the inventory names it), C(signer), C(state) (V(present) or V(absent)), C(public_keys) (as given),
      C(exclusive_keys), C(new) (the signer is not there yet), C(initialize) (the repository has no trust data),
      C(add_key_ids) and C(remove_key_ids).
    - C(new_repositories) - the repositories (GUNs) the changes would create on the Notary server.
    - >-
      C(drift) - C(before) and C(after), each C({repository: {signer: [key IDs]}}), of the repositories that change.
    - C(private_keys) - C(signer NAME of repository REPO) for every signer given a private key.
    - C(keyless) - C(NAME in REPO) for every listed signer without a public key.
  type: dict
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import ContentTrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    CRYPTOGRAPHY_IMPORT_ERROR, HAS_CRYPTOGRAPHY,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerplan import (
    inventory_problems, plan_inventory,
)


def signer_plan(repositories, inspected=None):
    """See DOCUMENTATION."""
    try:
        if inspected is None:
            return dict(inventory_problems(repositories), changes=[], new_repositories=[],
                        drift=dict(before={}, after={}))
        if not HAS_CRYPTOGRAPHY:
            raise AnsibleFilterError('the signer_plan filter needs the Python library cryptography on the controller: '
                                     '%s' % CRYPTOGRAPHY_IMPORT_ERROR)
        if isinstance(inspected, dict):
            inspected = inspected.get('repositories')
        return plan_inventory(repositories, inspected)
    except ContentTrustError as exc:
        raise AnsibleFilterError('signer_plan: %s' % to_text(exc))


class FilterModule(object):
    def filters(self):
        return {'signer_plan': signer_plan}
