# -*- coding: utf-8 -*-
"""The example playbooks and the roles signing_host, signers and publish_release, run with
ansible-playbook against the real local stack, as a user runs them.

One scenario, shared by the tests of this file in order (each ansible-playbook run costs
seconds, so there are as few as the behaviours need): two repositories, signer jeff,
release v1.0.0 (plus tag ``stable`` in the first repository).

1. the four playbooks, first run, at -vvv: they change, sign and verify;
2. the same again: changed=0, no TUF version moves;
3. verify_release.yml with jeff given by key (the inventory's signers[] entry): verifies; with another key: fails;
4. signer mallory added behind the inventory's back with the bare docker CLI: drift in
   --check (nothing changes), removed by a real run where the repository is exclusive;
5. a revoked tag and an unsigned tag: verify_release.yml fails naming both images.

Every output is scanned for the passphrases and the registry password.
"""

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import read_pins_file
from conftest import ALL_SECRETS, JEFF_PASS, REPO_PASS, ROOT_PASS, ROOT
from helpers import docker_pty

BIN = os.path.dirname(sys.executable)
PLAYBOOKS = os.path.join(ROOT, 'playbooks')
REGISTRY_PASS = 'registry-Token-5-%s' % uuid.uuid4().hex[:6]
SECRETS = ALL_SECRETS + [REGISTRY_PASS]
FOUR = ['provision_signing_host.yml', 'sync_signers.yml', 'publish_release.yml', 'verify_release.yml']
RECAP_RE = re.compile(r'^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


class Run(object):
    def __init__(self, argv, proc, seconds):
        self.argv = argv
        self.rc = proc.returncode
        self.out = proc.stdout.decode('utf-8', 'replace')
        self.seconds = seconds

    @property
    def recap(self):
        m = RECAP_RE.findall(self.out)
        assert m, 'no PLAY RECAP in the output of %s:\n%s' % (' '.join(self.argv), self.out[-3000:])
        ok, changed, unreachable, failed = (int(v) for v in m[-1])
        return dict(ok=ok, changed=changed, unreachable=unreachable, failed=failed)

    def failures(self):
        """The task failures of the run (with -vvv the output's end is rarely where they are)."""
        return '\n'.join(line[:3000] for line in self.out.splitlines() if line.startswith(('fatal:', 'failed:')))

    def __repr__(self):
        return '<Run rc=%s of %s; failures:\n%s\noutput ends:\n%s>' % (
            self.rc, ' '.join(self.argv[-3:]), self.failures(), self.out[-4000:])

    def __str__(self):
        return '%s (rc %s, %.1fs)\n%s' % (' '.join(self.argv[1:]), self.rc, self.seconds, self.out[-6000:])


class Scenario(object):
    """The test inventory, the secrets file and every ansible-playbook run made with them."""

    # Where the playbooks and the collection come from: this clone, through the
    # build/collections symlink (test_installed.py points both at an installed tarball).
    playbooks_dir = PLAYBOOKS
    collections_path = os.path.join(ROOT, 'build', 'collections')

    def __init__(self, stack, base):
        self.stack = stack
        self.base = base
        self.docker_config = os.path.join(base, 'docker')
        self.key_dir = os.path.join(base, 'trust-keys')
        self.report_dir = os.path.join(base, 'reports')
        self.repo1 = stack.repo('pb')   # exclusive: the inventory is the whole truth
        self.repo2 = stack.repo('pb')   # not exclusive: signers are only ever added
        self.source = 'pb-source-%s:build' % uuid.uuid4().hex[:8]
        self.runs = []
        self.trust_plugin = stack.trust_plugin
        os.makedirs(self.docker_config, mode=0o700)
        stack.build_image(self.docker_config, self.source)
        self.inventory = os.path.join(base, 'inventory.yml')
        self.secrets = os.path.join(base, 'secrets.yml')
        jeff_pub = "{{ lookup('ansible.builtin.file', content_trust_public_key_dir ~ '/jeff.pub') }}"
        with open(stack.ca) as f:
            ca = f.read()
        inventory = {'all': {
            'hosts': {'localhost': {'ansible_connection': 'local',
                                    'ansible_python_interpreter': '{{ ansible_playbook_python }}'}},
            'children': {'signing_hosts': {'hosts': {'localhost': {}}},
                         'trust_admins': {'hosts': {'localhost': {}}}},
            'vars': {
                'content_trust_install_packages': False,
                'content_trust_docker_cli': stack.docker_cli,
                'content_trust_docker_host': stack.docker_host,
                'content_trust_docker_config': self.docker_config,
                'content_trust_server': stack.notary_url,
                'content_trust_server_ca': ca,
                # The stack's Notary refuses writes without a publisher's certificate: signing_host installs it.
                'content_trust_server_client_cert': "{{ lookup('ansible.builtin.file', '%s') }}" % stack.client_cert,
                'content_trust_server_client_key': "{{ lookup('ansible.builtin.file', '%s') }}" % stack.client_key,
                'content_trust_timeout': 60,
                'content_trust_signing_keys': [{'name': 'jeff', 'passphrase': '{{ content_trust_signer_passphrase }}'}],
                'content_trust_public_key_dir': self.key_dir,
                'content_trust_repositories': [
                    {'repository': self.repo1, 'exclusive': True, 'signers': [{'name': 'jeff', 'public_key': jeff_pub}]},
                    {'repository': self.repo2, 'signers': [{'name': 'jeff', 'public_key': jeff_pub}]},
                ],
                'content_trust_release_version': 'v1.0.0',
                # jeff with his key (the inventory's signers[] entry): signed with that key only, verified by it
                'content_trust_release_signer': '{{ content_trust_repositories[0].signers[0] }}',
                'content_trust_release_images': [
                    {'repository': self.repo1, 'source': self.source, 'tags': ['stable']},
                    {'repository': self.repo2, 'source': self.source},
                ],
                'content_trust_report_dir': self.report_dir,
                # The local registry has no authentication, and docker login still succeeds:
                # enough to run the login path and to check the password never shows.
                'content_trust_registry_url': stack.registry,
                'content_trust_registry_username': 'ci',
            }}}
        if self.trust_plugin:
            # The plugin leg of the CLI matrix: signing_host installs it into this docker config.
            inventory['all']['vars'].update(content_trust_docker_trust_plugin=self.trust_plugin,
                                            content_trust_docker_trust_plugin_scope='user')
        with open(self.inventory, 'w') as f:
            json.dump(inventory, f, indent=1)
        fd = os.open(self.secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            json.dump({'content_trust_root_passphrase': ROOT_PASS,
                       'content_trust_repository_passphrase': REPO_PASS,
                       'content_trust_signer_passphrase': JEFF_PASS,
                       'content_trust_registry_password': REGISTRY_PASS}, f)

    def playbook(self, *args):
        argv = self.wrapper + [os.path.join(BIN, 'ansible-playbook'), '-i', self.inventory, '-e', '@' + self.secrets] + \
            [self.playbook_arg(a) if a.endswith('.yml') else a for a in args]
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections_path,
                   ANSIBLE_NOCOLOR='1', ANSIBLE_HOST_KEY_CHECKING='False', PATH=BIN + os.pathsep + os.environ['PATH'])
        for k in list(env):
            if k.endswith('_PASSPHRASE') or k == 'DOCKER_CONTENT_TRUST':
                del env[k]
        start = time.time()
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                              timeout=600, check=False)
        run = Run(argv, proc, time.time() - start)
        self.runs.append(run)
        return run

    # What runs ansible-playbook (test_installed.py: in a mount namespace where the collection is read-only).
    wrapper = []

    def playbook_arg(self, name):
        """How ansible-playbook is given the shipped playbook ``name`` (here its path)."""
        return os.path.join(self.playbooks_dir, name)

    def signers(self, repo):
        """``{signer: [key IDs]}`` as the bare `docker trust inspect` reports them."""
        entry = self.stack.inspect(self.docker_config, repo).get(repo) or {}
        return dict((s['Name'], sorted(k['ID'] for k in s['Keys'])) for s in entry.get('Signers') or [])

    def signed_tags(self, repo):
        entry = self.stack.inspect(self.docker_config, repo).get(repo) or {}
        return dict((t['SignedTag'], (t['Digest'], sorted(t['Signers']))) for t in entry.get('SignedTags') or [])

    def versions(self):
        return dict((r, self.stack.versions(r)) for r in (self.repo1, self.repo2))


