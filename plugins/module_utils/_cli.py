# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the one client for the tools of a module run.

Not a public API; it may change without notice.

``ToolClient`` is configured from the common options (binaries, docker configuration, timeout) and is made of
running commands (``_process.Runner``) and temporary views (``_views.Views``): the client of every module, the cosign
and Notation ones included.  ``TrustCLI`` adds what Notary needs: capability detection
(``_capabilities.Capabilities``), ``docker trust inspect`` (``_dockerinspect.DockerInspect``), which Notary server
serves a repository and whether its certificate is trusted (``require_trusted_notary``, over ``https_get``), and the
notary CLI's configuration (``notary_argv``, with notary's own trust pinning).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import shutil
import threading
from urllib.error import HTTPError

from ansible_collections.openbanking.content_trust.plugins.module_utils._capabilities import Capabilities
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    check_server_url, docker_verifies_notary, notary_server_for, notary_tls_verified,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._dockerinspect import DockerInspect
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (  # noqa: F401 pylint: disable=unused-import
    InputError, TrustError,  # TrustError: a few modules still import it from here
    is_tls_failure, notary_ca_path, notary_client_cert, notary_tls_untrusted, notary_unreachable,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import Runner
from ansible_collections.openbanking.content_trust.plugins.module_utils._views import VIEWS_DIR, Views, sweep_stale_views


def https_get(url, timeout, verify=True, ca=None, client_cert=None, client_key=None, limit=1024 * 1024):
    """GET ``url`` as docker reaches a Notary server: TLS verified against ``ca`` (or the system CAs), the client
    certificate if any, proxies from the environment; returns the body (at most ``limit`` bytes).  An HTTP error status (401 from a server that wants a token)
    raises ``HTTPError``: the server answered.  TLS and connection failures raise ``URLError`` (``reason`` the ssl or
    socket error).  The standard library only: ``ansible.module_utils.urls`` costs ~0.15 s of a module's start."""
    import ssl
    from urllib.request import HTTPSHandler, ProxyHandler, Request, build_opener
    if verify:
        context = ssl.create_default_context(cafile=ca)
    else:  # only for a loopback Notary of a loopback registry, which docker does not verify either
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert:
        context.load_cert_chain(client_cert, client_key)
    response = build_opener(ProxyHandler(), HTTPSHandler(context=context)).open(Request(url), timeout=timeout)
    try:
        return response.read(limit)
    finally:
        response.close()


class ToolClient(Runner, Views):
    """The tools of one module run (docker, cosign, notation), configured from the common options every module
    accepts: the binaries and their environment, the docker configuration, the timeout; running commands
    (``_process.Runner``) and the temporary views (``_views.Views``).  Knows nothing of Notary: the cosign and
    Notation modules run on it alone."""

    server = None

    def __init__(self, module):
        self.module = module
        p = module.params
        self.docker_cli = p['docker_cli']
        self.docker_host = p['docker_host']
        self.docker_config = os.path.abspath(os.path.expanduser(p['docker_config']))
        self.trust_dir = os.path.join(self.docker_config, 'trust')
        self.timeout = p['timeout']
        if self.timeout is None or self.timeout <= 0:
            raise InputError('timeout must be a positive number of seconds, got %r' % self.timeout)
        self._tmpdirs = []
        # Views (see ``view``) link the real configuration's cli-plugins/: they share its capabilities.
        self.plugin_config = self.docker_config
        self._children = []
        # Temporary views (docker configurations, notary configs, copies of encrypted keys) live in
        # the real trust directory, 0700, never in /tmp; those of dead runs go at start.
        self.views_dir = os.path.join(self.trust_dir, VIEWS_DIR)
        sweep_stale_views(self.views_dir)

    def server_for(self, reference):
        """No Notary server: the commands of this client talk to none (``TrustCLI`` knows which serves what)."""
        return None

    # --- binaries and environment ------------------------------------------------------

    def _binary(self, name, what):
        path = name if os.path.sep in name else shutil.which(name)
        if not path or not os.access(path, os.X_OK):
            raise TrustError('%s %r was not found or is not executable; install it or set the %s option'
                             % (what, name, what))
        return path

    def docker_path(self):
        return self._binary(self.docker_cli, 'docker_cli')

    def env(self, docker_config=None):
        env = dict(os.environ)
        # Passphrases from the caller's environment would bypass the prompts we answer,
        # with the wrong secret or docker's misleading error on a mismatch.
        for var in list(env):
            if var.startswith(('DOCKER_CONTENT_TRUST', 'NOTARY_')) and var != 'DOCKER_CONTENT_TRUST_SERVER':
                del env[var]
        env['DOCKER_CONFIG'] = docker_config or self.docker_config
        if self.docker_host:
            env['DOCKER_HOST'] = self.docker_host
        if self.server:
            env['DOCKER_CONTENT_TRUST_SERVER'] = self.server
        env['LC_ALL'] = 'C'
        env['LANG'] = 'C'
        env['NO_COLOR'] = '1'
        return env


class TrustCLI(ToolClient, Capabilities, DockerInspect):
    """docker and notary for one module run, configured from the common options: the ``ToolClient``, and which
    Notary server serves a repository, its TLS, and the notary CLI's configuration."""

    def __init__(self, module):
        p = module.params
        try:
            self.server = check_server_url(p['server'])
        except ValueError as exc:
            raise InputError(str(exc))
        super(TrustCLI, self).__init__(module)
        self.notary_cli = p['notary_cli']
        self.root_passphrase = p.get('root_passphrase')
        self.repository_passphrase = p.get('repository_passphrase')
        self._verified_servers = set()
        # {configuration (JSON): file}: one notary configuration file per distinct configuration, all in one view of
        # the run (``notary_argv``); shared with the clients of ``view``, as the views are.
        self._notary_configs = {}
        self._notary_configs_lock = threading.Lock()

    def notary_path(self):
        return self._binary(self.notary_cli, 'notary_cli')

    def server_for(self, reference):
        return notary_server_for(reference, self.server or os.environ.get('DOCKER_CONTENT_TRUST_SERVER'))

    def ca_file_for(self, server):
        path = notary_ca_path(self.docker_config, server)
        return path if os.path.isfile(path) else None

    def require_trusted_notary(self, reference, reachable=False):
        """Preflight, once per server and run, before docker or notary talks to the Notary server of ``reference``.
        With ``reachable`` (the writers, before anything changes): it answers over TLS as docker reaches it (with the
        client certificate docker would present), or this fails naming it.  ``docker trust inspect`` only warns
        when the server is down ("Error while downloading remote metadata, using cached timestamp") and reports the
        cached trust data, so a push would go ahead and fail only at signing.  Readers leave reachability to the CLI
        they run, whose failure names the operation.

        docker skips TLS verification of the Notary for a loopback registry even when the Notary is elsewhere (and
        then sends it client certificates): the collection verifies it anyway, against
        ``<docker_config>/tls/<host:port>/ca.crt`` or the system CAs, in the same probe; the client certificate goes
        only to a server whose certificate verified (TLS sends it after the server's).  Unverified only for a
        loopback Notary of a loopback registry, which docker does not verify either."""
        server = self.server_for(reference)
        if server in self._verified_servers:
            return server
        verify = notary_tls_verified(reference, server)
        docker_skips = verify and not docker_verifies_notary(reference)
        if not (reachable or docker_skips):
            return server
        ca = self.ca_file_for(server)
        cert, key = notary_client_cert(self.docker_config, server)
        try:
            https_get(server + '/v2/', timeout=min(self.timeout, 30), verify=bool(ca) or verify, ca=ca,
                      client_cert=cert, client_key=key)
        except HTTPError:
            pass  # it answered (401 from a server that wants a token is fine)
        except Exception as exc:  # URLError, SSLValidationError, ConnectionError, socket errors
            reason = getattr(exc, 'reason', None) or exc
            if is_tls_failure(reason) or (docker_skips and ('hostname' in str(reason).lower()
                                                            or 'SSL' in type(exc).__name__)):
                raise notary_tls_untrusted(
                    server, self.docker_config, reason=reason,
                    note='docker does not verify it for the loopback registry %s, so nothing is sent to a server '
                         'that is not on this host until its certificate verifies' % reference.registry
                    if docker_skips else None)
            raise notary_unreachable(server, reason)
        self._verified_servers.add(server)
        return server

    # --- notary --------------------------------------------------------------------------

    def notary_argv(self, reference, trust_dir=None, pins=None):
        """argv prefix for the notary CLI on this repository's server, with docker's TLS rules.

        ``pins`` (root certificate IDs of the repository) turn on notary's own trust pinning, without trust on
        first use: a root whose signatures by the pinned certificates do not meet its threshold is refused by
        notary itself.  notary consults the pins only for a repository it has no cached root of, so pinned
        reads give a ``trust_dir`` whose cache was established under the same pins (``_trustreader``)."""
        server = self.server_for(reference)
        config = {'trust_dir': trust_dir or self.trust_dir, 'remote_server': {'url': server}}
        if pins:
            config['trust_pinning'] = {'certs': {reference.gun: sorted(pins)}, 'disable_tofu': True}
        ca = self.ca_file_for(server)
        if ca:
            config['remote_server']['root_ca'] = ca
        elif not notary_tls_verified(reference, server):
            # A loopback Notary for a loopback registry: docker skips verification; match it.
            config['remote_server']['skipTLSVerify'] = True
        # A Notary that wants a publisher's client certificate for writes gets the one docker
        # would present; only the paths go into the config, never the key itself.
        cert, key = notary_client_cert(self.docker_config, server)
        if cert:
            config['remote_server']['tls_client_cert'] = cert
            config['remote_server']['tls_client_key'] = key
        path = self._notary_config_file(config)
        return [self.notary_path(), '-c', path, '-s', server, '-d', trust_dir or self.trust_dir]

    def _notary_config_file(self, config):
        """The file holding ``config``, written once per run, beside the run's other notary configurations: a read
        of thousands of repositories asks for the same configuration for each, and needs one file for it, not a
        view and a file per repository.  Called from the threads of a read at once."""
        text = json.dumps(config, sort_keys=True)
        with self._notary_configs_lock:
            path = self._notary_configs.get(text)
            if path is None or not os.path.isfile(path):
                known = list(self._notary_configs.values())
                if known and os.path.isdir(os.path.dirname(known[0])):
                    directory = os.path.dirname(known[0])
                else:  # the first, or the view went with a cleanup
                    self._notary_configs.clear()
                    directory = self.tempdir()
                path = os.path.join(directory, 'notary-config-%s.json'
                                    % hashlib.sha256(text.encode('utf-8')).hexdigest()[:16])
                with open(path, 'w') as f:
                    f.write(text)
                self._notary_configs[text] = path
            return path
