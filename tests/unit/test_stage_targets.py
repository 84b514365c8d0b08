# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Staging a release's targets by writing notary's changelist (the real notary reads it in
tests/integration/test_stage_targets.py); here: names, order, content and bad input."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import stat

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import NotaryRepository
from ansible_collections.openbanking.content_trust.plugins.module_utils._tufcache import changelist_dir

REPO = parse_reference('127.0.0.1:5000/acme/app', allow_tag=False)
HEX = '0123456789abcdef' * 4


class _NoCLI(object):
    pass


def staged(repo):
    """File names of the changes staged for the repository, as notary lists its changelist."""
    d = changelist_dir(repo.trust_dir, REPO.gun)
    return sorted(f for f in os.listdir(d) if f.endswith('.change')) if os.path.isdir(d) else []


def notary(tmp_path):
    trust = tmp_path / 'trust'
    trust.mkdir(mode=0o700)
    return NotaryRepository(_NoCLI(), REPO, trust_dir=str(trust))


def test_each_target_is_staged_for_each_role_in_order(tmp_path):
    repo = notary(tmp_path)
    assert repo.stage_targets([('v1', 527, HEX), ('v2', 9, 'f' * 64)], ['targets/jeff', 'targets/releases']) == 4
    names = staged(repo)
    assert len(names) == 4 and all(len(n.split('_', 1)[0]) == 20 for n in names)
    d = changelist_dir(repo.trust_dir, REPO.gun)
    changes = [json.load(open(os.path.join(d, n))) for n in names]
    assert [(c['role'], c['path'], c['action'], c['type']) for c in changes] == [
        ('targets/jeff', 'v1', 'create', 'target'), ('targets/releases', 'v1', 'create', 'target'),
        ('targets/jeff', 'v2', 'create', 'target'), ('targets/releases', 'v2', 'create', 'target')]
    meta = json.loads(base64.b64decode(changes[0]['data']))
    assert meta == {'length': 527, 'hashes': {'sha256': base64.b64encode(bytes.fromhex(HEX)).decode()}}
    for n in names:
        assert stat.S_IMODE(os.stat(os.path.join(d, n)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700


def test_new_changes_sort_after_those_already_staged(tmp_path):
    repo = notary(tmp_path)
    d = changelist_dir(repo.trust_dir, REPO.gun)
    os.makedirs(d, 0o700)
    late = '%020d_x.change' % (10 ** 19 * 9)  # a change named far in the future stays first
    with open(os.path.join(d, late), 'w') as f:
        f.write('{}')
    repo.stage_targets([('v1', 1, HEX)], ['targets'])
    assert staged(repo)[0] == late and len(staged(repo)) == 2
    repo.reset()
    assert staged(repo) == []


@pytest.mark.parametrize('targets, roles, words', [
    ([('v1', 1, HEX)], [], 'at least one role'),
    ([('v1', 1, HEX)], ['root'], "'root'"),
    ([('v1', 1, 'ABC')], ['targets'], 'sha256'),
    ([('v1', -1, HEX)], ['targets'], 'length'),
    ([('', 1, HEX)], ['targets'], 'name'),
])
def test_bad_targets_stage_nothing(tmp_path, targets, roles, words):
    repo = notary(tmp_path)
    with pytest.raises(ValueError, match=words):
        repo.stage_targets(targets, roles)
    assert staged(repo) == []


def test_nothing_to_stage_writes_nothing(tmp_path):
    repo = notary(tmp_path)
    assert repo.stage_targets([], ['targets']) == 0
    assert not os.path.exists(changelist_dir(repo.trust_dir, REPO.gun))
