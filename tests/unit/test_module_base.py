# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module base: plan -> preflight -> apply -> verify -> result, and what check mode runs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action, InputError


class FakeModule(object):
    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.params = {}


class Recorder(Action):
    def __init__(self, module, cli, changed=True, bad_input=False):
        super(Recorder, self).__init__(module, cli)
        self.calls = []
        self._changed = changed
        self._bad_input = bad_input

    def plan(self):
        self.calls.append('plan')
        return dict(changed=self._changed)

    def preflight(self, plan):
        self.calls.append('preflight')
        if self._bad_input:
            raise InputError('bad')

    def apply(self, plan):
        self.calls.append('apply')
        return 'done'

    def verify(self, plan, outcome):
        self.calls.append('verify:%s' % outcome)

    def result(self, plan, outcome):
        self.calls.append('result:%s' % outcome)
        return dict(outcome=outcome)


def test_a_change_runs_every_step_in_order_and_changed_comes_from_the_plan():
    action = Recorder(FakeModule(), None)
    assert action() == dict(outcome='done', changed=True)
    assert action.calls == ['plan', 'preflight', 'apply', 'verify:done', 'result:done']


@pytest.mark.parametrize('check_mode, changed', [(True, True), (True, False), (False, False)])
def test_check_mode_or_nothing_to_do_runs_plan_and_preflight_only(check_mode, changed):
    action = Recorder(FakeModule(check_mode=check_mode), None, changed=changed)
    assert action() == dict(outcome=None, changed=changed)
    assert action.calls == ['plan', 'preflight', 'result:None']


def test_a_failed_preflight_applies_nothing():
    action = Recorder(FakeModule(), None, bad_input=True)
    with pytest.raises(InputError):
        action()
    assert action.calls == ['plan', 'preflight']
