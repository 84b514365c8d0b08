#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_config
short_description: Prepare a docker configuration for content trust - its directory, the Notary CA, the notary CLI's pins
version_added: 0.1.0
description:
  - Makes O(docker_config) a directory with O(mode) and, when given, O(owner) and O(group).
  - With O(server_ca), installs the Notary server's CA as C(<docker_config>/tls/<host:port>/ca.crt) (0644, its
    directory 0755), where docker, the notary CLI and the modules of this collection read it.
  - With O(notary_pins), writes them into C(trust_pinning.certs) of the notary CLI's configuration
    (O(notary_config), 0600, its directory 0700), so that a person running notary on the host gets the protection
    trust_pull gives (which checks the pins itself). Everything else in that file, and the pins of repositories not
    given, are kept; a repository given gets exactly the IDs given.
  - One task for what the roles did in eight; idempotent, with C(--check) and C(--diff). Nothing is written before
    every input has been checked.
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary_ignored
  - openbanking.content_trust.common.ignored_passphrases
  - ansible.builtin.action_common_attributes
options:
  mode:
    description: The mode of O(docker_config). Unset, an existing directory keeps its mode and a new one gets V(0700).
    type: str
  owner:
    description: The owner of O(docker_config), a user name or a numeric ID. Unset, a new directory belongs to the user the module runs as.
    type: str
  group:
    description: The group of O(docker_config), a group name or a numeric ID.
    type: str
  server:
    description:
      - The Notary server URL, V(https://host[:port]); needed with O(server_ca), to know where the CA goes. Nothing
        connects to it.
    type: str
  server_ca:
    description: The Notary server's CA certificate (PEM text).
    type: str
  notary_config:
    description:
      - The notary CLI's configuration file (C(~/.notary/config.json) of its user; C(~user/...) is that user's home).
      - Needed with O(notary_pins).
    type: path
  notary_pins:
    description:
      - "The root pins for the notary CLI, C({repository: [root key IDs]}) (the shape of trust_pull's C(root_key_ids)).
        Each ID is 64 lowercase hex characters, as C(docker trust inspect) and trust_info show them."
    type: dict
    default: {}
  notary_config_owner:
    description: The owner of O(notary_config) and its directory, a user name or a numeric ID.
    type: str
  notary_config_group:
    description: Their group, a group name or a numeric ID.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.trust_pull
  - module: openbanking.content_trust.trust_info
'''

EXAMPLES = r'''
- name: Prepare the deploy user's docker configuration for verified pulls from our Notary
  openbanking.content_trust.trust_config:
    docker_config: /home/deploy/.docker
    owner: deploy
    group: deploy
    server: https://notary.example.com:4443
    server_ca: "{{ lookup('ansible.builtin.file', 'notary-ca.crt') }}"
    notary_config: ~deploy/.notary/config.json
    notary_config_owner: deploy
    notary_pins:
      registry.example.com/acme/app: [0c3bd5d4a4bd6ec8bb2d40d1a6e8d1e2e0d1c1b6b93c7b2f1c1e2d3f4a5b6c7d]
'''

RETURN = r'''
error_kind:
  description:
    - When the task failed, the class of the failure, the same for the same cause in every module of the collection -
      V(bad_input) (an option, or an existing file that is not what it should be, found before anything changed),
      V(bad_key) (O(server_ca) holds something else than PEM certificates), or V(failed) (another failure, such as a permission refused).
  returned: failure
  type: str
  sample: bad_input
changed_paths:
  description: The directories and files created or changed (that would be, in check mode), in the order written.
  returned: success
  type: list
  elements: str
ca_path:
  description: Where the Notary CA is.
  returned: when O(server_ca) is given
  type: str
notary_config:
  description: The notary CLI configuration written, its path expanded.
  returned: when O(notary_pins) is given
  type: str
