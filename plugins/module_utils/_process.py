# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: running docker and notary safely (process running).

Not a public API; it may change without notice.

Every call has a timeout.  Passphrases never go into argv or the environment: commands
that may ask for one run on a pty (pexpect) and each prompt is answered from the secret
that belongs to it, matched on docker's and notary's prompt text.  The first
``Passphrase incorrect`` ends the call with an error naming the key.  Output is scrubbed of
every secret the call knows (``scrub``) and reduced to the lines that explain a failure
(``failure_lines``).  SIGTERM, SIGHUP and SIGINT become ``Terminated`` (``handle_termination``), so
the run unwinds and its views go.

``Runner`` is the part of ``_cli.TrustCLI`` that runs commands (``run``, ``run_split``, ``run_pty``); it
needs ``env()``, ``timeout``, ``server`` and ``server_for`` of the client it is part of.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import signal
import subprocess
import time

from importlib.util import find_spec

# pexpect is imported where a pty is needed, not at import: the modules that never run one do not load it.
HAS_PEXPECT = find_spec('pexpect') is not None
PEXPECT_IMPORT_ERROR = None if HAS_PEXPECT else ImportError('No module named pexpect')

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import CommandTimeout, TrustError, WrongPassphrase, explain
from ansible_collections.openbanking.content_trust.plugins.module_utils._passphrases import MIN_NEW_PASSPHRASE


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


_SPAWN = []


def _spawn_class(pexpect):
    """pexpect.spawn that hands extra inherited file descriptors (``pass_fds``) to the child."""
    if not _SPAWN:
        import ptyprocess

        class Spawn(pexpect.spawn):
            def __init__(self, *args, **kwargs):
                self.pass_fds = tuple(kwargs.pop('pass_fds', ()))
                super(Spawn, self).__init__(*args, **kwargs)

            def _spawnpty(self, args, **kwargs):
                kwargs['pass_fds'] = self.pass_fds
                return ptyprocess.PtyProcess.spawn(args, **kwargs)
        _SPAWN.append(Spawn)
    return _SPAWN[0]


# Tool processes of one run at the same time (cosign, notation, pulls): they wait mostly on the registry and on
# their own start-up, so a few more than the cores pay; more would only queue on a small machine.
PARALLEL = max(2, min(4, 2 * (os.cpu_count() or 1)))


