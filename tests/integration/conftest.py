# -*- coding: utf-8 -*-
"""Shared fixtures for the integration tests: the real local stack and the real modules.

Modules run as Ansible runs them (a separate Python process given ANSIBLE_MODULE_ARGS), so
these tests exercise exactly the code a playbook does, without per-task playbook overhead.
Every result is scanned for the passphrases the test used: none may ever appear.
"""

import json
import os
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED_BIN = os.path.join(os.path.dirname(ROOT), 'shared', 'bin')
COLLECTIONS = os.path.join(ROOT, 'build', 'collections')
PYTHON = sys.executable

# Secrets used across tests; any of them in a module result or output fails the test.
ROOT_PASS = 'root-Passphrase-1'
REPO_PASS = 'repo-Passphrase-2'
JEFF_PASS = 'jeff-Passphrase-3'
ALICE_PASS = 'alice-Passphrase-4'
COSIGN_PASS = 'cosign-Passphrase-5'
COSIGN_IMPORT_PASS = 'cosign-Import-Passphrase-6'
ALL_SECRETS = [ROOT_PASS, REPO_PASS, JEFF_PASS, ALICE_PASS, COSIGN_PASS, COSIGN_IMPORT_PASS]


_STACK_ENV = {}


def _stack_env():
    """The stack's settings: the CT_* environment, completed by ``stack.sh env`` (read once)."""
    if _STACK_ENV:
        return dict(_STACK_ENV)
    env = {}
    keys = ['CT_STACK_DIR', 'CT_DOCKER_HOST', 'CT_REGISTRY', 'CT_NOTARY_URL', 'CT_NOTARY_CA', 'CT_NONLOOPBACK_HOST',
            'CT_NOTARY_CLIENT_CERT', 'CT_NOTARY_CLIENT_KEY']
    missing = [k for k in keys if not os.environ.get(k)]
    if missing:
        out = subprocess.run([os.path.join(ROOT, 'tests', 'stack', 'stack.sh'), 'env'],
                             stdout=subprocess.PIPE, check=True).stdout.decode()
        for line in out.splitlines():
            k, v = line.replace('export ', '').split('=', 1)
            env[k] = v
    for k in keys:
        if os.environ.get(k):
            env[k] = os.environ[k]
    _STACK_ENV.update(env)
    return env


