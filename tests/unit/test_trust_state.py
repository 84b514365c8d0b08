# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The TUF state the reader adds to each repository's trust data: versions, expiry, thresholds, lengths.

root.json and targets.json are the real metadata of tests/unit/fixtures/notary_read; the role documents
below them (releases, alice, bob, snapshot, timestamp) are written here with the digests and sizes that
the recorded ``notary list -r ROLE`` output of that repository shows.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import json
import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import (
    add_tuf_state, parse_inspect_entry, tuf_state,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import (
    TrustReader, cached_documents,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'notary_read')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


GUN = fixture('gun.txt').splitlines()[0]
V1 = '05af1063dd9061675304147a9e15557ff0e3dae2ca0ed58dd45289efc17ef3ce'
V1_BOB = '594e519ae499312b29433b7dd8a97ff068defcba9755b6d5d00e84c524d67b06'
V2 = '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'


def role_doc(kind, version, expires, targets=None, delegations=None):
    signed = {'_type': kind, 'version': version, 'expires': expires}
    if targets is not None:
        signed['targets'] = dict((tag, {'hashes': {'sha256': base64.b64encode(binascii.unhexlify(hx)).decode()},
                                        'length': length}) for tag, (hx, length) in targets.items())
    if delegations is not None:
        signed['delegations'] = {'keys': {}, 'roles': delegations}
    return {'signed': signed, 'signatures': []}


def documents():
    return {
        'root': json.loads(fixture('root.json')),
        'targets': json.loads(fixture('targets.json')),
        'snapshot': role_doc('Snapshot', 5, '2029-11-28T14:07:38Z'),
        'timestamp': role_doc('Timestamp', 6, '2026-12-13T14:07:38Z'),
        'targets/releases': role_doc('Targets', 3, '2029-11-28T14:07:30Z', {'v1': (V1, 524), 'v2': (V2, 777)}),
        'targets/alice': role_doc('Targets', 1, '2029-11-28T14:07:20Z', {'v1': (V1, 524)}),
        'targets/bob': role_doc('Targets', 2, '2029-11-28T14:07:25Z', {'v1': (V1_BOB, 600), 'v2': (V2, 777)}),
    }


def parsed_entry(ref):
    """The recorded docker trust inspect entry, for a reference with a tag that tag only (as docker prints it)."""
    entry = json.loads(fixture('docker-trust-inspect.json'))[0]
    if ref.tag:
        entry['SignedTags'] = [t for t in entry['SignedTags'] if t['SignedTag'] == ref.tag]
    return entry


def parsed(reference=GUN):
    ref = parse_reference(reference)
    return parse_inspect_entry(ref, parsed_entry(ref))


def test_versions_expiry_and_thresholds_of_every_role():
    state = tuf_state(documents())
    assert state['versions'] == {'root': 1, 'targets': 4, 'snapshot': 5, 'timestamp': 6,
                                 'targets/releases': 3, 'targets/alice': 1, 'targets/bob': 2}
    assert state['expires']['root'] == '2036-11-26T14:07:07.468455754Z'  # as the server signed it
    assert state['expires']['targets'] == '2029-11-28T14:07:37.947168959Z'
    assert state['expires']['timestamp'] == '2026-12-13T14:07:38Z'
    assert set(state['expires']) == set(state['versions'])
    assert state['thresholds'] == {'root': 1, 'targets': 1, 'snapshot': 1, 'timestamp': 1,
                                   'targets/releases': 1, 'targets/alice': 1, 'targets/bob': 1}


def test_a_delegation_threshold_is_the_one_targets_declares():
    docs = documents()
    for role in docs['targets']['signed']['delegations']['roles']:
        if role['name'] == 'targets/releases':
            role['threshold'] = 2
    docs['root']['signed']['roles']['root']['threshold'] = 3
    thresholds = tuf_state(docs)['thresholds']
    assert thresholds['targets/releases'] == 2 and thresholds['root'] == 3 and thresholds['targets/bob'] == 1


def test_length_of_each_released_tag_from_the_role_that_holds_its_digest():
    data = add_tuf_state(parsed(), documents())
    assert [(t['tag'], t['length']) for t in data['signed_tags']] == [('v0', 100), ('v1', 524), ('v2', 777)]
    # bob signed another v1 (length 600): the released digest's length is the one reported
    assert data['signed_tags'][1]['digest'] == 'sha256:' + V1


def test_the_existing_keys_keep_their_shape():
    before = parsed(GUN + ':v2')
    data = add_tuf_state(parsed(GUN + ':v2'), documents())
    assert set(data) == set(before) | {'versions', 'expires', 'thresholds'}
    assert [dict((k, v) for k, v in t.items() if k != 'length') for t in data['signed_tags']] == before['signed_tags']
    assert data['signers'] == before['signers'] and data['root_key_ids'] == before['root_key_ids']


def test_a_digest_no_role_holds_has_no_length():
    docs = documents()
    del docs['targets/releases']
    data = add_tuf_state(parsed(GUN + ':v1'), docs)
    # without releases the released v1 digest is only alice's
    assert data['signed_tags'][0]['length'] == 524
    del docs['targets/alice']
    assert add_tuf_state(parsed(GUN + ':v1'), docs)['signed_tags'][0]['length'] is None


def test_a_repository_without_trust_data_has_empty_state():
    data = add_tuf_state(parse_inspect_entry(parse_reference(GUN), None), {})
    assert data['exists'] is False
    assert data['versions'] == {} and data['expires'] == {} and data['thresholds'] == {}


def write_cache(trust_dir, docs, extra=()):
    base = os.path.join(trust_dir, 'tuf', GUN, 'metadata')
    for role, doc in list(docs.items()) + list(extra):
        path = os.path.join(base, *(role + '.json').split('/'))
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        with open(path, 'w') as f:
            json.dump(doc, f)


def test_cached_documents_are_the_delegated_roles_only(tmp_path):
    # a cached file of a role targets no longer delegates (removed signer) is not trust data
    stale = ('targets/carol', role_doc('Targets', 9, '2029-01-01T00:00:00Z', {'v9': (V2, 1)}))
    write_cache(str(tmp_path), documents(), extra=[stale])
    docs = cached_documents(str(tmp_path), GUN)
    assert sorted(docs) == sorted(documents())
    assert docs['targets/bob']['signed']['version'] == 2


def test_cached_documents_follow_nested_delegations(tmp_path):
    docs = documents()
    docs['targets/releases']['signed']['delegations'] = {
        'keys': {}, 'roles': [{'name': 'targets/releases/ci', 'keyids': [], 'threshold': 2, 'paths': ['']}]}
    nested = ('targets/releases/ci', role_doc('Targets', 7, '2029-01-01T00:00:00Z', {}))
    write_cache(str(tmp_path), docs, extra=[nested])
    state = tuf_state(cached_documents(str(tmp_path), GUN))
    assert state['versions']['targets/releases/ci'] == 7 and state['thresholds']['targets/releases/ci'] == 2


def test_cached_documents_of_an_uncached_repository(tmp_path):
    assert cached_documents(str(tmp_path), GUN) == {}


class DockerPathCLI(object):
    """What TrustReader uses of TrustCLI on the docker path; ``inspect`` caches the metadata as docker does."""

    def __init__(self, docker_config):
        self.docker_config = docker_config
        self.trust_dir = os.path.join(docker_config, 'trust')
        self.timeout = 30

    def has_docker_trust(self):
        return True

    def read_view(self):
        return os.path.join(self.docker_config, 'read-view')

    def inspect(self, references, view=None):
        write_cache(self.trust_dir, documents())
        return dict((str(r), parsed_entry(r) if r.gun == GUN else None) for r in references)


def test_the_reader_adds_the_state_and_keeps_what_it_verified(tmp_path):
    cli = DockerPathCLI(str(tmp_path))
    absent = parse_reference('127.0.0.1:5000/none/x')
    reader = TrustReader(cli)
    assert reader.documents == {}  # nothing verified before a read: no process-wide state to fall back on
    read = reader.read([parse_reference(GUN), parse_reference(GUN + ':v1'), absent])
    assert read[GUN]['versions']['targets/bob'] == 2 and read[GUN]['thresholds']['timestamp'] == 1
    assert [t['length'] for t in read[GUN + ':v1']['signed_tags']] == [524]
    assert read[str(absent)]['versions'] == {} and read[str(absent)]['expires'] == {}
    assert sorted(reader.documents[GUN]) == sorted(documents())
    assert absent.gun not in reader.documents
    parsed, docs = TrustReader(cli).read_documents(absent)
    assert not parsed['exists'] and docs == {}
    parsed, docs = TrustReader(cli).read_documents(parse_reference(GUN))
    assert parsed['exists'] and sorted(docs) == sorted(documents())
