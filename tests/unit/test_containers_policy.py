# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The containers policy's decisions (_containerspolicy.py): scopes, keys, the repository identity, the merge with an
existing policy, the collection's registries.d file, and the policy the host's tools are validated against."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.filter.containers_scopes import containers_scopes
from ansible_collections.openbanking.content_trust.plugins.module_utils._containerspolicy import (
    PROBE_FILES, PROBE_IDENTITY, PROBE_PUBLIC_KEY, inventory_scopes, key_sets, managed_scopes, merge_policy,
    parse_policy, parse_scope, parse_scopes, policy_text, probe_policy, registries_d_text, sigstore_requirement,
    validation_policy,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError, KeyProblem
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocisig import cosign_sign_argv

KEY_A = PROBE_PUBLIC_KEY
# another P-256 public key (SubjectPublicKeyInfo), for two-key scopes
KEY_B = '''-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9hftM0ofneC+l8H8VKmIzrD4RlhF
/hw5uhLOwu8Hr7JCX9oVVGty2353ea5eByzl6C/s2pWsb9XUmkg9Xg==
-----END PUBLIC KEY-----
'''
PRIVATE = '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n'


def data(key):
    return base64.b64encode(key.strip().encode() + b'\n').decode()


@pytest.mark.parametrize('text, scope', [
    ('registry.example.com/acme/app', 'registry.example.com/acme/app'),
    ('Registry.Example.com/acme/', 'registry.example.com/acme'),
    ('127.0.0.1:5000', '127.0.0.1:5000'),
    ('localhost/app', 'localhost/app'),
    ('docker.io/library/debian', 'docker.io/library/debian'),
])
def test_scope_is_fully_qualified_registry_namespace_or_repository(text, scope):
    assert parse_scope(text) == scope


@pytest.mark.parametrize('text, words', [
    ('acme/app', 'registry host'),
    ('registry.example.com/acme/app:v1', 'no tag'),
    ('registry.example.com/acme/app@sha256:' + 'a' * 64, 'no tag'),
    ('registry.example.com/Acme', 'lower-case'),
    ('*.example.com', 'not a registry'),
    ('', 'must be'),
])
def test_bad_scope_is_refused_naming_it(text, words):
    with pytest.raises(InputError) as e:
        parse_scope(text, 'scopes[0].scope')
    assert words in str(e.value) and 'scopes[0].scope' in str(e.value)


def test_one_key_is_key_data_several_are_key_datas_any_one_suffices():
    one = sigstore_requirement([KEY_A])
    assert one == {'type': 'sigstoreSigned', 'keyData': data(KEY_A), 'signedIdentity': {'type': 'matchRepository'}}
    # the same key twice (or re-wrapped) counts once
    assert sigstore_requirement([KEY_A, '\n' + KEY_A.replace('\n', '\r\n')]) == one
    two = sigstore_requirement([KEY_A, KEY_B])
    assert two['keyDatas'] == [data(KEY_A), data(KEY_B)] and 'keyData' not in two
    assert base64.b64decode(two['keyDatas'][1]).decode().startswith('-----BEGIN PUBLIC KEY-----\n')


def test_key_paths_are_key_path_and_cannot_mix_with_pem():
    assert sigstore_requirement(['/etc/pki/a.pub'])['keyPath'] == '/etc/pki/a.pub'
    two = sigstore_requirement(['/etc/pki/a.pub', '/etc/pki//b.pub'])
    assert two['keyPaths'] == ['/etc/pki/a.pub', '/etc/pki/b.pub']
    with pytest.raises(InputError, match='mixes PEM keys and key paths'):
        sigstore_requirement([KEY_A, '/etc/pki/a.pub'])


@pytest.mark.parametrize('key, words', [
    (PRIVATE, 'is a private key'),
    ('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'not a PUBLIC KEY'),
    ('relative/path.pub', 'neither a PEM public key nor an absolute path'),
    (KEY_A + KEY_B, 'exactly one PEM public key'),
])
def test_bad_keys_are_refused(key, words):
    with pytest.raises(KeyProblem) as e:
        sigstore_requirement([key], 'scopes[0].public_keys')
    assert words in str(e.value) and 'scopes[0].public_keys[0]' in str(e.value)


def test_scopes_take_default_keys_unsigned_and_conflicts():
    wanted = parse_scopes([{'scope': 'r.example.com/a/app'}, {'scope': 'r.example.com/b', 'public_keys': [KEY_B]}],
                          ['docker.io/library/debian'], [KEY_A])
    assert wanted['r.example.com/a/app'] == [sigstore_requirement([KEY_A])]
    assert wanted['r.example.com/b'] == [sigstore_requirement([KEY_B])]
    assert wanted['docker.io/library/debian'] == [{'type': 'insecureAcceptAnything'}]
    with pytest.raises(InputError, match='needs at least one cosign public key'):
        parse_scopes([{'scope': 'r.example.com/a/app'}], [], [])
    with pytest.raises(InputError, match='either signed or accepted unsigned'):
        parse_scopes([{'scope': 'r.example.com/a'}], ['r.example.com/a'], [KEY_A])
    with pytest.raises(InputError, match='given twice with different keys'):
        parse_scopes([{'scope': 'r.example.com/a'}, {'scope': 'r.example.com/a', 'public_keys': [KEY_B]}], [], [KEY_A])


EXISTING = {
    'default': [{'type': 'insecureAcceptAnything'}],
    'transports': {
        'docker': {'quay.io/other/app': [{'type': 'insecureAcceptAnything'}],
                   'r.example.com/old': [{'type': 'reject'}],
                   'r.example.com/a/app': [{'type': 'reject'}]},
        'docker-daemon': {'': [{'type': 'insecureAcceptAnything'}]},
    },
}


def test_merge_keeps_what_it_does_not_manage_and_removes_what_it_managed():
    wanted = parse_scopes([{'scope': 'r.example.com/a/app'}], [], [KEY_A])
    policy, removed = merge_policy(EXISTING, wanted, 'reject', previously_managed=['r.example.com/old', 'gone.io/x'])
    assert removed == ['r.example.com/old']
    assert policy['default'] == [{'type': 'reject'}]
    assert policy['transports']['docker'] == {'quay.io/other/app': [{'type': 'insecureAcceptAnything'}],
                                              'r.example.com/a/app': wanted['r.example.com/a/app']}
    assert policy['transports']['docker-daemon'] == EXISTING['transports']['docker-daemon']
    assert EXISTING['transports']['docker']['r.example.com/old'] == [{'type': 'reject'}], 'the input was changed'
    # the same inputs again give the same policy: nothing to write
    assert merge_policy(policy, wanted, 'reject', ['r.example.com/a/app'])[0] == policy


def test_merge_from_nothing_and_bad_default():
    policy, removed = merge_policy(None, {}, 'insecureAcceptAnything')
    assert policy == {'default': [{'type': 'insecureAcceptAnything'}], 'transports': {}} and removed == []
    with pytest.raises(InputError, match='default must be one of'):
        merge_policy(None, {}, 'accept')


def test_existing_policy_that_is_not_one_is_refused_naming_the_file():
    assert parse_policy(None, '/p') is None
    assert parse_policy(policy_text(EXISTING), '/p') == EXISTING
    for text in ('{"default": ', '[]', '{"transports": {"docker": []}}'):
        with pytest.raises(InputError, match='/etc/containers/policy.json'):
            parse_policy(text, '/etc/containers/policy.json')


def test_registries_d_file_turns_on_attachments_and_records_managed_scopes():
    wanted = parse_scopes([{'scope': '127.0.0.1:5000/acme/app'}], ['docker.io/library/debian'], [KEY_A])
    text = registries_d_text(wanted)
    assert '  "127.0.0.1:5000/acme/app":\n    use-sigstore-attachments: true\n' in text
    assert 'docker.io/library/debian":' not in text, 'an unsigned scope needs no attachments'
    assert managed_scopes(text) == ['127.0.0.1:5000/acme/app', 'docker.io/library/debian']
    assert managed_scopes(None) == [] and managed_scopes('# managed-scopes: {') == []
    assert 'docker:' not in registries_d_text({})


def test_probe_image_is_signed_for_the_probe_identity():
    sig = PROBE_FILES['signature-1']
    assert sig.startswith(b'\x00sigstore-json\n')
    payload = json.loads(base64.b64decode(json.loads(sig[len(b'\x00sigstore-json\n'):])['payload']))
    assert payload['critical']['identity']['docker-reference'].startswith(PROBE_IDENTITY + ':')
    assert payload['critical']['image']['docker-manifest-digest'] == \
        'sha256:' + hashlib.sha256(PROBE_FILES['manifest.json']).hexdigest()
    assert probe_policy()['default'] == [{'type': 'reject'}]


def test_validation_policy_adds_one_probe_scope_per_key_set_beside_every_key():
    wanted = parse_scopes([{'scope': 'r.example.com/a'}, {'scope': 'r.example.com/b'},
                           {'scope': 'r.example.com/c', 'public_keys': ['/etc/keys/c.pub']}], [], [KEY_A, KEY_B])
    sets = key_sets(wanted)
    assert sets == [([data(KEY_A), data(KEY_B)], ['r.example.com/a', 'r.example.com/b']),
                    (['/etc/keys/c.pub'], ['r.example.com/c'])]
    candidate = merge_policy(EXISTING, wanted, 'reject')[0]
    policy = validation_policy(candidate, [(sets[0][0], '/tmp/p1'), (sets[1][0], '/tmp/p2')], '/tmp/probe.pub')
    assert policy['transports']['docker'] == candidate['transports']['docker']
    first, second = policy['transports']['dir']['/tmp/p1'][0], policy['transports']['dir']['/tmp/p2'][0]
    assert first['keyDatas'] == [data(KEY_A), data(KEY_B), data(PROBE_PUBLIC_KEY)]
    assert second['keyPaths'] == ['/etc/keys/c.pub', '/tmp/probe.pub']
    assert first['signedIdentity'] == {'type': 'exactRepository', 'dockerRepository': PROBE_IDENTITY}
    assert 'dir' not in candidate['transports'], 'the candidate itself was changed'


def test_inventory_scopes_from_pulled_images_and_extra_scopes():
    images = [{'repository': 'r.example.com/acme/app', 'tags': ['v1']},
              {'repository': 'acme/tool', 'tags': ['v1'], 'cosign_public_keys': [KEY_B]},
              {'repository': 'r.example.com/acme/app', 'tags': ['v2']}]
    assert containers_scopes(images, [{'scope': 'r.example.com/base', 'cosign_public_keys': [KEY_A]}]) == [
        {'scope': 'r.example.com/acme/app'},
        {'scope': 'docker.io/acme/tool', 'public_keys': [KEY_B]},
        {'scope': 'r.example.com/base', 'public_keys': [KEY_A]},
    ]
    with pytest.raises(AnsibleFilterError, match=r'content_trust_containers_scopes\[0\]'):
        containers_scopes([], [{'scope': 'acme'}])
    with pytest.raises(InputError, match='listed twice'):
        inventory_scopes([{'repository': 'r.example.com/a'}, {'repository': 'r.example.com/a',
                                                              'cosign_public_keys': [KEY_A]}])


def test_cosign_3_signs_the_containers_form_only_when_asked():
    three, two = {'major': 3, 'signing_config_flag': True}, {'major': 2}
    assert '--new-bundle-format=false' in cosign_sign_argv('cosign', three, 'r@sha256:x', 'k', containers_form=True)
    assert '--new-bundle-format=false' not in cosign_sign_argv('cosign', three, 'r@sha256:x', 'k')
    # cosign 2.x writes that form anyway, and has no such flag
    assert '--new-bundle-format=false' not in cosign_sign_argv('cosign', two, 'r@sha256:x', 'k', containers_form=True)
