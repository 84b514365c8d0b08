# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: output_path
short_description: Where the roles write a file on the controller by default, never inside an installed collection
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Returns C(<inventory_dir>/<name>), the default of the controller-side outputs of the roles and playbooks (public
    keys, pins file, release and bridge reports, the Notary CA); they belong to the team's inventory, not to the
    collection, whose C(playbooks/) directory is read-only in an execution environment (and
    C(ansible-galaxy collection verify) would report it modified).
  - When the inventory is a host list (C(-i host,), no inventory directory), returns C(<playbook_dir>/<name>), unless
    the playbook is one of an installed collection (run by its FQCN, such as
    C(ansible-playbook openbanking.content_trust.publish_release)); then it fails and names the variable to set.
  - Runs on the controller; standard library only. The roles' defaults use it so the rule exists once.
positional: _input, playbook_dir, name, variable
options:
  _input:
    description: C(inventory_dir) (V(None) or empty for a host list).
    type: raw
    required: true
  playbook_dir:
    description: C(playbook_dir).
    type: path
    required: true
  name:
    description: The file or directory name under that directory, for example V(trust-keys).
    type: str
    required: true
  variable:
    description: The variable that sets the path instead, named in the message.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: The default of a role's report directory
  ansible.builtin.set_fact:
    report_dir: >-
      {{ inventory_dir | openbanking.content_trust.output_path(playbook_dir, 'release-reports',
                                                                'content_trust_report_dir') }}
'''

RETURN = r'''
_value:
  description: The path, for example C(/srv/ansible/inventories/prod/release-reports).
  type: path
'''

import os

from ansible.errors import AnsibleFilterError


def _in_installed_collection(path):
    """Whether ``path`` lies in an installed collection (``.../ansible_collections/<ns>/<name>/...``)."""
    parts = os.path.normpath(path).split(os.sep)
    return any(part == 'ansible_collections' and len(parts) - i >= 3 for i, part in enumerate(parts))


def output_path(inventory_dir, playbook_dir, name, variable):
    if not name or not variable:
        raise AnsibleFilterError('output_path needs the file name and the variable that sets it')
    inventory_dir = '' if inventory_dir is None or str(inventory_dir) == 'None' else str(inventory_dir)
    if inventory_dir:
        return os.path.join(inventory_dir, name)
    if not playbook_dir or _in_installed_collection(str(playbook_dir)):
        raise AnsibleFilterError(
            '%s: no default here: the inventory is a host list (there is no inventory directory to write %s beside) '
            'and the playbook is an installed collection\'s (%s), which must stay unchanged; set %s, or use an '
            'inventory file or directory' % (variable, name, playbook_dir, variable))
    return os.path.join(str(playbook_dir), name)


class FilterModule(object):
    def filters(self):
        return {'output_path': output_path}
