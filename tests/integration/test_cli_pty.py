# -*- coding: utf-8 -*-
"""The shared CLI machinery against the real docker trust on a pty."""

import os
import shutil
import subprocess
import time

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import TrustCLI
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import Secrets
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import COMMON_ARGUMENT_SPEC

from conftest import JEFF_PASS, REPO_PASS, ROOT_PASS, SHARED_BIN
from helpers import generate_key_cli


class FakeModule(object):
    """Just enough of AnsibleModule for TrustCLI: params with the documented defaults."""

    def __init__(self, **params):
        self.params = dict((k, v.get('default')) for k, v in COMMON_ARGUMENT_SPEC.items())
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def cli_for(stack, docker_config, **kw):
    params = dict(docker_config=docker_config, docker_host=stack.docker_host, server=stack.notary_url,
                  docker_cli=stack.reference_cli, timeout=30)
    params.update(kw)
    return TrustCLI(FakeModule(**params))


def test_prompts_answered_from_the_right_secret(stack, docker_config, tmp_path):
    pub = generate_key_cli(stack, docker_config, 'jeff', JEFF_PASS, str(tmp_path))
    cli = cli_for(stack, docker_config)
    repo = stack.repo()
    out = cli.run_pty([cli.docker_path(), 'trust', 'signer', 'add', '--key', pub, 'jeff', repo],
                      Secrets(root=ROOT_PASS, repository=REPO_PASS))
    assert 'Successfully added signer: jeff' in out
    assert 'new root key' in out and 'new repository key' in out
    for secret in (ROOT_PASS, REPO_PASS, JEFF_PASS):
        assert secret not in out
    assert stack.inspect(docker_config, repo)[repo]['Signers'][0]['Name'] == 'jeff'


def test_first_wrong_passphrase_fails_fast_naming_the_key(stack, docker_config, tmp_path):
    pub = generate_key_cli(stack, docker_config, 'jeff', JEFF_PASS, str(tmp_path))
    cli = cli_for(stack, docker_config)
    repo = stack.repo()
    cli.run_pty([cli.docker_path(), 'trust', 'signer', 'add', '--key', pub, 'jeff', repo],
                Secrets(root=ROOT_PASS, repository=REPO_PASS))
    version = stack.version(repo, 'targets')
    alice = generate_key_cli(stack, docker_config, 'alice', JEFF_PASS, str(tmp_path))
    start = time.time()
    with pytest.raises(TrustError) as err:
        cli.run_pty([cli.docker_path(), 'trust', 'signer', 'add', '--key', alice, 'alice', repo],
                    Secrets(root=ROOT_PASS, repository='wrong-Passphrase'))
    assert time.time() - start < 10
    msg = err.value.msg
    assert 'passphrase incorrect for the repository key' in msg
    repo_key = stack.inspect(docker_config, repo)[repo]['AdministrativeKeys'][1]['Keys'][0]['ID']
    assert repo_key[:7] in msg
    assert 'wrong-Passphrase' not in (err.value.output or '')
    assert stack.version(repo, 'targets') == version


def test_missing_passphrase_is_named(stack, docker_config, tmp_path):
    pub = generate_key_cli(stack, docker_config, 'jeff', JEFF_PASS, str(tmp_path))
    cli = cli_for(stack, docker_config)
    with pytest.raises(TrustError) as err:
        cli.run_pty([cli.docker_path(), 'trust', 'signer', 'add', '--key', pub, 'jeff', stack.repo()],
                    Secrets(repository=REPO_PASS))
    assert 'root key' in err.value.msg and 'root_passphrase' in err.value.msg


def test_every_call_has_a_timeout(stack, docker_config, tmp_path):
    cli = cli_for(stack, docker_config, timeout=2)
    start = time.time()
    with pytest.raises(TrustError) as err:
        cli.run_pty(['/bin/sleep', '30'], Secrets())
    assert 'timeout of 2 seconds' in err.value.msg and time.time() - start < 6
    with pytest.raises(TrustError) as err:
        cli.run(['/bin/sleep', '30'])
    assert 'timeout of 2 seconds' in err.value.msg and time.time() - start < 10


def test_output_is_scrubbed_of_secrets(stack, docker_config):
    cli = cli_for(stack, docker_config)
    # The secret reaches the program through its environment, never argv (argv is watched).
    env = dict(cli.env(), LEAKED=REPO_PASS)
    out = cli.run_pty(['/bin/sh', '-c', 'echo "leak $LEAKED"'], Secrets(repository=REPO_PASS), env=env)
    assert REPO_PASS not in out and 'leak ********' in out


DOCKER_29 = os.path.join(SHARED_BIN, 'docker-29')
TRUST_PLUGIN = os.path.join(SHARED_BIN, 'docker-trust')
needs_29 = pytest.mark.skipif(not os.access(DOCKER_29, os.X_OK),
                              reason='docker CLI 29 not found: %s is absent here' % SHARED_BIN)


@pytest.mark.parametrize('docker_cli', ['docker', '/usr/bin/docker'])
def test_capabilities_of_the_installed_clis(stack, docker_config, docker_cli):
    caps = cli_for(stack, docker_config, docker_cli=docker_cli).require_docker_trust()
    assert caps['trust'] is True and caps['version'] and caps['pull_verifies'] is True


@needs_29
def test_cli_29_without_the_plugin_has_no_docker_trust(stack, docker_config):
    if os.path.exists(os.path.join(docker_config, 'cli-plugins')):
        pytest.skip('this leg puts the docker-trust plugin into every docker config')
    # Although `docker trust --help` exits 0 there (with docker's general help).
    assert subprocess.run([DOCKER_29, 'trust', '--help'], stdout=subprocess.DEVNULL, check=False,
                          env=dict(os.environ, DOCKER_CONFIG=docker_config)).returncode == 0
    cli = cli_for(stack, docker_config, docker_cli=DOCKER_29)
    caps = cli.docker_capabilities()
    assert caps['trust'] is False and caps['version'] == '29.7.2' and caps['pull_verifies'] is False
    with pytest.raises(TrustError) as err:
        cli.require_docker_trust()
    assert 'docker-trust' in err.value.msg and '29.7' in err.value.msg


@needs_29
def test_cli_29_with_the_plugin_in_the_docker_config(stack, docker_config):
    plugins = os.path.join(docker_config, 'cli-plugins')
    if not os.path.isdir(plugins):
        os.mkdir(plugins)
    shutil.copyfile(TRUST_PLUGIN, os.path.join(plugins, 'docker-trust'))
    os.chmod(os.path.join(plugins, 'docker-trust'), 0o755)
    caps = cli_for(stack, docker_config, docker_cli=DOCKER_29).require_docker_trust()
    assert caps['trust'] is True and caps['version'] == '29.7.2' and caps['pull_verifies'] is False


def test_missing_binary_is_named(stack, docker_config):
    with pytest.raises(TrustError) as err:
        cli_for(stack, docker_config, docker_cli='/nonexistent/docker').docker_path()
    assert 'docker_cli' in err.value.msg
