# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signer reconciliation (_signerplan), the one plan behind trust_signer and the signers role's
signer_plan filter: what changes, given a declared inventory entry and the trust data that
``docker trust inspect`` reported (as ``_trustdata.parse_inspect_entry`` returns it)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import os

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.openbanking.content_trust.plugins.filter.signer_plan import signer_plan
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    parse_public_pem, public_key_id, tuf_key_ids,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerplan import (
    delegation_steps, key_changes, plan_inventory, plan_repository,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import parse_inspect_entry

KEYS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'keys')
GUN = '127.0.0.1:5000/acme/app'


def new_key():
    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, pub


def kid(pem):
    return parse_public_pem(pem)['key_id']


def inspected(signers=None, gun=GUN):
    """What trust_info returns for one repository: ``signers`` {name: [key IDs]}, None for no trust data."""
    if signers is None:
        return parse_inspect_entry(parse_reference(gun, allow_tag=False), None)
    entry = {'Name': gun, 'SignedTags': [],
             'Signers': [{'Name': n, 'Keys': [{'ID': k} for k in ids]} for n, ids in signers.items()],
             'AdministrativeKeys': [{'Name': 'Root', 'Keys': [{'ID': 'r' * 64}]},
                                    {'Name': 'Repository', 'Keys': [{'ID': 't' * 64}]}]}
    return parse_inspect_entry(parse_reference(gun, allow_tag=False), entry)


JEFF_KEY, JEFF = new_key()
JEFF2_KEY, JEFF2 = new_key()
ALICE_KEY, ALICE = new_key()


# --- key_changes: the one signer-level decision ------------------------------------------------

def test_key_changes():
    assert key_changes(['a'], ['b', 'a', 'b']) == (['b'], [])
    assert key_changes(['a', 'c'], ['b', 'a'], exclusive_keys=True) == (['b'], ['c'])
    assert key_changes(['c', 'a'], [], present=False) == ([], ['a', 'c'])
    assert key_changes([], ['a']) == (['a'], [])
    assert key_changes(['a'], ['a'], exclusive_keys=True) == ([], [])


# --- plan_repository: one inventory entry against its inspect data -----------------------------

def test_a_new_repository_is_initialized_with_every_listed_signer():
    repo = {'repository': GUN, 'signers': [{'name': 'jeff', 'public_key': JEFF},
                                           {'name': 'alice', 'public_keys': [ALICE]}]}
    changes = plan_repository(repo, inspected(None))
    assert [(c['signer'], c['state'], c['new'], c['initialize'], c['add_key_ids'], c['remove_key_ids'])
            for c in changes] == [('jeff', 'present', True, True, [kid(JEFF)], []),
                                  ('alice', 'present', True, True, [kid(ALICE)], [])]
    assert changes[0]['public_keys'] == [JEFF] and changes[0]['repository'] == GUN
    assert changes[0]['reference'] == GUN and changes[0]['exclusive_keys'] is False


def test_a_missing_signer_is_added_to_an_existing_repository():
    repo = {'repository': GUN, 'signers': [{'name': 'jeff', 'public_key': JEFF},
                                           {'name': 'alice', 'public_key': ALICE}]}
    changes = plan_repository(repo, inspected({'jeff': [kid(JEFF)], 'releases': [kid(JEFF)]}))
    assert len(changes) == 1
    c = changes[0]
    assert (c['signer'], c['state'], c['new'], c['initialize'], c['add_key_ids']) == \
        ('alice', 'present', True, False, [kid(ALICE)])


def test_a_key_is_added_to_a_signer_without_removing_its_others():
    repo = {'repository': GUN, 'signers': [{'name': 'jeff', 'public_keys': [JEFF2]}]}
    changes = plan_repository(repo, inspected({'jeff': [kid(JEFF)]}))
    assert [(c['signer'], c['new'], c['add_key_ids'], c['remove_key_ids']) for c in changes] == \
        [('jeff', False, [kid(JEFF2)], [])]


