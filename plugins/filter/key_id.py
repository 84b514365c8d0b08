# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: key_id
short_description: The key ID that Docker Content Trust shows for a public key
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Returns the canonical Notary key ID of a public key or certificate PEM, as C(docker trust inspect)
    lists it for a signer and as the modules of this collection compute it.
  - The ID is the sha256 of the canonical JSON form of the public key, so it equals the file name of the
    private key in C(<docker_config>/trust/private/).
  - Runs on the controller; needs the Python library C(cryptography) there.
positional: _input
options:
  _input:
    description:
      - A C(PUBLIC KEY) or C(CERTIFICATE) PEM, such as the C(NAME.pub) file C(docker trust key generate) writes.
      - A private key is refused, and never echoed.
    type: string
    required: true
seealso:
  - module: openbanking.content_trust.trust_key
  - module: openbanking.content_trust.trust_signer
'''

EXAMPLES = r'''
- name: Show the key ID of jeff's public key
  ansible.builtin.debug:
    msg: "{{ lookup('ansible.builtin.file', 'trust-keys/jeff.pub') | openbanking.content_trust.key_id }}"

- name: Key IDs of several PEMs
  ansible.builtin.set_fact:
    wanted_key_ids: "{{ signer_public_keys | map('openbanking.content_trust.key_id') | list }}"
'''

RETURN = r'''
_value:
  description: The key ID, 64 lowercase hex characters.
  type: string
  sample: 8ae710e3ba82b0c1b6a2f7a5c0e3a3cf8c1ab5b6e0b4d1d8b1e1f6f4c8a6f9d1
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    CRYPTOGRAPHY_IMPORT_ERROR, HAS_CRYPTOGRAPHY, KeyProblem, parse_public_pem,
)


def key_id(pem):
    """Canonical key ID of a public key or certificate PEM."""
    if not HAS_CRYPTOGRAPHY:
        raise AnsibleFilterError('the key_id filter needs the Python library cryptography on the controller: %s'
                                 % CRYPTOGRAPHY_IMPORT_ERROR)
    if not isinstance(pem, (str, bytes)):
        raise AnsibleFilterError('key_id expects a PEM string, got %s' % type(pem).__name__)
    try:
        return parse_public_pem(to_text(pem), 'the input of key_id')['key_id']
    except KeyProblem as exc:
        raise AnsibleFilterError(to_text(exc))


class FilterModule(object):

    def filters(self):
        return {'key_id': key_id}
