#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is implemented as an action plugin (plugins/action/drift.py) and runs on the controller.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: drift
short_description: Show how the current state differs from the inventory
version_added: 0.1.0
description:
  - Compares O(before) (what is there now) with O(after) (what the inventory wants) and reports C(changed) when they
    differ; with C(--diff) it shows both as YAML, headed by O(name).
  - Runs on the controller and writes nothing, in check mode too. The
    P(openbanking.content_trust.signers#role) role shows who may sign what, before and after, with it.
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  before:
    description: The current state (any data; public key IDs, never secrets).
    type: raw
    required: true
  after:
    description: The state the inventory wants.
    type: raw
    required: true
  name:
    description: What the states are of, for the diff's headers.
    type: str
    default: drift
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Show the signer drift
  openbanking.content_trust.drift:
    name: signers
    before: "{{ plan.drift.before }}"
    after: "{{ plan.drift.after }}"
  when: ansible_diff_mode
'''

RETURN = r'''
changed:
  description: Whether O(after) differs from O(before).
  returned: always
  type: bool
'''
