# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the docker daemon, through the Docker SDK (loaded on first use).

Not a public API; it may change without notice.

``LocalImages`` is the one client of the daemon: reading local images (many with one ``docker image inspect``
process, so a plan with nothing to push never loads the SDK), tagging, pushing, pulling, untagging and the
containers that run an image.  ``repo_digests`` and ``pushed_digest`` read what the daemon and ``docker push`` say of
a repository's digests.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    InvalidReference, TrustError, daemon_unreachable, explain,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._registry import registry_url


class _NoDockerSDK(Exception):
    """Stands for the Docker SDK's DockerException until ``load_docker_sdk`` has imported it."""


class _NoDockerSDKNotFound(_NoDockerSDK):
    """Stands for the Docker SDK's NotFound until ``load_docker_sdk`` has imported it."""


# The Docker SDK (with requests) costs 50-90 ms of every module start; it is imported only when a
# daemon is first needed (``LocalImages``), which rebinds these names.
docker_sdk = None
DockerException = _NoDockerSDK
NotFound = _NoDockerSDKNotFound


def load_docker_sdk():
    """Import the Docker SDK (once); TrustError when it is missing."""
    global docker_sdk, DockerException, NotFound
    if docker_sdk is None:
        try:
            import docker
            from docker.errors import DockerException as docker_exception, NotFound as not_found
        except ImportError as exc:
            raise TrustError('the Docker SDK for Python (pip package "docker") is required on this host to reach the '
                             'docker daemon: %s' % exc)
        docker_sdk, DockerException, NotFound = docker, docker_exception, not_found
    return docker_sdk


# What docker image inspect says of a name the daemon does not have (docker CLI 20.10 to 29).
_NO_SUCH_IMAGE_RE = re.compile(r'No such image: (\S+)\s*$', re.M)

_PUSHED_DIGEST_RE = re.compile(r'^(?P<tag>[\w][\w.-]*): digest: (?P<digest>sha256:[0-9a-f]{64}) size: (?P<size>\d+)', re.M)


# --- the Notary server ------------------------------------------------------------------------

