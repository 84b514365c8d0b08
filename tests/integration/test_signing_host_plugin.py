# -*- coding: utf-8 -*-
"""signing_host installs the docker-trust CLI plugin for docker 29 (per-user here: other test runs
use docker 29 without the plugin, so nothing may go to /usr/libexec)."""

import filecmp
import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED_BIN

BIN = os.path.dirname(sys.executable)
DOCKER_29 = os.path.join(SHARED_BIN, 'docker-29')
PLUGIN = os.path.join(SHARED_BIN, 'docker-trust')

pytestmark = pytest.mark.skipif(not (os.access(DOCKER_29, os.X_OK) and os.path.isfile(PLUGIN)),
                                reason='docker CLI 29 and its docker-trust plugin not found: %s is absent here'
                                       % SHARED_BIN)


def play(tmp_path, **variables):
    playbook = tmp_path / 'signing_host.yml'
    playbook.write_text(json.dumps([{
        'hosts': 'localhost', 'gather_facts': False,
        'roles': [{'role': 'openbanking.content_trust.signing_host'}]}]))
    inventory = tmp_path / 'inventory.json'
    inventory.write_text(json.dumps({'all': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}))
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps(dict({'content_trust_install_packages': False}, **variables)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', str(inventory), '-e', '@' + str(extra),
                           str(playbook)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300,
                          check=False)
    return proc.returncode, proc.stdout.decode()


def recap(out):
    line = [l for l in out.splitlines() if l.startswith('localhost') and 'changed=' in l][-1]
    return dict(kv.split('=') for kv in line.split(':', 1)[1].split())


def docker_trust(config):
    return subprocess.run([DOCKER_29, 'trust'], env=dict(os.environ, DOCKER_CONFIG=config), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)


def test_plugin_installed_per_user_then_unchanged(tmp_path):
    config = str(tmp_path / 'docker')
    assert b'unknown command' in docker_trust(config).stdout
    variables = dict(content_trust_docker_cli=DOCKER_29, content_trust_docker_config=config,
                     content_trust_docker_trust_plugin=PLUGIN, content_trust_docker_trust_plugin_scope='user')
    rc, out = play(tmp_path, **variables)
    assert rc == 0, out
    installed = os.path.join(config, 'cli-plugins', 'docker-trust')
    assert filecmp.cmp(installed, PLUGIN, shallow=False)
    assert stat.S_IMODE(os.stat(installed).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(os.path.join(config, 'trust')).st_mode) == 0o700
    answer = docker_trust(config)
    assert answer.returncode == 0 and b'Usage:  docker trust COMMAND' in answer.stdout
    assert int(recap(out)['changed']) > 0
    rc, out = play(tmp_path, **variables)
    assert rc == 0 and recap(out)['changed'] == '0', out


def test_without_the_plugin_nothing_is_installed_and_bad_scope_is_refused(tmp_path):
    config = str(tmp_path / 'docker')
    rc, out = play(tmp_path, content_trust_docker_cli=DOCKER_29, content_trust_docker_config=config)
    assert rc == 0, out
    assert not os.path.exists(os.path.join(config, 'cli-plugins'))
    assert b'unknown command' in docker_trust(config).stdout  # the notary path, then
    rc, out = play(tmp_path, content_trust_docker_config=config, content_trust_docker_trust_plugin=PLUGIN,
                   content_trust_docker_trust_plugin_scope='everyone')
    assert rc != 0 and 'content_trust_docker_trust_plugin_scope' in out and 'everyone' in out
    assert not os.path.exists(os.path.join(config, 'cli-plugins'))
