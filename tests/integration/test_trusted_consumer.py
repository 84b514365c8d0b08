# -*- coding: utf-8 -*-
"""The trusted_consumer role through playbooks/pull_verified.yml, run with ansible-playbook on the
real stack, as a deploy host whose docker CLI cannot verify anything (here: none at all).

One scenario, shared by the tests of this file in order: a repository signed by jeff, a deploy
host with a fresh docker configuration and a notary CLI configuration that already holds other
settings and another repository's pin.

1. first run: the pins are written (merged, 0600) and the notary CLI honours them; the image is
   pulled by its signed digest and tagged;
2. second run: changed=0 and the daemon pulls and tags nothing;
3. jeff given with his public key, as the inventory's signers[] gives it: accepted; with another key: refused;
4. the pin of another root: the run fails naming both root key IDs and the image.
"""

import json
import os
import stat
import subprocess
import sys
import time
import uuid

import pytest

from conftest import JEFF_PASS, ROOT, common, install_publisher_certificate, run_module
from test_trust_pull import add_signers, daemon_events, forget, image_id, sign

BIN = os.path.dirname(sys.executable)
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'pull_verified.yml')
OTHER_PIN = {'example.com/acme/other': ['ab' * 32]}


class Consumer(object):
    def __init__(self, stack, base):
        self.stack = stack
        self.base = base
        publisher = os.path.join(base, 'publisher')
        os.makedirs(publisher, mode=0o700)
        install_publisher_certificate(publisher)  # the deploy host below reads without one
        self.repo = stack.repo('deploy')
        add_signers(stack, publisher, self.repo, [('jeff', JEFF_PASS)])
        source = stack.build_image(publisher, 'deploy-%s:build' % uuid.uuid4().hex[:8])
        self.digest = sign(stack, publisher, self.repo, ['v1'], 'jeff', JEFF_PASS, source)['v1']
        self.image_id = image_id(stack, publisher, source)
        entry = stack.inspect(publisher, self.repo)[self.repo]
        self.root = [k['ID'] for a in entry['AdministrativeKeys'] if a['Name'] == 'Root' for k in a['Keys']][0]
        forget(stack, publisher, self.repo, [self.digest])
        stack.docker(publisher, 'image', 'rm', '-f', source, check=False)

        self.docker_config = os.path.join(base, 'deploy-docker')  # created by the role
        self.notary_config = os.path.join(base, 'notary', 'config.json')
        os.makedirs(os.path.dirname(self.notary_config), mode=0o700)
        with open(self.notary_config, 'w') as f:
            json.dump({'remote_server': {'url': stack.notary_url}, 'trust_pinning': {'certs': OTHER_PIN}}, f)
        with open(stack.ca) as f:
            ca = f.read()
        self.inventory = os.path.join(base, 'inventory.json')
        with open(self.inventory, 'w') as f:
            json.dump({'all': {
                'hosts': {'localhost': {'ansible_connection': 'local',
                                        'ansible_python_interpreter': '{{ ansible_playbook_python }}'}},
                'children': {'deploy_hosts': {'hosts': {'localhost': {}}}},
                'vars': {
                    'content_trust_install_packages': False,
                    'content_trust_docker_cli': os.path.join(base, 'no-docker-cli-here'),
                    'content_trust_docker_host': stack.docker_host,
                    'content_trust_docker_config': self.docker_config,
                    'content_trust_server': stack.notary_url,
                    'content_trust_server_ca': ca,
                    'content_trust_timeout': 60,
                    'content_trust_notary_config': self.notary_config,
                    'content_trust_pinned_repositories': [{'repository': self.repo, 'root_key_ids': [self.root]}],
                    'content_trust_pull_images': [{'repository': self.repo, 'tags': ['v1']}],
                    'content_trust_pull_signers': ['jeff'],
                }}}, f, indent=1)

    def playbook(self, *args):
        argv = [os.path.join(BIN, 'ansible-playbook'), '-i', self.inventory, PLAYBOOK] + list(args)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
                   ANSIBLE_NOCOLOR='1', PATH=BIN + os.pathsep + os.environ['PATH'])
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                              timeout=600, check=False)
        out = proc.stdout.decode('utf-8', 'replace')
        recap = [line for line in out.splitlines() if line.startswith('localhost ') and 'ok=' in line]
        assert recap, out[-3000:]
        counts = dict(part.split('=') for part in recap[-1].split(':', 1)[1].split())
        return proc.returncode, dict((k, int(v)) for k, v in counts.items()), out

    def notary_list(self, config):
        """`notary list` of the repository with a notary CLI configuration and an empty trust cache."""
        trust = os.path.join(self.base, 'notary-trust-%s' % uuid.uuid4().hex[:6])
        return subprocess.run(['notary', '-c', config, '-d', trust, '-s', self.stack.notary_url,
                               '--tlscacert', self.stack.ca, 'list', self.repo], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, check=False)