def test_exclusive_keys_removes_a_key_the_inventory_does_not_list():
    repo = {'repository': GUN, 'signers': [{'name': 'jeff', 'public_key': JEFF, 'exclusive_keys': True}]}
    changes = plan_repository(repo, inspected({'jeff': sorted([kid(JEFF), kid(JEFF2)])}))
    assert [(c['signer'], c['state'], c['add_key_ids'], c['remove_key_ids'], c['exclusive_keys']) for c in changes] \
        == [('jeff', 'present', [], [kid(JEFF2)], True)]


def test_exclusive_repository_makes_keys_exact_unless_the_signer_says_otherwise():
    current = inspected({'jeff': sorted([kid(JEFF), kid(JEFF2)])})
    exact = {'repository': GUN, 'exclusive': True, 'signers': [{'name': 'jeff', 'public_key': JEFF}]}
    assert plan_repository(exact, current)[0]['remove_key_ids'] == [kid(JEFF2)]
    additive = {'repository': GUN, 'exclusive': 'yes',
                'signers': [{'name': 'jeff', 'public_key': JEFF, 'exclusive_keys': 'false'}]}
    assert plan_repository(additive, current) == []


def test_an_exclusive_repository_removes_unlisted_signers_but_never_releases():
    repo = {'repository': GUN, 'exclusive': True, 'signers': [{'name': 'jeff', 'public_key': JEFF}]}
    current = inspected({'jeff': [kid(JEFF)], 'mallory': [kid(ALICE)], 'releases': [kid(JEFF), kid(ALICE)]})
    changes = plan_repository(repo, current)
    assert [(c['signer'], c['state'], c['new'], c['initialize'], c['public_keys'], c['remove_key_ids'])
            for c in changes] == [('mallory', 'absent', False, False, [], [kid(ALICE)])]


def test_unlisted_signers_stay_in_a_repository_that_is_not_exclusive():
    repo = {'repository': GUN, 'signers': [{'name': 'jeff', 'public_key': JEFF}]}
    assert plan_repository(repo, inspected({'jeff': [kid(JEFF)], 'mallory': [kid(ALICE)]})) == []


def test_nothing_to_do_when_the_server_matches():
    repo = {'repository': GUN, 'exclusive': True,
            'signers': [{'name': 'jeff', 'public_key': JEFF, 'public_keys': [JEFF2, JEFF]},
                        {'name': 'alice', 'public_key': ALICE}]}
    current = inspected({'jeff': sorted([kid(JEFF), kid(JEFF2)]), 'alice': [kid(ALICE)],
                         'releases': sorted([kid(JEFF), kid(JEFF2), kid(ALICE)])})
    assert plan_repository(repo, current) == []


def test_a_pem_matches_the_key_id_docker_shows_for_it():
    # docker trust key generate's .pub (with its role header) has the ID of the key file docker wrote.
    with open(os.path.join(KEYS, 'docker.pub')) as f:
        pem = f.read()
    shown = '2498321aed4d546c28d6f132be0c2fb6154b6521433a4ab9dae692dbbbb92325'
    repo = {'repository': GUN, 'exclusive': True, 'signers': [{'name': 'fixture', 'public_key': pem}]}
    assert plan_repository(repo, inspected({'fixture': [shown]})) == []
    other = plan_repository(repo, inspected({'fixture': ['f' * 64]}))
    assert other[0]['add_key_ids'] == [shown] and other[0]['remove_key_ids'] == ['f' * 64]


def self_signed(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u'jeff')])
    now = datetime.datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_certificate_matches_the_id_of_its_public_key_as_docker_shows_it():
    cert = self_signed(JEFF_KEY)
    tuf_id, shown = tuf_key_ids(cert)
    assert tuf_id != shown and shown == public_key_id(JEFF_KEY.public_key())
    repo = {'repository': GUN, 'exclusive': True, 'signers': [{'name': 'jeff', 'public_key': cert}]}
    assert plan_repository(repo, inspected({'jeff': [shown]})) == []


def test_short_names_are_planned_under_their_gun_and_called_as_written():
    repo = {'repository': 'acme/app', 'signers': [{'name': 'jeff', 'public_key': JEFF}]}
    change = plan_repository(repo, inspected({}, gun='acme/app'))[0]
    assert change['repository'] == 'docker.io/acme/app' and change['reference'] == 'acme/app'
    assert change['initialize'] is False and change['new'] is True


