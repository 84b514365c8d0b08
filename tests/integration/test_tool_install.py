# -*- coding: utf-8 -*-
"""cosign, notation and the notary CLI installed by URL with their SHA-256, through the signing_host and
trusted_consumer roles (ansible-playbook), from a loopback HTTP server.

No release URL is reachable from the test machines, so the server serves the binaries of the Debian packages the
stack uses: cosign 3 and notation from tests/stack/tools.sh (notation as a release-style .tar.gz, to take the
archive path), the notary CLI from Debian's notary package. The tools go into a bin directory that does not exist
yet (the role creates it); a wrong checksum, by URL or for a file from the controller, fails before anything is
installed, and no staging directory is left behind.
"""

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading

import pytest

from conftest import ROOT
from ocitools import cosign_binary, notation_binary

BIN = os.path.dirname(sys.executable)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    """A loopback HTTP server on a free port serving cosign, notation (.tar.gz) and notary."""
    root = str(tmp_path_factory.mktemp('served'))
    shutil.copy(cosign_binary('3.1'), os.path.join(root, 'cosign-linux-amd64'))
    with tarfile.open(os.path.join(root, 'notation_linux_amd64.tar.gz'), 'w:gz') as tar:
        tar.add(notation_binary(), arcname='notation')
    notary = shutil.which('notary')
    assert notary, 'the notary CLI (Debian package notary) is part of the stack'
    shutil.copy(notary, os.path.join(root, 'notary-Linux-amd64'))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = 'http://127.0.0.1:%d/' % server.server_address[1]
    yield {'root': root, 'url': lambda name: base + name, 'sha256': lambda name: _sha256(os.path.join(root, name))}
    server.shutdown()
    server.server_close()


class Hosts(object):
    """One playbook run over two local hosts side by side (signing, deploy), each running its role with its own
    variables into its own bin directory (that does not exist yet); and the staging area (TMPDIR) they share."""

    ROLES = {'signing': 'signing_host', 'deploy': 'trusted_consumer'}

    def __init__(self, base):
        self.base = base
        self.tmp = os.path.join(base, 'tmp')
        os.makedirs(self.tmp)
        self.playbook = os.path.join(base, 'install.yml')
        with open(self.playbook, 'w') as f:
            json.dump([{'hosts': 'all', 'gather_facts': False, 'tasks': [
                {'name': 'Run the role of the host', 'ansible.builtin.include_role': {'name': '{{ host_role }}'}}]}], f)

    def bin_dir(self, host):
        return os.path.join(self.base, host, 'bin')  # the role creates it

    def run(self, **variables):
        hosts = {}
        for host, own in variables.items():
            hosts[host] = dict({'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                                'host_role': 'openbanking.content_trust.' + self.ROLES[host],
                                'content_trust_install_packages': False,
                                'content_trust_tools_bin_dir': self.bin_dir(host),
                                'content_trust_docker_config': os.path.join(self.base, host, 'docker')}, **own)
        inventory = os.path.join(self.base, 'inventory.json')
        with open(inventory, 'w') as f:
            json.dump({'all': {'hosts': hosts}}, f)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
                   ANSIBLE_NOCOLOR='1', ANSIBLE_PIPELINING='1', TMPDIR=self.tmp,
                   PATH=BIN + os.pathsep + os.environ['PATH'])
        proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', inventory, self.playbook],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, timeout=300,
                              check=False)
        out = proc.stdout.decode('utf-8', 'replace')
        recaps = {}
        for line in out.splitlines():
            host = line.split(' ', 1)[0]
            if host in variables and 'ok=' in line and ':' in line:
                recaps[host] = dict((k, int(v)) for k, v in (p.split('=') for p in line.split(':', 1)[1].split()))
        assert sorted(recaps) == sorted(variables), out[-3000:]
        return recaps, out

    def staged(self):
        """What the roles left in the staging area (their staging directories are private and removed)."""
        return [n for n in os.listdir(self.tmp) if n.startswith('content-trust-')]


def _by_url(served):
    return {
        'content_trust_signature_formats': ['notary', 'cosign', 'notation'],
        'content_trust_cosign_url': served['url']('cosign-linux-amd64'),
        'content_trust_cosign_sha256': served['sha256']('cosign-linux-amd64'),
        'content_trust_notation_url': served['url']('notation_linux_amd64.tar.gz'),
        'content_trust_notation_sha256': 'sha256:' + served['sha256']('notation_linux_amd64.tar.gz').upper(),
        'content_trust_notary_client_url': served['url']('notary-Linux-amd64'),
        'content_trust_notary_client_sha256': served['sha256']('notary-Linux-amd64'),
    }


def test_both_roles_install_every_tool_by_url_with_its_checksum(served, tmp_path):
    hosts = Hosts(str(tmp_path))
    recaps, out = hosts.run(signing=_by_url(served), deploy=_by_url(served))
    assert all(r['failed'] == 0 and r['changed'] > 0 for r in recaps.values()), out[-4000:]
    expected = {'cosign': served['sha256']('cosign-linux-amd64'), 'notation': _sha256(notation_binary()),
                'notary': served['sha256']('notary-Linux-amd64')}
    for host in ('signing', 'deploy'):
        assert sorted(os.listdir(hosts.bin_dir(host))) == sorted(expected), host
        for name, digest in expected.items():
            path = os.path.join(hosts.bin_dir(host), name)
            assert _sha256(path) == digest and oct(os.stat(path).st_mode & 0o777) == '0o755', (host, name)
    # The installed tools run.
    run = functools.partial(subprocess.run, capture_output=True, timeout=60, check=True)
    assert b'GitVersion' in run([os.path.join(hosts.bin_dir('signing'), 'cosign'), 'version']).stdout
    assert b'Notation' in run([os.path.join(hosts.bin_dir('deploy'), 'notation'), 'version']).stdout
    assert hosts.staged() == []

    # Installed already: nothing changes (and nothing is downloaded again for a binary with its checksum).
    recaps, out = hosts.run(signing=_by_url(served))
    assert recaps['signing']['failed'] == 0 and recaps['signing']['changed'] == 0, out[-4000:]


def test_a_wrong_checksum_installs_nothing(served, tmp_path):
    hosts = Hosts(str(tmp_path))
    recaps, out = hosts.run(
        # By URL: get_url refuses the download in the staging directory.
        deploy=dict(_by_url(served), content_trust_cosign_sha256='0' * 64),
        # A file on the controller: checked in the staging directory, before it is installed.
        signing={'content_trust_signature_formats': ['notary'],
                 'content_trust_notary_client_package': os.path.join(served['root'], 'notary-Linux-amd64'),
                 'content_trust_notary_client_sha256': '1' * 64})
    assert recaps['deploy']['failed'] == 1 and recaps['signing']['failed'] == 1, out[-4000:]
    assert 'checksum' in out.lower(), out[-4000:]
    assert 'content_trust_notary_client_sha256' in out and 'nothing was installed' in out, out[-4000:]
    assert not os.path.exists(os.path.join(hosts.bin_dir('deploy'), 'cosign'))
    assert not os.path.exists(os.path.join(hosts.bin_dir('signing'), 'notary'))
    assert hosts.staged() == []
