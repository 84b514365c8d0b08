# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: package_manager
short_description: The package manager the roles use on a host's operating system family, or a clear refusal
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Returns V(apt) for the Debian family and V(dnf) for the RHEL family (C(ansible_facts.os_family) V(Debian) or
    V(RedHat)); fails for any other family with a message naming what the roles support.
  - The roles check the host with it before anything is installed. Runs on the controller; standard library only.
positional: _input, role
options:
  _input:
    description: C(ansible_facts.os_family).
    type: str
    required: true
  role:
    description: The role asking, named in the message.
    type: str
    default: this role
'''

EXAMPLES = r'''
- name: Check the operating system family
  ansible.builtin.set_fact:
    package_manager_here: "{{ ansible_facts.os_family | openbanking.content_trust.package_manager('signing_host') }}"
'''

RETURN = r'''
_value:
  description: V(apt) or V(dnf).
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._toolinstall import package_manager as _manager


def package_manager(os_family, role='this role'):
    """See DOCUMENTATION."""
    try:
        return _manager(os_family, role)
    except InputError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {'package_manager': package_manager}
