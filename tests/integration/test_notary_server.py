# -*- coding: utf-8 -*-
"""The notary_server role, run for real: ansible-playbook against localhost, then the
notary-server and notary-signer binaries started from the configuration it rendered,
and docker and notary signing a tag through them.

No systemd runs on the test machines, so the role runs with service_manager none and the
tests start the processes themselves, with the environment files the units would read.
PostgreSQL is a throw-away cluster made here (initdb in a temporary directory, its own
port). Nothing here needs the local trust stack or a docker daemon.
"""

import base64
import datetime
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, 'build', 'venv', 'bin')
COLLECTIONS = os.path.join(ROOT, 'build', 'collections')
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'notary_server.yml')

# The name in the server certificate; docker and Python reach the server on 127.0.0.1.
HOSTNAME = 'notary.content-trust.test'
# Ports of our own (others use 4443, 4601-4604, 5000, 5201-5204).
MEMORY_PORTS = (4701, 7901)
POSTGRES_PORTS = (4702, 7902)
LOCAL_PORT = 4703
PG_PORT = 55432

# Secrets with every character that must be escaped somewhere: in a URL, a pgpass line,
# SQL, a systemd environment file.
SERVER_DB_PASS = 'srv:pa/ss@w\'o"rd$`\\1'
SIGNER_DB_PASS = 'sig:pa/ss@w\'o"rd$`\\2'
SIGNER_KEY_PASS = 'key "pass$phrase`\\ 3'
PG_ADMIN_PASS = 'admin-Pass:4'
ROOT_PASS = 'root-Passphrase-1'
REPO_PASS = 'repo-Passphrase-2'
SECRETS = [SERVER_DB_PASS, SIGNER_DB_PASS, SIGNER_KEY_PASS, PG_ADMIN_PASS]


# --- running the role ---------------------------------------------------------------------

def _ensure_collection_path():
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'openbanking', 'content_trust')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)


def _base_vars(workdir, server_port, signer_port):
    return {
        'content_trust_install_packages': False,
        'content_trust_notary_create_user': False,
        'content_trust_notary_user': 'root',
        'content_trust_notary_group': 'root',
        'content_trust_notary_service_manager': 'none',
        'content_trust_notary_config_dir': os.path.join(workdir, 'etc', 'notary'),
        'content_trust_notary_ca_fetch_dest': os.path.join(workdir, 'controller', 'notary-ca.crt'),
        'content_trust_notary_listen': '127.0.0.1:%d' % server_port,
        'content_trust_notary_signer_listen': '127.0.0.1:%d' % signer_port,
        # These tests start notary-server itself and talk to it directly; the front that guards its
        # writes (content_trust_notary_auth mtls, the default) has tests of its own (test_notary_auth.py,
        # and the stack runs it).
        'content_trust_notary_auth': 'none',
        'content_trust_notary_allow_anonymous_writes': True,
    }


class RoleRun(object):
    def __init__(self, proc, seconds):
        self.rc = proc.returncode
        self.output = proc.stdout.decode()
        self.seconds = seconds
        m = re.search(r'^%s\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)' % re.escape(HOSTNAME),
                      self.output, re.M)
        self.recap = dict(zip(('ok', 'changed', 'unreachable', 'failed'), map(int, m.groups()))) if m else None


def run_role(workdir, role_vars, check=False, fail=False):
    """ansible-playbook playbooks/notary_server.yml against this machine; returns a RoleRun.

    With ``fail``, the run must fail (and still print no secret)."""
    _ensure_collection_path()
    inventory = os.path.join(workdir, 'inventory.ini')
    with open(inventory, 'w') as f:
        f.write('[notary_servers]\n%s ansible_connection=local ansible_python_interpreter=%s\n'
                % (HOSTNAME, os.path.join(BIN, 'python')))
    varsfile = os.path.join(workdir, 'vars.json')
    fd = os.open(varsfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(role_vars, f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_PIPELINING='1', ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_FORCE_COLOR='0')
    argv = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, '-e', '@' + varsfile, PLAYBOOK]
    if check:
        argv.append('--check')
    start = time.time()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False)
    run = RoleRun(proc, time.time() - start)
    for secret in SECRETS:
        # As it is, as Ansible prints it in JSON, and as it appears in a database URL.
        for form in (secret, json.dumps(secret)[1:-1], urllib.parse.quote(secret, safe='')):
            assert form not in run.output, 'a secret appeared in the ansible-playbook output'
    if fail:
        assert run.rc != 0 and run.recap and run.recap['failed'] == 1, 'the role did not fail:\n' + run.output[-6000:]
        return run
    assert run.rc == 0 and run.recap, 'the role failed:\n' + run.output[-6000:]
    assert run.recap['failed'] == 0
    return run


def file_bytes(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), 'rb') as f:
            out[name] = f.read()
    return out


