# -*- coding: utf-8 -*-
"""Every role that talks to the Notary takes its URL and CA itself (content_trust_server,
content_trust_server_ca): the signers role used to have no CA variable and relied on
signing_host having installed the CA on the host first."""

import json
import os
import subprocess
import sys
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import ALL_SECRETS, REPO_PASS, ROOT, ROOT_PASS

BIN = os.path.dirname(sys.executable)


def run_signers_role(tmp_path, stack, docker_config, repo, server_ca):
    pub = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    role_vars = {'content_trust_docker_cli': stack.docker_cli, 'content_trust_docker_config': docker_config,
                 'content_trust_server': stack.notary_url, 'content_trust_timeout': 60,
                 'content_trust_repositories': [{'repository': repo, 'signers': [{'name': 'jeff', 'public_key': pub}]}],
                 'content_trust_root_passphrase': ROOT_PASS, 'content_trust_repository_passphrase': REPO_PASS}
    if server_ca:
        role_vars['content_trust_server_ca'] = server_ca
    varsfile = tmp_path / 'vars.json'
    varsfile.write_text(json.dumps(role_vars))
    os.chmod(str(varsfile), 0o600)
    playbook = tmp_path / 'signers.yml'
    playbook.write_text('- hosts: localhost\n  gather_facts: false\n  roles:\n    - openbanking.content_trust.signers\n')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
               PATH=BIN + os.pathsep + os.environ['PATH'])
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@%s' % varsfile,
                           str(playbook)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600,
                          check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    for secret in ALL_SECRETS:
        assert secret not in out
    return proc.returncode, out


def test_signers_role_installs_the_notary_ca_itself(stack, docker_config, tmp_path):
    # A registry name that is not loopback: docker verifies the Notary's certificate.
    repo = '%s/acme/ca-%s' % (stack.nonloopback_host, uuid.uuid4().hex[:10])
    hostport = stack.notary_url.split('://', 1)[1]
    ca_path = os.path.join(docker_config, 'tls', hostport, 'ca.crt')

    # Without the CA (what happened when signing_host had not run): refused, nothing created.
    rc, out = run_signers_role(tmp_path, stack, docker_config, repo, None)
    assert rc != 0 and 'not trusted' in out, out[-3000:]
    assert stack.tuf(repo, 'root') is None

    with open(stack.ca) as f:
        ca = f.read()
    rc, out = run_signers_role(tmp_path, stack, docker_config, repo, ca)
    assert rc == 0, out[-3000:]
    with open(ca_path) as f:
        assert f.read().strip() == ca.strip()
    assert 'jeff' in [s['Name'] for s in stack.inspect(docker_config, repo)[repo]['Signers']]
