# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which cosign and Notation signatures withdrawing a tag removes (``_ocirevoke``), on what the registry held after
cosign 2.5, cosign 3.1 (bundles) and notation 1.3 signed tags v1 and v2 of one digest with the collection's sign
modules (fixtures/oci_signatures.json, recorded from the local stack); and how a refused DELETE is told apart."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import copy
import hashlib
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.error import HTTPError
from urllib.parse import unquote

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _ocicontent, _ocirevoke, _registry
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocibinding import BINDING_REPOSITORY, BINDING_TAG

with open(os.path.join(os.path.dirname(__file__), 'fixtures', 'oci_signatures.json')) as _f:
    RECORDED = json.load(_f)
GUN = RECORDED['repository']
DIGEST = RECORDED['digest']
SIG_TAG = 'sha256-%s.sig' % DIGEST[7:]
INDEX_TAG = 'sha256-%s' % DIGEST[7:]
ALL_KINDS = ('simple-signing', 'bundle', 'notation')


def _sha(body):
    return 'sha256:' + hashlib.sha256(body).hexdigest()


class RecordedRegistry(object):
    """The registry as recorded, answering ``RegistryClient``'s calls; writes are recorded in ``writes``."""

    def __init__(self, recorded=RECORDED, deletes=True):
        self.manifests = dict((ref, (m['body'].encode(), m['media_type'])) for ref, m in recorded['manifests'].items())
        self.blobs = dict((d, b.encode()) for d, b in recorded['blobs'].items())
        self.deletes = deletes
        self.writes = []
        self.base = 'http://recorded'

    def get_manifest(self, ref):
        found = self.manifests.get(ref)
        return (found[0], found[1], _sha(found[0])) if found else None

    def get_blob(self, digest):
        return self.blobs.get(digest)

    def referrers(self, digest):
        return None  # docker-registry 2.8: no referrers API

    def put_blob(self, body):
        self.writes.append(('blob', _sha(body)))
        self.blobs[_sha(body)] = body
        return _sha(body)

    def put_manifest(self, ref, body, media_type):
        self.writes.append(('put', ref))
        self.manifests[ref] = (body, media_type)
        self.manifests[_sha(body)] = (body, media_type)
        return _sha(body)

    def delete_manifest(self, digest):
        if not self.deletes:
            raise _registry.DeleteUnsupported(_registry.DELETE_UNSUPPORTED_MESSAGE % (self.base, digest, GUN))
        self.writes.append(('delete', digest))
        return self.manifests.pop(digest, None) is not None

    def deletes_supported(self):
        return self.deletes

    def json(self, ref):
        return json.loads(self.manifests[ref][0].decode())

    def forge_manifest(self, ref, change):
        """What anyone who can push can do: rewrite a manifest (new content under a tag, or under a new digest that
        the index then lists)."""
        manifest = self.json(ref)
        change(manifest)
        body = json.dumps(manifest).encode()
        self.manifests[ref] = (body, self.manifests[ref][1])
        return body


def _state(registry, kinds=ALL_KINDS):
    return _ocirevoke.read_signatures(registry, GUN, DIGEST, kinds)


def _plan(registry, tags, kinds=ALL_KINDS):
    state = _state(registry, kinds)
    return state, _ocirevoke.revocation_plan(state, GUN, tags)


def _by_kind(entries):
    out = {}
    for e in entries:
        out.setdefault(e['kind'], []).append(e['tag'])
    return dict((k, sorted(v)) for k, v in out.items())


# --- the binding, read from signed content --------------------------------------------------------------------

def test_every_recorded_signature_is_bound_to_its_tag_by_what_it_signs():
    state = _state(RecordedRegistry())
    payloads = state['simple']['payloads']
    assert sorted(_ocicontent.bound_tag(_ocicontent.simple_signing_annotations(p, DIGEST), GUN)
                  for p in payloads.values()) == ['v1', 'v2']
    assert sorted((r['kind'], r['tag']) for r in state['referrers']) == \
        [('bundle', 'v1'), ('bundle', 'v2'), ('notation', 'v1'), ('notation', 'v2')]