def test_a_malformed_public_key_is_named_by_signer_and_repository():
    repo = {'repository': GUN, 'signers': [{'name': 'jeff', 'public_keys': [JEFF, 'nope']}]}
    with pytest.raises(ValueError) as err:
        plan_repository(repo, inspected({}))
    assert 'public key 2 of signer jeff of repository %s is not a PEM public key' % GUN in str(err.value)


# --- plan_inventory / the signer_plan filter: the whole inventory, one inspect ----------------

def private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_the_filter_plans_the_whole_inventory_from_one_inspect():
    other = '127.0.0.1:5000/acme/other'
    new = '127.0.0.1:5000/acme/new'
    inventory = [{'repository': GUN, 'exclusive': True, 'signers': [{'name': 'jeff', 'public_key': JEFF2}]},
                 {'repository': other, 'signers': [{'name': 'alice', 'public_key': ALICE}]},
                 {'repository': new, 'signers': [{'name': 'jeff', 'public_key': JEFF},
                                                 {'name': 'alice', 'public_key': ALICE}]}]
    registered = {'changed': False, 'repositories': [
        inspected({'jeff': [kid(JEFF)], 'mallory': [kid(ALICE)], 'releases': [kid(JEFF), kid(ALICE)]}),
        inspected({'alice': [kid(ALICE)]}, gun=other),
        inspected(None, gun=new)]}
    plan = signer_plan(inventory, registered)
    assert [(c['repository'], c['signer'], c['state']) for c in plan['changes']] == [
        (GUN, 'jeff', 'present'), (GUN, 'mallory', 'absent'), (new, 'jeff', 'present'), (new, 'alice', 'present')]
    assert plan['new_repositories'] == [new]
    assert plan['drift'] == {
        'before': {GUN: {'jeff': [kid(JEFF)], 'mallory': [kid(ALICE)]}, new: {}},
        'after': {GUN: {'jeff': [kid(JEFF2)]}, new: {'jeff': [kid(JEFF)], 'alice': [kid(ALICE)]}}}
    assert plan['private_keys'] == [] and plan['keyless'] == []
    # The registered result or its repositories list: the same plan.
    assert signer_plan(inventory, registered['repositories']) == plan
    assert plan_inventory(inventory, registered['repositories']) == plan


def test_the_filter_with_nothing_to_do():
    inventory = [{'repository': GUN, 'signers': [{'name': 'jeff', 'public_key': JEFF}]}]
    plan = signer_plan(inventory, {'repositories': [inspected({'jeff': [kid(JEFF)], 'releases': [kid(JEFF)]})]})
    assert plan['changes'] == [] and plan['new_repositories'] == [] and plan['drift'] == {'before': {}, 'after': {}}
    assert signer_plan([], {'repositories': []})['changes'] == []


def test_a_key_shared_by_many_repositories_is_parsed_once_and_a_bad_one_is_named_where_it_is(monkeypatch):
    from ansible_collections.openbanking.content_trust.plugins.module_utils import _signerplan
    parsed = []

    def counting(pem, what):
        parsed.append(pem)
        return tuf_key_ids(pem, what)

    monkeypatch.setattr(_signerplan, 'tuf_key_ids', counting)
    guns = ['127.0.0.1:5000/acme/app%d' % i for i in range(50)]
    inventory = [{'repository': g, 'signers': [{'name': 'jeff', 'public_key': JEFF},
                                               {'name': 'alice', 'public_key': ALICE}]} for g in guns]
    current = [inspected({'jeff': [kid(JEFF)], 'alice': [kid(ALICE)]}, gun=g) for g in guns]
    current[7] = inspected({'jeff': [kid(JEFF)]}, gun=guns[7])
    plan = plan_inventory(inventory, current)
    assert [(c['repository'], c['signer']) for c in plan['changes']] == [(guns[7], 'alice')]
    assert plan['changes'][0]['add_key_ids'] == [kid(ALICE)]
    assert sorted(parsed) == sorted([JEFF, ALICE])
    # a broken key further down is still named by its own signer and repository
    inventory[30]['signers'][1]['public_key'] = '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n'
    with pytest.raises(InputError) as err:
        plan_inventory(inventory, current)
    assert 'signer alice of repository %s' % guns[30] in str(err.value)


