#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is implemented as an action plugin (plugins/action/report.py) and runs on the controller.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: report
short_description: Write report files on the controller
version_added: 0.1.0
description:
  - Writes each of O(files) into the directory O(dest) on the Ansible controller, creating O(dest) when it is
    missing. A file whose content and mode are already as given is left alone, so a report that did not change
    reports no change.
  - Runs on the controller itself, without sending a module to any host; the
    P(openbanking.content_trust.publish_release#role) role writes its JSON and Markdown release reports with it
    in one task.
  - Each file is written to a temporary file beside it and renamed into place, so a reader never sees half a
    report.
  - An existing entry of O(dest) with the name of a file to write must be a regular file; a symbolic link, directory,
    fifo or other special file there fails the task, naming it, before any file is read or written.
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  dest:
    description: The directory on the controller to write the files in.
    type: path
    required: true
  files:
    description: The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The file name, without a directory.
        type: str
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
  mode:
    description: The mode of each file, in octal, for example V('0644').
    type: raw
    default: '0644'
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
- name: Write a report for machines and one for people
  openbanking.content_trust.report:
    dest: "{{ playbook_dir }}/reports"
    files:
      - name: release-v1.2.0.json
        content: "{{ release_report | to_nice_json }}"
      - name: release-v1.2.0.md
        content: "{{ lookup('ansible.builtin.template', 'release-report.md.j2') }}"
'''

RETURN = r'''
error_kind:
  description:
    - When the task failed, the class of the failure, as every module of the collection names it - V(bad_input) (an
      option, or an entry of O(dest) that is not a regular file, found before anything was written).
  returned: failure
  type: str
  sample: bad_input
paths:
  description: The path of every file, in the order of O(files).
  returned: success
  type: list
  elements: str
  sample: [/home/ci/reports/release-v1.2.0.json, /home/ci/reports/release-v1.2.0.md]
'''
