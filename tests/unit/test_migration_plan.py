# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""trust_migrate's decisions (module_utils/_migration.py), on recorded states of two servers, with no Notary: what a
migration carries over, what it refuses before anything changes, and what the diff shows.  The stack
(tests/integration/test_migrate_trust.py) proves the wiring once per path."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    encode_pem, generate_private_key, tuf_key_ids,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._migration import (
    describe, has_changes, merged_state, plan,
)

REF = parse_reference('127.0.0.1:5000/team/app')
SERVER = 'https://new-notary:4443'
ROOT = 'a' * 64
OTHER_ROOT = 'b' * 64
DIGEST_1, DIGEST_2 = '1' * 64, '2' * 64


def tuf_key():
    """A delegation key as targets.json holds it, and its TUF key ID."""
    from cryptography.hazmat.primitives import serialization
    public = generate_private_key().public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = dict(keytype='ecdsa', keyval=dict(public=base64.b64encode(der).decode('ascii'), private=None))
    return key, tuf_key_ids(encode_pem('PUBLIC KEY', der))[0]


JEFF, JEFF_ID = tuf_key()
ALICE, ALICE_ID = tuf_key()


def state(root=ROOT, roles=None, tags=None, keys=None):
    roles = roles if roles is not None else {'targets/jeff': [JEFF_ID], 'targets/releases': [JEFF_ID]}
    keys = keys if keys is not None else {JEFF_ID: JEFF, ALICE_ID: ALICE}
    targets = dict(signed=dict(delegations=dict(
        keys=keys, roles=[dict(name=r, keyids=ids, threshold=1, paths=['']) for r, ids in roles.items()])))
    return dict(
        parsed=dict(root_key_ids=[root], repository_key_ids=['c' * 64],
                    signers=[dict(name=r.split('/', 1)[1], key_ids=ids) for r, ids in roles.items()
                             if r != 'targets/releases']),
        targets=targets, roles=dict((r, dict(key_ids=ids, paths=[''], threshold=1)) for r, ids in roles.items()),
        tags=tags if tags is not None else {'v1': (DIGEST_1, 524)}, versions={})


def test_a_new_server_without_trust_data_gets_everything():
    steps = plan(REF, state(), None, False, SERVER)
    assert steps['init'] is True and steps['tags'] == ['v1']
    assert sorted(d['role'] for d in steps['delegations']) == ['targets/jeff', 'targets/releases']
    assert all(d['new'] and d['key_ids'] == [JEFF_ID] for d in steps['delegations'])
    # the PEM notary gets derives the same key ID again: nothing is carried over under another ID
    assert all(tuf_key_ids(d['pems'][0])[0] == JEFF_ID for d in steps['delegations'])
    assert has_changes(steps)


def test_a_server_that_carries_the_source_needs_nothing():
    steps = plan(REF, state(), state(), False, SERVER)
    assert steps == dict(init=False, snapshot_keys=[], delegations=[], tags=[]) and not has_changes(steps)


def test_only_what_is_missing_is_carried_and_what_the_new_server_has_beyond_stays():
    src = state(roles={'targets/jeff': [JEFF_ID, ALICE_ID], 'targets/releases': [JEFF_ID]},
                tags={'v1': (DIGEST_1, 524), 'v2': (DIGEST_2, 600)})
    dest = state(roles={'targets/jeff': [JEFF_ID], 'targets/releases': [JEFF_ID], 'targets/bob': [ALICE_ID]},
                 tags={'v1': (DIGEST_1, 524), 'v0': (DIGEST_2, 1)})
    steps = plan(REF, src, dest, False, SERVER)
    assert [(d['role'], d['key_ids'], d['new']) for d in steps['delegations']] == [('targets/jeff', [ALICE_ID], False)]
    assert steps['tags'] == ['v2'] and steps['init'] is False
    merged = merged_state(src, dest)
    assert merged['signed_tags'] == {'v0': 'sha256:' + DIGEST_2, 'v1': 'sha256:' + DIGEST_1, 'v2': 'sha256:' + DIGEST_2}
    assert sorted(merged['signers']) == ['bob', 'jeff']


def test_another_root_on_the_new_server_is_never_overwritten():
    with pytest.raises(InputError) as exc:
        plan(REF, state(), state(root=OTHER_ROOT), True, SERVER)  # not even with force
    assert 'already has trust data for it with another root key' in exc.value.msg
    assert OTHER_ROOT in exc.value.msg and ROOT in exc.value.msg and SERVER in exc.value.msg


def test_a_tag_signed_for_another_digest_on_the_new_server_needs_force():
    dest = state(tags={'v1': (DIGEST_2, 524)})
    with pytest.raises(InputError) as exc:
        plan(REF, state(), dest, False, SERVER)
    assert 'v1 (source sha256:%s, new server sha256:%s)' % (DIGEST_1, DIGEST_2) in exc.value.msg
    assert 'set force=true' in exc.value.msg
    assert plan(REF, state(), dest, True, SERVER)['tags'] == ['v1']


def test_a_source_key_that_would_get_another_id_is_refused():
    # a key listed under an ID that is not the one notary derives from it: carrying it over would change the signer
    with pytest.raises(InputError) as exc:
        plan(REF, state(keys={JEFF_ID: ALICE}), None, False, SERVER)
    assert 'would get another key ID on the new server' in exc.value.msg and JEFF_ID in exc.value.msg
    with pytest.raises(InputError) as exc:
        plan(REF, state(keys={}), None, False, SERVER)
    assert 'cannot be carried over' in exc.value.msg


def test_the_diff_shows_root_signers_and_tags():
    assert describe(None) == {}
    shown = describe(state())
    assert shown['root_key_id'] == ROOT and shown['signed_tags'] == {'v1': 'sha256:' + DIGEST_1}
    assert list(shown['signers']) == ['jeff']