def read_env_file(path):
    """NAME="value" lines as systemd reads them (\\ " ` $ escaped inside double quotes)."""
    env = {}
    with open(path) as f:
        for line in f:
            m = re.match(r'^([A-Z0-9_]+)="((?:[^"\\]|\\.)*)"\s*$', line)
            if m:
                env[m.group(1)] = re.sub(r'\\([\\"`$])', r'\1', m.group(2))
    return env


# --- the services, as the systemd units would run them -------------------------------------

def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_port(port, proc, logfile, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            raise AssertionError('process exited (%s): %s' % (proc.returncode, open(logfile).read()))
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError('port %d not listening after %ds: %s' % (port, seconds, open(logfile).read()))


class Notary(object):
    """notary-signer (if configured) and notary-server from a rendered configuration directory."""

    def __init__(self, config_dir, server_port, signer_port=None):
        self.config_dir = config_dir
        self.server_port = server_port
        self.signer_port = signer_port
        self.ca = os.path.join(config_dir, 'ca.crt')
        self.url = 'https://127.0.0.1:%d' % server_port
        self.procs = []

    def _spawn(self, name):
        env = dict(os.environ)
        env.update(read_env_file(os.path.join(self.config_dir, '%s.env' % name)))
        logfile = os.path.join(os.path.dirname(self.config_dir), '%s.log' % name)
        log = open(logfile, 'ab')
        proc = subprocess.Popen(['notary-%s' % name, '-config', os.path.join(self.config_dir, '%s.json' % name)],
                                cwd='/', env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc, logfile

    def start(self):
        for port in (self.server_port, self.signer_port):
            if port and not port_free(port):
                pytest.fail('port %d is taken; the notary_server tests need it' % port)
        if self.signer_port:
            # The server checks the signer as soon as it starts; an early failure would leave
            # its health red for the next 10 seconds.
            proc, logfile = self._spawn('signer')
            wait_port(self.signer_port, proc, logfile)
        proc, logfile = self._spawn('server')
        self.wait_healthy(proc, logfile)

    def health(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(self.url + '/_notary_server/health', context=ctx, timeout=5) as resp:
            return resp.status, resp.read()

    def wait_healthy(self, proc, logfile, seconds=40):
        end = time.time() + seconds
        last = None
        while time.time() < end:
            if proc.poll() is not None:
                raise AssertionError('notary-server exited (%s): %s' % (proc.returncode, open(logfile).read()))
            try:
                status, body = self.health()
                if status == 200:
                    return
            except Exception as exc:  # not up yet, or unhealthy (503)
                last = exc
            time.sleep(0.2)
        raise AssertionError('notary-server not healthy after %ds (%s): %s' % (seconds, last, open(logfile).read()))

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []


# --- docker and notary, the clients ---------------------------------------------------------

def have_clients():
    if not shutil.which('docker') or not shutil.which('notary'):
        return False
    return subprocess.run(['docker', 'trust', '--help'], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


class Signer(object):
    """A signing host: its docker config (with the Notary CA installed as docker wants it) and alice's key."""

    def __init__(self, workdir, notary):
        self.notary = notary
        self.dir = tempfile.mkdtemp(prefix='signer-', dir=workdir)
        self.docker_config = os.path.join(self.dir, 'docker-config')
        os.mkdir(self.docker_config, 0o700)
        tls = os.path.join(self.docker_config, 'tls', '127.0.0.1:%d' % notary.server_port)
        os.makedirs(tls)
        shutil.copy(notary.ca, os.path.join(tls, 'ca.crt'))

    def env(self, docker_config=None, **extra):
        env = dict((k, v) for k, v in os.environ.items() if not k.endswith('_PASSPHRASE'))
        # No daemon: signer add, key generate and inspect talk only to the Notary server.
        env.update(DOCKER_CONFIG=docker_config or self.docker_config, DOCKER_HOST='unix:///nonexistent/docker.sock',
                   DOCKER_CONTENT_TRUST_SERVER=self.notary.url)
        env.update(extra)
        return env

    def run(self, argv, env, check=True):
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120, check=False)
        if check and proc.returncode != 0:
            raise AssertionError('%s failed: %s %s' % (' '.join(argv), proc.stdout.decode(), proc.stderr.decode()))
        return proc

    def add_signer(self, gun, name='alice'):
        """docker trust key generate + docker trust signer add (initializes the repository)."""
        keys = os.path.join(self.dir, 'keys')
        os.makedirs(keys, exist_ok=True)
        # docker takes the passphrases from its environment variables (the repository one
        # also for a new signer key), so no terminal is needed.
        env = self.env(DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=ROOT_PASS, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=REPO_PASS)
        if not os.path.exists(os.path.join(keys, name + '.pub')):
            self.run(['docker', 'trust', 'key', 'generate', name, '--dir', keys], env)
        self.run(['docker', 'trust', 'signer', 'add', '--key', os.path.join(keys, name + '.pub'), name, gun], env)

    def sign(self, gun, tag, content, name='alice'):
        """A made-up manifest digest for TAG, signed as NAME into targets/NAME and targets/releases."""
        digest = hashlib.sha256(content).hexdigest()
        self.run(['notary', '-d', os.path.join(self.docker_config, 'trust'), '-s', self.notary.url,
                  '--tlscacert', self.notary.ca, 'addhash', gun, tag, str(len(content)), '--sha256', digest,
                  '-r', 'targets/%s,targets/releases' % name, '-p'],
                 self.env(NOTARY_DELEGATION_PASSPHRASE=REPO_PASS))
        return digest

    def inspect_process(self, *refs, **kwargs):
        """docker [-D] trust inspect REFS, as a finished process."""
        return self.run(['docker'] + (['-D'] if kwargs.get('debug') else []) + ['trust', 'inspect'] + list(refs),
                        self.env(kwargs.get('docker_config')), check=False)

    def inspect(self, *refs):
        """What docker trust inspect reports, by reference."""
        proc = self.inspect_process(*refs)
        return dict((e['Name'], e) for e in json.loads(proc.stdout.decode() or '[]'))


def signed_tags(entry):
    return dict((t['SignedTag'], t) for t in entry['SignedTags'])


def sign_and_verify(workdir, notary):
    """Initialize a repository, add signer alice, sign v1; docker trust inspect must show it."""
    if not have_clients():
        pytest.skip('docker (with docker trust) and the notary CLI are needed to sign')
    signer = Signer(workdir, notary)
    # A registry name that is not loopback: docker then verifies the Notary certificate
    # against the CA in <docker_config>/tls/<host:port>/ca.crt, as for a real registry.
    gun = 'registry.content-trust.test/acme/app-%s' % uuid.uuid4().hex[:8]
    signer.add_signer(gun)
    digest = signer.sign(gun, 'v1', b'manifest of v1 ' + gun.encode())
    entry = signer.inspect(gun + ':v1')[gun + ':v1']
    assert signed_tags(entry)['v1']['Digest'] == digest
    assert signed_tags(entry)['v1']['Signers'] == ['alice']
    assert [s['Name'] for s in entry['Signers']] == ['alice']
    return signer, gun, digest


# --- the TLS endpoints ------------------------------------------------------------------------

H2_PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + b'\x00\x00\x00\x04\x00\x00\x00\x00\x00'


def grpc_probe(port, ca, cert=None, key=None, hostname='127.0.0.1'):
    """TLS to the signer's gRPC port, then the HTTP/2 preface; 'ok' when the signer answers with a frame."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(['h2'])
    if cert:
        ctx.load_cert_chain(cert, key)
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=hostname) as tls:
                # With TLS 1.3 the server judges the client certificate after the client's
                # handshake is done: the refusal arrives as an alert on the first read.
                tls.sendall(H2_PREFACE)
                data = tls.recv(9)
                return 'ok' if len(data) == 9 and data[3:4] == b'\x04' else 'closed %r' % data
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as exc:
        return 'refused: %s' % exc


def foreign_client_certificate(directory):
    """A client certificate from a CA the signer does not trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'intruder')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, 'intruder.crt'), os.path.join(directory, 'intruder.key')
    with open(cert_path, 'wb') as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


# --- memory storage, remote signer --------------------------------------------------------------

@pytest.fixture(scope='module')
def memory_notary(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp('notary-memory'))
    role_vars = dict(_base_vars(workdir, *MEMORY_PORTS), content_trust_notary_storage='memory',
                     content_trust_notary_hostname=HOSTNAME)
    first = run_role(workdir, role_vars)
    config_dir = role_vars['content_trust_notary_config_dir']
    files_after_first = file_bytes(config_dir)
    second = run_role(workdir, role_vars)
    notary = Notary(config_dir, *MEMORY_PORTS)
    notary.start()
    yield dict(workdir=workdir, vars=role_vars, config_dir=config_dir, first=first, second=second,
               files_after_first=files_after_first, notary=notary)
    notary.stop()


def test_second_run_changes_nothing_and_keeps_every_key_and_certificate(memory_notary):
    assert memory_notary['first'].recap['changed'] > 0
    assert memory_notary['second'].recap['changed'] == 0, memory_notary['second'].output[-4000:]
    assert file_bytes(memory_notary['config_dir']) == memory_notary['files_after_first']


def test_rendered_files_modes_and_fetched_ca(memory_notary):
    d = memory_notary['config_dir']
    assert sorted(os.listdir(d)) == sorted([
        'ca.crt', 'ca.key', 'server.crt', 'server.key', 'signer.crt', 'signer.key', 'signer-client.crt',
        'signer-client.key', 'server.json', 'signer.json', 'server.env', 'signer.env'])
    assert os.stat(d).st_mode & 0o777 == 0o750
    for name in os.listdir(d):
        mode = os.stat(os.path.join(d, name)).st_mode & 0o777
        if name.endswith(('.key', '.env')):
            assert mode == 0o600, name
        else:
            assert mode & 0o077 in (0o044, 0o040), name  # no write for group/others
    with open(os.path.join(d, 'ca.crt'), 'rb') as f, open(memory_notary['vars']['content_trust_notary_ca_fetch_dest'], 'rb') as g:
        assert f.read() == g.read()
    with open(os.path.join(d, 'server.json')) as f:
        server = json.load(f)
    assert server['trust_service']['type'] == 'remote'
    assert server['trust_service']['hostname'] == '127.0.0.1'
    assert server['storage'] == {'backend': 'memory'}


def test_server_certificate_verifies_against_the_ca_for_the_hostname(memory_notary):
    notary = memory_notary['notary']
    ctx = ssl.create_default_context(cafile=notary.ca)
    with socket.create_connection(('127.0.0.1', notary.server_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOSTNAME) as tls:
            names = [v for k, v in tls.getpeercert()['subjectAltName']]
    assert HOSTNAME in names and '127.0.0.1' in names
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(('127.0.0.1', notary.server_port), timeout=5) as raw:
            ctx.wrap_socket(raw, server_hostname='other.content-trust.test')
    # ...and against nothing else: the system CAs do not know it.
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(('127.0.0.1', notary.server_port), timeout=5) as raw:
            ssl.create_default_context().wrap_socket(raw, server_hostname=HOSTNAME)


def test_signer_refuses_clients_without_a_certificate_from_the_ca(memory_notary):
    notary, d = memory_notary['notary'], memory_notary['config_dir']
    port = notary.signer_port
    assert grpc_probe(port, notary.ca).startswith('refused'), 'signer accepted a client without a certificate'
    intruder = foreign_client_certificate(memory_notary['workdir'])
    assert grpc_probe(port, notary.ca, *intruder).startswith('refused'), 'signer accepted a foreign certificate'
    # The server's own certificate is for serverAuth only: not a client certificate.
    assert grpc_probe(port, notary.ca, os.path.join(d, 'server.crt'), os.path.join(d, 'server.key')).startswith('refused')
    assert grpc_probe(port, notary.ca, os.path.join(d, 'signer-client.crt'), os.path.join(d, 'signer-client.key')) == 'ok'


def test_memory_storage_signs_and_docker_trust_inspect_shows_the_tag(memory_notary):
    notary = memory_notary['notary']
    signer, gun, digest = sign_and_verify(memory_notary['workdir'], notary)
    # A signing host without the CA cannot talk to the server at all.
    bare = os.path.join(signer.dir, 'bare-config')
    os.mkdir(bare, 0o700)
    proc = signer.inspect_process(gun + ':v1', docker_config=bare, debug=True)
    assert proc.returncode != 0 and json.loads(proc.stdout.decode() or '[]') == []
    assert 'certificate signed by unknown authority' in proc.stderr.decode()


# --- PostgreSQL storage, remote signer ------------------------------------------------------------

def pg_bin():
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    if not found:
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        subprocess.run(['apt-get', 'update', '-qq'], env=env, check=True, timeout=300)
        subprocess.run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'postgresql'],
                       env=env, check=True, timeout=600)
        found = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    return os.path.dirname(found[-1])


