# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which digest publish_release signs with cosign and Notation, and which tags moved (release_digests filter,
_digests.py), on trust_push's results recorded on the stack (tests/unit/fixtures/rollback/push_succeeded.json)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.filter.release_digests import (
    release_digests as digests_filter,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._digests import release_digests

APP1, APP2 = 'registry.example/acme/app1', 'registry.example/acme/app2'
NEW = 'sha256:e8b8ee2aa8304025e7c62b74cca8114f1ab2d3f580a37a30bce372329fb57563'
OTHER = 'sha256:' + 'f' * 64
GIVEN = 'sha256:' + 'a' * 64
IMAGES = [{'repository': APP1, 'source': 'app:build', 'tags': ['stable', 'shared']},
          {'repository': APP2, 'source': 'app:build', 'tags': ['extra', 'v2.1.0']}]


def pushed():
    with open(os.path.join(os.path.dirname(__file__), 'fixtures', 'rollback', 'push_succeeded.json')) as f:
        return json.load(f)['push']


def test_with_notary_every_tag_is_pinned_to_what_trust_push_signed():
    out = release_digests(IMAGES, 'v2.1.0', ['notary', 'cosign'], signed=pushed())
    assert out['images'] == [
        {'repository': APP1, 'tags': ['v2.1.0', 'stable', 'shared'], 'digests': dict.fromkeys(['v2.1.0', 'stable', 'shared'], NEW)},
        {'repository': APP2, 'tags': ['v2.1.0', 'extra'], 'digests': dict.fromkeys(['v2.1.0', 'extra'], NEW)}]
    assert out['unpinned'] == [] and out['moved'] == []


def test_with_notary_a_digest_in_the_inventory_is_not_read():
    images = [dict(IMAGES[0], digest=GIVEN), IMAGES[1]]
    assert release_digests(images, 'v2.1.0', ['notary', 'cosign'], signed=pushed())['images'][0]['digests']['stable'] == NEW


def test_without_notary_the_inventory_digest_wins_over_the_local_image():
    images = [dict(IMAGES[0], digest=GIVEN), IMAGES[1]]
    out = release_digests(images, 'v2.1.0', ['cosign'], signed=pushed(), checked={'images': pushed()['images']})
    assert out['images'][0]['digests'] == dict.fromkeys(['v2.1.0', 'stable', 'shared'], GIVEN)
    assert out['images'][1]['digests'] == dict.fromkeys(['v2.1.0', 'extra'], NEW)


def test_without_notary_trust_push_signed_nothing_and_is_not_read():
    out = release_digests(IMAGES, 'v2.1.0', ['cosign', 'notation'], signed=pushed(), checked={'skipped': True})
    assert out['unpinned'] == ['%s:%s' % (APP1, t) for t in ('v2.1.0', 'stable', 'shared')] + \
        ['%s:%s' % (APP2, t) for t in ('v2.1.0', 'extra')]


def test_a_tag_without_a_known_digest_is_unpinned():
    checked = copy.deepcopy(pushed())
    checked['images'][1]['results'][1]['digest'] = None  # check mode: a local image never pushed to app2
    out = release_digests(IMAGES, 'v2.1.0', ['cosign'], checked=checked)
    assert out['unpinned'] == ['%s:extra' % APP2]
    assert out['images'][1]['digests'] == {'v2.1.0': NEW}


def test_a_moved_tag_is_named_with_both_digests_per_repository():
    served = copy.deepcopy(pushed())
    served['images'][1]['results'][0]['digest'] = OTHER
    out = release_digests(IMAGES, 'v2.1.0', ['notary', 'cosign'], signed=pushed(), served=served)
    assert out['moved'] == ['the registry serves other digests than expected for %s: v2.1.0 (registry %s, expected %s); '
                            'nothing was signed' % (APP2, OTHER, NEW)]
    assert release_digests(IMAGES, 'v2.1.0', ['notary'], signed=pushed(), served=pushed())['moved'] == []


def test_the_filter_refuses_bad_input_naming_itself():
    with pytest.raises(AnsibleFilterError, match='release_digests: images must be the list'):
        digests_filter({'repository': APP1}, 'v1', ['cosign'])
    with pytest.raises(AnsibleFilterError, match=r'release_digests: images\[0\] must be a dict with a repository'):
        digests_filter([{'tags': ['x']}], 'v1', ['cosign'])