@pytest.fixture(scope='module')
def scenario(stack, tmp_path_factory):
    return Scenario(stack, str(tmp_path_factory.mktemp('playbooks')))


@pytest.mark.cli_matrix
def test_first_run_provisions_reconciles_publishes_and_verifies(scenario, stack):
    run = scenario.playbook(*(FOUR + ['-vvv']))
    assert run.rc == 0, run
    assert run.recap['changed'] > 0 and run.recap['failed'] == 0, run

    # The key, and its public half on the controller.
    assert os.path.isfile(os.path.join(scenario.key_dir, 'jeff.pub'))
    assert oct(os.stat(os.path.join(scenario.docker_config, 'trust')).st_mode & 0o777) == '0o700'
    hostport = stack.notary_url.replace('https://', '')
    assert os.path.isfile(os.path.join(scenario.docker_config, 'tls', hostport, 'ca.crt'))
    with open(stack.client_cert) as f, open(os.path.join(scenario.docker_config, 'tls', hostport, 'client.cert')) as g:
        assert f.read().strip() == g.read().strip()
    assert os.stat(os.path.join(scenario.docker_config, 'tls', hostport, 'client.key')).st_mode & 0o777 == 0o600

    # What the bare docker CLI now reports: jeff signs both repositories, every tag signed
    # by jeff with one digest, the one the registry serves (the report says so too).
    for repo in (scenario.repo1, scenario.repo2):
        assert list(scenario.signers(repo)) == ['jeff'], run
    tags1 = scenario.signed_tags(scenario.repo1)
    tags2 = scenario.signed_tags(scenario.repo2)
    assert sorted(tags1) == ['stable', 'v1.0.0'] and sorted(tags2) == ['v1.0.0']
    digest = tags1['v1.0.0'][0]
    assert tags1['stable'] == (digest, ['jeff']) and tags2['v1.0.0'] == (digest, ['jeff'])
    assert 'added signer jeff' in run.out and 'initializing the repository' in run.out

    with open(os.path.join(scenario.report_dir, 'release-v1.0.0.json')) as f:
        report = json.load(f)
    assert report['verified'] is True
    assert sorted((i['reference'], i['digest'], i['registry_digest'], i['signers']) for i in report['images']) == \
        sorted((ref, 'sha256:' + digest, 'sha256:' + digest, ['jeff'])
               for ref in (scenario.repo1 + ':v1.0.0', scenario.repo1 + ':stable', scenario.repo2 + ':v1.0.0'))
    with open(os.path.join(scenario.report_dir, 'release-v1.0.0.md')) as f:
        markdown = f.read()
    assert '| %s | v1.0.0 | %s | jeff | yes |' % (scenario.repo1, digest) in markdown
    # The report says which docker CLI verified and how: a trusted pull proves something only up to 28.x.
    how = report['verified_with']
    version = subprocess.run([stack.docker_cli, '--version'], stdout=subprocess.PIPE, check=True).stdout.decode()
    assert how['docker_cli'] == stack.docker_cli and how['docker_version'] in version
    # Verified under the pins that sync_signers.yml wrote next to the inventory (notary's trust pinning, whatever
    # the docker CLI): each repository's root, as the bare docker CLI reports it.
    assert how['trust_data'] == 'notary with trust pinning'
    pins = read_pins_file(os.path.join(os.path.dirname(scenario.inventory), 'content_trust_pins.yml'))
    roots = dict((repo, sorted(k['ID'] for a in stack.inspect(scenario.docker_config, repo)[repo]['AdministrativeKeys']
                               if a['Name'] == 'Root' for k in a['Keys'])) for repo in (scenario.repo1, scenario.repo2))
    assert dict((p['repository'], p['root_key_ids']) for p in pins) == roots, pins
    assert re.search(r'pinned [^\n]*%s[^\n]* in [^\n]*content_trust_pins.yml' % re.escape(scenario.repo2), run.out), run
    assert how['pull'] == 'signed digest' and 'pulls by its signed digest' in markdown
    assert 'verify nothing on `DOCKER_CONTENT_TRUST=1 docker pull`' in markdown
    assert '`%s`' % how['trust_data'] in markdown
    assert all(i['pulled'] is (i['tag'] == 'v1.0.0') or i['pulled'] is None for i in report['images'])

    # And a consumer with nothing but the Notary URL pulls it with content trust.
    pulled = stack.trusted_pull(scenario.repo2 + ':v1.0.0')
    assert pulled.returncode == 0, pulled.stderr.decode()
    scenario.versions_after_first_run = scenario.versions()


