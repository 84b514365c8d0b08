# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signers are keys, not names: the decisions of _signerkeys on metadata recorded from the real stack."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import os

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    InputError, MissingSigningKey, TrustError,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerkeys import (
    check_encoding, held_root_ids, key_ids, key_verdict, keys_to_sign_with, parse_signer, parse_signers, signing_keys,
    tuf_key_id,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import parse_inspect_entry
from ansible_collections.openbanking.content_trust.plugins.module_utils._verified_pull import Unverified, check_tag

HERE = os.path.join(os.path.dirname(__file__), 'fixtures', 'signer_keys')


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return f.read() if name.endswith('.pub') else json.load(f)


REAL, TAKEN, FACTS, JEFF_PUB = load('real.json'), load('taken.json'), load('facts.json'), load('jeff.pub')
JEFF = dict(name='jeff', key_ids=[FACTS['jeff_key_id']])
REF = parse_reference(FACTS['repository'], allow_tag=False)


def inspected(digest, signers=('jeff',)):
    """What docker trust inspect shows for v1: jeff (by name) signed it at ``digest``."""
    return parse_inspect_entry(REF, {'Name': str(REF), 'SignedTags': [
        {'SignedTag': 'v1', 'Digest': digest.split(':', 1)[1], 'Signers': list(signers)}],
        'Signers': [{'Name': 'jeff', 'Keys': [{'ID': 'f' * 64}]}], 'AdministrativeKeys': []})


def test_the_encoding_verifies_the_known_good_signatures_notary_made():
    # canonical JSON + raw r||s ECDSA: the repository key's signature on targets, the root certificate's on root
    check_encoding(REAL, REF.gun)
    check_encoding(TAKEN, REF.gun)
    root = REAL['root']['signed']
    assert signing_keys(REAL['root'], dict((k, root['keys'][k]) for k in root['roles']['root']['keyids']))


def test_a_targets_document_that_does_not_verify_here_fails_loudly():
    broken = copy.deepcopy(REAL)
    broken['targets']['signed']['version'] += 1
    with pytest.raises(TrustError) as exc:
        check_encoding(broken, REF.gun)
    assert 'internal error' in str(exc.value) and 'nothing is accepted' in str(exc.value)


def test_the_real_jeff_signed_v1_with_his_key():
    assert key_verdict(REAL, JEFF, 'v1', FACTS['real_digest']) is None
    assert check_tag(inspected(FACTS['real_digest']), 'v1', [JEFF], documents=REAL) == (FACTS['real_digest'], ['jeff'])
    # the same key given as the public key
    assert parse_signer({'name': 'jeff', 'public_key': JEFF_PUB}, 'signers[0]') == JEFF


def test_a_jeff_made_with_the_repository_key_is_jeff_by_name_only():
    parsed = inspected(FACTS['insider_digest'])
    assert check_tag(parsed, 'v1', ['jeff'], documents=TAKEN) == (FACTS['insider_digest'], ['jeff'])
    verdict = key_verdict(TAKEN, JEFF, 'v1', FACTS['insider_digest'])
    assert 'delegates targets/jeff to' in verdict and 'none of the given keys' in verdict
    with pytest.raises(Unverified) as exc:
        check_tag(parsed, 'v1', [JEFF], documents=TAKEN)
    assert 'none of the accepted signers jeff (key %s)' % FACTS['jeff_key_id'][:7] in str(exc.value)
    assert 'not by the given keys' in str(exc.value)


def test_the_real_key_listed_beside_the_insiders_does_not_make_the_insiders_signature_count():
    docs = copy.deepcopy(TAKEN)
    real_keys = REAL['targets']['signed']['delegations']['keys']
    delegations = docs['targets']['signed']['delegations']
    delegations['keys'].update(real_keys)
    for role in delegations['roles']:
        role['keyids'].extend(real_keys)
    verdict = key_verdict(docs, JEFF, 'v1', FACTS['insider_digest'])
    assert 'carries no valid signature by a given key of jeff' in verdict


def test_a_copied_key_id_or_signature_decides_nothing():
    docs = copy.deepcopy(TAKEN)
    insider_id = next(iter(docs['targets']['signed']['delegations']['keys']))
    # the insider's key filed under jeff's key ID: the ID is computed from the material, not read from the map
    delegations = docs['targets']['signed']['delegations']
    delegations['keys'] = {FACTS['jeff_key_id']: delegations['keys'][insider_id]}
    for role in delegations['roles']:
        role['keyids'] = [FACTS['jeff_key_id']]
    assert tuf_key_id(delegations['keys'][FACTS['jeff_key_id']]) == insider_id
    assert 'none of the given keys' in key_verdict(docs, JEFF, 'v1', FACTS['insider_digest'])
    # jeff's real key listed, and jeff's real signature of another version of the role copied in: not valid here
    docs = copy.deepcopy(TAKEN)
    docs['targets']['signed']['delegations'] = copy.deepcopy(REAL['targets']['signed']['delegations'])
    docs['targets/jeff']['signatures'] = (REAL['targets/jeff']['signatures']
                                          + [dict(s, keyid=FACTS['jeff_key_id']) for s in docs['targets/jeff']['signatures']])
    assert 'carries no valid signature' in key_verdict(docs, JEFF, 'v1', FACTS['insider_digest'])


def test_a_digest_the_role_does_not_list_is_not_signed_by_the_key():
    assert 'does not list tag v1 at' in key_verdict(REAL, JEFF, 'v1', FACTS['insider_digest'])
    assert 'does not list tag v9' in key_verdict(REAL, JEFF, 'v9', FACTS['real_digest'])


def test_require_all_names_the_signer_whose_keys_did_not_sign():
    parsed = inspected(FACTS['insider_digest'], signers=('alice', 'jeff'))
    with pytest.raises(Unverified) as exc:
        check_tag(parsed, 'v1', [JEFF, 'alice'], require_all=True, documents=TAKEN)
    assert 'no signature of jeff' in str(exc.value) and 'not by the given keys' in str(exc.value)


def test_signers_with_keys_need_the_verified_metadata():
    with pytest.raises(TrustError):
        check_tag(inspected(FACTS['real_digest']), 'v1', [JEFF])


@pytest.mark.parametrize('signers, expected', [
    (['jeff', 'alice', 'jeff'], [dict(name='jeff', key_ids=None), dict(name='alice', key_ids=None)]),
    ([{'name': 'jeff', 'key_ids': [FACTS['jeff_key_id'].upper()]}], [JEFF]),
    ([{'name': 'jeff', 'key_ids': ['a' * 64]}, {'name': 'jeff', 'public_key': JEFF_PUB}],
     [dict(name='jeff', key_ids=sorted(['a' * 64, FACTS['jeff_key_id']]))]),
    ([{'name': 'jeff', 'public_keys': [JEFF_PUB]}], [JEFF]),
    (None, []),
])
def test_policy_shapes(signers, expected):
    assert parse_signers(signers) == expected


@pytest.mark.parametrize('signers, words', [
    ([{'name': 'jeff', 'keyids': ['a' * 64]}], 'signers[0]: unknown key(s) keyids'),
    ([{'name': 'jeff', 'key_ids': ['a' * 63]}], 'signers[0].key_ids: %r is not a key ID' % ('a' * 63)),
    ([{'name': 'jeff', 'key_ids': 'g' * 64}], 'is not a key ID: expected 64 hex characters'),
    ([{'name': 'jeff'}], 'no key_ids or public_key'),
    ([{'name': 'releases', 'key_ids': ['a' * 64]}], 'releases'),
    ([{'key_ids': ['a' * 64]}], 'signers[0].name must be'),
    ([3], 'signers[0] must be a signer name or a dict'),
    ([{'name': 'jeff', 'public_key': 'hello'}], 'signers[0].public_key is not a PEM public key'),
    (['jeff', {'name': 'jeff', 'key_ids': ['a' * 64]}], 'both by name alone and with keys'),
])
def test_bad_policies_are_refused_naming_the_option(signers, words):
    with pytest.raises(InputError) as exc:
        parse_signers(signers)
    assert words in str(exc.value)


def test_a_private_key_is_refused_without_echoing_it():
    with open(os.path.join(os.path.dirname(__file__), 'fixtures', 'keys', 'openssl-ec-sha256.pem')) as f:
        private = f.read()
    with pytest.raises(InputError) as exc:
        parse_signer({'name': 'jeff', 'public_key': private}, 'signer')
    assert 'signer.public_key is a private key' in str(exc.value)
    assert private.splitlines()[1] not in str(exc.value)


# --- a host that holds the root key pins the repository to it (held_root_ids) -------------------------------------

def _root_key(root):
    signed = root['signed']
    return signed['keys'][signed['roles']['root']['keyids'][0]]


def _canonical(key):
    return [i for i in key_ids(key) if i != tuf_key_id(key)][0]


def test_a_held_root_key_pins_the_certificate_of_it_that_the_served_root_lists():
    root = REAL['root']
    held = _canonical(_root_key(root))
    assert held not in FACTS['root_key_ids']  # the private key's ID is not the certificate's
    assert held_root_ids(root, [held]) == FACTS['root_key_ids']
    assert held_root_ids(root, ['0' * 64]) == []
    assert held_root_ids(root, []) == []


def test_the_pin_is_computed_from_the_certificate_never_read_from_the_map_key():
    # An attacker's root lists the real certificate under another key ID: the pin is still the real certificate's
    # ID, which notary then checks the root's signature against (a signature only the held key can make).
    root = copy.deepcopy(REAL['root'])
    real_id = root['signed']['roles']['root']['keyids'][0]
    key = root['signed']['keys'].pop(real_id)
    root['signed']['keys']['a' * 64] = key
    root['signed']['roles']['root']['keyids'] = ['a' * 64]
    assert held_root_ids(root, [_canonical(key)]) == [real_id]


@pytest.mark.parametrize('root', [None, {}, {'signed': {}}, {'signed': {'keys': {}, 'roles': {'root': {'keyids': 'x'}}}},
                                  {'signed': {'keys': [], 'roles': {'root': {'keyids': ['x']}}}}])
def test_a_served_root_of_the_wrong_shape_pins_nothing(root):
    assert held_root_ids(root, ['0' * 64]) == []


def test_a_bare_key_in_the_root_role_is_no_pin():
    root = copy.deepcopy(REAL['root'])
    targets_id = root['signed']['roles']['targets']['keyids'][0]
    root['signed']['roles']['root']['keyids'] = [targets_id]  # the repository key: a bare ecdsa key
    assert held_root_ids(root, list(key_ids(root['signed']['keys'][targets_id]))) == []


# --- a release signer given with its keys signs with those keys only (keys_to_sign_with) ---------------------------

LOCAL = [dict(key_id='1' * 64, path='/k1'), dict(key_id='2' * 64, path='/k2')]


def test_a_signer_by_name_signs_with_every_local_key_and_with_keys_only_with_those_given():
    assert keys_to_sign_with(dict(name='jeff', key_ids=None), LOCAL, 'r') == LOCAL
    assert keys_to_sign_with(dict(name='jeff', key_ids=['2' * 64, '9' * 64]), LOCAL, 'r') == LOCAL[1:]


def test_a_signer_whose_given_keys_are_not_on_the_host_fails_before_anything():
    with pytest.raises(MissingSigningKey) as exc:
        keys_to_sign_with(dict(name='jeff', key_ids=['9' * 64]), LOCAL, 'registry.example.com/app')
    assert exc.value.kind == 'missing_signing_key'
    assert 'jeff (key 9999999)' in exc.value.msg and 'registry.example.com/app' in exc.value.msg
    assert '1111111' in exc.value.msg and '2222222' in exc.value.msg
