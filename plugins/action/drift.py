# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""openbanking.content_trust.drift: show what differs from the inventory (documented in plugins/modules/drift.py).

It runs on the controller and writes nothing: the ``signers`` role showed its drift through a temporary file and a
check-mode copy, which cost two module runs on the host and a scratch directory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import yaml
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = dict(
    before=dict(type='raw', required=True),
    after=dict(type='raw', required=True),
    name=dict(type='str', default='drift'),
)


def render(value):
    """A value as the diff shows it, as YAML.  Through JSON first: what Ansible hands an action may be its own
    (tagged) str and dict types, which the safe dumper does not represent."""
    return yaml.safe_dump(json.loads(json.dumps(value)), default_flow_style=False, indent=2, sort_keys=True)


def drift(before, after, name):
    """``(changed, diff)``: whether ``after`` differs from ``before``, and the diff Ansible shows for it."""
    return before != after, dict(before=render(before), after=render(after), before_header='%s (before)' % name,
                                 after_header='%s (after)' % name)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        changed, diff = drift(args['before'], args['after'], args['name'])
        result['changed'] = changed
        if self._task.diff and changed:
            result['diff'] = diff
        return result
