# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a registry serves for a tag: digest and length, anonymous or with token auth from the docker config."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import json
import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._registry import (
    MANIFEST_MEDIA_TYPES, RegistryClient, registry_credentials, registry_url,
)

MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}'
DIGEST = 'sha256:' + hashlib.sha256(MANIFEST).hexdigest()


class FakeRegistry(object):
    """A registry API v2 on loopback: ``auth`` None (anonymous), 'bearer' or 'basic'."""

    def __init__(self, auth=None, headers_on_head=True, user='ci', password='s3cret'):
        self.auth = auth
        self.headers_on_head = headers_on_head
        self.user, self.password = user, password
        self.requests = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _authorized(self):
                header = self.headers.get('Authorization') or ''
                basic = 'Basic ' + base64.b64encode(('%s:%s' % (registry.user, registry.password)).encode()).decode()
                if registry.auth is None:
                    return True
                if registry.auth == 'basic':
                    return header == basic
                return header == 'Bearer tok-123'

            def _manifest(self, body):
                registry.requests.append((self.command, self.path, dict(self.headers)))
                if self.path.startswith('/token'):
                    basic = 'Basic ' + base64.b64encode(('%s:%s' % (registry.user, registry.password)).encode()).decode()
                    if self.headers.get('Authorization') != basic:
                        self.send_response(401)
                        self.end_headers()
                        return
                    data = json.dumps({'token': 'tok-123'}).encode()
                    self.send_response(200)
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if not self._authorized():
                    self.send_response(401)
                    if registry.auth == 'bearer':
                        self.send_header('WWW-Authenticate', 'Bearer realm="http://127.0.0.1:%d/token",'
                                         'service="fake",scope="repository:acme/app:pull"' % registry.port)
                    else:
                        self.send_header('WWW-Authenticate', 'Basic realm="fake"')
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                if self.path != '/v2/acme/app/manifests/v1':
                    self.send_response(404)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                self.send_response(200)
                if body or registry.headers_on_head:
                    self.send_header('Docker-Content-Digest', DIGEST)
                    self.send_header('Content-Length', str(len(MANIFEST)))
                self.end_headers()
                if body:
                    self.wfile.write(MANIFEST)

            def do_HEAD(self):
                self._manifest(False)

            def do_GET(self):
                self._manifest(True)

        self.server = HTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def repo(self):
        return parse_reference('127.0.0.1:%d/acme/app' % self.port, allow_tag=False)


def write_config(tmp_path, data):
    d = tmp_path / 'docker-config'
    d.mkdir(exist_ok=True)
    (d / 'config.json').write_text(json.dumps(data))
    return str(d)


def test_registry_url_http_only_for_loopback():
    assert registry_url(parse_reference('127.0.0.1:5000/a/b', allow_tag=False)) == 'http://127.0.0.1:5000'
    assert registry_url(parse_reference('localhost:5000/a/b', allow_tag=False)) == 'http://localhost:5000'
    assert registry_url(parse_reference('registry.example.com/a/b', allow_tag=False)) == 'https://registry.example.com'
    assert registry_url(parse_reference('openbanking/x', allow_tag=False)) == 'https://registry-1.docker.io'


def test_anonymous_head_gives_digest_and_length(tmp_path):
    with FakeRegistry() as reg:
        client = RegistryClient(reg.repo, str(tmp_path))
        assert client.manifest('v1') == (DIGEST, len(MANIFEST))
        assert client.manifest('nope') is None
        method, path, headers = reg.requests[0]
        assert method == 'HEAD'
        assert all(t in headers['Accept'] for t in MANIFEST_MEDIA_TYPES)


def test_body_is_read_when_head_lacks_the_headers(tmp_path):
    with FakeRegistry(headers_on_head=False) as reg:
        assert RegistryClient(reg.repo, str(tmp_path)).manifest('v1') == (DIGEST, len(MANIFEST))
        assert [r[0] for r in reg.requests] == ['HEAD', 'GET']


def test_bearer_token_with_credentials_from_docker_login(tmp_path):
    with FakeRegistry(auth='bearer') as reg:
        config = write_config(tmp_path, {'auths': {'127.0.0.1:%d' % reg.port: {
            'auth': base64.b64encode(b'ci:s3cret').decode()}}})
        assert RegistryClient(reg.repo, config).manifest('v1') == (DIGEST, len(MANIFEST))
        token_request = [r for r in reg.requests if r[1].startswith('/token')][0]
        assert 'scope=repository%3Aacme%2Fapp%3Apull' in token_request[1] and 'service=fake' in token_request[1]


def test_basic_auth_and_wrong_credentials(tmp_path):
    with FakeRegistry(auth='basic') as reg:
        good = write_config(tmp_path, {'auths': {'http://127.0.0.1:%d' % reg.port: {'username': 'ci', 'password': 's3cret'}}})
        assert RegistryClient(reg.repo, good).manifest('v1') == (DIGEST, len(MANIFEST))
    with FakeRegistry(auth='bearer') as reg:
        bad = write_config(tmp_path, {'auths': {'127.0.0.1:%d' % reg.port: {'auth': base64.b64encode(b'ci:nope').decode()}}})
        with pytest.raises(TrustError) as exc:
            RegistryClient(reg.repo, bad).manifest('v1')
        assert 'docker login' in exc.value.msg and 'nope' not in exc.value.msg
    with FakeRegistry(auth='basic') as reg:
        with pytest.raises(TrustError) as exc:
            RegistryClient(reg.repo, str(tmp_path / 'empty')).manifest('v1')
        assert 'no usable credentials' in exc.value.msg


def test_credential_helper(tmp_path, monkeypatch):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    helper = bindir / 'docker-credential-fake'
    helper.write_text('#!/bin/sh\nread server\necho "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"ci\\",\\"Secret\\":\\"s3cret\\"}"\n')
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv('PATH', str(bindir) + os.pathsep + os.environ['PATH'])
    with FakeRegistry(auth='bearer') as reg:
        config = write_config(tmp_path, {'credHelpers': {'127.0.0.1:%d' % reg.port: 'fake'}})
        assert registry_credentials(config, reg.repo) == ('ci', 's3cret')
        assert RegistryClient(reg.repo, config).manifest('v1') == (DIGEST, len(MANIFEST))


def test_unreachable_registry_is_named(tmp_path):
    with FakeRegistry() as reg:
        repo = reg.repo
    with pytest.raises(TrustError) as exc:
        RegistryClient(repo, str(tmp_path)).manifest('v1')
    assert 'the registry http://%s cannot be reached' % repo.registry in exc.value.msg
