# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the errors a user sees, and what CLI output means.

Not a public API; it may change without notice.

Every failure meant for the user is a ``ContentTrustError``; ``_module.run`` reports those as
failed tasks and anything else as an unexpected error with its traceback.  ``explain`` is the
one place that turns the output of docker, notary, cosign and Notation into such an error.

    ContentTrustError
        InputError            bad module input, found before anything changed (also a ValueError)
            InvalidReference  not a repository or image reference docker accepts
            KeyProblem        a key, certificate or PEM that cannot be used
                WrongKeyPassphrase   a local key file that the given passphrase does not decrypt
        TrustError            docker, notary, cosign, Notation or a server failed
            WrongPassphrase       a CLI rejected a passphrase
            NotaryUnreachable     the Notary server does not answer
            NotaryTLSUntrusted    the Notary server's certificate does not verify
            RepositoryUnknown     the Notary server has no trust data for the repository
            RegistryUnreachable   the registry does not answer
            DaemonUnreachable     the docker daemon's socket cannot be used from here (absent, or no permission)
            CredentialsRefused    the registry or Notary server refused the credentials
            MissingSigningKey     no usable local private key for the role being signed
            CLIFailure            any other failure of a command
            CommandTimeout        a command did not finish within the timeout
        MissingRequirement    a Python library the module needs is not installed
        Unverified            why one image or tag does not verify
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re


class ContentTrustError(Exception):
    """A failure with a message fit for the user; ``output`` is the scrubbed CLI output (if any),
    ``rc`` the command's exit code and ``cmd`` the start of its argv.  ``kind`` names the class of
    failure in results (``error_kind``).  ``result``, when set, is added to the failed result: what a run that
    failed part-way did (tags, digests, flags; never a secret), so that the caller can undo it."""

    kind = 'error'
    result = None

    def __init__(self, msg, output=None, rc=None, cmd=None):
        super(ContentTrustError, self).__init__(msg)
        self.msg = msg
        self.output = output
        self.rc = rc
        self.cmd = cmd

    def __str__(self):
        return self.msg


class InputError(ContentTrustError, ValueError):
    """Bad module input, found before anything changed."""

    kind = 'bad_input'


class InvalidReference(InputError):
    """Not a repository or image reference docker accepts."""


class KeyProblem(InputError):
    """A key or PEM that cannot be used; the message names what was expected."""

    kind = 'bad_key'


class WrongKeyPassphrase(KeyProblem):
    """A local key file that the given passphrase does not decrypt."""

    kind = 'wrong_passphrase'


class TrustError(ContentTrustError):
    """docker, notary, cosign, Notation, the daemon, the registry or the Notary server failed."""

    kind = 'failed'


class WrongPassphrase(TrustError):
    kind = 'wrong_passphrase'


class NotaryUnreachable(TrustError):
    kind = 'notary_unreachable'


class NotaryTLSUntrusted(TrustError):
    kind = 'notary_tls_untrusted'


class RepositoryUnknown(TrustError):
    kind = 'repository_unknown'


class RegistryUnreachable(TrustError):
    kind = 'registry_unreachable'


class DaemonUnreachable(TrustError):
    """The docker daemon cannot be used from this host: its socket is not there, or this user may not open it.
    A local failure, never a verdict about the images."""

    kind = 'daemon_unreachable'


class CredentialsRefused(TrustError):
    kind = 'credentials_refused'


class MissingSigningKey(TrustError):
    kind = 'missing_signing_key'


class CLIFailure(TrustError):
    kind = 'cli_failure'


class CommandTimeout(TrustError):
    kind = 'timeout'


class MissingRequirement(ContentTrustError):
    """A Python library or tool the module needs is not on the host."""

    kind = 'missing_requirement'


class Unverified(ContentTrustError):
    """Why one image or tag does not verify (a sentence without the image's name)."""

    kind = 'unverified'


# --- the Notary server -------------------------------------------------------------------------

def server_hostport(server):
    """``host:port`` of a Notary server URL (scheme and path dropped): the name of its directory under
    ``<docker_config>/tls/``.  The one derivation: the roles use it through the ``notary_tls_dir`` filter."""
    return re.sub(r'^https?://', '', server or '').split('/', 1)[0]


def notary_tls_dir(docker_config, server):
    """Where docker and the notary CLI of this collection read a Notary server's CA and client certificate."""
    return os.path.join(docker_config, 'tls', server_hostport(server))