class LocalImages(object):
    """The docker daemon's images, through the Docker SDK (as the module's docker_host).

    The SDK is imported, and the daemon asked for its API version, on the first call that needs it:
    ``inspect_many`` answers a plan from one docker CLI process, so a run that finds nothing to push never
    pays for the SDK (~0.15 s with requests and urllib3)."""

    def __init__(self, cli, hint='set docker_host, or use push: false to sign what the registry already has'):
        self.cli = cli
        self.hint = hint
        self.url = cli.docker_host or cli.env().get('DOCKER_HOST') or 'unix:///var/run/docker.sock'
        self._client = None

    @property
    def client(self):
        if self._client is None:
            load_docker_sdk()
            kwargs = docker_sdk.utils.kwargs_from_env(environment=self.cli.env())
            if self.cli.docker_host:
                kwargs['base_url'] = self.cli.docker_host
            try:
                self._client = docker_sdk.APIClient(version='auto', timeout=min(self.cli.timeout, 60), **kwargs)
            except DockerException as exc:
                raise daemon_unreachable(self.url, exc, self.hint)
        return self._client

    def inspect_many(self, names):
        """``{name: inspect data, or None when the daemon has no such image}`` for many names, from ONE
        ``docker image inspect`` process on the same daemon (``-H``), not one SDK call per name.  Through the SDK
        (``inspect``) where there is no docker CLI or its answer cannot be told apart name by name (any error
        but "No such image", or a count that does not add up)."""
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        try:
            docker = self.cli.docker_path()
        except TrustError:
            docker = None
        if docker:
            rc, out, err = self.cli.run_split([docker, '-H', self.url, 'image', 'inspect', '--format', '{{json .}}', '--']
                                              + names, timeout=min(self.cli.timeout, 60))
            missing = set(_NO_SUCH_IMAGE_RE.findall(err))
            found = [n for n in names if n not in missing]
            lines = [line for line in out.splitlines() if line.strip()]
            other = [line for line in err.splitlines() if line.strip() and not _NO_SUCH_IMAGE_RE.search(line)]
            if not other and missing <= set(names) and len(lines) == len(found) and (rc == 0) == (not missing):
                try:
                    data = [json.loads(line) for line in lines]
                except ValueError:
                    data = None
                if data is not None and all(isinstance(d, dict) and d.get('Id') for d in data):
                    answer = dict((n, None) for n in missing)
                    answer.update(zip(found, data))
                    return answer
        return dict((n, self.inspect(n)) for n in names)

    def inspect(self, name):
        """The image's inspect data, or None when the daemon has no such image."""
        try:
            return self.client.inspect_image(name)
        except NotFound:
            return None
        except DockerException as exc:
            raise TrustError('the docker daemon %s could not inspect %s: %s' % (self.url, name, exc))

    def tagged(self, repository):
        """``{tag: {'Id', 'RepoDigests', ...}}`` of every local ``<repository>:<tag>``, in ONE daemon call
        (``GET /images/json`` filtered by reference) instead of one inspect per tag."""
        name = repository.gun
        if repository.registry == 'docker.io':  # the daemon matches the filter against familiar names
            name = repository.path[len('library/'):] if repository.path.startswith('library/') else repository.path
        try:
            images = self.client.images(name=name) or []
        except DockerException as exc:
            raise TrustError('the docker daemon %s could not list the local images of %s: %s'
                             % (self.url, repository.gun, exc))
        found = {}
        for image in images:
            for text in image.get('RepoTags') or []:
                try:
                    ref = parse_reference(text, what='local image')
                except InvalidReference:
                    continue
                if ref.gun == repository.gun and ref.tag:
                    found[ref.tag] = image
        return found

    def tag(self, image_id, reference):
        try:
            self.client.tag(image_id, '%s/%s' % (reference.registry, reference.path), reference.tag)
        except DockerException as exc:
            raise TrustError('the docker daemon %s could not tag %s as %s: %s' % (self.url, image_id, reference, exc))

    def untag(self, reference):
        """Remove the local tag ``reference`` (the image goes with its last name unless a container uses it).  A
        container that uses the image makes the daemon refuse the last name without force; the name goes anyway
        (``force``), the image stays for the container."""
        client = self.client
        from docker.errors import APIError  # the SDK is loaded: ``client`` loaded it
        name = '%s/%s:%s' % (reference.registry, reference.path, reference.tag)
        try:
            try:
                client.remove_image(name, noprune=True)
            except APIError as exc:
                if exc.status_code != 409:
                    raise
                client.remove_image(name, force=True, noprune=True)
        except DockerException as exc:
            raise TrustError('the docker daemon %s could not remove the tag %s: %s' % (self.url, reference, exc))

    def running(self):
        """The running containers, as the daemon lists them (``Id``, ``Names``, ``Image``, ``ImageID``)."""
        try:
            return self.client.containers() or []
        except DockerException as exc:
            raise TrustError('the docker daemon %s could not list its containers: %s' % (self.url, exc))

    def _push(self, reference, auth_config, pushed):
        """Push ``reference`` (every local tag of its repository when it has no tag); calls ``pushed(tag, digest,
        size)`` for each tag as the registry stored it."""
        name = '%s/%s' % (reference.registry, reference.path)
        try:
            for line in self.client.push(name, tag=reference.tag, stream=True, decode=True, auth_config=auth_config):
                if line.get('error') or line.get('errorDetail'):
                    detail = line.get('error') or (line.get('errorDetail') or {}).get('message')
                    raise explain(detail, 'pushing %s' % reference, sources=('registry',),
                                  registry=registry_url(reference))
                aux = line.get('aux') or {}
                if aux.get('Digest'):
                    pushed(aux.get('Tag') or reference.tag, aux['Digest'], int(aux['Size']))
        except DockerException as exc:
            raise TrustError('pushing %s through the docker daemon %s failed: %s' % (reference, self.url, exc))

    def push(self, reference, auth_config=None):
        """Push one tag through the daemon; returns ``(digest, size)`` as the registry stored it."""
        found = {}
        self._push(reference, auth_config, lambda tag, digest, size: found.update(digest=(digest, size)))
        if not found:
            raise TrustError('the docker daemon %s pushed %s but reported no digest' % (self.url, reference))
        return found['digest']

    def push_all_tags(self, repository, auth_config, pushed):
        """Push every local tag of ``repository`` in one daemon call (``docker push --all-tags``); ``pushed(tag,
        digest, size)`` is called for each as it is stored."""
        self._push(repository.with_tag(None), auth_config, pushed)

    def close(self):
        if self._client is None:
            return
        try:
            self._client.close()
        except Exception:  # pragma: no cover - best effort
            pass


def repo_digests(image, reference):
    """The manifest digests the image is known by in ``reference``'s repository (``RepoDigests``)."""
    digests = []
    for entry in (image or {}).get('RepoDigests') or []:
        name, dummy, digest = entry.partition('@')
        try:
            if parse_reference(name, allow_tag=False).gun == reference.gun:
                digests.append(digest)
        except InvalidReference:
            continue
    return digests


def pushed_digest(output, tag):
    """``(digest, size)`` that docker's push printed for ``tag`` (``v1: digest: sha256:... size: 524``)."""
    # The pty output is full of cursor movements ("\x1b[1Bv1: digest: ...") and carriage returns.
    text = re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', output or '').replace('\r', '\n')
    for m in _PUSHED_DIGEST_RE.finditer(text):
        if m.group('tag') == tag:
            return m.group('digest'), int(m.group('size'))
    return None
