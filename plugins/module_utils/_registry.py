# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: what a registry serves for a tag, and manifests written.

Not a public API; it may change without notice.

Daemonless signing needs the manifest digest and length of a pushed tag, exactly as the
registry serves them: that is what ``docker pull`` checks against the signed target.  One
``HEAD /v2/<name>/manifests/<tag>`` per tag gives both (``Docker-Content-Digest``,
``Content-Length``).  Credentials come from the docker configuration (``docker login``),
including credential helpers.

Withdrawing cosign and Notation signatures (``_ocirevoke``) also reads manifests and blobs by digest,
writes manifests and blobs and deletes manifests: ``get_manifest``, ``get_blob`` (checked against its
digest), ``put_manifest``, ``put_blob``, ``delete_manifest``, ``referrers`` and ``deletes_supported``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess

from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import HTTPHandler, HTTPSHandler, Request, build_opener

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import DEFAULT_REGISTRY
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    CredentialsRefused, RegistryUnreachable,
)

# Single-image and multi-platform manifests, Docker and OCI: the registry must answer with
# the manifest it really stores, never a conversion, or the digest would not match.
MANIFEST_MEDIA_TYPES = (
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
)
DOCKER_HUB_API = 'registry-1.docker.io'
# The registry's answer to a manifest DELETE it does not allow (docker-registry without storage.delete.enabled:
# HTTP 405, code UNSUPPORTED).
DELETE_UNSUPPORTED_CODES = ('UNSUPPORTED',)
_DIGEST_RE = re.compile(r'^sha256:[0-9a-f]{64}$')


def registry_url(reference):
    """Base URL of the registry API: http for loopback registries (docker treats them as
    insecure), https otherwise; Docker Hub's API host for docker.io."""
    host = reference.registry
    if host == DEFAULT_REGISTRY:
        host = DOCKER_HUB_API
    scheme = 'http' if reference.is_loopback() else 'https'
    return '%s://%s' % (scheme, host)


def _config_auth_keys(registry):
    if registry == DEFAULT_REGISTRY:
        return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']
    return [registry, 'https://' + registry, 'http://' + registry, 'https://%s/v1/' % registry,
            'https://%s/v2/' % registry]


