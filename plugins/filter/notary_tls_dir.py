# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: notary_tls_dir
short_description: Where docker reads the TLS files of a Notary server
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Returns C(<docker_config>/tls/<host:port>) for a Notary server URL, the directory where docker (and the modules of
    this collection) read the server's CA (C(ca.crt)) and a publisher's client certificate (C(client.cert),
    C(client.key)). The scheme and any path of the URL are dropped.
  - Runs on the controller; standard library only. The roles use it so the derivation exists once.
positional: _input, server
options:
  _input:
    description: The docker configuration directory (C(content_trust_docker_config)).
    type: path
    required: true
  server:
    description: The Notary server URL, for example V(https://notary.example.com:4443).
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Install the Notary CA where docker reads it
  ansible.builtin.copy:
    content: "{{ content_trust_server_ca }}"
    dest: "{{ content_trust_docker_config | openbanking.content_trust.notary_tls_dir(content_trust_server) }}/ca.crt"
    mode: "0644"
'''

RETURN = r'''
_value:
  description: The directory, for example C(/home/deploy/.docker/tls/notary.example.com:4443).
  type: path
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import notary_tls_dir as _notary_tls_dir


def notary_tls_dir(docker_config, server):
    if not server:
        raise AnsibleFilterError('notary_tls_dir needs the Notary server URL (content_trust_server)')
    return _notary_tls_dir(docker_config, server)


class FilterModule(object):
    def filters(self):
        return {'notary_tls_dir': notary_tls_dir}