def test_a_payload_for_another_digest_or_repository_binds_nothing_here():
    payload = json.dumps({'critical': {'image': {'docker-manifest-digest': DIGEST}},
                          'optional': {BINDING_REPOSITORY: GUN, BINDING_TAG: 'v1'}}).encode()
    assert _ocicontent.bound_tag(_ocicontent.simple_signing_annotations(payload, DIGEST), GUN) == 'v1'
    assert _ocicontent.simple_signing_annotations(payload, 'sha256:' + 'f' * 64) is None
    assert _ocicontent.bound_tag(_ocicontent.simple_signing_annotations(payload, DIGEST), GUN + '-other') is None
    assert _ocicontent.bound_tag({BINDING_TAG: 'v1'}, GUN) is None  # no repository: signed before the binding
    for junk in (None, b'', b'not json', b'[]', b'{"critical": "x"}'):
        assert _ocicontent.simple_signing_annotations(junk, DIGEST) is None
        assert _ocicontent.bundle_annotations(junk, DIGEST) is None
        assert _ocicontent.notation_annotations(junk, _ocicontent.NOTATION_JWS, DIGEST) is None


def test_a_notation_cose_envelope_is_not_read_so_never_deleted():
    registry = RecordedRegistry()
    notation = [r for r in _state(registry)['referrers'] if r['kind'] == 'notation']
    ref = notation[0]['digest']
    layer = registry.json(ref)['layers'][0]
    blob = registry.blobs[layer['digest']]
    assert _ocicontent.notation_annotations(blob, _ocicontent.NOTATION_JWS, DIGEST)
    assert _ocicontent.notation_annotations(blob, 'application/cose', DIGEST) is None


# --- what is removed ------------------------------------------------------------------------------------------

def test_withdrawing_v1_in_cosign_removes_its_layer_and_bundle_and_keeps_v2_and_notation():
    registry = RecordedRegistry()
    state, plan = _plan(registry, ['v1'], kinds=('simple-signing', 'bundle'))
    assert _by_kind(plan['removed']) == {'simple-signing': ['v1'], 'bundle': ['v1']}
    assert _by_kind(plan['kept']) == {'simple-signing': ['v2'], 'bundle': ['v2']}
    manifest, config = plan['signature_manifest']  # pylint: disable=unpacking-non-sequence
    kept_payloads = [state['simple']['payloads'][layer['digest']] for layer in manifest['layers']]
    assert [_ocicontent.bound_tag(_ocicontent.simple_signing_annotations(p, DIGEST), GUN)
            for p in kept_payloads] == ['v2']
    assert config['rootfs']['diff_ids'] == [layer['digest'] for layer in manifest['layers']]
    assert len(config['history']) == 1
    # The fallback index keeps every other entry, in order: v2's bundle and both Notation signatures.
    index = registry.json(INDEX_TAG)
    bundle_v1 = [r['digest'] for r in state['referrers'] if (r['kind'], r['tag']) == ('bundle', 'v1')]
    assert plan['delete'] == bundle_v1
    assert plan['index']['manifests'] == [m for m in index['manifests'] if m['digest'] not in bundle_v1]
    assert len(plan['index']['manifests']) == 3


def test_withdrawing_v1_in_notation_deletes_its_signature_only():
    state, plan = _plan(RecordedRegistry(), ['v1'], kinds=('notation',))
    assert _by_kind(plan['removed']) == {'notation': ['v1']} and _by_kind(plan['kept']) == {'notation': ['v2']}
    assert plan['signature_manifest'] is None and len(plan['index']['manifests']) == 3


def test_nothing_bound_to_the_tag_plans_nothing():
    state, plan = _plan(RecordedRegistry(), ['v3'])
    assert plan['removed'] == [] and plan['delete'] == [] and plan['index'] is None
    assert plan['signature_manifest'] is None


def test_unsigned_annotations_claiming_the_tag_change_nothing():
    """Someone who can push makes every manifest and layer claim v1 (annotations are not signed): still exactly
    v1's signatures are removed, and v2's kept."""
    registry = RecordedRegistry()
    claim = {BINDING_REPOSITORY: GUN, BINDING_TAG: 'v1'}

    def claim_everywhere(manifest):
        manifest['annotations'] = dict(manifest.get('annotations') or {}, **claim)
        for layer in manifest.get('layers') or []:
            layer['annotations'] = dict(layer.get('annotations') or {}, **claim)
    registry.forge_manifest(SIG_TAG, claim_everywhere)
    index = registry.json(INDEX_TAG)
    for entry in index['manifests']:
        entry['annotations'] = dict(entry.get('annotations') or {}, **claim)
        body = registry.forge_manifest(entry['digest'], claim_everywhere)
        registry.manifests[_sha(body)] = registry.manifests[entry['digest']]
        entry['digest'] = _sha(body)
    registry.manifests[INDEX_TAG] = (json.dumps(index).encode(), registry.manifests[INDEX_TAG][1])
    state, plan = _plan(registry, ['v1'])
    assert _by_kind(plan['removed']) == {'simple-signing': ['v1'], 'bundle': ['v1'], 'notation': ['v1']}
    assert _by_kind(plan['kept']) == {'simple-signing': ['v2'], 'bundle': ['v2'], 'notation': ['v2']}