@pytest.fixture(scope='module')
def consumer(stack, tmp_path_factory):
    return Consumer(stack, str(tmp_path_factory.mktemp('consumer')))


def test_first_run_pins_the_roots_and_pulls_the_signed_digest(consumer, stack):
    rc, recap, out = consumer.playbook()
    assert rc == 0 and recap['failed'] == 0 and recap['changed'] > 0, out[-4000:]

    # The pins, merged into what the file had, 0600, in a directory of 0700.
    assert stat.S_IMODE(os.stat(consumer.notary_config).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(consumer.notary_config)).st_mode) == 0o700
    with open(consumer.notary_config) as f:
        written = json.load(f)
    assert written['remote_server'] == {'url': stack.notary_url}
    assert written['trust_pinning']['certs'] == dict(OTHER_PIN, **{consumer.repo: [consumer.root]})
    # The notary CLI itself honours them: the right pin lists the tag, a wrong one refuses.
    listed = consumer.notary_list(consumer.notary_config)
    assert listed.returncode == 0 and consumer.digest[len('sha256:'):] in listed.stdout.decode(), listed.stdout
    wrong = os.path.join(consumer.base, 'wrong-pin.json')
    with open(wrong, 'w') as f:
        json.dump({'trust_pinning': {'certs': {consumer.repo: ['ab' * 32]}}}, f)
    refused = consumer.notary_list(wrong)
    assert refused.returncode != 0 and 'trust_pinning' in refused.stdout.decode(), refused.stdout

    # The daemon holds the signed digest under the tag; the CA went where the modules read it.
    repo_digests = json.loads(stack.docker(consumer.docker_config, 'image', 'inspect', '-f', '{{json .RepoDigests}}',
                                           consumer.repo + ':v1').stdout.decode())
    assert '%s@%s' % (consumer.repo, consumer.digest) in repo_digests
    assert image_id(stack, consumer.docker_config, consumer.repo + ':v1') == consumer.image_id
    hostport = stack.notary_url.replace('https://', '')
    assert os.path.isfile(os.path.join(consumer.docker_config, 'tls', hostport, 'ca.crt'))
    assert stat.S_IMODE(os.stat(consumer.docker_config).st_mode) == 0o700


def test_second_run_changes_nothing_and_pulls_nothing(consumer, stack):
    with open(consumer.notary_config) as f:
        before = f.read()
    start = time.time()
    rc, recap, out = consumer.playbook()
    assert rc == 0 and recap['changed'] == 0, out[-4000:]
    assert daemon_events(stack, consumer.docker_config, start, time.time() + 0.5, consumer.repo) == []
    with open(consumer.notary_config) as f:
        assert f.read() == before


def test_signers_given_as_the_inventory_gives_them_count_only_with_their_keys(consumer, stack):
    """content_trust_pull_signers takes the inventory's signers[] entries as they are: jeff's public key verifies
    jeff's signature; a key that is not the one jeff's role is delegated to refuses the image."""
    publisher = os.path.join(consumer.base, 'publisher')
    key = run_module('trust_key', common(stack, publisher, docker_cli=stack.reference_cli, signer='jeff',
                                         passphrase=JEFF_PASS))
    assert not key.failed, key
    override = os.path.join(consumer.base, 'keyed-signers.json')
    with open(override, 'w') as f:
        json.dump({'content_trust_pull_signers': [{'name': 'jeff', 'public_key': key['public_key']}]}, f)
    rc, recap, out = consumer.playbook('-e', '@' + override)
    assert rc == 0 and recap['failed'] == 0 and recap['changed'] == 0, out[-4000:]
    with open(override, 'w') as f:
        json.dump({'content_trust_pull_signers': [{'name': 'jeff', 'key_ids': ['ab' * 32]}]}, f)
    rc, recap, out = consumer.playbook('-e', '@' + override)
    assert rc != 0 and recap['failed'] == 1, out[-4000:]
    assert 'none of the given keys' in out and consumer.repo in out, out[-4000:]


def test_another_root_pinned_fails_naming_both_roots(consumer, stack):
    stack.docker(consumer.docker_config, 'image', 'rm', consumer.repo + ':v1')
    other = 'cd' * 32
    override = os.path.join(consumer.base, 'override.json')
    with open(override, 'w') as f:
        json.dump({'content_trust_pinned_repositories': [{'repository': consumer.repo, 'root_key_ids': [other]}],
                   'content_trust_notary_config': os.path.join(consumer.base, 'notary-2', 'config.json')}, f)
    rc, recap, out = consumer.playbook('-e', '@' + override)
    assert rc != 0 and recap['failed'] == 1, out[-4000:]
    assert consumer.root in out and other in out and consumer.repo in out and 'is not signed by the pinned root key' in out
    assert image_id(stack, consumer.docker_config, consumer.repo + ':v1') is None
