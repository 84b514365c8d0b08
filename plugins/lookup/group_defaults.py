# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: group_defaults
short_description: The options the collection's roles set once for the whole action group, from the role variables
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Returns the C(module_defaults) of the action group C(group/openbanking.content_trust.content_trust) that every role
    of the collection uses, from the role variables C(content_trust_docker_cli), C(content_trust_notary_cli),
    C(content_trust_docker_host), C(content_trust_docker_config), C(content_trust_server) and
    C(content_trust_timeout). C(docker_host) and C(server) are left out when their variable is empty or unset.
  - C(docker_config) is the directory resolved for the user it belongs to (the C(content_trust_docker_user) fact the
    roles set, see the P(openbanking.content_trust.docker_user#filter) filter) when that fact is for the same
    C(content_trust_docker_config), so that with become C(~) is not the home of root.
  - The one place that maps the role variables to the group's options, so the roles do not each repeat the block.
options: {}
'''

EXAMPLES = r'''
- name: Run the modules of the collection with the role's connection settings
  module_defaults:
    group/openbanking.content_trust.content_trust: "{{ lookup('openbanking.content_trust.group_defaults') }}"
  block:
    - name: Read the trust data
      openbanking.content_trust.trust_info:
        references: [registry.example.com/acme/app]
'''

RETURN = r'''
_raw:
  description: The options, C({docker_cli, notary_cli, docker_host, docker_config, server, timeout}).
  type: list
  elements: dict
'''

from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase

from ansible_collections.openbanking.content_trust.plugins.module_utils._hostuser import docker_config_path

# group option -> role variable; the options left out when the variable is empty.
OPTIONS = (('docker_cli', 'content_trust_docker_cli'), ('notary_cli', 'content_trust_notary_cli'),
           ('docker_host', 'content_trust_docker_host'), ('docker_config', 'content_trust_docker_config'),
           ('server', 'content_trust_server'), ('timeout', 'content_trust_timeout'))
OPTIONAL = ('docker_host', 'server')


def group_defaults(values, docker_user=None):
    """The group's options from {role variable: value} (unset variables absent or None); ``docker_user`` is the
    ``content_trust_docker_user`` fact of the host (the docker configuration resolved for the user it belongs to,
    see ``_hostuser.docker_user``), used when it was resolved for the same ``content_trust_docker_config``."""
    result = {}
    for option, variable in OPTIONS:
        value = values.get(variable)
        if value is None or (option in OPTIONAL and not value):
            continue
        result[option] = value
    if 'docker_config' in result:
        result['docker_config'] = docker_config_path(result['docker_config'], docker_user)
    return result


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        # The builtin vars lookup templates each value as the task would see it, whatever the ansible-core version.
        lookup = lookup_loader.get('ansible.builtin.vars', loader=self._loader, templar=self._templar)
        names = [variable for _option, variable in OPTIONS]
        values = lookup.run(names, variables, default=None)
        # A role entry point that resolves no user (signers' pins) has no content_trust_docker_user fact; the vars
        # lookup treats a default of None as no default, so ask only for a fact that is there.
        user = lookup.run(['content_trust_docker_user'], variables)[0] \
            if 'content_trust_docker_user' in (variables or {}) else None
        return [group_defaults(dict(zip(names, values)), user)]
