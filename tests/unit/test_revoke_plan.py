# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""trust_revoke's decisions on recorded TUF metadata, with no Notary: which roles lose a tag when the notary CLI
revokes it (docker CLI 29 without the plugin), and what a mistyped tag is told."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.modules.trust_revoke import (
    _revoke_with_notary, closest_signed, missing_message,
)

JEFF, ALICE = 'a' * 64, 'b' * 64


class Notary(object):
    def __init__(self):
        self.removed = []

    def remove_target(self, tag, roles=None, publish=False, secrets=None):
        self.removed.append((tag, tuple(roles), publish))


def targets_doc():
    roles = [('targets/jeff', [JEFF]), ('targets/releases', [JEFF, ALICE]), ('targets/alice', [ALICE]),
             ('targets/jeff/nightly', [JEFF])]
    return dict(signed=dict(delegations=dict(keys={}, roles=[dict(name=n, keyids=k, threshold=1, paths=[''])
                                                             for n, k in roles])))


def test_the_notary_cli_removes_the_tag_from_the_signers_direct_roles_only():
    notary, done = Notary(), []
    _revoke_with_notary(targets_doc(), ['v1', 'stable'], [dict(key_id=JEFF)], notary, secrets=None, done=done)
    # jeff's own role and targets/releases, which lists his key; never alice's role, never a nested role
    assert notary.removed == [('v1', ('targets/jeff', 'targets/releases'), True),
                              ('stable', ('targets/jeff', 'targets/releases'), True)]
    assert done == ['v1', 'stable']  # one publish per tag: what a failure part-way has done is known


def test_a_mistyped_tag_is_told_the_closest_signed_tags():
    signed = {'v1.0.0': [], 'v1.0.1': [], 'v2.0.0': [], 'latest': []}
    assert closest_signed('v1.0.2', signed) == ['v1.0.0', 'v1.0.1', 'v2.0.0']
    assert closest_signed('nightly-build', signed) == []
    repo = parse_reference('127.0.0.1:5000/team/app')
    text = missing_message(repo, ['v1.0.2', 'nightly-build'], {'v1.0.2': ['v1.0.0'], 'nightly-build': []}, 4)
    assert 'v1.0.2 (closest signed tags: v1.0.0); nightly-build (no signed tag is close to it)' in text
    assert text.startswith('not signed in 127.0.0.1:5000/team/app') and 'has 4 signed tags' in text
