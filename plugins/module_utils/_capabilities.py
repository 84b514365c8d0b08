# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: what the docker CLI can do (capability detection).

Not a public API; it may change without notice.

docker CLI 28 and older have ``docker trust`` built in, sign on ``DOCKER_CONTENT_TRUST=1 docker push`` and verify on
pull; CLI 29 moved ``docker trust`` into a plugin and ignores content trust on pull.  ``Capabilities`` (part of
``_cli.TrustCLI``) asks the CLI once per run and binary; ``docker_capabilities_from`` reads its answers.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError


_VERSION_RE = re.compile(r'version (\d+)\.(\d+)\.?(\d+)?')
_TRUST_USAGE_RE = re.compile(r'^Usage:\s+docker trust COMMAND', re.M)


def docker_capabilities_from(version_output, trust_output):
    """Capabilities from the output of ``docker --version`` and of ``docker trust`` (no arguments).

    ``trust_output`` None: ``docker trust`` was not asked; up to CLI 28 it is built in (one process fewer in
    every module's start), from 29 it is a plugin and only ``docker trust``'s own answer tells."""
    m = _VERSION_RE.search(version_output or '')
    version = tuple(int(g or 0) for g in m.groups()) if m else None
    if trust_output is None:
        trust = bool(version and version < (29, 0))
    else:
        trust = bool(_TRUST_USAGE_RE.search(trust_output)) and 'unknown command' not in trust_output
    return {
        'version': '.'.join(str(v) for v in version) if version else None,
        'trust': trust,
        # CLI 29 stopped signing on push and verifying on pull (docker/cli#6603); unknown: assume new.
        'push_signs': bool(version and version < (29, 0)),
        'pull_verifies': bool(version and version < (29, 0)),
    }


class Capabilities(object):
    """Capability detection for ``_cli.TrustCLI`` (needs ``docker_path``, ``env``, ``run``, ``timeout`` and
    ``plugin_config``)."""

    _capabilities = {}

    def docker_capabilities(self):
        """What the docker CLI can do, asked once per run (per binary and docker configuration).

        ``trust``: whether ``docker trust`` exists.  Not from the exit code of ``docker trust --help``:
        docker CLI 29 without the docker-trust plugin answers that with its general help and exit
        code 0.  ``docker trust`` without arguments prints its own usage where the command exists
        (built in up to 28.x, or the plugin, found under ``<docker_config>/cli-plugins/`` too) and
        ``unknown command`` where it does not.  ``pull_verifies``: whether
        ``DOCKER_CONTENT_TRUST=1 docker pull`` checks trust data (28.x and older; 29 ignores it).
        """
        docker = self.docker_path()
        key = (docker, self.plugin_config)
        if key in self._capabilities:
            return self._capabilities[key]
        env = self.env()
        dummy, out = self.run([docker, '--version'], env=env, timeout=min(self.timeout, 30))
        caps = docker_capabilities_from(out, None)
        if not caps['trust']:  # 29 and later, or a version we cannot read: is the docker-trust plugin there?
            dummy, usage = self.run([docker, 'trust'], env=env, timeout=min(self.timeout, 30))
            caps = docker_capabilities_from(out, usage)
        self._capabilities[key] = caps
        return caps

    def has_docker_trust(self):
        """Whether ``docker trust`` can be run here; False also when docker itself is missing."""
        try:
            return self.docker_capabilities()['trust']
        except TrustError:
            return False

    def require_docker_trust(self):
        caps = self.docker_capabilities()
        if not caps['trust']:
            raise TrustError('the docker CLI %s (version %s) has no "docker trust" command: docker CLI 29 and '
                             'later ship it as the docker-trust CLI plugin (/usr/libexec/docker/cli-plugins/); '
                             'install it, or point docker_cli at a CLI that has it'
                             % (self.docker_path(), caps['version'] or 'unknown'))
        return caps
