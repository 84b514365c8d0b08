# -*- coding: utf-8 -*-
"""The signers role, run with ansible-playbook against the real stack, on what used to go wrong:

- it had no CA variable and relied on signing_host having installed the Notary CA first;
- a private key pasted into the inventory failed with a Jinja error chain;
- a mistyped repository was silently created ("initializing the repository");
- --diff showed nothing (the changes run with no_log).
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import ALL_SECRETS, REPO_PASS, ROOT, ROOT_PASS
from helpers import generate_key_cli, signer_add_cli

BIN = os.path.dirname(sys.executable)


def new_key():
    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pub, private


def run_role(tmp_path, role, role_vars, *args):
    """ansible-playbook of one role of the collection on localhost; returns (rc, output)."""
    varsfile = tmp_path / ('vars-%s.json' % uuid.uuid4().hex[:6])
    varsfile.write_text(json.dumps(role_vars))
    os.chmod(str(varsfile), 0o600)
    playbook = tmp_path / ('%s.yml' % role)
    playbook.write_text('- hosts: localhost\n  gather_facts: false\n  roles:\n    - openbanking.content_trust.%s\n'
                        % role)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
               PATH=BIN + os.pathsep + os.environ['PATH'])
    for k in list(env):
        if k.endswith('_PASSPHRASE') or k == 'DOCKER_CONTENT_TRUST':
            del env[k]
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@%s' % varsfile,
                           str(playbook)] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=600, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    for secret in ALL_SECRETS:
        assert secret not in out
    return proc.returncode, out


def run_signers_role(tmp_path, stack, docker_config, repositories, *args, **extra):
    role_vars = {'content_trust_docker_cli': stack.docker_cli, 'content_trust_docker_config': docker_config,
                 'content_trust_server': stack.notary_url, 'content_trust_timeout': 60,
                 'content_trust_repositories': repositories,
                 'content_trust_root_passphrase': ROOT_PASS, 'content_trust_repository_passphrase': REPO_PASS}
    role_vars.update(extra)
    return run_role(tmp_path, 'signers', role_vars, *args)


def test_signers_role_installs_the_notary_ca_itself(stack, docker_config, tmp_path):
    # A registry name that is not loopback: docker verifies the Notary's certificate.
    repo = '%s/acme/ca-%s' % (stack.nonloopback_host, uuid.uuid4().hex[:10])
    hostport = stack.notary_url.split('://', 1)[1]
    ca_path = os.path.join(docker_config, 'tls', hostport, 'ca.crt')
    repositories = [{'repository': repo, 'signers': [{'name': 'jeff', 'public_key': new_key()[0]}]}]

    # Without the CA (what happened when signing_host had not run): refused, nothing created.
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories)
    assert rc != 0 and 'not trusted' in out, out[-3000:]
    assert stack.tuf(repo, 'root') is None

    with open(stack.ca) as f:
        ca = f.read()
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories, content_trust_server_ca=ca)
    assert rc == 0, out[-3000:]
    with open(ca_path) as f:
        assert f.read().strip() == ca.strip()
    assert 'jeff' in [s['Name'] for s in stack.inspect(docker_config, repo)[repo]['Signers']]


@pytest.mark.cli_independent
def test_private_key_in_the_inventory_is_named_and_never_echoed(stack, docker_config, tmp_path):
    repo = stack.repo('sg')
    pub, private = new_key()
    body = private.splitlines()[1]
    repositories = [{'repository': repo, 'signers': [{'name': 'alice', 'public_key': pub},
                                                     {'name': 'jeff', 'public_keys': [pub, private]}]}]
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories, '-vvv')
    assert rc != 0, out[-3000:]
    assert 'A private key is given as public_key or public_keys of signer jeff of repository %s' % repo in out, \
        out[-3000:]
    assert 'signer alice' not in out.split('A private key is given', 1)[1].split('\n')[0]
    assert body not in out and 'PRIVATE KEY-----' not in out
    assert 'key_id' not in out.split('A private key is given', 1)[1][:600]  # no filter error chain
    assert stack.tuf(repo, 'root') is None


def test_new_repositories_are_named_loudly_and_refused_when_creation_is_off(stack, docker_config, tmp_path):
    existing, typo = stack.repo('sg'), stack.repo('sg')
    jeff_pub = generate_key_cli(stack, docker_config, 'jeff', 'jeff-Passphrase-3', str(tmp_path))
    signer_add_cli(stack, docker_config, 'jeff', jeff_pub, existing, ROOT_PASS, REPO_PASS)
    alice_pub = new_key()[0]
    repositories = [{'repository': existing, 'signers': [{'name': 'jeff', 'public_key': open(jeff_pub).read()},
                                                         {'name': 'alice', 'public_key': alice_pub}]},
                    {'repository': typo, 'signers': [{'name': 'alice', 'public_key': alice_pub}]}]
    before = stack.versions(existing)

    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories, '--check')
    assert rc == 0, out[-3000:]
    assert 'WOULD CREATE 1 repository on the Notary server' in out and typo in out, out[-3000:]
    assert 'WOULD CREATE' not in out.split(typo)[0].split('WOULD CREATE')[-1] or existing not in \
        out[out.index('WOULD CREATE'):out.index('WOULD CREATE') + 200]
    assert stack.tuf(typo, 'root') is None and stack.versions(existing) == before

    # Creation off: refused before anything changes, even in the repository that exists.
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories,
                               content_trust_signers_create_repositories=False)
    assert rc != 0 and 'would CREATE them: %s' % typo in out, out[-3000:]
    assert stack.tuf(typo, 'root') is None and stack.versions(existing) == before

    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories)
    assert rc == 0, out[-3000:]
    assert 'CREATING 1 repository on the Notary server' in out, out[-3000:]
    assert stack.tuf(typo, 'root') is not None


def test_diff_shows_the_signer_drift_as_key_ids(stack, docker_config, tmp_path):
    repo = stack.repo('sg')
    jeff_pub = generate_key_cli(stack, docker_config, 'jeff', 'jeff-Passphrase-3', str(tmp_path))
    signer_add_cli(stack, docker_config, 'jeff', jeff_pub, repo, ROOT_PASS, REPO_PASS)
    jeff_id = stack.inspect(docker_config, repo)[repo]['Signers'][0]['Keys'][0]['ID']
    alice_pub, alice_private = new_key()
    repositories = [{'repository': repo, 'exclusive': True, 'signers': [{'name': 'alice', 'public_key': alice_pub}]}]
    before = stack.versions(repo)

    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories, '--check', '--diff')
    assert rc == 0, out[-3000:]
    diff = out[out.index('TASK [openbanking.content_trust.signers : Show the signer drift]'):]
    diff = diff[:diff.index('TASK [', 10)]
    assert '-  jeff:\n-  - %s' % jeff_id in diff, diff
    assert '+  alice:\n+  - ' in diff and repo in diff, diff
    assert alice_private.splitlines()[1] not in out and 'BEGIN PUBLIC KEY' not in diff
    assert stack.versions(repo) == before

    # No drift, no diff task.
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories)
    assert rc == 0, out[-3000:]
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories, '--check', '--diff')
    assert rc == 0, out[-3000:]
    # (a matching inventory does not even load the tasks that change or show something)
    assert 'Show the signer drift' not in out and '+++ after' not in out, out[-3000:]
    shown = out[out.index('TASK [openbanking.content_trust.signers : Reconcile the signers that differ]'):]
    assert shown.split('\n')[1].startswith('skipping:'), out[-3000:]


def test_exclusive_keys_removes_a_key_the_inventory_does_not_list(stack, docker_config, tmp_path):
    """Drift on the server: signer jeff holds a second key the inventory does not list. With
    exclusive_keys the role removes that key (from jeff and from targets/releases) and nothing else;
    the next run finds nothing to change and moves no TUF version."""
    repo = stack.repo('sg')
    jeff_pub = generate_key_cli(stack, docker_config, 'jeff', 'jeff-Passphrase-3', str(tmp_path))
    extra_pub = generate_key_cli(stack, docker_config, 'jeffold', 'jeff-Passphrase-3', str(tmp_path))
    alice_pub = generate_key_cli(stack, docker_config, 'alice', 'alice-Passphrase-4', str(tmp_path))
    signer_add_cli(stack, docker_config, 'jeff', jeff_pub, repo, ROOT_PASS, REPO_PASS)
    jeff_id = stack.inspect(docker_config, repo)[repo]['Signers'][0]['Keys'][0]['ID']
    signer_add_cli(stack, docker_config, 'jeff', extra_pub, repo, ROOT_PASS, REPO_PASS)
    signer_add_cli(stack, docker_config, 'alice', alice_pub, repo, ROOT_PASS, REPO_PASS)

    def signers():
        return dict((s['Name'], sorted(k['ID'] for k in s['Keys']))
                    for s in stack.inspect(docker_config, repo)[repo]['Signers'])

    def releases_key_ids():
        delegations = stack.tuf(repo, 'targets')['signed']['delegations']['roles']
        return sorted(next(r for r in delegations if r['name'] == 'targets/releases')['keyids'])

    start = signers()
    assert len(start['jeff']) == 2 and jeff_id in start['jeff'], start
    extra_id = [k for k in start['jeff'] if k != jeff_id][0]
    alice_ids = start['alice']
    releases_before = releases_key_ids()
    assert len(releases_before) == 3, releases_before
    repositories = [{'repository': repo,
                     'signers': [{'name': 'jeff', 'public_key': open(jeff_pub).read(), 'exclusive_keys': True}]}]

    before = stack.versions(repo)
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories, '--check', '--diff')
    assert rc == 0, out[-3000:]
    assert '%s: would change the keys of signer jeff: removed %s' % (repo, extra_id[:12]) in out, out[-3000:]
    diff = out[out.index('TASK [openbanking.content_trust.signers : Show the signer drift]'):]
    diff = diff[:diff.index('TASK [', 10)]
    assert '-  - %s' % extra_id in diff and '+  - %s' % extra_id not in diff, diff
    assert stack.versions(repo) == before and signers() == start

    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories)
    assert rc == 0, out[-3000:]
    assert '%s: changed the keys of signer jeff: removed %s' % (repo, extra_id[:12]) in out, out[-3000:]
    # What docker reports: jeff has only the listed key, alice (not exclusive) is untouched.
    assert signers() == {'jeff': [jeff_id], 'alice': alice_ids}, signers()
    assert len(releases_key_ids()) == 2 and stack.versions(repo)['targets'] == before['targets'] + 1
    after = stack.versions(repo)

    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories, '-v')
    assert rc == 0, out[-3000:]
    assert '1 of 1 repositories already matched the inventory; nothing to change' in out, out[-3000:]
    assert '(item=present jeff' not in out, out[-3000:]
    assert stack.versions(repo) == after and signers() == {'jeff': [jeff_id], 'alice': alice_ids}


def self_signed_certificate():
    """An X.509 certificate PEM of a new P-256 key, and the ID docker shows for it (its public key's)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u'jeff')])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_signer_given_a_certificate_matches_on_the_next_run(stack, docker_config, tmp_path):
    """The inventory compares key IDs as docker shows them: for a certificate, the ID of its public
    key (not the certificate's TUF ID), so a second run finds nothing to change and calls no trust_signer."""
    repo = stack.repo('sg')
    repositories = [{'repository': repo, 'exclusive': True,
                     'signers': [{'name': 'jeff', 'public_key': self_signed_certificate()}]}]
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories)
    assert rc == 0, out[-3000:]
    shown = [s for s in stack.inspect(docker_config, repo)[repo]['Signers'] if s['Name'] == 'jeff']
    assert len(shown) == 1 and len(shown[0]['Keys']) == 1, shown
    after = stack.versions(repo)

    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories, '-v')
    assert rc == 0, out[-3000:]
    assert '1 of 1 repositories already matched the inventory; nothing to change' in out, out[-3000:]
    assert '(item=present jeff' not in out, out[-3000:]
    assert stack.versions(repo) == after