def test_the_checks_name_a_private_key_without_reading_or_echoing_it():
    private = private_pem(JEFF_KEY)
    inventory = [{'repository': GUN, 'signers': [{'name': 'alice', 'public_key': ALICE},
                                                 {'name': 'jeff', 'public_keys': [JEFF, private]},
                                                 {'name': 'bob'}]}]
    checks = signer_plan(inventory)
    assert checks['private_keys'] == ['signer jeff of repository %s' % GUN]
    assert checks['keyless'] == ['bob in %s' % GUN]
    assert checks['changes'] == []
    # Given the trust data anyway, the filter refuses to plan, naming the signer and never the key.
    with pytest.raises(AnsibleFilterError) as err:
        signer_plan(inventory, [inspected({})])
    message = str(err.value)
    assert 'private key' in message and 'signer jeff of repository %s' % GUN in message
    assert 'alice' not in message and all(line not in message for line in private.splitlines())


def test_a_private_key_reaching_the_parser_is_refused_without_echo():
    # plan_repository on its own (without the inventory check first) still refuses it, by its PEM type.
    private = private_pem(JEFF_KEY)
    repo = {'repository': GUN, 'signers': [{'name': 'jeff', 'public_key': private}]}
    with pytest.raises(ValueError) as err:
        plan_repository(repo, inspected({}))
    assert 'public key 1 of signer jeff of repository %s is a private key' % GUN in str(err.value)
    assert all(line not in str(err.value) for line in private.splitlines()[1:-1])


@pytest.mark.parametrize('inventory, data, expected', [
    ([{'repository': GUN, 'signers': [{'name': 'jeff', 'public_key': JEFF}]}], [], 'trust data of the 1 repositories'),
    ([{'repository': GUN, 'signers': [{'name': 'jeff', 'public_key': JEFF}]}], {'changed': False},
     'got NoneType'),
    ({'repository': GUN}, [], 'must be a list'),
    ([{'signers': []}], [], 'content_trust_repositories[0] must be a dict with a repository'),
    ([{'repository': GUN, 'signers': [{'public_key': JEFF}]}], [inspected({})], 'list of {name, public_key'),
])
def test_the_filter_refuses_what_it_cannot_plan(inventory, data, expected):
    with pytest.raises(AnsibleFilterError) as err:
        signer_plan(inventory, data)
    assert expected in str(err.value)


# --- delegation_steps: trust_signer's plan, on the same key_changes -------------------------------

def role(*key_ids):
    return dict(key_ids=sorted(key_ids), threshold=1, paths=[''])


def test_delegation_steps_add_and_remove_keys_of_the_signer_and_of_releases():
    roles = {'targets/jeff': role('old', 'keep'), 'targets/releases': role('old', 'keep')}
    assert delegation_steps('jeff', roles, ['keep', 'new'], True, True) == \
        dict(add_signer=['new'], add_releases=['new'], remove_signer=['old'], remove_releases=['old'],
             remove_role=False)


def test_the_role_and_the_module_agree_on_one_signer():
    """For the same current keys and declared keys, the role's change and the module's steps add and
    remove the same keys (docker IDs equal TUF IDs for plain public keys)."""
    cases = [([], [kid(JEFF)], False), ([kid(JEFF)], [kid(JEFF2)], False), ([kid(JEFF), kid(JEFF2)], [kid(JEFF)], True),
             ([kid(JEFF)], [kid(JEFF)], True)]
    pems = {kid(JEFF): JEFF, kid(JEFF2): JEFF2}
    for current, wanted, exclusive_keys in cases:
        repo = {'repository': GUN, 'signers': [{'name': 'jeff', 'public_keys': [pems[k] for k in wanted],
                                                'exclusive_keys': exclusive_keys}]}
        changes = plan_repository(repo, inspected({'jeff': current} if current else {}))
        roles = {'targets/jeff': role(*current), 'targets/releases': role(*current)} if current else {}
        steps = delegation_steps('jeff', roles, wanted, True, exclusive_keys)
        add = changes[0]['add_key_ids'] if changes else []
        remove = changes[0]['remove_key_ids'] if changes else []
        assert (sorted(steps['add_signer']), steps['remove_signer']) == (add, remove)
