# -*- coding: utf-8 -*-
"""The collection as users get it: the tarball `ansible-galaxy collection build` makes,
installed with `ansible-galaxy collection install` into an empty collections path, and the
example playbooks run from THAT copy (its playbooks/, its roles, its modules) against the
real local stack.  Before, the tests only ever ran the clone through the build/collections
symlink, so a file the tarball lacked (or carried needlessly) went unnoticed.

`make installed` does the same with the demo (tests/demo.sh) after `ansible-test sanity`
on the installed copy; this test is the part that runs against the shared stack.
"""

import json
import os
import shutil
import subprocess
import tarfile

import pytest

from conftest import ROOT
from test_playbooks import BIN, FOUR, SECRETS, Scenario

# What a Galaxy / Automation Hub reviewer looks for, and what ansible-test needs on the
# installed copy.
MUST_SHIP = ['LICENSE', 'CHANGELOG.rst', 'README.md', 'MANIFEST.json', 'FILES.json', 'meta/runtime.yml',
             'tests/config.yml', 'docs/docsite/links.yml', 'changelogs/changelog.yaml',
             'tests/unit/conftest.py', 'playbooks/publish_release.yml', 'roles/publish_release/tasks/main.yml']
# Tests that need the clone and the local stack: they cannot run from an installed copy.
MUST_NOT_SHIP = ['tests/integration/', 'tests/bench/', 'tests/stack/', 'tests/demo.sh', 'build/', 'Makefile']


