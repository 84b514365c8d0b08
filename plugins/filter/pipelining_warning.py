# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: pipelining_warning
short_description: Why a task that carries secrets to a remote host without pipelining writes them to disk, or nothing
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Without pipelining, Ansible copies each module with its arguments (passphrases included) into a file under the
    remote user's C(~/.ansible/tmp) while it runs. Returns the warning the roles show for a connection other than
    C(local) without pipelining, else an empty string.
  - Runs on the controller; standard library only.
positional: _input, pipelining, host, what
options:
  _input:
    description: The connection plugin (C(ansible_connection)).
    type: str
    required: true
  pipelining:
    description: Whether pipelining is on for the host (C(ansible_pipelining), else the configuration's default).
    type: bool
    required: true
  host:
    description: The host, named in the warning.
    type: str
    required: true
  what:
    description: What the role's tasks carry, for example V(the signer passphrases).
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Warn when the passphrases would be written to a file on the host
  ansible.builtin.debug:
    msg: "{{ ansible_connection | openbanking.content_trust.pipelining_warning(false, inventory_hostname, 'passphrases') }}"
'''

RETURN = r'''
_value:
  description: The warning, or an empty string.
  type: str
'''

from ansible_collections.openbanking.content_trust.plugins.module_utils._hostuser import (
    pipelining_warning as _warning,
)


def pipelining_warning(connection, pipelining, host, what):
    """See DOCUMENTATION."""
    return _warning(connection, pipelining, host, what) or ''


class FilterModule(object):
    def filters(self):
        return {'pipelining_warning': pipelining_warning}