def notary_ca_path(docker_config, server):
    """Where docker (and this collection) looks for the CA of a Notary server."""
    return os.path.join(docker_config, 'tls', server_hostport(server), 'ca.crt')


def notary_client_cert(docker_config, server):
    """The client certificate and key presented to a Notary server, as docker finds them.

    docker's trust client reads ``<docker_config>/tls/<host:port>/`` like the daemon's
    ``certs.d``: a ``NAME.cert`` with its ``NAME.key`` is a client certificate.  Returns the
    paths ``(cert, key)`` of the first such pair by name, or ``(None, None)``."""
    directory = os.path.dirname(notary_ca_path(docker_config, server))
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None, None
    for name in names:
        if name.endswith('.cert'):
            cert = os.path.join(directory, name)
            key = cert[:-len('.cert')] + '.key'
            if os.path.isfile(cert) and os.path.isfile(key):
                return cert, key
    return None, None


def _prefixed(what, text):
    return '%s: %s' % (what, text) if what else text


def notary_tls_untrusted(server, docker_config=None, what=None, reason=None, note=None, **kwargs):
    """The one "TLS certificate ... not trusted" error, with where to install the CA."""
    msg = _prefixed(what, 'the TLS certificate of the Notary server %s is not trusted' % (server or ''))
    if reason:
        msg += ' (%s)' % reason
    if note:
        msg += ': %s' % note
    if server and docker_config:
        msg += '; install its CA as %s' % notary_ca_path(docker_config, server)
    return NotaryTLSUntrusted(msg, **kwargs)


def notary_unreachable(server, reason=None, what=None, **kwargs):
    msg = 'the Notary server %s cannot be reached' % (server or '(from the docker configuration)')
    if reason is not None:
        msg += ' (%s)' % reason
    return NotaryUnreachable(_prefixed(what, msg), **kwargs)


def is_tls_failure(text):
    """Whether a TLS handshake failed on certificate verification (Go's x509 errors, Python's ssl errors)."""
    text = str(text or '')
    return 'x509:' in text or 'certificate signed by unknown authority' in text \
        or 'CERTIFICATE_VERIFY_FAILED' in text or 'certificate verify failed' in text


_SOCKET_PERMISSION_RE = re.compile(r'permission denied', re.I)


def daemon_unreachable(url, detail, hint=None, what=None):
    """Why the docker daemon at ``url`` cannot be used, from the client's ``detail``: a socket this user may not open
    names the permission and its fixes (the socket's group, or become) instead of the socket's address."""
    detail = str(detail).strip()
    prefix = '%s: ' % what if what else ''
    if _SOCKET_PERMISSION_RE.search(detail):
        return DaemonUnreachable('%sthe docker daemon %s refused this user: permission denied on its socket (%s); add '
                                 'the user to the group that owns the socket (usually docker), or run the task with '
                                 'become' % (prefix, url, detail))
    msg = '%sthe docker daemon %s cannot be reached (%s)' % (prefix, url, detail)
    return DaemonUnreachable(msg + ('; %s' % hint if hint else ''))


def _daemon_socket(text, what, ctx):
    # docker CLI: "permission denied while trying to connect to the Docker daemon socket at unix:///..." or
    # "Cannot connect to the Docker daemon at unix:///.... Is the docker daemon running?"
    m = re.search(r'(permission denied while trying to connect to the docker daemon socket at (\S+?):?\s'
                  r'|Cannot connect to the Docker daemon at (\S+?)\.? Is the docker daemon running)', text, re.I)
    if m:
        return daemon_unreachable(m.group(2) or m.group(3), _last_line(text), what=what)
    return None


# --- what CLI output means ---------------------------------------------------------------------
#
# One table for every CLI: each rule applies to some sources, in order; the first that matches
# gives the error.  Sources: ``docker`` (docker and notary, generic), ``notary`` (the notary CLI's
# own texts), ``push`` (docker trust sign's push, before it signs), ``registry`` (the daemon's
# push error), ``oci`` (cosign and Notation).

def _lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def _last_line(text):
    lines = _lines(text)
    return lines[-1] if lines else 'no output'


def _tls(text, what, ctx):
    if 'x509:' in text or 'certificate signed by unknown authority' in text:
        return notary_tls_untrusted(ctx['server'], ctx['docker_config'], what)
    return None


def _notary_offline(text, what, ctx):
    # notary logs "could not reach <url>: <reason>", then fails with "client is offline".
    m = re.search(r'could not reach \S+: ([^\n]+)', text)
    if m or 'client is offline' in text:
        reason = m.group(1).strip().rstrip('"') if m else 'client is offline'
        return notary_unreachable(ctx['server'], reason, what)
    return None