def install_publisher_certificate(docker_config, notary_url=None):
    """The stack's publisher client certificate where docker and the modules look for it:
    ``<docker_config>/tls/<notary host:port>/client.cert`` and ``client.key`` (0600).  The
    stack's Notary refuses writes without it; reads need nothing.  Returns the directory."""
    env = _stack_env()
    cert, key = env.get('CT_NOTARY_CLIENT_CERT'), env.get('CT_NOTARY_CLIENT_KEY')
    url = notary_url or env.get('CT_NOTARY_URL')
    if not (cert and key and url and os.path.isfile(cert) and os.path.isfile(key)):
        return None
    tls = os.path.join(docker_config, 'tls', url.split('://', 1)[-1].rstrip('/'))
    os.makedirs(tls, exist_ok=True)
    with open(cert, 'rb') as src, open(os.path.join(tls, 'client.cert'), 'wb') as dst:
        dst.write(src.read())
    fd = os.open(os.path.join(tls, 'client.key'), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(key, 'rb') as src, os.fdopen(fd, 'wb') as dst:
        dst.write(src.read())
    return tls


class Stack(object):
    def __init__(self):
        env = _stack_env()
        self.dir = env['CT_STACK_DIR']
        self.docker_host = env['CT_DOCKER_HOST']
        self.registry = env['CT_REGISTRY']
        self.notary_url = env['CT_NOTARY_URL']
        self.ca = env['CT_NOTARY_CA']
        self.nonloopback_host = env['CT_NONLOOPBACK_HOST']
        # The publisher's client certificate the notary_server role issued: writes need it.
        self.client_cert = env.get('CT_NOTARY_CLIENT_CERT')
        self.client_key = env.get('CT_NOTARY_CLIENT_KEY')
        # The CLI under test: what the modules and roles run (CT_DOCKER_CLI, the test matrix's
        # leg).  The tests' own checks of what the real tools report, and the bare-CLI steps a
        # person would take to set a scenario up, use the reference CLI (28.x, which has
        # docker trust and verifies on pull) whatever the leg.
        self.docker_cli = os.environ.get('CT_DOCKER_CLI', 'docker')
        self.reference_cli = os.environ.get('CT_REFERENCE_DOCKER_CLI', 'docker')
        # The docker-trust CLI plugin, copied into every test's docker config (never /usr/libexec).
        self.trust_plugin = os.environ.get('CT_DOCKER_TRUST_PLUGIN') or None

    @property
    def cli_has_trust(self):
        """Whether the docker CLI under test has ``docker trust`` (built in up to 28.x, or the plugin the
        docker_config fixture installs); without it the modules use the notary CLI instead."""
        if self.trust_plugin:
            return True
        if not hasattr(self, '_cli_has_trust'):
            out = subprocess.run([self.docker_cli, 'trust'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, check=False).stdout.decode()
            self._cli_has_trust = 'docker trust COMMAND' in out and 'unknown command' not in out
        return self._cli_has_trust

    def check(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        try:
            urllib.request.urlopen(self.notary_url + '/_notary_server/health', context=ctx, timeout=5).read()
        except Exception as exc:  # pragma: no cover - setup problem
            pytest.exit('the local trust stack is not running (%s); start it with tests/stack/stack.sh start' % exc, 2)

    def repo(self, prefix='acme'):
        """A fresh repository on the loopback registry (Notary memory storage lives for the session)."""
        return '%s/%s/app-%s' % (self.registry, prefix, uuid.uuid4().hex[:10])

    # --- the Notary server's own view ---------------------------------------------------

    def tuf(self, gun, role):
        """A role's TUF metadata as the Notary server serves it (None if it has none)."""
        ctx = ssl.create_default_context(cafile=self.ca)
        url = '%s/v2/%s/_trust/tuf/%s.json' % (self.notary_url, gun, role)
        try:
            return json.loads(urllib.request.urlopen(url, context=ctx, timeout=10).read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def version(self, gun, role):
        doc = self.tuf(gun, role)
        return doc['signed']['version'] if doc else 0

    def versions(self, gun, roles=('root', 'targets', 'snapshot', 'targets/releases')):
        return dict((r, self.version(gun, r)) for r in roles)

    # --- the real CLIs ------------------------------------------------------------------

    def cli_env(self, docker_config, server=True):
        env = dict(os.environ)
        env['DOCKER_CONFIG'] = docker_config
        env['DOCKER_HOST'] = self.docker_host
        if server:
            env['DOCKER_CONTENT_TRUST_SERVER'] = self.notary_url
        env['DOCKER_BUILDKIT'] = '0'
        for k in list(env):
            if k.endswith('_PASSPHRASE'):
                del env[k]
        return env

    def docker(self, docker_config, *args, **kwargs):
        check = kwargs.pop('check', True)
        env = self.cli_env(docker_config)
        env.update(kwargs.pop('env', {}))
        proc = subprocess.run([kwargs.pop('cli', self.reference_cli)] + list(args), env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=kwargs.pop('timeout', 120),
                              check=False)
        if check and proc.returncode != 0:
            raise AssertionError('docker %s failed: %s %s' % (' '.join(args), proc.stdout.decode(), proc.stderr.decode()))
        return proc

    def inspect(self, docker_config, *refs):
        """What `docker trust inspect` of the reference CLI reports ({} for a ref without trust data)."""
        proc = self.docker(docker_config, 'trust', 'inspect', *refs, check=False, cli=self.reference_cli)
        data = json.loads(proc.stdout.decode() or '[]')
        return dict((e['Name'], e) for e in data)

    def build_image(self, docker_config, tag, content=None):
        """A tiny image FROM scratch (nothing can be pulled here)."""
        d = tempfile.mkdtemp()
        try:
            with open(os.path.join(d, 'payload.txt'), 'w') as f:
                f.write(content or uuid.uuid4().hex)
            with open(os.path.join(d, 'Dockerfile'), 'w') as f:
                f.write('FROM scratch\nCOPY payload.txt /\n')
            self.docker(docker_config, 'build', '-q', '-t', tag, d)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        return tag

    def trusted_pull(self, ref):
        """DOCKER_CONTENT_TRUST=1 docker pull from a clean docker config; returns the process."""
        clean = tempfile.mkdtemp(prefix='clean-config-')
        try:
            # Pull through the content trust of the 28.x CLI (20.10's would do as well).
            return self.docker(clean, 'pull', ref, check=False, env={'DOCKER_CONTENT_TRUST': '1'},
                               cli=self.reference_cli)
        finally:
            shutil.rmtree(clean, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line('markers', 'cli_matrix: the representative subset (runbook, a release, a revoke, a '
                                       'verify) that also runs on docker 20.10 and on 29.x with the docker-trust plugin')
    config.addinivalue_line('markers', 'cli_independent: a test, in a file that otherwise runs on every CLI, that never '
                                       'runs the docker CLI under test: it runs in the reference leg only')


# Test files whose modules and roles never run the docker CLI under test (cosign and notation modules,
# the notary_server role, the installed tarball's playbooks with the default CLI), or that run every
# consumer CLI themselves (trust_pull: CLI 28, 29 and none): they run in the reference leg only, and
# the other legs of the CLI matrix skip them, saying so.
# Pinned repositories are read with the notary CLI whatever the docker CLI (test_pinned_roots.py runs the attack on
# every consumer CLI itself, as test_signer_keys.py does), cosign and Notation's tag binding never involves the docker
# CLI, and test_notary_auth.py runs each publishing CLI itself. test_release_signers.py checks how two signers' runs
# merge into one release report, which the docker CLI has no part in. trust_key never runs docker or notary; bad input
# (test_bad_inputs.py, test_fuzz_inputs.py) is refused by the option checks before any CLI runs, whichever it is. The
# containers policy runs podman and skopeo; the tool installs run no docker.
# The three-format playbooks sign cosign and Notation without the docker CLI and Notary through the paths
# test_playbooks.py covers on every CLI; test_names.py checks names and documentation; staging targets is the notary
# CLI's changelist alone. The pty layer's tests (test_cli_pty.py) run the reference CLI; test_cli_versions.py and
# test_signing_host_plugin.py run CLI 28 and CLI 29 themselves; the guide (test_after_notary_v1.py) runs its
# playbooks with the docker on PATH, as a reader would. Single tests of the other files that never run the CLI under
# test are marked cli_independent. Which tests run it was measured: the CLI 29 leg run with a CT_DOCKER_CLI that
# logs each call with PYTEST_CURRENT_TEST (the files and tests named here had none).
CLI_INDEPENDENT = ('test_cosign.py', 'test_notation.py', 'test_notary_server.py', 'test_notary_auth.py',
                   'test_installed.py', 'test_trust_pull.py', 'test_trust_pull_formats.py', 'test_trusted_consumer.py',
                   'test_pinned_roots.py', 'test_signer_keys.py', 'test_tag_binding.py', 'test_error_contract.py',
                   'test_oci_revoke.py', 'test_release_signers.py', 'test_revoked_images.py',
                   'test_containers_policy.py', 'test_tool_install.py', 'test_trust_key.py', 'test_bad_inputs.py',
                   'test_fuzz_inputs.py', 'test_ssh_become.py', 'test_formats_playbooks.py', 'test_names.py',
                   'test_stage_targets.py', 'test_cli_pty.py', 'test_cli_versions.py', 'test_signing_host_plugin.py',
                   'test_after_notary_v1.py')


# `make integration` runs two lanes side by side; to even them out, these files of CLI_INDEPENDENT run with the
# reference CLI in a leg of lane B (CT_INDEPENDENT_SET=b: only them) instead of in lane A's reference leg
# (CT_INDEPENDENT_SET=a: all but them). Without CT_INDEPENDENT_SET (pytest by hand) everything runs.
LANE_B_INDEPENDENT = ('test_cosign.py', 'test_notation.py', 'test_error_contract.py', 'test_notary_server.py',
                      'test_oci_revoke.py', 'test_ssh_become.py', 'test_containers_policy.py', 'test_tool_install.py',
                      'test_trust_pull.py', 'test_release_signers.py', 'test_names.py')


def _select_independent_set(config, items):
    wanted = os.environ.get('CT_INDEPENDENT_SET')
    if wanted not in ('a', 'b'):
        return
    in_b = [os.path.basename(str(item.fspath)) in LANE_B_INDEPENDENT for item in items]
    keep = [item for item, b in zip(items, in_b) if b == (wanted == 'b')]
    dropped = [item for item, b in zip(items, in_b) if b != (wanted == 'b')]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_collection_modifyitems(config, items):
    _select_independent_set(config, items)
    cli = os.environ.get('CT_DOCKER_CLI')
    if cli:
        independent = pytest.mark.skip(reason='does not use the docker CLI under test (%s): runs in the leg of the '
                                              'reference CLI only' % cli)
        for item in items:
            if os.path.basename(str(item.fspath)) in CLI_INDEPENDENT or item.get_closest_marker('cli_independent'):
                item.add_marker(independent)
    # A leg of the CLI matrix whose docker CLI is absent (no ../shared/bin here) is skipped, saying so.
    plugin = os.environ.get('CT_DOCKER_TRUST_PLUGIN')
    missing = [p for p in (cli, plugin) if p and os.path.sep in p and not os.access(p, os.X_OK)]
    if missing:
        skip = pytest.mark.skip(reason='CLI matrix leg skipped: %s not found (the docker CLI 29 binaries are '
                                       'expected in %s)' % (', '.join(missing), SHARED_BIN))
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope='session')
def stack():
    s = Stack()
    s.check()
    return s


def assert_trust_modes(docker_config):
    """Trust directories 0700 and private key files 0600, whoever wrote them."""
    trust = os.path.join(docker_config, 'trust')
    if not os.path.isdir(trust):
        return
    bad = []
    for dirpath, dirnames, filenames in os.walk(trust):
        if stat.S_IMODE(os.stat(dirpath).st_mode) & 0o077:
            bad.append('%s %o' % (dirpath, stat.S_IMODE(os.stat(dirpath).st_mode)))
        for fn in filenames:
            path = os.path.join(dirpath, fn)
            if fn.endswith('.key') and stat.S_IMODE(os.stat(path).st_mode) != 0o600:
                bad.append('%s %o' % (path, stat.S_IMODE(os.stat(path).st_mode)))
    assert not bad, 'trust store permissions too open: %s' % bad


@pytest.fixture
def docker_config(tmp_path):
    d = tmp_path / 'docker-config'
    d.mkdir(mode=0o700)
    plugin = os.environ.get('CT_DOCKER_TRUST_PLUGIN')
    if plugin:
        (d / 'cli-plugins').mkdir()
        with open(plugin, 'rb') as src, open(str(d / 'cli-plugins' / 'docker-trust'), 'wb') as dst:
            dst.write(src.read())
        os.chmod(str(d / 'cli-plugins' / 'docker-trust'), 0o755)
    # Every test publishes as a publisher of the stack's Notary (its front refuses anonymous writes).
    install_publisher_certificate(str(d))
    yield str(d)
    assert_trust_modes(str(d))


def proc_pids():
    """The IDs of the processes running now."""
    return set(pid for pid in os.listdir('/proc') if pid.isdigit())


def proc_cmdlines(pids=None):
    """``(pid, raw argv bytes)`` of every process (or of those of ``pids``) that can be read right now."""
    for pid in proc_pids() if pids is None else pids:
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                yield pid, f.read()
        except (IOError, OSError):
            continue


class ArgvWatch(object):
    """Samples every process's argv while the tests run: no passphrase may ever be there.

    Every ``interval`` the argv of each process that was not there the sample before is read (a process is seen
    once it has exec'd: fork and exec are microseconds apart); every ``rescan`` samples, every process's argv is
    read again, for a process that exec'd in place.  Reading every argv each time cost the test run three per cent
    of a core."""

    def __init__(self, secrets, interval=0.05, rescan=4):
        self.secrets = secrets
        self.interval = interval
        self.rescan = rescan
        self.seen = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _check(self, argv):
        argv = argv.decode('utf-8', 'replace')
        for secret in self.secrets:
            if secret in argv:
                self.seen.append(argv.replace('\0', ' ')[:200].replace(secret, '<SECRET>'))

    def _run(self):
        known = set()
        while not self._stop.is_set():
            pids = proc_pids()
            for dummy, argv in proc_cmdlines(pids if self.samples % self.rescan == 0 else pids - known):
                self._check(argv)
            known = pids
            self.samples += 1
            time.sleep(self.interval)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(5)


@pytest.fixture(scope='session', autouse=True)
def no_passphrase_in_argv():
    canaries = ['argv-watch-canary-new-%d' % os.getpid(), 'argv-watch-canary-exec-%d' % os.getpid()]
    watch = ArgvWatch(ALL_SECRETS + ['import-Passphrase', 'wrong-Passphrase', 'right-Passphrase'] + canaries)
    watch.start()
    # The watch sees a new process's argv, and the argv of a process that exec'd in place after it was first seen
    # (the second canary is in the environment, not the argv, until the exec).
    subprocess.run(['sh', '-c', 'sleep 0.3; true', canaries[0]], check=True, timeout=30)
    subprocess.run(['sh', '-c', 'sleep 0.3; exec sh -c "sleep 0.5; true" "$CANARY"'], check=True, timeout=30,
                   env=dict(os.environ, CANARY=canaries[1]))
    assert [a for a in watch.seen if a.startswith('sh -c sleep 0.3; true <SECRET>')], 'the argv watch missed a new process'
    assert [a for a in watch.seen if a.startswith('sh -c sleep 0.5; true <SECRET>')], \
        'the argv watch missed a process that exec\'d in place: %s' % watch.seen
    del watch.seen[:]
    yield watch
    watch.stop()
    assert watch.samples > 0
    assert not watch.seen, 'a passphrase was visible in a process argv: %s' % watch.seen[:3]


class ModuleResult(dict):
    @property
    def failed(self):
        return bool(self.get('failed'))


def start_module(name, args):
    """Start a collection module as Ansible does (its own Python process, arguments in a 0600
    file); returns the process and the file, which the caller removes."""
    fd, path = tempfile.mkstemp(suffix='.json')
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
    argv = [PYTHON, '-m', 'ansible_collections.openbanking.content_trust.plugins.modules.' + name, path]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=COLLECTIONS)), path


def run_module(name, args, check_mode=False, diff=False, secrets=None, timeout=300):
    """Run a collection module as Ansible does and return its parsed result."""
    secrets = ALL_SECRETS if secrets is None else secrets
    proc, path = start_module(name, dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff))
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        os.unlink(path)
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    out = proc.stdout.decode()
    for secret in secrets:
        assert secret not in out, 'a passphrase appeared in the result of %s' % name
        assert secret not in proc.stderr.decode(), 'a passphrase appeared on stderr of %s' % name
    try:
        result = json.loads(out[out.index('{'):])
    except ValueError:
        raise AssertionError('module %s printed no JSON result: %s %s' % (name, out, proc.stderr.decode()))
    # A crash is never a pass, whatever the test expects: no traceback anywhere in what the module printed, no
    # exception in its result, and no "unexpected error" (what _module.run calls a bug).
    stderr = proc.stderr.decode()
    assert 'Traceback' not in out and 'Traceback' not in stderr and 'exception' not in result \
        and 'unexpected error' not in str(result.get('msg', '')), 'module %s crashed: %s %s %s' % (name, result.get('exception'), result, stderr)
    return ModuleResult(result)


def common(stack, docker_config, **kwargs):
    """The common options pointing at the local stack."""
    args = dict(docker_config=docker_config, docker_host=stack.docker_host, server=stack.notary_url,
                docker_cli=stack.docker_cli, timeout=60)
    args.update(kwargs)
    return args