def galaxy(*args, **kwargs):
    proc = subprocess.run([os.path.join(BIN, 'ansible-galaxy')] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300, check=False, **kwargs)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, out
    return out


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(tarball, collections path) of a fresh build and install of this clone."""
    base = tmp_path_factory.mktemp('installed')
    dist = base / 'dist'
    collections = base / 'collections'
    dist.mkdir()
    collections.mkdir()
    # Only the new, empty path is configured: with the clone's build/collections on it,
    # `install` would find openbanking.content_trust already there and install nothing.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections))
    env.pop('PYTHONPATH', None)
    galaxy('collection', 'build', '--output-path', str(dist), ROOT, env=env)
    tarballs = list(dist.glob('openbanking-content_trust-*.tar.gz'))
    assert len(tarballs) == 1, tarballs
    galaxy('collection', 'install', '--offline', '--no-deps', '-p', str(collections), str(tarballs[0]), env=env)
    return str(tarballs[0]), str(collections)


# The shipped playbooks by their FQCN, as `ansible-playbook openbanking.content_trust.publish_release`.
FQCN = 'openbanking.content_trust.'
# ansible-playbook in a mount namespace of its own where the installed collections path is mounted read-only, as in an
# execution environment (root only: CI runs as root).
READ_ONLY = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
             'mount --bind -o ro "$0" "$0" && exec "$@"']


class InstalledScenario(Scenario):
    """The playbooks of the installed copy, run by FQCN with that copy read-only, and the roles' default output paths
    (public keys, release reports, pins file): they must land beside the inventory, not in the collection."""

    def __init__(self, stack, base, collections):
        self.collections_path = collections
        self.playbooks_dir = os.path.join(collections, 'ansible_collections', 'openbanking', 'content_trust',
                                          'playbooks')
        self.wrapper = READ_ONLY + [collections]
        super(InstalledScenario, self).__init__(stack, base)
        # The defaults, not the test's own paths (the inventory file is in base: inventory_dir).
        # The signers' keys where signing_host puts them by default (sync_signers.yml does not load its defaults).
        with open(self.inventory) as f:
            inventory = json.loads(f.read().replace("content_trust_public_key_dir ~ '/jeff.pub'",
                                                    "inventory_dir ~ '/trust-keys/jeff.pub'"))
        for name in ('content_trust_public_key_dir', 'content_trust_report_dir'):
            del inventory['all']['vars'][name]
        with open(self.inventory, 'w') as f:
            json.dump(inventory, f, indent=1)
        self.key_dir = os.path.join(base, 'trust-keys')
        self.report_dir = os.path.join(base, 'release-reports')

    def playbook_arg(self, name):
        return FQCN + name[:-len('.yml')]


@pytest.fixture(scope='module')
def scenario(stack, installed, tmp_path_factory):
    if os.geteuid() != 0 or not shutil.which('unshare'):
        pytest.fail('the installed-copy test mounts the collection read-only: it needs root and unshare (util-linux)')
    probe = subprocess.run(READ_ONLY + [installed[1], 'touch', os.path.join(installed[1], 'probe')],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, check=False)
    # The mount is really read-only: a write there fails, and nothing was written.
    assert probe.returncode != 0 and b'Read-only file system' in probe.stdout, probe.stdout
    assert not os.path.exists(os.path.join(installed[1], 'probe'))
    return InstalledScenario(stack, str(tmp_path_factory.mktemp('installed-playbooks')), installed[1])


@pytest.fixture(autouse=True)
def no_clone_on_pythonpath(monkeypatch):
    # The test runner puts the clone's build/collections on PYTHONPATH; the installed copy
    # must be the only openbanking.content_trust the playbooks can find.
    monkeypatch.delenv('PYTHONPATH', raising=False)


def test_tarball_ships_licence_changelog_and_test_config_but_no_stack_tests(installed):
    with tarfile.open(installed[0]) as tar:
        names = tar.getnames()
    for name in MUST_SHIP:
        assert name in names, '%s is missing from %s' % (name, os.path.basename(installed[0]))
    for prefix in MUST_NOT_SHIP:
        assert not [n for n in names if n == prefix.rstrip('/') or n.startswith(prefix)], \
            '%s is in the tarball although it cannot run from an installed collection' % prefix
    root = os.path.join(installed[1], 'ansible_collections', 'openbanking', 'content_trust')
    with open(os.path.join(root, 'LICENSE')) as f:
        assert 'GNU GENERAL PUBLIC LICENSE' in f.readline()
    out = galaxy('collection', 'list', 'openbanking.content_trust', env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed[1]))
    assert os.path.join(installed[1], 'ansible_collections') in out, out


def test_playbooks_from_the_installed_copy_publish_a_release_that_verifies(scenario, stack, installed):
    run = scenario.playbook(*(FOUR + ['-vvv']))
    assert run.rc == 0, run
    assert 'ansible-playbook -i %s -e @%s %sprovision_signing_host ' % (scenario.inventory, scenario.secrets, FQCN) \
        in ' '.join(run.argv)
    # The outputs went beside the inventory; the installed copy is as it was installed.
    assert os.path.isfile(os.path.join(scenario.key_dir, 'jeff.pub'))
    assert os.path.isfile(os.path.join(scenario.report_dir, 'release-v1.0.0.json'))
    assert os.path.isfile(os.path.join(scenario.base, 'content_trust_pins.yml'))
    verify = galaxy('collection', 'verify', '--offline', 'openbanking.content_trust',
                    env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed[1]))
    assert 'Successfully verified that checksums for \'openbanking.content_trust:' in verify, verify
    assert run.recap['failed'] == 0 and run.recap['changed'] > 0, run
    # Every task came from the installed copy, none from the clone.
    task_paths = [line.split('task path: ', 1)[1] for line in run.out.splitlines() if 'task path: ' in line]
    assert task_paths, run
    elsewhere = sorted(set(p for p in task_paths if not p.startswith(installed[1])))
    assert not elsewhere, elsewhere

    # What the bare docker CLI reports afterwards, and a consumer's content-trust pull.
    for repo in (scenario.repo1, scenario.repo2):
        assert list(scenario.signers(repo)) == ['jeff'], run
    tags1 = scenario.signed_tags(scenario.repo1)
    assert sorted(tags1) == ['stable', 'v1.0.0']
    assert sorted(scenario.signed_tags(scenario.repo2)) == ['v1.0.0']
    pulled = stack.trusted_pull(scenario.repo1 + ':v1.0.0')
    assert pulled.returncode == 0, pulled.stderr.decode()
    scenario.versions_after_first_run = scenario.versions()


def test_second_run_from_the_installed_copy_changes_nothing(scenario):
    run = scenario.playbook(*FOUR)
    assert run.rc == 0, run
    assert run.recap['changed'] == 0, run
    assert scenario.versions() == scenario.versions_after_first_run
    for r in scenario.runs:
        for secret in SECRETS:
            assert secret not in r.out, 'a secret appeared in the output of %s' % ' '.join(r.argv[1:])
