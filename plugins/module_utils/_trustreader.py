# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: ONE reader of trust data for many repositories.

Not a public API; it may change without notice.

The reader returns, for each reference, the plain data of ``_trustdata.parse_inspect_entry``
(signers and key IDs, released tags with digests and signers, root and repository key IDs),
whichever CLI is underneath.  The CLI is chosen once per run from what docker really offers
(``TrustCLI.docker_capabilities``): ``docker trust inspect`` (one call for every reference)
where ``docker trust`` exists, which is docker 28.x and older or 29 with the docker-trust
plugin; the notary CLI where it does not (docker 29 without the plugin, or no docker at all).
Both verify the TUF metadata against the cached root before answering, and both report the
same data for the same repository; ``docker trust`` is never run on a CLI that lacks it.

On the notary path ``notary delegation list`` refreshes and verifies root, targets and the
delegation keys (read from the cache it has just written), and ``notary list -r ROLE`` reads
each of ``targets/releases`` and the signer roles, verified as docker verifies them.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import (
    STALE_CACHE_RE, TrustError, explain,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import (
    RELEASES_ROLE, cached_metadata, delegation_roles, explain_notary, inspect_entry, list_rows, target_hashes,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import parse_inspect_entry

DOCKER = 'docker trust'
NOTARY = 'notary'
_NO_TRUST_DATA_RE = re.compile(r'does not have trust data for|remote trust data does not exist')


class TrustReader(object):
    """Trust data of many references through ``docker trust inspect`` or the notary CLI."""

    def __init__(self, cli):
        self.cli = cli
        self.via = DOCKER if cli.has_docker_trust() else NOTARY

    def read(self, references):
        """``{str(reference): parsed}``; ``parsed['exists']`` is False for a repository without trust
        data.  An unreachable server or an untrusted TLS certificate raises TrustError naming it."""
        if self.via == DOCKER:
            raw = self.cli.inspect(references)
            return dict((str(ref), parse_inspect_entry(ref, raw.get(str(ref)))) for ref in references)
        return dict((str(ref), parse_inspect_entry(ref, self._notary_entry(ref))) for ref in references)

    def read_one(self, reference):
        return self.read([reference])[str(reference)]

    # --- the notary path -----------------------------------------------------------------

    def _notary(self, argv, what, reference):
        """Output of a read-only notary call; None when the server has no trust data."""
        rc, out = self.cli.run(argv, what=what)
        server = self.cli.server_for(reference)
        if STALE_CACHE_RE.search(out):
            # notary, like docker, answers from its cache when the server is down: that may be stale.
            msg = explain_notary(out, what, server, self.cli.docker_config) or \
                '%s: the Notary server %s cannot be reached' % (what, server)
            raise TrustError(msg + '; notary fell back to trust data cached in %s, which may be stale'
                             % self.cli.trust_dir, output=out)
        if rc != 0:
            if _NO_TRUST_DATA_RE.search(out):
                return None
            msg = explain_notary(out, what, server, self.cli.docker_config) or \
                explain(out, what, server=server, reference=reference, docker_config=self.cli.docker_config)
            raise TrustError(msg, output=out, rc=rc)
        return out

    def _notary_entry(self, reference):
        cli = self.cli
        gun = reference.gun
        if not os.path.isdir(cli.trust_dir):
            os.makedirs(cli.trust_dir, 0o700)
        base = cli.notary_argv(reference)
        if self._notary(base + ['delegation', 'list', gun], 'notary delegation list %s' % gun, reference) is None:
            return None
        # notary has just downloaded and verified these into the cache.
        root = cached_metadata(cli.trust_dir, gun, 'root')
        targets = cached_metadata(cli.trust_dir, gun, 'targets')
        role_targets = {'targets': dict((t, h) for t, (h, dummy) in target_hashes(targets).items())}
        roles = [r for r in sorted(delegation_roles(targets)) if r == RELEASES_ROLE or r.count('/') == 1]
        if RELEASES_ROLE in roles:
            roles.remove(RELEASES_ROLE)
            roles.insert(0, RELEASES_ROLE)
        for role in roles:
            if role != RELEASES_ROLE and not (role_targets['targets'] or role_targets.get(RELEASES_ROLE)):
                break  # nothing released: the signer roles cannot add a signed tag
            out = self._notary(base + ['list', gun, '-r', role], 'notary list %s -r %s' % (gun, role), reference)
            role_targets[role] = list_rows(out, role)
        return inspect_entry(str(reference), root, targets, role_targets, tag=reference.tag)


def read_trust_data(cli, references):
    """``TrustReader(cli).read(references)``."""
    return TrustReader(cli).read(references)