'''

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import check_server_url
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError, notary_ca_path
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import (
    ensure_directory, ensure_file, file_mode, read_regular,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._hostuser import account_id
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import (
    Action, InputError, build_module, run,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._pem import certificates_text
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import (
    notary_config_with_pins, parse_root_pins,
)


def _diff(action, path, before, after):
    """A file's new content as text, line by line; otherwise (a directory, a mode or owner) the state before and
    after."""
    before = dict(before or {})
    if 'content' in after and before.get('content') != after['content']:
        return action.diff(before.get('content', ''), after['content'], path)
    before.pop('content', None)
    return action.diff(before, dict((k, v) for k, v in after.items() if k != 'content'), path)


class TrustConfig(Action):

    def inputs(self):
        p = self.params
        self.mode = file_mode(p['mode']) if p['mode'] is not None else None
        if p['mode'] is not None and self.mode is None:
            raise InputError('mode must be an octal file mode such as 0700, not %r' % p['mode'])
        self.uid = account_id(p['owner'], 'owner', 'user')
        self.gid = account_id(p['group'], 'group', 'group')
        self.ca = None
        if p['server_ca']:
            if not p['server']:
                raise InputError('server_ca is given, so server must be the Notary URL (https://host[:port]), to '
                                 'know where the CA goes; it is not set')
            check_server_url(p['server'])
            self.ca = certificates_text(p['server_ca'], 'server_ca')
            self.ca_path = notary_ca_path(p['docker_config'], p['server'])
        self.pins = parse_root_pins(p['notary_pins'], 'notary_pins')
        if self.pins:
            if not p['notary_config']:
                raise InputError('notary_pins are given but not notary_config, the notary CLI configuration file to '
                                 'write them into (~/.notary/config.json of its user)')
            self.notary_config = p['notary_config']  # a path option: ~ and ~user are expanded already
            if not os.path.isabs(self.notary_config):
                raise InputError('notary_config must be an absolute path or start with ~ or ~user, not %r'
                                 % p['notary_config'])
            self.notary_uid = account_id(p['notary_config_owner'], 'notary_config_owner', 'user')
            self.notary_gid = account_id(p['notary_config_group'], 'notary_config_group', 'group')

    def steps(self, check_mode):
        """Every change, in order: ``[(path, changed, before, after)]``; nothing is written in ``check_mode``."""
        p, done = self.params, []

        def step(fn, path, *args, **kwargs):
            try:
                changed, before, after = fn(path, *args, check_mode=check_mode, **kwargs)
            except ValueError as exc:
                raise InputError(str(exc))
            except OSError as exc:
                raise TrustError('cannot set up %s: %s' % (path, exc.strerror or exc))
            done.append((path, changed, before, after))

        step(ensure_directory, p['docker_config'], self.mode, self.uid, self.gid)
        if self.ca is not None:
            tls = os.path.dirname(self.ca_path)
            step(ensure_directory, os.path.dirname(tls), 0o755)
            step(ensure_directory, tls, 0o755)
            step(ensure_file, self.ca_path, self.ca, 0o644)
        if self.pins:
            try:
                current = read_regular(self.notary_config)
            except ValueError as exc:
                raise InputError(str(exc))
            current = current.decode('utf-8', 'replace') if current is not None else None
            dummy, text = notary_config_with_pins(current, self.pins, self.notary_config)
            step(ensure_directory, os.path.dirname(self.notary_config), 0o700, self.notary_uid, self.notary_gid)
            step(ensure_file, self.notary_config, text, 0o600, self.notary_uid, self.notary_gid)
        return done

    def plan(self):
        steps = self.steps(check_mode=True)
        return dict(steps=steps, changed=any(changed for dummy, changed, dummy2, dummy3 in steps))

    def apply(self, plan):
        return self.steps(check_mode=False)

    def verify(self, plan, outcome):
        again = self.steps(check_mode=True)
        left = [path for path, changed, dummy, dummy2 in again if changed]
        if left:
            raise TrustError('%s changed under this run (another process?): run the task again' % ', '.join(left))

    def result(self, plan, outcome):
        changed = [s for s in plan['steps'] if s[1]]
        result = dict(changed_paths=[path for path, dummy, dummy2, dummy3 in changed],
                      diff=[_diff(self, path, before, after) for path, dummy, before, after in changed])
        if self.ca is not None:
            result['ca_path'] = self.ca_path
        if self.pins:
            result['notary_config'] = self.notary_config
        return result


def main():
    module = build_module(dict(
        mode=dict(type='str'),
        owner=dict(type='str'),
        group=dict(type='str'),
        server_ca=dict(type='str'),
        notary_config=dict(type='path'),
        notary_pins=dict(type='dict', default={}),
        notary_config_owner=dict(type='str'),
        notary_config_group=dict(type='str'),
    ), passphrases='ignored')
    run(module, TrustConfig)


if __name__ == '__main__':
    main()