def _notary_unreachable(text, what, ctx):
    m = re.search(r'error contacting notary server: ([^"\n]+)', text)
    if m or 'connection refused' in text or 'no such host' in text:
        detail = m.group(1) if m else text.strip().splitlines()[-1] if text.strip() else ''
        return notary_unreachable(ctx['server'], detail.strip(), what)
    return None


def _registry_failure(text, what, ctx, detail=None):
    detail = detail or _last_line(text)
    registry = ctx['registry']
    if re.search(r'connection refused|no such host|i/o timeout|dial tcp|server gave HTTP response', text):
        return RegistryUnreachable('%s: the registry %s cannot be reached by the docker daemon (%s)'
                                   % (what, registry, detail))
    if re.search(r'unauthorized|denied|authentication required', text, re.I):
        return CredentialsRefused('%s: the registry %s refused the push (%s); run "docker login" with this '
                                  'docker_config' % (what, registry, detail))
    return CLIFailure('%s: pushing to the registry %s failed: %s' % (what, registry, detail))


def _push_failure(text, what, ctx):
    # docker trust sign pushes first: a failure before "Signing and pushing trust metadata" is the
    # registry's, not the Notary server's.
    if 'The push refers to repository' in text and 'Signing and pushing trust metadata' not in text:
        return _registry_failure(text, what, ctx)
    return None


def _missing_signing_key(text, what, ctx):
    m = re.search(r'could not find necessary signing keys, at least one of these keys must be available: (\S+)', text)
    if m:
        return MissingSigningKey('%s: no usable local private key for the role being signed (needed one of: %s); '
                                 'the key is missing from the trust directory or its passphrase was wrong'
                                 % (what, m.group(1)))
    return None


def _no_trust_data(text, what, ctx):
    if re.search(r'does not have trust data for|remote trust data does not exist', text):
        return RepositoryUnknown('%s: the Notary server has no trust data for this repository' % what)
    return None


def _unauthorized(text, what, ctx):
    if 'you are not authorized' in text.lower() or 'unauthorized' in text.lower():
        return CredentialsRefused('%s: the registry or Notary server refused the credentials; run "docker login" '
                                  'with this docker_config' % what)
    return None


def _no_such_image(text, what, ctx):
    if 'No such image' in text or 'does not exist locally' in text:
        return CLIFailure('%s: the image does not exist locally' % what)
    return None


def _tool_error_line(text, what, ctx):
    # cosign and notation print "Error: ..." (cosign twice): the first one says it.
    for line in text.replace('\r', '').splitlines():
        line = line.strip()
        if line.startswith('Error:'):
            return CLIFailure('%s failed: %s' % (what, line[len('Error:'):].strip()))
    return None


RULES = (
    (('docker', 'registry', 'push'), _daemon_socket),
    (('docker', 'notary'), _tls),
    (('notary',), _notary_offline),
    (('docker',), _notary_unreachable),
    (('push',), _push_failure),
    (('registry',), _registry_failure),
    (('docker',), _missing_signing_key),
    (('docker',), _no_trust_data),
    (('docker',), _unauthorized),
    (('docker',), _no_such_image),
    (('oci',), _tool_error_line),
)


def explain(output, what, sources=('docker',), server=None, docker_config=None, registry=None,
            rc=None, cmd=None, fallback=True):
    """The error a CLI's failed ``output`` means, for the operation ``what`` (an instance of the
    right ``TrustError`` subclass, carrying ``output``, ``rc`` and ``cmd``).

    ``sources`` picks the rules (see ``RULES``); ``server`` is the Notary server, ``docker_config``
    where its CA goes, ``registry`` the registry URL.  When no rule matches: a ``CLIFailure`` with
    the output's last line, or None with ``fallback=False`` (to keep an error already raised)."""
    text = (output or '').replace('\r', '') if 'oci' in sources else (output or '')
    ctx = dict(server=server, docker_config=docker_config, registry=registry)
    error = None
    for rule_sources, rule in RULES:
        if any(source in rule_sources for source in sources):
            error = rule(text, what, ctx)
            if error is not None:
                break
    if error is None:
        if not fallback:
            return None
        error = CLIFailure('%s failed: %s' % (what, _last_line(text)))
    error.output, error.rc, error.cmd = output, rc, cmd
    return error
