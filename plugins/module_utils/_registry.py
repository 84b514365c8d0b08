# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: what a registry serves for a tag.

Not a public API; it may change without notice.

Daemonless signing needs the manifest digest and length of a pushed tag, exactly as the
registry serves them: that is what ``docker pull`` checks against the signed target.  One
``HEAD /v2/<name>/manifests/<tag>`` per tag gives both (``Docker-Content-Digest``,
``Content-Length``).  Credentials come from the docker configuration (``docker login``),
including credential helpers.
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

    def _request(self, method, url, scope):
        for attempt in (1, 2):
            req = Request(url, method=method)
            req.add_header('Accept', ', '.join(MANIFEST_MEDIA_TYPES))
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
