# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drift action: what the signers role shows under --diff, decided without a host or a file."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.action.drift import drift


def test_drift_is_a_change_with_both_sides_as_yaml():
    before = {'127.0.0.1:5000/a/app': {'jeff': ['ab' * 32]}}
    after = {'127.0.0.1:5000/a/app': {'alice': ['cd' * 32]}}
    changed, diff = drift(before, after, 'signers')
    assert changed is True
    # the lines the diff shows per signer, as the signers role's users read them (test_signers_role.py)
    assert diff['before'] == '127.0.0.1:5000/a/app:\n  jeff:\n  - %s\n' % ('ab' * 32)
    assert diff['after'] == '127.0.0.1:5000/a/app:\n  alice:\n  - %s\n' % ('cd' * 32)
    assert (diff['before_header'], diff['after_header']) == ('signers (before)', 'signers (after)')


def test_no_drift_is_no_change():
    state = {'127.0.0.1:5000/a/app': {'jeff': ['ab' * 32]}}
    assert drift(state, dict(state), 'signers')[0] is False