def run_parallel(func, items, limit=PARALLEL):
    """``[func(item) for item in items]``, up to ``limit`` at a time in threads (each call runs a process and
    waits on it); the first exception raised, in the order of ``items``, is raised after every call ended."""
    items = list(items)
    if len(items) < 2 or limit < 2:
        return [func(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=min(limit, len(items))) as pool:
        futures = [pool.submit(func, item) for item in items]
    return [f.result() for f in futures]


class Runner(object):
    """Running commands for ``_cli.TrustCLI``: with a timeout, stdin closed or on a pty, output scrubbed."""

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

    def stop_children(self):
        """Stop any CLI of this run still running on a pty."""
        while self._children:
            child = self._children.pop()
            try:
                if child.isalive():
                    child.close(force=True)
            except Exception:  # pragma: no cover - best effort
                pass

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

    def dialog(self, argv, patterns, answer, env=None, timeout=None, pass_fds=(), known=(), on_timeout=None):
        """The one pty runner: run ``argv`` on a pty until it ends, answering what it asks.

        Each time the output matches one of ``patterns`` (compiled regexes), ``answer(index, match, output)``
        returns the line to type (it may append to ``output``, the list of output pieces, or raise a TrustError,
        which stops the command).  ``pass_fds``: file descriptors the command inherits (a pipe that carries a key
        that must never rest on disk decrypted).  Returns ``(rc, output scrubbed of known)``; a command not done
        within ``timeout`` is killed and ``on_timeout(output so far)`` is raised (by default CommandTimeout).
        The commands of a run may be started from several threads (``run_parallel``)."""
        if not HAS_PEXPECT:
            raise TrustError('the Python library pexpect is required on the signing host: %s' % PEXPECT_IMPORT_ERROR)
        import pexpect
        timeout = timeout or self.timeout
        deadline = time.time() + timeout
        # echo=False: the pty never echoes what we type, even before the program turns echo off for its prompt.
        child = _spawn_class(pexpect)(argv[0], argv[1:], env=env or self.env(), encoding='utf-8',
                                      codec_errors='replace', echo=False, timeout=timeout, dimensions=(24, 500),
                                      pass_fds=pass_fds)
        # pexpect sleeps 50 ms before each answer (for a pty that echoes: this one does not) and ptyprocess 100 ms
        # on close (its own attribute: pexpect's of the same name is never used); with a process per signature they
        # add up (0.1 s of every 0.37 s cosign sign).  After EOF the child is waited for, so close never has to
        # signal a process that is still exiting.
        child.delaybeforesend = None
        child.ptyproc.delayafterclose = 0
        self._children.append(child)
        output = []
        patterns = list(patterns) + [pexpect.EOF]
        try:
            while True:
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise pexpect.TIMEOUT('deadline')
                idx = child.expect(patterns, timeout=remaining)
                output.append(child.before or '')
                if idx == len(patterns) - 1:
                    break
                child.sendline(answer(idx, child.match, output))
        except pexpect.TIMEOUT:
            child.close(force=True)
            so_far = scrub(''.join(output), known)
            if on_timeout:
                raise on_timeout(so_far)
            raise CommandTimeout(self._timeout_message(describe_command(argv, None), timeout),
                                 output=failure_lines(so_far))
        except TrustError as exc:
            child.close(force=True)
            exc.output = scrub(''.join(output), known)
            raise
        if child.isalive():
            child.wait()
        child.close()
        rc = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
        return rc, scrub(''.join(output), known)

    def run_pty(self, argv, secrets, env=None, timeout=None, what=None):
        """Run docker or notary on a pty, answering passphrase prompts from ``secrets`` (``dialog``).

        A ``[y/N]`` question fails the run: nothing the collection runs should ask one.
        Returns the scrubbed output; raises TrustError on failure.
        """
        timeout = timeout or self.timeout
        what = what or ' '.join(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv[:3]))
        last_key = []

        def answer(idx, m, output):
            if idx in (0, 6):
                if idx == 0:
                    label, key_id = m.group('label'), m.group('id')
                    last_key[:] = [(label, key_id)]
                else:
                    label = m.group('label')
                    last_key[:] = [(label, 'from the key file')]
                secret, option = secrets.for_label(label)
                if not secret and idx == 0:
                    raise TrustError('%s needs the passphrase of the %s%s and none was given (set %s)'
                                     % (what, 'new ' if m.group('new') else '', describe_key(label, key_id), option))
                if not secret:
                    raise TrustError('%s needs the passphrase of a %s key file and none was given (set %s)'
                                     % (what, label, option))
                if idx == 0 and m.group('new') and len(secret) < MIN_NEW_PASSPHRASE:
                    raise TrustError('%s must be at least %d characters to protect the new %s'
                                     % (option, MIN_NEW_PASSPHRASE, describe_key(label, key_id)))
                output.append(m.group(0).rstrip() + '\n')
                return secret
            if idx == 1:
                raise TrustError('%s asked for the passphrase of an encrypted key it was given' % what)
            if idx == 2:
                if last_key:
                    raise WrongPassphrase('passphrase incorrect for the %s (%s stopped at its first retry prompt)'
                                          % (describe_key(*last_key[0]), what))
                raise WrongPassphrase('passphrase incorrect (%s)' % what)
            if idx == 3:
                raise TrustError('%s: the passphrases given for the new %s do not match'
                                 % (what, describe_key(*last_key[0]) if last_key else 'key'))
            if idx == 4:
                raise TrustError('%s asked for registry credentials; log in first with "docker login" '
                                 'using the same docker_config' % what)
            raise TrustError('%s asked an unexpected question: %s' % (what, (output[-1] if output else '').strip()[-200:]))

        def on_timeout(so_far):
            server = self._server_of(argv)
            return CommandTimeout(self._timeout_message('%s (Notary server %s)' % (what, server)
                                                        if server and 'Notary server' not in what else what, timeout),
                                  output=failure_lines(so_far))
        known = secrets.values()
        rc, out = self.dialog(argv, [PROMPT_RE, ENCRYPTED_PROMPT_RE, INCORRECT_RE, MISMATCH_RE, USERNAME_RE,
                                     CONFIRM_RE, NAMELESS_PROMPT_RE],
                              answer, env=env, timeout=timeout, known=known, on_timeout=on_timeout)
        if rc != 0:
            raise explain(out, what, rc=rc, cmd=argv[:3])
        return out
