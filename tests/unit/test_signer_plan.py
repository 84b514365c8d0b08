# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""trust_signer's decisions: which delegation keys to add and remove, and which releases break."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ansible_collections.openbanking.content_trust.plugins.module_utils._module import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import KeyProblem, parse_public_pem
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerplan import delegation_steps as plan
from ansible_collections.openbanking.content_trust.plugins.modules.trust_signer import (
    has_changes, stranded_tags, wanted_keys,
)


def role(*key_ids, **kw):
    return dict(key_ids=sorted(key_ids), threshold=kw.get('threshold', 1), paths=[''])


def releases_doc(tags, signed_by):
    return {'signed': {'targets': dict((t, {'length': 1}) for t in tags)},
            'signatures': [{'keyid': k, 'sig': 'x'} for k in signed_by]}


def public_pem(key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# plan: present

def test_new_signer_on_a_repository_without_delegations_adds_to_both_roles():
    steps = plan('jeff', {}, ['k1'], present=True, exclusive=False)
    assert steps == dict(add_signer=['k1'], add_releases=['k1'], remove_signer=[], remove_releases=[],
                         remove_role=False)


def test_keys_already_there_change_nothing():
    roles = {'targets/jeff': role('k1'), 'targets/releases': role('k1')}
    steps = plan('jeff', roles, ['k1'], present=True, exclusive=True)
    assert not has_changes(steps)


def test_a_key_missing_only_from_releases_is_added_there_only():
    roles = {'targets/jeff': role('k1'), 'targets/releases': role()}
    steps = plan('jeff', roles, ['k1'], present=True, exclusive=False)
    assert steps['add_signer'] == [] and steps['add_releases'] == ['k1']


def test_without_exclusive_keys_nothing_is_removed():
    roles = {'targets/jeff': role('old'), 'targets/releases': role('old')}
    steps = plan('jeff', roles, ['new'], present=True, exclusive=False)
    assert steps['add_signer'] == ['new'] and steps['remove_signer'] == [] and steps['remove_releases'] == []


def test_exclusive_keys_rotates():
    roles = {'targets/jeff': role('old', 'keep'), 'targets/releases': role('old', 'keep', 'alice1'),
             'targets/alice': role('alice1')}
    steps = plan('jeff', roles, ['keep', 'new'], present=True, exclusive=True)
    assert steps['add_signer'] == ['new'] and steps['add_releases'] == ['new']
    assert steps['remove_signer'] == ['old'] and steps['remove_releases'] == ['old']
    assert steps['remove_role'] is False


def test_a_key_shared_with_another_signer_stays_in_releases():
    roles = {'targets/jeff': role('shared', 'own'), 'targets/alice': role('shared'),
             'targets/releases': role('shared', 'own')}
    rotate = plan('jeff', roles, ['new'], present=True, exclusive=True)
    assert rotate['remove_signer'] == ['own', 'shared'] and rotate['remove_releases'] == ['own']
    gone = plan('jeff', roles, [], present=False, exclusive=False)
    assert gone['remove_role'] is True and gone['remove_releases'] == ['own']


# plan: absent

def test_absent_removes_the_role_and_its_keys_from_releases():
    roles = {'targets/jeff': role('k1', 'k2'), 'targets/releases': role('k1', 'k2', 'a1'),
             'targets/alice': role('a1')}
    steps = plan('jeff', roles, [], present=False, exclusive=False)
    assert steps['remove_role'] is True and steps['remove_releases'] == ['k1', 'k2']
    assert steps['add_signer'] == [] and steps['remove_signer'] == []


def test_absent_of_a_signer_that_is_not_there_changes_nothing():
    roles = {'targets/alice': role('a1'), 'targets/releases': role('a1')}
    assert not has_changes(plan('jeff', roles, [], present=False, exclusive=False))


# stranded_tags: the TUF threshold on targets/releases.json

def test_removing_the_only_valid_signer_of_releases_strands_every_released_tag():
    roles = {'targets/releases': role('j1', 'a1')}
    assert stranded_tags(roles, releases_doc(['v2', 'v1'], ['j1']), ['j1']) == ['v1', 'v2']


def test_another_valid_signature_keeps_the_tags():
    roles = {'targets/releases': role('j1', 'a1')}
    assert stranded_tags(roles, releases_doc(['v1'], ['j1', 'a1']), ['j1']) == []


def test_a_signature_by_a_key_not_in_the_role_does_not_count():
    roles = {'targets/releases': role('j1', 'a1')}
    assert stranded_tags(roles, releases_doc(['v1'], ['j1', 'gone']), ['j1']) == ['v1']


def test_threshold_two():
    roles = {'targets/releases': role('j1', 'a1', 'b1', threshold=2)}
    assert stranded_tags(roles, releases_doc(['v1'], ['j1', 'a1', 'b1']), ['j1']) == []
    assert stranded_tags(roles, releases_doc(['v1'], ['j1', 'a1']), ['j1']) == ['v1']


def test_no_tags_or_already_invalid_releases_are_not_this_changes_doing():
    roles = {'targets/releases': role('j1')}
    assert stranded_tags(roles, releases_doc([], ['j1']), ['j1']) == []
    assert stranded_tags(roles, None, ['j1']) == []
    assert stranded_tags(roles, releases_doc(['v1'], ['old']), ['j1']) == []
    assert stranded_tags(roles, releases_doc(['v1'], ['j1']), []) == []


# wanted_keys

def test_wanted_keys_dedupes_and_keeps_order():
    a, b = public_pem(), public_pem()
    order, keys = wanted_keys([b, a, b])
    assert order == [parse_public_pem(b)['key_id'], parse_public_pem(a)['key_id']]
    assert all(keys[k]['id'] == k for k in order)


@pytest.mark.parametrize('value, expected', [
    ([], 'at least one'),
    (None, 'at least one'),
    (['nope'], 'public_keys[0] is not a PEM public key'),
])
def test_wanted_keys_refuses(value, expected):
    with pytest.raises(ValueError) as err:
        wanted_keys(value)
    assert expected in str(err.value)


def test_wanted_keys_refuses_a_private_key_without_echoing_it():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    with pytest.raises(KeyProblem) as err:
        wanted_keys([public_pem(), pem])
    assert 'public_keys[1] is a private key' in str(err.value)
    for line in pem.splitlines()[1:-1]:
        assert line not in str(err.value)


def test_wanted_keys_refuses_ed25519_which_notary_cannot_use():
    pem = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(InputError) as err:
        wanted_keys([pem])
    assert 'not an ECDSA or RSA key' in str(err.value)