@pytest.mark.cli_matrix
def test_second_run_changes_nothing_and_moves_no_tuf_version(scenario):
    before = scenario.versions_after_first_run
    run = scenario.playbook(*FOUR)
    assert run.rc == 0, run
    assert run.recap['changed'] == 0, run
    assert '2 of 2 repositories already matched the inventory' in run.out, run
    assert 'already signed by jeff' in run.out, run
    assert scenario.versions() == before


def test_verify_release_takes_the_inventorys_signer_with_its_key(scenario):
    """content_trust_release_signer given as the inventory's signers[] entry (jeff with his public key): the release
    verifies by jeff's key; given with a key that jeff's role is not delegated to, it does not, and publish_release
    refuses to sign with it."""
    run = scenario.playbook('verify_release.yml', '-e', json.dumps({
        'content_trust_release_signer': '{{ content_trust_repositories[0].signers[0] }}'}))
    assert run.rc == 0, run
    run = scenario.playbook('verify_release.yml', '-e', json.dumps({
        'content_trust_release_signer': {'name': 'jeff', 'key_ids': ['ab' * 32]}}))
    assert run.rc != 0, run
    failure = run.out[run.out.index('Release v1.0.0 does not verify'):]
    assert 'not signed by jeff (key abababa) with its keys: the repository delegates targets/jeff to' in failure, run
    # publish_release signs only with a given key: none of them on the signing host fails before anything changes.
    before = scenario.versions()
    run = scenario.playbook('publish_release.yml', '-e', json.dumps({
        'content_trust_release_signer': {'name': 'jeff', 'key_ids': ['ab' * 32]}}))
    assert run.rc != 0, run
    assert 'none of the given keys is on this host' in run.out and 'nothing was pushed or signed' in run.out, run
    assert scenario.versions() == before