def test_a_signature_bound_to_the_same_tag_of_another_repository_is_kept():
    payload = json.dumps({'critical': {'image': {'docker-manifest-digest': DIGEST}},
                          'optional': {BINDING_REPOSITORY: 'registry.example/other', BINDING_TAG: 'v1'}}).encode()
    layer = {'mediaType': _ocicontent.SIMPLE_SIGNING, 'digest': _sha(payload), 'size': len(payload)}
    keep, drop = _ocirevoke.split_signature_layers({'layers': [layer]}, {layer['digest']: payload}, GUN, ['v1'], DIGEST)
    assert keep == [layer] and drop == []


def test_withdrawing_both_tags_of_a_digest_writes_once_and_leaves_no_signature():
    registry = RecordedRegistry()
    state, plan = _plan(registry, ['v1', 'v2'])
    assert plan['kept'] == [] and len(plan['removed']) == 6
    assert plan['signature_manifest'][0]['layers'] == [] and plan['signature_manifest'][1]['rootfs']['diff_ids'] == []
    assert plan['index']['manifests'] == []
    _ocirevoke.apply_plan(registry, DIGEST, state, plan)
    assert [w[0] for w in registry.writes] == ['blob', 'put', 'put'] + ['delete'] * 4
    assert _plan(registry, ['v1', 'v2'])[1]['removed'] == []


def test_the_writes_come_in_order_and_a_second_plan_is_empty():
    """The config before the signature manifest that names it; the index before the DELETEs, so no verifier meets an
    entry whose manifest is gone."""
    registry = RecordedRegistry()
    state, plan = _plan(registry, ['v1'])
    _ocirevoke.apply_plan(registry, DIGEST, state, plan)
    assert registry.writes[:3] == [('blob', plan['signature_manifest'][0]['config']['digest']), ('put', SIG_TAG),
                                   ('put', INDEX_TAG)]
    assert sorted(w[1] for w in registry.writes[3:]) == sorted(plan['delete']) and len(plan['delete']) == 2
    again = _plan(registry, ['v1'])[1]
    assert again['removed'] == [] and _by_kind(again['kept']) == {'simple-signing': ['v2'], 'bundle': ['v2'],
                                                                  'notation': ['v2']}


def test_a_failed_delete_says_what_was_already_done():
    registry = RecordedRegistry(deletes=False)
    state, plan = _plan(registry, ['v1'], kinds=('notation',))
    with pytest.raises(_registry.DeleteUnsupported) as exc:
        _ocirevoke.apply_plan(registry, DIGEST, state, plan)
    assert 'storage.delete.enabled: true' in exc.value.msg and 'already done' in exc.value.msg


def test_rewrite_keeps_the_config_when_it_cannot_be_read():
    manifest = {'layers': [{'digest': 'sha256:' + 'a' * 64}, {'digest': 'sha256:' + 'b' * 64}]}
    new, config = _ocirevoke.rewrite_signature_manifest(manifest, None, [manifest['layers'][1]])
    assert new['layers'] == [manifest['layers'][1]] and config is None
    new, config = _ocirevoke.rewrite_signature_manifest(manifest, {'rootfs': {'diff_ids': ['x']}},
                                                        [manifest['layers'][1]])
    assert config['rootfs']['diff_ids'] == ['sha256:' + 'b' * 64]


def test_the_index_rewrite_keeps_entries_it_does_not_know():
    index = {'schemaVersion': 2, 'mediaType': _ocicontent.OCI_INDEX, 'annotations': {'x': 'y'},
             'manifests': [{'digest': 'sha256:1'}, 'junk', {'digest': 'sha256:2', 'artifactType': 'z'}]}
    new = _ocirevoke.index_without(index, ['sha256:1'])
    assert new == dict(index, manifests=['junk', {'digest': 'sha256:2', 'artifactType': 'z'}])
    assert index['manifests'][0] == {'digest': 'sha256:1'}  # not changed in place