def _helper_credentials(helper, server, timeout):
    try:
        proc = subprocess.run(['docker-credential-' + helper, 'get'], input=server.encode('utf-8'),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TrustError('the docker credential helper docker-credential-%s could not be run: %s' % (helper, exc))
    if proc.returncode != 0:
        return None  # "credentials not found in native keychain": anonymous access
    try:
        data = json.loads(proc.stdout.decode('utf-8'))
    except ValueError:
        return None
    if data.get('Username') == '<token>':
        return ('<token>', data.get('Secret'))
    return (data.get('Username'), data.get('Secret'))


def registry_credentials(docker_config, reference, timeout=30):
    """``(username, secret)`` for the registry from ``config.json``, or None."""
    path = os.path.join(docker_config, 'config.json')
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            config = json.load(f)
    except (IOError, OSError, ValueError) as exc:
        raise TrustError('the docker configuration %s cannot be read: %s' % (path, exc))
    keys = _config_auth_keys(reference.registry)
    helpers = config.get('credHelpers') or {}
    for key in keys:
        if key in helpers:
            return _helper_credentials(helpers[key], key, timeout)
    auths = config.get('auths') or {}
    for key in keys:
        entry = auths.get(key)
        if not entry:
            continue
        if entry.get('identitytoken'):
            return ('<token>', entry['identitytoken'])
        if entry.get('auth'):
            try:
                user, dummy, secret = base64.b64decode(entry['auth']).decode('utf-8').partition(':')
            except (ValueError, TypeError, UnicodeDecodeError):
                raise TrustError('the credentials for %s in %s are not valid base64 "user:password"'
                                 % (key, path))
            return (user, secret)
        if entry.get('username'):
            return (entry['username'], entry.get('password'))
    if config.get('credsStore'):
        for key in keys:
            creds = _helper_credentials(config['credsStore'], key, timeout)
            if creds:
                return creds
    return None


def _ssl_context(reference):
    ctx = ssl.create_default_context()
    # The daemon trusts /etc/docker/certs.d/<host:port>/*.crt for a registry; so do we.
    certs = os.path.join('/etc/docker/certs.d', reference.registry)
    if os.path.isdir(certs):
        for fn in sorted(os.listdir(certs)):
            if fn.endswith('.crt'):
                ctx.load_verify_locations(os.path.join(certs, fn))
    return ctx


def _parse_challenge(header):
    scheme, dummy, rest = (header or '').partition(' ')
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


class RegistryClient(object):
    """Just enough of the registry API v2 to read what a tag points at."""

    def __init__(self, reference, docker_config, timeout=30):
        self.reference = reference
        self.base = registry_url(reference)
        self.timeout = timeout
        self.credentials = registry_credentials(docker_config, reference, timeout)
        handlers = [HTTPHandler()]
        if self.base.startswith('https://'):
            handlers.append(HTTPSHandler(context=_ssl_context(reference)))
        self._opener = build_opener(*handlers)
        self._authorization = None

    def _open(self, request):
        try:
            return self._opener.open(request, timeout=self.timeout)
        except HTTPError:
            raise
        except (URLError, socket.timeout, ssl.SSLError, OSError) as exc:
            reason = getattr(exc, 'reason', exc)
            raise RegistryUnreachable('the registry %s cannot be reached (%s)' % (self.base, reason))

    def _token(self, params, scope):
        realm = params.get('realm')
        if not realm:
            raise TrustError('the registry %s asked for a token without naming a token service' % self.base)
        query = {}
        if params.get('service'):
            query['service'] = params['service']
        query['scope'] = scope
        req = Request(realm + ('&' if '?' in realm else '?') + urlencode(query))
        if self.credentials and self.credentials[0] != '<token>':
            req.add_header('Authorization', 'Basic ' + base64.b64encode(
                ('%s:%s' % self.credentials).encode('utf-8')).decode('ascii'))
        try:
            resp = self._open(req)
            data = json.loads(resp.read().decode('utf-8'))
        except HTTPError as exc:
            raise CredentialsRefused('the registry token service %s refused the credentials from the docker '
                                     'configuration (HTTP %s); run "docker login %s" with this docker_config'
                                     % (realm, exc.code, self.reference.registry))
        except ValueError:
            raise TrustError('the registry token service %s answered with something that is not JSON' % realm)
        token = data.get('token') or data.get('access_token')
        if not token:
            raise TrustError('the registry token service %s returned no token' % realm)
        return 'Bearer ' + token

    def _authorize(self, challenge, scope):
        scheme, params = _parse_challenge(challenge)
        if scheme == 'bearer':
            return self._token(params, scope)
        if scheme == 'basic' and self.credentials and self.credentials[0] != '<token>':
            return 'Basic ' + base64.b64encode(('%s:%s' % self.credentials).encode('utf-8')).decode('ascii')
        raise CredentialsRefused('the registry %s requires authentication and the docker configuration has no usable '
                                 'credentials for %s; run "docker login %s" with this docker_config'
                                 % (self.base, self.reference.registry, self.reference.registry))

    def _request(self, method, url, scope, data=None, content_type=None):
        for attempt in (1, 2):
            req = Request(url, method=method, data=data)
            req.add_header('Accept', ', '.join(MANIFEST_MEDIA_TYPES))
            if content_type:
                req.add_header('Content-Type', content_type)
            if self._authorization:
                req.add_header('Authorization', self._authorization)
            try:
                return self._open(req)
            except HTTPError as exc:
                if exc.code == 401 and attempt == 1:
                    self._authorization = self._authorize(exc.headers.get('WWW-Authenticate'), scope)
                    continue
                raise

    def manifest(self, tag):
        """``(digest, length)`` of the manifest the registry serves for ``tag``; None if no such tag."""
        name = self.reference.path
        url = '%s/v2/%s/manifests/%s' % (self.base, name, quote(tag))
        scope = 'repository:%s:pull' % name
        try:
            resp = self._request('HEAD', url, scope)
        except HTTPError as exc:
            if exc.code == 404:
                return None
            if exc.code in (401, 403):
                raise CredentialsRefused('the registry %s refused to show %s:%s (HTTP %s); run "docker login %s" with '
                                         'this docker_config' % (self.base, self.reference.gun, tag, exc.code,
                                                                 self.reference.registry))
            raise TrustError('the registry %s answered HTTP %s for %s' % (self.base, exc.code, url))
        digest = resp.headers.get('Docker-Content-Digest')
        length = resp.headers.get('Content-Length')
        resp.close()
        if digest and _DIGEST_RE.match(digest) and length and length.isdigit() and int(length) > 0:
            return digest, int(length)
        # Some registries omit the headers on HEAD: the body itself is authoritative.
        try:
            resp = self._request('GET', url, scope)
        except HTTPError as exc:
            raise TrustError('the registry %s answered HTTP %s for %s' % (self.base, exc.code, url))
        body = resp.read()
        resp.close()
        return 'sha256:' + hashlib.sha256(body).hexdigest(), len(body)

    def manifests(self, tags, workers=8):
        """``{tag: manifest(tag)}`` for many tags: the first alone (it settles the authorization), the others
        ``workers`` at a time - a release of 100 tags is 100 round trips.  The first failure, in the order of
        ``tags``, is raised."""
        tags = list(tags)
        if not tags:
            return {}
        out = {tags[0]: self.manifest(tags[0])}
        rest = tags[1:]
        if rest:
            with ThreadPoolExecutor(max_workers=min(workers, len(rest))) as pool:
                for tag, served in zip(rest, pool.map(self.manifest, rest)):
                    out[tag] = served
        return out

    # --- reading and writing manifests and blobs (withdrawing signatures: _ocirevoke) ----------

    def _url(self, kind, ref):
        return '%s/v2/%s/%s/%s' % (self.base, self.reference.path, kind, quote(ref, safe=':'))

    def _scope(self, write=False):
        return 'repository:%s:%s' % (self.reference.path, 'pull,push,delete' if write else 'pull')

    def _failure(self, exc, what, body=None):
        body = _error_body(exc) if body is None else body
        if exc.code in (401, 403):
            return CredentialsRefused('the registry %s refused to %s in %s (HTTP %s%s); run "docker login %s" with '
                                      'this docker_config as a user who may' % (
                                          self.base, what, self.reference.gun, exc.code,
                                          (': %s' % body) if body else '', self.reference.registry))
        return TrustError('the registry %s answered HTTP %s to %s in %s%s'
                          % (self.base, exc.code, what, self.reference.gun, (': %s' % body) if body else ''))

    def get_manifest(self, ref):
        """``(body bytes, media type, digest)`` of the manifest ``ref`` (a tag or a digest), or None if there is none.
        A manifest asked for by digest is checked against it."""
        try:
            resp = self._request('GET', self._url('manifests', ref), self._scope())
        except HTTPError as exc:
            if exc.code == 404:
                return None
            raise self._failure(exc, 'read the manifest %s' % ref)
        body = resp.read()
        media_type = (resp.headers.get('Content-Type') or '').split(';')[0].strip()
        resp.close()
        digest = 'sha256:' + hashlib.sha256(body).hexdigest()
        if _DIGEST_RE.match(ref) and digest != ref:
            raise TrustError('the registry %s served for the manifest %s of %s content whose digest is %s'
                             % (self.base, ref, self.reference.gun, digest))
        return body, media_type, digest

    def get_blob(self, digest, limit=4 * 1024 * 1024):
        """The blob ``digest`` (checked against it; at most ``limit`` bytes), or None if there is none."""
        try:
            resp = self._request('GET', self._url('blobs', digest), self._scope())
        except HTTPError as exc:
            if exc.code == 404:
                return None
            raise self._failure(exc, 'read the blob %s' % digest)
        body = resp.read(limit + 1)
        resp.close()
        if len(body) > limit:
            raise TrustError('the blob %s of %s is larger than %d bytes: not a signature'
                             % (digest, self.reference.gun, limit))
        if 'sha256:' + hashlib.sha256(body).hexdigest() != digest:
            raise TrustError('the registry %s served for the blob %s of %s other content'
                             % (self.base, digest, self.reference.gun))
        return body

    def put_manifest(self, ref, body, media_type):
        """Push ``body`` as the manifest ``ref`` (a tag); returns its digest."""
        try:
            resp = self._request('PUT', self._url('manifests', ref), self._scope(True), data=body,
                                 content_type=media_type)
        except HTTPError as exc:
            raise self._failure(exc, 'push the manifest %s' % ref)
        resp.close()
        return 'sha256:' + hashlib.sha256(body).hexdigest()

    def put_blob(self, body):
        """Upload ``body`` as a blob (unless the repository has it); returns its digest."""
        digest = 'sha256:' + hashlib.sha256(body).hexdigest()
        try:
            self._request('HEAD', self._url('blobs', digest), self._scope(True)).close()
            return digest
        except HTTPError as exc:
            if exc.code != 404:
                raise self._failure(exc, 'look for the blob %s' % digest)
        try:
            resp = self._request('POST', '%s/v2/%s/blobs/uploads/' % (self.base, self.reference.path),
                                 self._scope(True), data=b'')
            location = resp.headers.get('Location') or ''
            resp.close()
            if not location.startswith(('http://', 'https://')):
                location = self.base + location
            location += ('&' if '?' in location else '?') + urlencode({'digest': digest})
            self._request('PUT', location, self._scope(True), data=body,
                          content_type='application/octet-stream').close()
        except HTTPError as exc:
            raise self._failure(exc, 'upload the blob %s' % digest)
        return digest

    def delete_manifest(self, digest):
        """Delete the manifest ``digest``; False if it was not there.  A registry that allows no deletes fails with
        the setting that allows them (``delete_unsupported``)."""
        try:
            self._request('DELETE', self._url('manifests', digest), self._scope(True)).close()
        except HTTPError as exc:
            codes = _error_body(exc)
            if delete_unsupported(exc.code, codes):
                raise DeleteUnsupported(DELETE_UNSUPPORTED_MESSAGE % (self.base, digest, self.reference.gun))
            if exc.code == 404:
                return False
            raise self._failure(exc, 'delete the manifest %s' % digest, codes)
        return True

    def deletes_supported(self):
        """Whether the registry deletes manifests, asked without changing anything: the DELETE of a manifest that
        cannot exist is answered 404 where deletes are allowed, 405 UNSUPPORTED where they are not."""
        probe = 'sha256:' + hashlib.sha256(b'openbanking.content_trust: does the registry delete?').hexdigest()
        try:
            self.delete_manifest(probe)
        except DeleteUnsupported:
            return False
        return True

    def referrers(self, digest):
        """The referrers API's index of ``digest`` (a dict), or None where the registry has no referrers API."""
        try:
            resp = self._request('GET', self._url('referrers', digest), self._scope())
        except HTTPError as exc:
            if exc.code in (404, 405, 400):
                return None
            raise self._failure(exc, 'list the referrers of %s' % digest)
        body = resp.read()
        media_type = (resp.headers.get('Content-Type') or '').split(';')[0].strip()
        resp.close()
        try:
            index = json.loads(body.decode('utf-8'))
        except (ValueError, UnicodeDecodeError):
            return None
        if media_type != 'application/vnd.oci.image.index.v1+json' or not isinstance(index, dict):
            return None
        return index


class DeleteUnsupported(TrustError):
    """The registry allows no manifest DELETE."""


DELETE_UNSUPPORTED_MESSAGE = ('the registry %s does not allow deleting manifests (HTTP 405 UNSUPPORTED, for %s in %s): '
                              'withdrawing a signature stored as its own manifest (cosign 3.x bundles, Notation) '
                              'deletes that manifest; enable deletes in the registry\'s configuration '
                              '(docker-registry: storage.delete.enabled: true) and run again')


def _error_body(exc):
    """The registry's error codes in an HTTP error's body (``{"errors": [{"code": ...}]}``), joined; '' if none."""
    try:
        data = json.loads(exc.read(4096).decode('utf-8'))
    except Exception:  # pylint: disable=broad-except
        return ''
    codes = [e.get('code') for e in (data.get('errors') or []) if isinstance(e, dict) and e.get('code')]
    return ', '.join(codes)


def delete_unsupported(code, codes):
    """Whether a DELETE's answer (HTTP status, the error codes of ``_error_body``) says the registry allows no
    deletes: docker-registry without ``storage.delete.enabled`` answers 405 with code UNSUPPORTED."""
    return code == 405 or any(c in DELETE_UNSUPPORTED_CODES for c in (codes or '').split(', '))
