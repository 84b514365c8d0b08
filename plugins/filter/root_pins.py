# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: root_pins
short_description: The root pins of the Notary repositories, from the inventory and the pins file
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Returns a map of repository to its list of root key IDs, the shape the O(openbanking.content_trust.trust_pull#module:root_key_ids)
    option of M(openbanking.content_trust.trust_pull) and M(openbanking.content_trust.trust_verify) take, from the
    inventory's C(content_trust_pinned_repositories) and the pins file that C(sync_signers.yml) writes
    (C(content_trust_pins_file)). An entry of the inventory replaces the file's entry for the same repository.
  - Every entry is checked (a repository docker accepts, root key IDs of 64 lowercase hex characters); a bad one
    fails naming it.
  - Runs on the controller; reads the pins file there. Standard library only.
positional: _input, pins_file, images
options:
  _input:
    description: The inventory's pins, C([{repository, root_key_ids}]).
    type: list
    elements: dict
    required: true
  pins_file:
    description: Path of the pins file on the controller; a file that does not exist adds nothing.
    type: path
  images:
    description:
      - The images about to be read (C([{repository, ...}])). Only their repositories' pins are returned (one inventory
        pins the repositories of many hosts); an inventory pin of a repository that is not among them but differs from
        one of them by a character or two is taken for a typo and fails, naming the repository it resembles.
    type: list
    elements: dict
'''

EXAMPLES = r'''
- name: Pull with the pins of the inventory and of the pins file
  openbanking.content_trust.trust_pull:
    images: "{{ content_trust_pull_images }}"
    root_key_ids: >-
      {{ content_trust_pinned_repositories
         | openbanking.content_trust.root_pins(content_trust_pins_file, content_trust_pull_images) }}
'''

RETURN = r'''
_value:
  description: Repository (GUN) to the list of its pinned root key IDs.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import merged_pins


def root_pins(entries, pins_file=None, images=None):
    try:
        return merged_pins(entries, pins_file, images)
    except InputError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {'root_pins': root_pins}