PKI_SCRIPT = os.path.join(ROOT, 'roles', 'notary_server', 'files', 'notary_pki.py')


def issue_with_role_pki(directory, common_name, names, key_owner='root'):
    """A CA and a server certificate for ``names``, made by the role's own PKI script."""
    spec = {'ca_cert': os.path.join(directory, 'ca.crt'), 'ca_key': os.path.join(directory, 'ca.key'),
            'ca_common_name': 'Database CA %s' % uuid.uuid4().hex[:6],
            'certificates': [{'cert': os.path.join(directory, 'server.crt'), 'key': os.path.join(directory, 'server.key'),
                              'common_name': common_name, 'names': names, 'usage': 'server', 'key_owner': key_owner,
                              'key_group': key_owner}]}
    proc = subprocess.run([os.path.join(BIN, 'python'), PKI_SCRIPT,
                           base64.b64encode(json.dumps(spec).encode()).decode()],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout.decode()
    with open(spec['ca_cert']) as f:
        return f.read()


class Postgres(object):
    """A throw-away cluster on 127.0.0.1:PG_PORT, owned by the postgres user, password logins only,
    and over TCP only with TLS (hostssl), its certificate for "localhost" issued by the role's PKI."""

    def __init__(self):
        self.bin = pg_bin()
        # Outside pytest's 0700 tmp tree: the postgres user must reach it.
        self.dir = tempfile.mkdtemp(prefix='ct-notary-pg-')
        self.data = os.path.join(self.dir, 'data')
        self.tls = os.path.join(self.dir, 'tls')
        shutil.chown(self.dir, 'postgres', 'postgres')
        os.mkdir(self.tls, 0o755)
        self.ca = issue_with_role_pki(self.tls, 'localhost', ['localhost'], key_owner='postgres')

    def _as_postgres(self, *argv):
        return subprocess.run(['runuser', '-u', 'postgres', '--'] + list(argv), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=120, check=False)

    def start(self):
        if not port_free(PG_PORT):
            pytest.fail('port %d is taken; the notary_server PostgreSQL test needs it' % PG_PORT)
        pwfile = os.path.join(self.dir, 'pw')
        with open(pwfile, 'w') as f:
            f.write(PG_ADMIN_PASS + '\n')
        shutil.chown(pwfile, 'postgres')
        os.chmod(pwfile, 0o600)
        proc = self._as_postgres(os.path.join(self.bin, 'initdb'), '-D', self.data, '-U', 'postgres',
                                 '--pwfile', pwfile, '--auth', 'scram-sha-256', '-E', 'UTF8', '--locale', 'C.UTF-8')
        os.unlink(pwfile)
        assert proc.returncode == 0, proc.stdout.decode()
        # TCP connections must use TLS: one without it is refused, so a role run that works used TLS.
        with open(os.path.join(self.data, 'pg_hba.conf'), 'w') as f:
            f.write('local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n'
                    'hostssl all all ::1/128 scram-sha-256\n')
        proc = self._as_postgres(os.path.join(self.bin, 'pg_ctl'), '-D', self.data, '-l',
                                 os.path.join(self.data, 'server.log'), '-w', '-t', '60', '-o',
                                 '-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on '
                                 '-c ssl_cert_file=%s -c ssl_key_file=%s'
                                 % (PG_PORT, self.dir, os.path.join(self.tls, 'server.crt'),
                                    os.path.join(self.tls, 'server.key')), 'start')
        assert proc.returncode == 0, proc.stdout.decode()

    def psql(self, database, sql, user='postgres', password=PG_ADMIN_PASS):
        env = dict(os.environ, PGHOST='localhost', PGPORT=str(PG_PORT), PGUSER=user, PGPASSWORD=password,
                   PGDATABASE=database, PGSSLMODE='verify-full', PGSSLROOTCERT=os.path.join(self.tls, 'ca.crt'))
        proc = subprocess.run([os.path.join(self.bin, 'psql'), '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr.decode()
        return [line.split('|') for line in proc.stdout.decode().splitlines()]

    def stop(self):
        if os.path.exists(os.path.join(self.data, 'postmaster.pid')):
            self._as_postgres(os.path.join(self.bin, 'pg_ctl'), '-D', self.data, '-m', 'fast', '-w', 'stop')
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope='module')
def postgres():
    pg = Postgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope='module')
def postgres_notary(tmp_path_factory, postgres):
    workdir = str(tmp_path_factory.mktemp('notary-postgres'))
    role_vars = dict(
        _base_vars(workdir, *POSTGRES_PORTS),
        content_trust_notary_storage='postgres',
        content_trust_notary_manage_database=True,
        # The defaults: TLS, verifying the server's certificate and name against the given CA.
        content_trust_notary_db_host='localhost',
        content_trust_notary_db_port=PG_PORT,
        content_trust_notary_db_ca=postgres.ca,
        content_trust_notary_db_admin_user='postgres',
        content_trust_notary_db_admin_password=PG_ADMIN_PASS,
        content_trust_notary_server_db_password=SERVER_DB_PASS,
        content_trust_notary_signer_db_password=SIGNER_DB_PASS,
        content_trust_notary_signer_key_passphrase=SIGNER_KEY_PASS,
    )
    checked = run_role(workdir, role_vars, check=True)
    roles_after_check = postgres.psql('postgres', "SELECT rolname FROM pg_roles WHERE rolname LIKE 'notary%'")
    first = run_role(workdir, role_vars)
    second = run_role(workdir, role_vars)
    config_dir = role_vars['content_trust_notary_config_dir']
    notary = Notary(config_dir, *POSTGRES_PORTS)
    notary.start()
    yield dict(workdir=workdir, vars=role_vars, config_dir=config_dir, first=first, second=second, notary=notary,
               checked=checked, roles_after_check=roles_after_check)
    notary.stop()


def test_postgres_check_mode_on_an_empty_server_creates_nothing(postgres_notary):
    assert postgres_notary['checked'].recap['changed'] > 0
    assert postgres_notary['roles_after_check'] == []


def test_postgres_role_creates_schema_once(postgres_notary, postgres):
    assert postgres_notary['first'].recap['changed'] > 0
    assert postgres_notary['second'].recap['changed'] == 0, postgres_notary['second'].output[-4000:]
    assert postgres.psql('notaryserver', 'SELECT version, dirty FROM schema_migrations') == [['2', 'f']]
    assert postgres.psql('notarysigner', 'SELECT version, dirty FROM schema_migrations') == [['1', 'f']]
    owners = postgres.psql('postgres', "SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                                       "WHERE datname LIKE 'notary%' ORDER BY 1")
    assert owners == [['notaryserver', 'notaryserver'], ['notarysigner', 'notarysigner']]


def test_postgres_secrets_stay_in_the_environment_files(postgres_notary):
    d = postgres_notary['config_dir']
    for name in ('server.json', 'signer.json'):
        with open(os.path.join(d, name)) as f:
            text = f.read()
        for secret in SECRETS:
            assert secret not in text and secret.replace('"', '\\"') not in text
    with open(os.path.join(d, 'signer.json')) as f:
        assert json.load(f)['storage'] == {'backend': 'postgres', 'default_alias': 'main'}
    assert read_env_file(os.path.join(d, 'signer.env'))['NOTARY_SIGNER_MAIN'] == SIGNER_KEY_PASS


def test_postgres_storage_signs_and_survives_a_restart(postgres_notary, postgres):
    notary = postgres_notary['notary']
    signer, gun, digest = sign_and_verify(postgres_notary['workdir'], notary)
    # The metadata is in the server's database, the timestamp and snapshot keys (encrypted
    # under the alias) in the signer's.
    assert int(postgres.psql('notaryserver', "SELECT count(*) FROM tuf_files WHERE gun = '%s'" % gun)[0][0]) >= 4
    keys = postgres.psql('notarysigner', "SELECT role, passphrase_alias FROM private_keys WHERE gun = '%s' "
                                         "ORDER BY role" % gun)
    assert keys == [['snapshot', 'main'], ['timestamp', 'main']]

    notary.stop()
    notary.start()
    found = signer.inspect(gun + ':v1')
    assert signed_tags(found[gun + ':v1'])['v1']['Digest'] == digest
    # A new version needs a new timestamp: the restarted signer must decrypt its key.
    digest2 = signer.sign(gun, 'v2', b'manifest of v2')
    found = signer.inspect(gun + ':v1', gun + ':v2')
    assert signed_tags(found[gun + ':v2'])['v2']['Digest'] == digest2
    assert signed_tags(found[gun + ':v1'])['v1']['Digest'] == digest


def test_postgres_signer_passphrase_rotation_keeps_old_keys_usable(postgres_notary, postgres):
    """The documented rotation: a new alias for new keys, the old passphrase kept for the old ones."""
    notary = postgres_notary['notary']
    signer, gun = sign_and_verify(postgres_notary['workdir'], notary)[:2]
    role_vars = dict(postgres_notary['vars'], content_trust_notary_signer_key_alias='rotated_2027',
                     content_trust_notary_signer_key_passphrase=SIGNER_KEY_PASS + '-new',
                     content_trust_notary_signer_previous_key_passphrases={'main': SIGNER_KEY_PASS})
    rotated = run_role(postgres_notary['workdir'], role_vars)
    assert rotated.recap['changed'] == 2  # signer.json (default_alias) and signer.env
    notary.stop()
    notary.start()
    # The old repository's timestamp key is still under alias main...
    digest = signer.sign(gun, 'v3', b'manifest of v3')
    found = signer.inspect(gun + ':v3')
    assert signed_tags(found[gun + ':v3'])['v3']['Digest'] == digest
    # ...while a new repository's keys go under the new alias.
    new_gun = sign_and_verify(postgres_notary['workdir'], notary)[1]
    aliases = postgres.psql('notarysigner', "SELECT DISTINCT passphrase_alias FROM private_keys WHERE gun = '%s'"
                            % new_gun)
    assert aliases == [['rotated_2027']]


def test_postgres_connections_verify_the_database_server_with_the_given_ca(postgres_notary, postgres):
    d = postgres_notary['config_dir']
    with open(os.path.join(d, 'db-ca.crt')) as f:
        assert f.read().strip() == postgres.ca.strip()
    for name, var in (('server.env', 'NOTARY_SERVER_STORAGE_DB_URL'), ('signer.env', 'NOTARY_SIGNER_STORAGE_DB_URL')):
        url = urllib.parse.urlsplit(read_env_file(os.path.join(d, name))[var])
        query = urllib.parse.parse_qs(url.query)
        assert query['sslmode'] == ['verify-full'] and query['sslrootcert'] == [os.path.join(d, 'db-ca.crt')], url
        assert url.hostname == 'localhost'
    # What the database itself says: every connection of notary-server and notary-signer uses TLS.
    sign_and_verify(postgres_notary['workdir'], postgres_notary['notary'])
    rows = postgres.psql('postgres', "SELECT a.usename, s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a "
                                     "USING (pid) WHERE a.usename IN ('notaryserver', 'notarysigner')")
    assert set(r[0] for r in rows) == {'notaryserver', 'notarysigner'}, rows
    assert all(r[1] == 't' for r in rows), rows


def test_postgres_database_with_another_ca_is_refused(postgres, tmp_path):
    # A certificate the given CA did not issue: verification is really on, so the role stops.
    workdir = str(tmp_path)
    other = os.path.join(workdir, 'other-ca')
    os.mkdir(other)
    role_vars = dict(
        _base_vars(workdir, *POSTGRES_PORTS),
        content_trust_notary_storage='postgres',
        content_trust_notary_db_host='localhost',
        content_trust_notary_db_port=PG_PORT,
        content_trust_notary_db_ca=issue_with_role_pki(other, 'localhost', ['localhost']),
        content_trust_notary_db_admin_password=PG_ADMIN_PASS,
        content_trust_notary_server_db_password=SERVER_DB_PASS,
        content_trust_notary_signer_db_password=SIGNER_DB_PASS,
        content_trust_notary_signer_key_passphrase=SIGNER_KEY_PASS,
    )
    run = run_role(workdir, role_vars, fail=True)
    assert 'certificate verify failed' in run.output, run.output[-4000:]


@pytest.mark.parametrize('settings, words', [
    # The old default: encrypted, but any certificate would do.
    (dict(content_trust_notary_db_sslmode='require', content_trust_notary_db_ca='x'),
     'encrypts but accepts any server certificate'),
    (dict(content_trust_notary_db_sslmode='disable'), 'sends the passwords and the trust data in clear text'),
    (dict(), 'set content_trust_notary_db_ca to the PEM of the CA'),
    (dict(content_trust_notary_storage='mysql', content_trust_notary_db_sslmode='verify-ca',
          content_trust_notary_db_ca='x', content_trust_notary_manage_database=False),
     'use content_trust_notary_db_sslmode verify-full'),
    (dict(content_trust_notary_storage='mysql', content_trust_notary_server_db_user='notary@server',
          content_trust_notary_db_ca='x', content_trust_notary_manage_database=False),
     "cannot contain ':', '@', '/'"),
])
def test_database_over_tcp_without_verification_is_refused_before_anything_changes(tmp_path, settings, words):
    workdir = str(tmp_path)
    role_vars = dict(_base_vars(workdir, *POSTGRES_PORTS), content_trust_notary_storage='postgres',
                     content_trust_notary_db_host='db.example.test', content_trust_notary_db_admin_password=PG_ADMIN_PASS,
                     content_trust_notary_server_db_password=SERVER_DB_PASS,
                     content_trust_notary_signer_db_password=SIGNER_DB_PASS,
                     content_trust_notary_signer_key_passphrase=SIGNER_KEY_PASS)
    role_vars.update(settings)
    run = run_role(workdir, role_vars, fail=True)
    assert words in run.output, run.output[-3000:]
    assert not os.path.exists(role_vars['content_trust_notary_config_dir'])


def test_database_settings_an_explicit_opt_out_or_a_socket_allow(tmp_path):
    base = dict(_base_vars(str(tmp_path), *POSTGRES_PORTS), content_trust_notary_storage='postgres',
                content_trust_notary_manage_database=False, content_trust_notary_start_services=False,
                content_trust_notary_server_db_password=SERVER_DB_PASS,
                content_trust_notary_signer_db_password=SIGNER_DB_PASS,
                content_trust_notary_signer_key_passphrase=SIGNER_KEY_PASS)
    d = base['content_trust_notary_config_dir']
    run_role(str(tmp_path), dict(base, content_trust_notary_db_host='/var/run/postgresql'))
    url = urllib.parse.urlsplit(read_env_file(os.path.join(d, 'server.env'))['NOTARY_SERVER_STORAGE_DB_URL'])
    assert urllib.parse.parse_qs(url.query) == {'sslmode': ['disable'], 'host': ['/var/run/postgresql'],
                                                'port': ['5432']}
    assert urllib.parse.unquote(url.password) == SERVER_DB_PASS
    run_role(str(tmp_path), dict(base, content_trust_notary_db_host='db.example.test',
                                 content_trust_notary_db_sslmode='require',
                                 content_trust_notary_db_allow_unverified=True))
    url = urllib.parse.urlsplit(read_env_file(os.path.join(d, 'server.env'))['NOTARY_SERVER_STORAGE_DB_URL'])
    assert urllib.parse.parse_qs(url.query) == {'sslmode': ['require']} and url.hostname == 'db.example.test'


# --- local signer, a given CA, check mode, renewal ---------------------------------------------------

def make_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'given test CA')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def load_cert(path):
    with open(path, 'rb') as f:
        return x509.load_pem_x509_certificate(f.read())


def test_local_signer_with_a_given_ca_check_mode_serving_and_renewal(tmp_path):
    workdir = str(tmp_path)
    ca_pem, ca_key_pem = make_ca()
    role_vars = dict(_base_vars(workdir, LOCAL_PORT, 7999), content_trust_notary_signer='local',
                     content_trust_notary_storage='memory', content_trust_notary_tls_ca_cert=ca_pem,
                     content_trust_notary_tls_ca_key=ca_key_pem)
    config_dir = role_vars['content_trust_notary_config_dir']

    checked = run_role(workdir, role_vars, check=True)
    assert checked.recap['changed'] > 0
    assert not os.path.exists(config_dir) and not os.path.exists(os.path.dirname(
        role_vars['content_trust_notary_ca_fetch_dest']))

    run_role(workdir, role_vars)
    assert sorted(os.listdir(config_dir)) == ['ca.crt', 'ca.key', 'server.crt', 'server.env', 'server.json',
                                              'server.key']
    with open(os.path.join(config_dir, 'ca.crt')) as f:
        assert f.read() == ca_pem
    ca = load_cert(os.path.join(config_dir, 'ca.crt'))
    load_cert(os.path.join(config_dir, 'server.crt')).verify_directly_issued_by(ca)
    with open(os.path.join(config_dir, 'server.json')) as f:
        assert json.load(f)['trust_service'] == {'type': 'local'}
    notary = Notary(config_dir, LOCAL_PORT)
    try:
        notary.start()
        assert notary.health() == (200, b'{}')
    finally:
        notary.stop()

    # Renewal as documented: remove the certificate, run again; the key stays.
    before = file_bytes(config_dir)
    os.unlink(os.path.join(config_dir, 'server.crt'))
    renewed = run_role(workdir, role_vars)
    assert renewed.recap['changed'] == 1, renewed.output[-3000:]
    after = file_bytes(config_dir)
    assert after['server.key'] == before['server.key'] and after['server.crt'] != before['server.crt']
    new_cert = load_cert(os.path.join(config_dir, 'server.crt'))
    new_cert.verify_directly_issued_by(ca)
    assert new_cert.public_key() == x509.load_pem_x509_certificate(before['server.crt']).public_key()


# --- systemd units ---------------------------------------------------------------------------------

def test_systemd_units_render_without_starting_and_verify(tmp_path):
    workdir = str(tmp_path)
    units = os.path.join(workdir, 'units')
    os.mkdir(units)
    role_vars = dict(
        _base_vars(workdir, 4443, 7899),
        content_trust_notary_auth='mtls',
        content_trust_notary_publisher_cert_fetch_dest='',
        content_trust_notary_publisher_key_fetch_dest='',
        content_trust_notary_service_manager='systemd',
        content_trust_notary_start_services=False,
        content_trust_notary_systemd_dir=units,
        content_trust_notary_storage='postgres',
        # The local socket: no TLS, and none needed (a TCP host would need content_trust_notary_db_ca).
        content_trust_notary_db_host='/var/run/postgresql',
        content_trust_notary_manage_database=False,
        content_trust_notary_server_db_password=SERVER_DB_PASS,
        content_trust_notary_signer_db_password=SIGNER_DB_PASS,
        content_trust_notary_signer_key_passphrase=SIGNER_KEY_PASS,
    )
    run_role(workdir, role_vars)
    config_dir = role_vars['content_trust_notary_config_dir']
    assert sorted(os.listdir(units)) == ['notary-front.service', 'notary-server.service', 'notary-signer.service']
    with open(os.path.join(units, 'notary-front.service')) as f:
        front_unit = f.read()
    assert '-c %s/front.conf' % config_dir in front_unit and 'Requires=notary-server.service' in front_unit
    with open(os.path.join(units, 'notary-server.service')) as f:
        server_unit = f.read()
    assert 'ExecStart=/usr/bin/notary-server -config %s/server.json' % config_dir in server_unit
    assert 'EnvironmentFile=%s/server.env' % config_dir in server_unit
    assert 'Requires=notary-signer.service' in server_unit
    with open(os.path.join(units, 'notary-signer.service')) as f:
        assert 'EnvironmentFile=%s/signer.env' % config_dir in f.read()
    if not shutil.which('systemd-analyze'):
        pytest.skip('systemd-analyze is not installed; units rendered but not verified')
    proc = subprocess.run(['systemd-analyze', 'verify'] + [os.path.join(units, u) for u in sorted(os.listdir(units))],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          env=dict(os.environ, SYSTEMD_LOG_LEVEL='notice'))
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout.decode()