def test_signer_added_behind_the_inventory_is_drift_in_check_mode_and_removed_where_exclusive(scenario, stack, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pub = tmp_path / 'mallory.pub'
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    for repo in (scenario.repo1, scenario.repo2):
        rc, out = docker_pty(stack, scenario.docker_config, ['trust', 'signer', 'add', '--key', str(pub), 'mallory', repo],
                             {'root': ROOT_PASS, 'repository': REPO_PASS})
        assert rc == 0, out
    before = scenario.versions()

    check = scenario.playbook('sync_signers.yml', '--check', '--diff', '-vvv')
    assert check.rc == 0, check
    assert '%s: would remove signer mallory' % scenario.repo1 in check.out, check
    assert '%s: would' % scenario.repo2 not in check.out, check
    assert scenario.versions() == before
    assert sorted(scenario.signers(scenario.repo1)) == ['jeff', 'mallory']

    real = scenario.playbook('sync_signers.yml')
    assert real.rc == 0, real
    assert real.recap['changed'] == 1, real
    assert '%s: removed signer mallory' % scenario.repo1 in real.out, real
    assert list(scenario.signers(scenario.repo1)) == ['jeff']
    assert sorted(scenario.signers(scenario.repo2)) == ['jeff', 'mallory']
    after = scenario.versions()
    assert after[scenario.repo2] == before[scenario.repo2]
    assert after[scenario.repo1]['targets'] == before[scenario.repo1]['targets'] + 1
    # jeff's signatures are untouched.
    assert scenario.signed_tags(scenario.repo1)['v1.0.0'][1] == ['jeff']


def test_verify_release_fails_naming_every_unsigned_or_revoked_image(scenario, stack):
    # Revoke `stable` as a person would (jeff's key signs the releases role).
    rc, out = docker_pty(stack, scenario.docker_config, ['trust', 'revoke', '-y', scenario.repo1 + ':stable'],
                         {'jeff': JEFF_PASS, 'repository': REPO_PASS, 'targets': REPO_PASS})
    assert rc == 0, out
    assert 'stable' not in scenario.signed_tags(scenario.repo1)
    # Push `nightly` without signing it.
    nightly = scenario.repo2 + ':nightly'
    stack.docker(scenario.docker_config, 'tag', scenario.source, nightly)
    stack.docker(scenario.docker_config, 'push', nightly)

    images = [{'repository': scenario.repo1, 'tags': ['stable']}, {'repository': scenario.repo2, 'tags': ['nightly']}]
    run = scenario.playbook('verify_release.yml', '-vvv', '-e', json.dumps({'content_trust_release_images': images}))
    assert run.rc != 0, run
    failure = run.out[run.out.index('Release v1.0.0 does not verify'):]
    assert '- %s:stable: tag stable is not signed' % scenario.repo1 in failure, run
    assert '- %s:nightly: tag nightly is not signed' % scenario.repo2 in failure, run
    assert '- %s:v1.0.0' % scenario.repo1 not in failure and '- %s:v1.0.0' % scenario.repo2 not in failure, run
    with open(os.path.join(scenario.report_dir, 'release-v1.0.0.json')) as f:
        report = json.load(f)
    assert report['verified'] is False
    assert sorted(i['reference'] for i in report['images'] if not i['verified']) == \
        sorted([scenario.repo1 + ':stable', nightly])
    with open(os.path.join(scenario.report_dir, 'release-v1.0.0.md')) as f:
        assert 'NOT VERIFIED' in f.read()


def test_no_passphrase_or_password_in_any_output(scenario):
    assert any('-vvv' in r.argv for r in scenario.runs), 'no run at -vvv to scan'
    for run in scenario.runs:
        for secret in SECRETS:
            assert secret not in run.out, 'a secret appeared in the output of %s' % ' '.join(run.argv[1:])
