# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: ``docker trust inspect`` and what its failures mean.

Not a public API; it may change without notice.

``DockerInspect`` (part of ``_cli.TrustCLI``) reads many references in one ``docker trust inspect``; a reference
docker cannot read is told apart (no trust data, or an unreachable or untrusted server) with ``docker -D``.  docker
(and notary) answer from their cache when the server is down or lost the repository: ``STALE_CACHE_RE`` spots that,
``missing_on_server`` and ``missing_on_server_message`` say which.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import RepositoryUnknown, TrustError, explain
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import failure_lines

# When the Notary server cannot be reached but trust data is cached, docker answers from the
# cache with exit code 0; only this warning (printed from log level warn) says so.
STALE_CACHE_RE = re.compile(r'Error while downloading remote metadata, using cached timestamp')
# A healthy server without the repository: "received HTTP status 404 when requesting timestamp."
_MISSING_ON_SERVER_RE = re.compile(r'received HTTP status 404 when requesting (?P<role>[\w/.-]+?)\.?"?$', re.M)
_PING_RE = re.compile(r'Error pinging notary server \\?"(?P<url>[^"\\]+)\\?": (?P<cause>[^\n]*)')


class DockerInspect(object):
    """``docker trust inspect`` for ``_cli.TrustCLI`` (needs ``require_docker_trust``, ``require_trusted_notary``,
    ``docker_path``, ``run_split``, ``env``, ``read_view``, ``server_for``, ``docker_config`` and ``trust_dir``)."""

    def inspect(self, references, view=None):
        """``docker trust inspect`` of many references in one call, in ``view`` (a ``read_view``; a new one when
        None).

        Returns ``{str(reference): raw entry or None}``; None means the server has no trust
        data for it.  An unreachable server or a TLS problem raises TrustError naming it.
        """
        self.require_docker_trust()
        for reference in references:
            self.require_trusted_notary(reference)
        docker = self.docker_path()
        names = [str(r) for r in references]
        result = {}
        if not names:
            return result
        # without the private keys it never uses (read_view)
        rc, out, err = self.run_split([docker, '-l', 'warn', 'trust', 'inspect'] + names,
                                      env=self.env(view or self.read_view()))
        if STALE_CACHE_RE.search(err):
            self._raise_unreachable(references)
        entries = []
        if out.strip():
            try:
                entries = json.loads(out)
            except ValueError:
                raise TrustError('docker trust inspect printed output that is not JSON: %s' % out[:300])
        for entry in entries or []:
            result[entry.get('Name')] = entry
        failed = [n for n in names if n not in result]
        if rc != 0 and not failed:
            raise explain(err, 'docker trust inspect', rc=rc)
        if failed:
            self._classify_inspect_failures([r for r in references if str(r) in failed], result)
        return result

    def _raise_unreachable(self, references):
        # docker answered from its cache (it only warns, and exits 0): fail, saying why it
        # could not use the server. docker -D tells the causes apart: no answer (ping error),
        # an untrusted certificate, or a healthy server without this repository (HTTP 404).
        docker = self.docker_path()
        rc, out, err = self.run_split([docker, '-D', 'trust', 'inspect'] + [str(r) for r in references])
        text = err + out
        ref = references[0]
        m = _PING_RE.search(text)
        if m:
            url = m.group('url').rstrip('/')
            url = url[:-3] if url.endswith('/v2') else url
            ref = ([r for r in references if self.server_for(r) == url] or [ref])[0]
        server = self.server_for(ref)
        cache = os.path.join(self.trust_dir, 'tuf', ref.gun)
        what = 'docker trust inspect %s' % ref
        missing = _MISSING_ON_SERVER_RE.search(text)
        if m:
            cause = m.group('cause').replace('\\"', '"').rstrip('"').strip()
            cause = re.sub(r'^[A-Za-z]+ "[^"]*": ', '', cause)  # Go's 'Get "URL": ' prefix
            error = explain('error contacting notary server: %s' % cause, what, server=server,
                            docker_config=self.docker_config)
            error.msg += ('; docker fell back to the trust data cached in %s, which may be stale (it is not used: '
                          'bring the server back or point the server option at the right one)' % cache)
        elif 'x509:' in text or 'certificate signed by unknown authority' in text:
            error = explain(text, what, server=server, docker_config=self.docker_config)
            error.msg += '; docker fell back to the trust data cached in %s, which may be stale' % cache
        elif missing:
            error = RepositoryUnknown(missing_on_server_message(what, server, ref.gun, missing.group('role'), cache))
        else:
            error = TrustError('%s: docker could not update the trust data of %s from the Notary server %s and fell '
                               'back to the data cached in %s, which may be stale (it is not used); the debug output '
                               'says why' % (what, ref.gun, server, cache))
        # docker's log is on stderr; stdout holds the (cached, stale) JSON answer.
        error.output, error.rc = failure_lines(err), None
        raise error

    def _classify_inspect_failures(self, references, result):
        # "no signatures or cannot access R" is the same for a repository that has no trust
        # data and for a server that cannot be reached; docker -D tells them apart.
        docker = self.docker_path()
        rc, out, err = self.run_split([docker, '-D', 'trust', 'inspect'] + [str(r) for r in references])
        text = out + err
        for ref in references:
            if re.search(r'does not have trust data for %s\b' % re.escape(ref.gun), text) or \
                    re.search(r'remote trust data does not exist for %s\b' % re.escape(ref.gun), text):
                result[str(ref)] = None
                continue
            error = explain(text, 'docker trust inspect %s' % ref, server=self.server_for(ref),
                            docker_config=self.docker_config)
            error.output = failure_lines(text)
            raise error


def missing_on_server(output):
    """The TUF role a healthy Notary server answered HTTP 404 for (it does not have the repository), or None."""
    m = _MISSING_ON_SERVER_RE.search(output or '')
    return m.group('role') if m else None


def missing_on_server_message(what, server, gun, role, cache):
    """A healthy Notary server without a repository this host has cached trust data for (docker and notary
    then answer from the cache): not 'unreachable', and what to do about it."""
    return ('%s: the Notary server %s answers, but has no trust data for %s (HTTP 404 for its %s), while this '
            'host has trust data for it cached in %s. The server lost or never had this repository: after a '
            'database restore or reset, restore the server\'s data (or re-create the repository with the '
            'same root using trust_migrate); if server points at the wrong Notary, fix it; if the repository '
            'was deleted on purpose, remove that cache directory. The cached data is stale and was not used'
            % (what, server, gun, role, cache))
