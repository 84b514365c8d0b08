# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: running docker and notary safely.

Not a public API; it may change without notice.

Every call has a timeout.  Passphrases never go into argv or the environment: commands
that may ask for one run on a pty (pexpect) and each prompt is answered from the secret
that belongs to it, matched on docker's and notary's prompt text.  The first
``Passphrase incorrect`` ends the call with an error naming the key.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from urllib.error import HTTPError

from importlib.util import find_spec

# pexpect is imported by run_pty, the only user: a module that never answers a prompt does not pay for it.
HAS_PEXPECT = find_spec('pexpect') is not None
PEXPECT_IMPORT_ERROR = None if HAS_PEXPECT else ImportError('No module named pexpect')


from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    CommandTimeout, InputError, RepositoryUnknown, TrustError, WrongPassphrase, explain, is_tls_failure,
    notary_ca_path, notary_client_cert, notary_tls_untrusted, notary_unreachable,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import MIN_NEW_PASSPHRASE
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    check_server_url, docker_verifies_notary, notary_server_for, notary_tls_verified, parse_reference,
)


VIEWS_DIR = '.views'


class Terminated(BaseException):
    """SIGTERM (or SIGHUP/SIGINT) arrived: unwind so every ``finally`` runs and the views go."""

    def __init__(self, signum):
        super(Terminated, self).__init__(signum)
        self.signum = signum


def _raise_terminated(signum, frame):
    for other in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(other, signal.SIG_IGN)  # let the clean-up finish
    raise Terminated(signum)


def handle_termination():
    """Turn SIGTERM, SIGHUP and SIGINT into ``Terminated`` for the module's process."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _raise_terminated)


def _lock(path, create):
    """An open, exclusively flock'ed lock file, or None when another process holds it (or it is gone).

    The descriptor is not inherited by docker or notary (PEP 446), so the lock lives exactly as
    long as the module's process."""
    flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if not create and exc.errno == errno.ENOENT:
            return None
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # The path may have been swept (unlinked) between open and flock: then it is not ours.
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            raise OSError(errno.ESTALE, 'lock file replaced')
    except (IOError, OSError):
        os.close(fd)
        return None
    return fd