def test_referrer_kind_is_chosen_by_the_layer_and_artifact_type():
    bundle = {'layers': [{'mediaType': 'application/vnd.dev.sigstore.bundle.v0.3+json'}]}
    assert _ocicontent.referrer_kind(bundle) == 'bundle'
    assert _ocicontent.referrer_kind({'artifactType': _ocicontent.NOTATION_ARTIFACT,
                                     'layers': [{'mediaType': 'application/jose+json'}]}) == 'notation'
    assert _ocicontent.referrer_kind({'config': {'mediaType': _ocicontent.NOTATION_ARTIFACT},
                                     'layers': [{'mediaType': 'application/jose+json'}]}) == 'notation'
    for other in (None, {}, {'layers': []}, {'layers': [{}, {}]}, {'layers': [{'mediaType': 'application/sbom'}]}):
        assert _ocicontent.referrer_kind(other) is None


def test_referrers_api_entries_are_read_with_the_fallback_index():
    registry = RecordedRegistry()
    index = registry.json(INDEX_TAG)
    api_index = copy.deepcopy(index)
    del registry.manifests[INDEX_TAG]
    registry.referrers = lambda digest: api_index if digest == DIGEST else None
    state, plan = _plan(registry, ['v1'], kinds=('notation',))
    assert state['index'] is None and plan['index'] is None
    assert _by_kind(plan['removed']) == {'notation': ['v1']} and len(plan['delete']) == 1


# --- a registry that refuses DELETEs ---------------------------------------------------------------------------

@pytest.mark.parametrize('code, codes, refused', [
    (405, 'UNSUPPORTED', True),    # docker-registry 2.8 without storage.delete.enabled
    (405, '', True),
    (400, 'UNSUPPORTED', True),
    (404, 'MANIFEST_UNKNOWN', False),  # deletes allowed, no such manifest
    (401, 'UNAUTHORIZED', False),
    (403, 'DENIED', False),
    (202, '', False),
])
def test_a_refused_delete_is_told_from_other_failures(code, codes, refused):
    assert _registry.delete_unsupported(code, codes) is refused


def _client(answers):
    """A RegistryClient whose requests get ``answers`` (HTTP status, body) in turn."""
    client = _registry.RegistryClient(parse_reference('127.0.0.1:5000/acme/app', allow_tag=False), '/nonexistent')
    calls = []

    def request(method, url, scope, data=None, content_type=None):
        calls.append((method, url))
        status, body = answers.pop(0)
        raise HTTPError(url, status, 'x', {}, io.BytesIO(body))
    client._request = request
    return client, calls


