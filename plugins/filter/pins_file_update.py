# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: pins_file_update
short_description: What the pins file should hold after a read of the repositories
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - From the C(repositories) of M(openbanking.content_trust.trust_info) and the current pins file, the pins file's
    new content - a pin (the root key IDs) for each repository with trust data and no pin yet - and the conflicts,
    pinned repositories whose root no longer has the pinned key ID. A conflict is never re-pinned here (it is what an
    attacker's new root looks like, and also a rotation nobody re-pinned); the signers role fails on it.
  - Runs on the controller; reads the pins file there.
positional: _input, pins_file
options:
  _input:
    description: The C(repositories) of M(openbanking.content_trust.trust_info).
    type: list
    elements: dict
    required: true
  pins_file:
    description: Path of the pins file on the controller.
    type: path
    required: true
'''

EXAMPLES = r'''
- name: Work out the pins file
  ansible.builtin.set_fact:
    pins: "{{ inspected.repositories | openbanking.content_trust.pins_file_update(content_trust_pins_file) }}"
'''

RETURN = r'''
_value:
  description: C(content) (the file's new text), C(changed), C(added) (repositories pinned now), C(conflicts).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import pins_file_update as _update


def pins_file_update(repositories, pins_file):
    try:
        return _update(repositories, pins_file)
    except InputError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {'pins_file_update': pins_file_update}