def _mkdir_private(directory):
    """Create ``directory`` 0700 unless it exists; another process creating it first (or
    removing it again right after) is fine: the caller retries on ENOENT."""
    try:
        os.mkdir(directory, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise


def sweep_stale_views(views_dir):
    """Remove the views of module runs that died (SIGKILL): those whose lock no process holds.

    A live run holds the lock of each of its views for as long as it runs, so its views stay."""
    try:
        names = os.listdir(views_dir)
    except OSError:
        return []
    swept = []
    for name in sorted(names):
        view = os.path.join(views_dir, name)
        if name.endswith('.lock'):
            # a lock file whose view is gone (the run died between the two) when nobody holds it
            view, lock_path = view[:-len('.lock')], view
            if os.path.lexists(view):
                continue
        else:
            lock_path = view + '.lock'
        try:
            fd = _lock(lock_path, create=False)
            if fd is None and os.path.exists(lock_path):
                continue  # a running module's view
            if os.path.lexists(view):
                shutil.rmtree(view, ignore_errors=True)
                swept.append(name)
            if fd is not None:
                try:
                    os.unlink(lock_path)
                finally:
                    os.close(fd)
        except OSError:
            continue  # not ours to remove (permissions); never fail a run over it
    return swept


# docker: "Enter passphrase for new root key with ID 1628b4d: ", "Repeat passphrase for ...",
# "Enter passphrase for jeff key with ID 961144a: "; notary: the same shape, with roles
# such as "targets" or "snapshot".
PROMPT_RE = re.compile(r'(?P<verb>Enter|Repeat) passphrase for (?P<new>new )?(?P<label>[\w./-]+) key '
                       r'with ID (?P<id>[0-9a-f]+):\s*')
ENCRYPTED_PROMPT_RE = re.compile(r'Enter passphrase for encrypted key:\s*')
# notary asking for the passphrase of a key file given on its command line names only a role:
# "Enter passphrase for root key:" (notary key rotate -k, init --rootkey).
NAMELESS_PROMPT_RE = re.compile(r'Enter passphrase for (?P<label>[\w./-]+) key:\s*')
INCORRECT_RE = re.compile(r'Passphrase incorrect\. Please retry\.')
MISMATCH_RE = re.compile(r'Passphrases do not match\. Please retry\.')
USERNAME_RE = re.compile(r'Enter username:\s*')
CONFIRM_RE = re.compile(r'\[y/N\]\s*\??\s*')
REPOSITORY_LABELS = ('repository', 'targets', 'snapshot')

# When the Notary server cannot be reached but trust data is cached, docker answers from the
# cache with exit code 0; only this warning (printed from log level warn) says so.
STALE_CACHE_RE = re.compile(r'Error while downloading remote metadata, using cached timestamp')
# A healthy server without the repository: "received HTTP status 404 when requesting timestamp."
_MISSING_ON_SERVER_RE = re.compile(r'received HTTP status 404 when requesting (?P<role>[\w/.-]+?)\.?"?$', re.M)
_PING_RE = re.compile(r'Error pinging notary server \\?"(?P<url>[^"\\]+)\\?": (?P<cause>[^\n]*)')


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


def _label_kind(label):
    if label == 'root':
        return 'root'
    if label in REPOSITORY_LABELS:
        return 'repository'
    return 'signer'


class Secrets(object):
    """The passphrases a call may need, by the kind of key docker asks for."""

    def __init__(self, root=None, repository=None, signers=None, signer_fallback=None):
        self.root = root
        self.repository = repository
        self.signers = dict(signers or {})
        # docker falls back to the repository passphrase for delegation keys; so do we
        # unless a signer passphrase is given.
        self.signer_fallback = signer_fallback

    def values(self):
        vals = [self.root, self.repository, self.signer_fallback] + list(self.signers.values())
        return [v for v in vals if v]

    def for_label(self, label):
        kind = _label_kind(label)
        if kind == 'root':
            return self.root, 'root_passphrase'
        if kind == 'repository':
            return self.repository, 'repository_passphrase'
        name = label[len('targets/'):] if label.startswith('targets/') else label
        if name in self.signers:
            return self.signers[name], 'the passphrase of signer %s' % name
        if self.signer_fallback:
            return self.signer_fallback, 'signer_passphrase'
        return self.repository, 'repository_passphrase'


def describe_key(label, key_id):
    kind = _label_kind(label)
    if kind == 'root':
        return 'root key %s' % key_id
    if kind == 'repository':
        return ('repository key %s' % key_id) if label == 'repository' else \
            ('repository (%s) key %s' % (label, key_id))
    return 'signer key "%s" %s' % (label, key_id)


def scrub(text, secrets):
    if not text:
        return text
    for value in sorted(secrets, key=len, reverse=True):
        if value:
            text = text.replace(value, '********')
    return text


# docker -D / notary -D print logrus lines; the debug and info ones explain a failure only
# when they say what went wrong.
_LOG_NOISE_RE = re.compile(r'\blevel=(debug|info)\b')
_FAILURE_WORDS_RE = re.compile(r'error|fail|denied|refused|unauthori[sz]ed|x509|status [45]\d\d|does not exist|'
                               r'not found|unavailable|timed? ?out|no such|invalid|incorrect|could not|cannot', re.I)
FAILURE_LINES = 20


def failure_lines(output, limit=FAILURE_LINES):
    """The lines of a CLI's output that explain its failure, whole and in order: debug and
    info log lines only where they report an error, each line once, at most ``limit``
    (the last ones, after a note of how many were left out)."""
    lines = []
    for line in (output or '').splitlines():
        line = line.rstrip()
        if not line.strip() or line in lines:
            continue
        if _LOG_NOISE_RE.search(line) and not _FAILURE_WORDS_RE.search(line):
            continue
        lines.append(line)
    if len(lines) > limit:
        lines = ['(%d earlier lines left out)' % (len(lines) - limit)] + lines[-limit:]
    return '\n'.join(lines)


# Options of docker and notary that take a value (skipped when naming a command).
_OPTIONS_WITH_VALUE = ('-l', '--log-level', '-H', '--host', '-c', '--config', '-s', '--server', '-d', '--trustDir',
                       '--tlscacert', '--context', '-r', '--roles')


def describe_command(argv, server=None):
    """``docker trust inspect of R1, R2 (Notary server S)`` for an argv: the operation, what it
    was about and where, for messages such as timeouts."""
    words, args, skip = [], [], False
    for i, arg in enumerate(argv):
        if i == 0:
            words.append(os.path.basename(arg))
            continue
        if skip:
            skip = False
            if arg and argv[i - 1] in ('-s', '--server') and not server:
                server = arg
            continue
        if arg in _OPTIONS_WITH_VALUE:
            skip = True
            continue
        if arg.startswith('-'):
            continue
        if len(words) < 3 and re.match(r'^[a-z][a-z-]*$', arg) and not args:
            words.append(arg)
        else:
            args.append(arg)
    text = ' '.join(words)
    if args:
        text += ' of %s' % ', '.join(args[:5]) + (' and %d more' % (len(args) - 5) if len(args) > 5 else '')
    if server:
        text += ' (Notary server %s)' % server
    return text


class TrustCLI(object):
    """docker and notary for one module run, configured from the common options."""

    _capabilities = {}

    def __init__(self, module):
        self.module = module
        p = module.params
        self.docker_cli = p['docker_cli']
        self.notary_cli = p['notary_cli']
        self.docker_host = p['docker_host']
        self.docker_config = os.path.abspath(os.path.expanduser(p['docker_config']))
        self.trust_dir = os.path.join(self.docker_config, 'trust')
        try:
            self.server = check_server_url(p['server'])
        except ValueError as exc:
            raise InputError(str(exc))
        self.timeout = p['timeout']
        if self.timeout is None or self.timeout <= 0:
            raise InputError('timeout must be a positive number of seconds, got %r' % self.timeout)
        self.root_passphrase = p.get('root_passphrase')
        self.repository_passphrase = p.get('repository_passphrase')
        self._tmpdirs = []
        # Views (see ``view``) link the real configuration's cli-plugins/: they share its capabilities.
        self.plugin_config = self.docker_config
        self._children = []
        self._verified_servers = set()
        # Temporary views (docker configurations, notary configs, copies of encrypted keys) live in
        # the real trust directory, 0700, never in /tmp; those of dead runs go at start.
        self.views_dir = os.path.join(self.trust_dir, VIEWS_DIR)
        sweep_stale_views(self.views_dir)

    # --- binaries and environment ------------------------------------------------------

    def _binary(self, name, what):
        path = name if os.path.sep in name else shutil.which(name)
        if not path or not os.access(path, os.X_OK):
            raise TrustError('%s %r was not found or is not executable; install it or set the %s option'
                             % (what, name, what))
        return path

    def docker_path(self):
        return self._binary(self.docker_cli, 'docker_cli')

    def notary_path(self):
        return self._binary(self.notary_cli, 'notary_cli')

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

    def server_for(self, reference):
        return notary_server_for(reference, self.server or os.environ.get('DOCKER_CONTENT_TRUST_SERVER'))

    def ca_file_for(self, server):
        path = notary_ca_path(self.docker_config, server)
        return path if os.path.isfile(path) else None

    def require_trusted_notary(self, reference):
        """Preflight: refuse a Notary server docker would not verify but the collection must.

        docker skips TLS verification of the Notary for a loopback registry even when the Notary
        is elsewhere (and then sends it client certificates).  Then the server's certificate is
        checked here, against ``<docker_config>/tls/<host:port>/ca.crt`` or the system CAs, with
        no client certificate, before docker is run."""
        server = self.server_for(reference)
        if docker_verifies_notary(reference) or not notary_tls_verified(reference, server) \
                or server in self._verified_servers:
            return server
        ca = self.ca_file_for(server)
        try:
            https_get(server + '/v2/', timeout=min(self.timeout, 30), ca=ca)
        except HTTPError:
            pass  # it answered over a verified connection
        except Exception as exc:  # URLError, SSLValidationError, socket errors
            reason = getattr(exc, 'reason', None) or exc
            if is_tls_failure(reason) or 'hostname' in str(reason).lower() or 'SSL' in type(exc).__name__:
                raise notary_tls_untrusted(
                    server, self.docker_config, reason=reason,
                    note='docker does not verify it for the loopback registry %s, so nothing is sent to a server '
                         'that is not on this host until its certificate verifies' % reference.registry)
            raise notary_unreachable(server, reason)
        self._verified_servers.add(server)
        return server

    def tempdir(self):
        """A new private directory (0700) under ``<trust_dir>/.views``, locked for this run."""
        while True:
            # Another run on this host may create the same directories at the same moment, or
            # remove the views directory in its cleanup between our mkdir and mkstemp: retry.
            for directory in (self.docker_config, self.trust_dir, self.views_dir):
                _mkdir_private(directory)
            os.chmod(self.trust_dir, 0o700)
            try:
                os.chmod(self.views_dir, 0o700)
                fd, lock_path = tempfile.mkstemp(dir=self.views_dir, prefix='view-', suffix='.lock')
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    continue
                raise
            os.close(fd)
            fd = _lock(lock_path, create=False)
            if fd is not None:
                break
        d = lock_path[:-len('.lock')]
        self._tmpdirs.append((d, lock_path, fd))
        os.mkdir(d, 0o700)
        return d

    def read_view(self):
        """A DOCKER_CONFIG (in ``tempdir``) for reads: every entry of the real one (linked), its TUF cache
        (the real ``trust/tuf``, linked: a read refreshes it, as without the view) and an empty
        ``trust/private``.  docker and notary open every private key file of the trust directory for each
        repository they read, and a read uses none: with a repository key per repository, a read of
        1000 repositories spent two thirds of its time there."""
        view = self.tempdir()
        if os.path.isdir(self.docker_config):
            for entry in os.listdir(self.docker_config):
                if entry != 'trust':
                    os.symlink(os.path.join(self.docker_config, entry), os.path.join(view, entry))
        tuf = os.path.join(self.trust_dir, 'tuf')
        _mkdir_private(tuf)
        os.makedirs(os.path.join(view, 'trust', 'private'), 0o700)
        os.chmod(os.path.join(view, 'trust'), 0o700)
        os.symlink(tuf, os.path.join(view, 'trust', 'tuf'))
        return view

    def cleanup(self):
        """Stop any CLI still running, then remove every view of this run."""
        while self._children:
            child = self._children.pop()
            try:
                if child.isalive():
                    child.close(force=True)
            except Exception:  # pragma: no cover - best effort
                pass
        while self._tmpdirs:
            d, lock_path, fd = self._tmpdirs.pop()
            shutil.rmtree(d, ignore_errors=True)
            try:
                os.unlink(lock_path)
            except OSError:
                pass
            os.close(fd)
        try:
            os.rmdir(self.views_dir)
        except OSError:
            pass  # another run's views are there

    def view(self, docker_config, server=None):
        """This client, running docker and notary with another docker configuration and, if given,
        another Notary server (for example ``_signing.isolated_view``); temporary directories are shared
        with this client and removed by its ``cleanup``."""
        other = copy.copy(self)
        other.docker_config = docker_config
        other.trust_dir = os.path.join(docker_config, 'trust')
        if server:
            other.server = check_server_url(server)
        return other

    # --- capabilities --------------------------------------------------------------------

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

    # --- messages --------------------------------------------------------------------------

    def _server_of(self, argv):
        """The Notary server a command talks to: notary's -s, else the configured or derived one."""
        for i, arg in enumerate(argv[:-1]):
            if arg in ('-s', '--server'):
                return argv[i + 1]
        if self.server:
            return self.server
        for arg in argv[1:]:
            if '/' in arg and not arg.startswith(('-', '/')):
                try:
                    return self.server_for(parse_reference(arg))
                except ValueError:
                    continue
        return None

    @staticmethod
    def _timeout_message(what, timeout):
        return ('%s did not finish within the timeout of %s seconds: the server did not answer in time or the '
                'command waited for something; check that the server is up and reachable from this host, or raise '
                'the timeout option' % (what, timeout))

    # --- running -------------------------------------------------------------------------

    def run(self, argv, env=None, timeout=None, check=False, what=None, secrets=()):
        """Run a command that needs no passphrase; stdin is closed."""
        timeout = timeout or self.timeout
        try:
            proc = subprocess.run(argv, env=env or self.env(), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CommandTimeout(self._timeout_message(what or describe_command(argv, self._server_of(argv)), timeout),
                                 cmd=argv[:3])
        except OSError as exc:
            raise TrustError('could not run %s: %s' % (argv[0], exc))
        out = scrub(proc.stdout.decode('utf-8', 'replace'), secrets)
        if check and proc.returncode != 0:
            raise explain(out, what or ' '.join(argv[:3]), rc=proc.returncode, cmd=argv[:3])
        return proc.returncode, out

    def run_split(self, argv, env=None, timeout=None):
        """Run with stdout and stderr apart (for JSON output); returns rc, stdout, stderr."""
        timeout = timeout or self.timeout
        try:
            proc = subprocess.run(argv, env=env or self.env(), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CommandTimeout(self._timeout_message(describe_command(argv, self._server_of(argv)), timeout),
                                 cmd=argv[:3])
        except OSError as exc:
            raise TrustError('could not run %s: %s' % (argv[0], exc))
        return proc.returncode, proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')

    def run_pty(self, argv, secrets, env=None, timeout=None, what=None):
        """Run on a pty, answering passphrase prompts from ``secrets``.

        A ``[y/N]`` question fails the run: nothing the collection runs should ask one.
        Returns the scrubbed output; raises TrustError on failure.
        """
        if not HAS_PEXPECT:
            raise TrustError('the Python library pexpect is required on the signing host: %s' % PEXPECT_IMPORT_ERROR)
        import pexpect
        timeout = timeout or self.timeout
        what = what or ' '.join(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv[:3]))
        deadline = time.time() + timeout
        known = secrets.values()
        # echo=False: the pty never echoes what we type, even before the program turns
        # echo off for its password prompt.
        child = pexpect.spawn(argv[0], argv[1:], env=env or self.env(), encoding='utf-8',
                              codec_errors='replace', echo=False, timeout=timeout, dimensions=(24, 500))
        self._children.append(child)
        output = []
        last_key = None
        patterns = [PROMPT_RE, ENCRYPTED_PROMPT_RE, INCORRECT_RE, MISMATCH_RE, USERNAME_RE, CONFIRM_RE,
                    pexpect.EOF, pexpect.TIMEOUT, NAMELESS_PROMPT_RE]
        try:
            while True:
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise pexpect.TIMEOUT('deadline')
                idx = child.expect(patterns, timeout=remaining)
                output.append(child.before or '')
                if idx == 0:
                    m = child.match
                    label, key_id = m.group('label'), m.group('id')
                    last_key = (label, key_id)
                    secret, option = secrets.for_label(label)
                    if not secret:
                        raise TrustError('%s needs the passphrase of the %s%s and none was given (set %s)'
                                         % (what, 'new ' if m.group('new') else '', describe_key(label, key_id), option))
                    if m.group('new') and len(secret) < MIN_NEW_PASSPHRASE:
                        raise TrustError('%s must be at least %d characters to protect the new %s'
                                         % (option, MIN_NEW_PASSPHRASE, describe_key(label, key_id)))
                    output.append(child.after.rstrip() + '\n')
                    child.sendline(secret)
                elif idx == 1:
                    raise TrustError('%s asked for the passphrase of an encrypted key it was given' % what)
                elif idx == 2:
                    if last_key:
                        raise WrongPassphrase('passphrase incorrect for the %s (%s stopped at its first retry prompt)'
                                              % (describe_key(*last_key), what))
                    raise WrongPassphrase('passphrase incorrect (%s)' % what)
                elif idx == 3:
                    raise TrustError('%s: the passphrases given for the new %s do not match' % (what, describe_key(*last_key) if last_key else 'key'))
                elif idx == 4:
                    raise TrustError('%s asked for registry credentials; log in first with "docker login" '
                                     'using the same docker_config' % what)
                elif idx == 5:
                    raise TrustError('%s asked an unexpected question: %s' % (what, (child.before or '').strip()[-200:]))
                elif idx == 6:
                    break
                elif idx == 8:
                    label = child.match.group('label')
                    last_key = (label, 'from the key file')
                    secret, option = secrets.for_label(label)
                    if not secret:
                        raise TrustError('%s needs the passphrase of a %s key file and none was given (set %s)'
                                         % (what, label, option))
                    output.append(child.after.rstrip() + '\n')
                    child.sendline(secret)
                else:
                    raise pexpect.TIMEOUT('deadline')
        except pexpect.TIMEOUT:
            child.close(force=True)
            raise CommandTimeout(self._timeout_message('%s (Notary server %s)' % (what, self._server_of(argv))
                                                       if self._server_of(argv) and 'Notary server' not in what else what,
                                                       timeout),
                                 output=failure_lines(scrub(''.join(output), known)))
        except TrustError as exc:
            child.close(force=True)
            exc.output = scrub(''.join(output), known)
            raise
        child.close()
        out = scrub(''.join(output), known)
        rc = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
        if rc != 0:
            raise explain(out, what, rc=rc, cmd=argv[:3])
        return out

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
        path = os.path.join(self.tempdir(), 'notary-config.json')
        with open(path, 'w') as f:
            json.dump(config, f)
        return [self.notary_path(), '-c', path, '-s', server, '-d', trust_dir or self.trust_dir]

    # --- docker trust inspect ------------------------------------------------------------

    def inspect(self, references):
        """``docker trust inspect`` of many references in one call.

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
                                      env=self.env(self.read_view()))
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