def test_the_delete_probe_reads_405_unsupported_as_deletes_disabled():
    client, calls = _client([(405, b'{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}')])
    assert client.deletes_supported() is False
    assert calls[0][0] == 'DELETE' and '/v2/acme/app/manifests/sha256:' in calls[0][1]
    client, dummy = _client([(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')])
    assert client.deletes_supported() is True
    client, dummy = _client([(405, b'{"errors":[{"code":"UNSUPPORTED"}]}')])
    with pytest.raises(_registry.DeleteUnsupported) as exc:
        client.delete_manifest('sha256:' + 'a' * 64)
    assert 'storage.delete.enabled: true' in exc.value.msg and '127.0.0.1:5000/acme/app' in exc.value.msg
    client, dummy = _client([(403, b'{"errors":[{"code":"DENIED"}]}')])
    with pytest.raises(_registry.CredentialsRefused) as exc:
        client.delete_manifest('sha256:' + 'a' * 64)
    assert 'DENIED' in exc.value.msg


def test_missing_message_names_the_tags_the_digest_is_signed_for():
    msg = _ocirevoke.missing_message(GUN, 'cosign', [('v3', DIGEST), ('v4', None)], {DIGEST: {'v1', None, 'v2'}})
    assert 'v3 (%s; its signatures are bound to v1, v2)' % DIGEST in msg
    assert 'v4 (the registry has no such tag' in msg


def test_digests_must_name_tags_asked_for():
    assert _ocirevoke.check_digests({'v1': DIGEST}, ['v1']) == {'v1': DIGEST}
    with pytest.raises(InputError, match='not in tags'):
        _ocirevoke.check_digests({'v9': DIGEST}, ['v1'])
    with pytest.raises(InputError, match='64 lowercase hex'):
        _ocirevoke.check_digests({'v1': 'sha256:abc'}, ['v1'])


def test_the_recording_is_what_the_tools_signed():
    """The fixture is self-consistent: each blob is what its digest says (as get_blob checks)."""
    for digest, body in RECORDED['blobs'].items():
        assert _sha(body.encode()) == digest


# --- writing with a token that allows it ---------------------------------------------------------------------

class TokenRegistry(object):
    """A registry API v2 on loopback behind a token service that grants the scope asked for: reads need a token
    for ``pull``, writes (PUT, POST, DELETE) one for ``pull,push,delete``."""

    def __init__(self):
        self.requests = []
        self.manifests = {}
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=b'', headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                registry.requests.append((self.command, self.path))
                if self.path.startswith('/token'):
                    if self.headers.get('Authorization') != 'Basic ' + base64.b64encode(b'ci:s3cret').decode():
                        return self._send(401)
                    write = 'push' in unquote(self.path)
                    return self._send(200, json.dumps({'token': 'tok-write' if write else 'tok-pull'}).encode())
                wanted = 'Bearer tok-pull' if self.command in ('GET', 'HEAD') else 'Bearer tok-write'
                if self.headers.get('Authorization') not in (wanted, 'Bearer tok-write'):
                    return self._send(401, headers={'WWW-Authenticate': 'Bearer realm="http://127.0.0.1:%d/token",'
                                                                        'service="fake"' % registry.port})
                ref = self.path.rsplit('/', 1)[1]
                if self.command == 'PUT':
                    registry.manifests[ref] = registry.manifests[_sha(body)] = body
                    return self._send(201, headers={'Docker-Content-Digest': _sha(body)})
                if self.command == 'DELETE':
                    return self._send(202 if registry.manifests.pop(ref, None) else 404)
                if ref in registry.manifests:
                    return self._send(200, registry.manifests[ref], {'Content-Type': _ocicontent.OCI_INDEX})
                return self._send(404)

            do_GET = do_HEAD = do_PUT = do_DELETE = _handle

        self.server = HTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_writes_ask_the_token_service_for_push_and_delete(tmp_path):
    with TokenRegistry() as reg:
        config = tmp_path / 'config.json'
        config.write_text(json.dumps({'auths': {'127.0.0.1:%d' % reg.port: {
            'auth': base64.b64encode(b'ci:s3cret').decode()}}}))
        client = _registry.RegistryClient(parse_reference('127.0.0.1:%d/acme/app' % reg.port, allow_tag=False),
                                          str(tmp_path), timeout=5)
        assert client.get_manifest(INDEX_TAG) is None
        body = b'{"schemaVersion":2,"manifests":[]}'
        assert client.put_manifest(INDEX_TAG, body, _ocicontent.OCI_INDEX) == _sha(body)
        assert client.get_manifest(INDEX_TAG) == (body, _ocicontent.OCI_INDEX, _sha(body))
        assert client.deletes_supported() is True
        assert client.delete_manifest(_sha(body)) is True and client.delete_manifest(_sha(body)) is False
    scopes = [unquote(path) for method, path in reg.requests if path.startswith('/token')]
    wanted = ['repository:acme/app:pull', 'repository:acme/app:pull,push,delete']
    assert [s.split('scope=')[1] for s in scopes] == wanted


def test_with_an_origin_only_the_signatures_that_say_so_are_bound():
    """The bridge withdraws with origin notary: a signature bound to the tag but made by someone else (publish_release
    signs without an origin) is not its to remove."""
    from ansible_collections.openbanking.content_trust.plugins.module_utils._ocibinding import BINDING_ORIGIN
    gun = 'registry.example.com/acme/app'
    own = {BINDING_REPOSITORY: gun, BINDING_TAG: 'v1', BINDING_ORIGIN: 'notary'}
    other = {BINDING_REPOSITORY: gun, BINDING_TAG: 'v1'}
    assert _ocicontent.bound_tag(own, gun, 'notary') == 'v1'
    assert _ocicontent.bound_tag(other, gun, 'notary') is None
    assert _ocicontent.bound_tag(dict(own, **{BINDING_ORIGIN: 'someone'}), gun, 'notary') is None
    # without an origin every signature bound to the tag counts, whoever made it
    assert _ocicontent.bound_tag(own, gun) == _ocicontent.bound_tag(other, gun) == 'v1'
