# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The group_defaults lookup: the one mapping of the role variables to the action group's options, and every role
uses it instead of a module_defaults block of its own."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.openbanking.content_trust.plugins.lookup.group_defaults import group_defaults

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_role_variables_become_the_group_options():
    assert group_defaults({'content_trust_docker_cli': 'docker', 'content_trust_notary_cli': '/usr/bin/notary',
                           'content_trust_docker_host': 'unix:///run/docker.sock',
                           'content_trust_docker_config': '~/.docker', 'content_trust_server': 'https://n:4443',
                           'content_trust_timeout': 60}) == {
        'docker_cli': 'docker', 'notary_cli': '/usr/bin/notary', 'docker_host': 'unix:///run/docker.sock',
        'docker_config': '~/.docker', 'server': 'https://n:4443', 'timeout': 60}


def test_an_empty_docker_host_or_server_is_left_to_the_modules():
    assert group_defaults({'content_trust_docker_cli': 'docker', 'content_trust_docker_host': '',
                           'content_trust_server': None, 'content_trust_timeout': 0}) == {
        'docker_cli': 'docker', 'timeout': 0}


def test_no_role_writes_the_group_options_itself():
    found = 0
    for root, dummy, files in os.walk(os.path.join(ROOT, 'roles')):
        for name in files:
            if name.endswith('.yml'):
                with open(os.path.join(root, name)) as f:
                    text = f.read()
                for block in re.findall(r'module_defaults:.*\n((?:\s{4,}.*\n)+)', text):
                    found += 1
                    assert block.strip() == ("group/openbanking.content_trust.content_trust: "
                                             "\"{{ lookup('openbanking.content_trust.group_defaults') }}\""), name
    assert found >= 6
