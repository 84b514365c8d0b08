# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: docker_user
short_description: The user a host's docker configuration belongs to, and its directory resolved for that user
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - With become, the modules run as another user (root) whose C(~) is not the home of the user who uses the docker
    configuration. This filter resolves C(content_trust_docker_config) against the home of the user it belongs to
    (C(content_trust_docker_config_owner), else the user the play logs in as) and returns that user's uid and gid,
    which the roles give to every directory and file they write there.
  - C(~user) and relative paths are refused. Runs on the controller; standard library only.
positional: _input, owner, passwd
options:
  _input:
    description: C(content_trust_docker_config), for example V(~/.docker).
    type: str
    required: true
  owner:
    description: The user name the configuration belongs to; empty, the user of the passwd entry given.
    type: str
    required: true
  passwd:
    description:
      - The passwd entry of O(owner) - C(getent passwd)'s output line, or the C(ansible.builtin.getent) module's
        C(ansible_facts.getent_passwd). Empty when C(getent) found none.
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: Resolve the docker configuration for the user who logs in
  ansible.builtin.set_fact:
    content_trust_docker_user: >-
      {{ content_trust_docker_config | openbanking.content_trust.docker_user(login_user, ansible_facts.getent_passwd) }}
'''

RETURN = r'''
_value:
  description: The setting as given (V(config)), the resolved directory (V(path)), V(owner), V(uid), V(gid), V(home).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._hostuser import docker_user as _docker_user


def docker_user(config, owner, passwd):
    """See DOCUMENTATION."""
    try:
        return _docker_user(config, owner, passwd)
    except InputError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {'docker_user': docker_user}
