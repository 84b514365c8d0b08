# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: containers_scopes
short_description: The signed scopes of the containers policy, from the inventory
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Returns the O(openbanking.content_trust.containers_policy#module:scopes) option of
    M(openbanking.content_trust.containers_policy) - C([{scope, public_keys}]) - from the repositories a host pulls
    (C(content_trust_pull_images), each with optional C(cosign_public_keys)) and the registry or namespace scopes of
    C(content_trust_containers_scopes). Docker's short names are made fully qualified (C(docker.io/library/...)),
    as M(openbanking.content_trust.trust_pull) reads them; a scope without keys of its own takes the module's
    O(openbanking.content_trust.containers_policy#module:public_keys).
  - Standard library only; a bad entry fails naming it.
positional: _input, scopes
options:
  _input:
    description: The images, C([{repository, tags, cosign_public_keys}]).
    type: list
    elements: dict
    required: true
  scopes:
    description: Registry and namespace scopes, C([{scope, cosign_public_keys}]).
    type: list
    elements: dict
'''

EXAMPLES = r'''
- name: The containers policy for the images this host pulls
  openbanking.content_trust.containers_policy:
    scopes: >-
      {{ content_trust_pull_images | openbanking.content_trust.containers_scopes(content_trust_containers_scopes) }}
    public_keys: "{{ content_trust_cosign_public_keys }}"
'''

RETURN = r'''
_value:
  description: The scopes, C([{scope, public_keys}]) (C(public_keys) only where the inventory gives some).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._containerspolicy import inventory_scopes
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError


def containers_scopes(images, scopes=None):
    try:
        return inventory_scopes(images, scopes)
    except InputError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {'containers_scopes': containers_scopes}
