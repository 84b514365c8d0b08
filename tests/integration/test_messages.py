# -*- coding: utf-8 -*-
"""What a failure says, on the real stack: an unreachable Notary, a healthy Notary that does
not know the repository, a server that never answers (timeout), a wrong key passphrase.
Each used to come out as "cannot be reached (no answer)" or a bare command line, with up to
4000 characters of docker's debug log cut mid-line."""

import os
import socket

import pytest

from conftest import JEFF_PASS, common, run_module
from helpers import PrivateNotary

DEBUG_NOISE = 'level=debug msg="verifying signature'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope='module')
def empty_notary(stack, tmp_path_factory):
    """A second, healthy Notary server that knows no repository: what a Notary looks like
    after its database was restored from before a repository existed."""
    notary = PrivateNotary(stack, tmp_path_factory.mktemp('empty-notary')).start()
    yield notary.url
    notary.stop()


@pytest.fixture
def signed_repo(stack, docker_config):
    """A repository signed on the stack's Notary, so docker_config has its trust data cached."""
    repo = stack.repo('msg')
    key = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
    res = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='jeff',
                                            public_keys=[key['public_key']], root_passphrase='root-Passphrase-1',
                                            repository_passphrase='repo-Passphrase-2'))
    assert not res.failed, res
    stack.build_image(docker_config, repo + ':build')
    res = run_module('trust_push', common(stack, docker_config, repository=repo, tags=['v1'], source=repo + ':build',
                                          signer='jeff', signer_passphrase=JEFF_PASS))
    assert res['changed'] is True, res
    return repo


def assert_whole_lines_only(stdout, limit=21):
    lines = stdout.splitlines()
    assert 0 < len(lines) <= limit, stdout
    assert DEBUG_NOISE not in stdout, stdout
    for line in lines:
        # logrus lines end with their closing quote: none is cut.
        if line.startswith('time='):
            assert line.endswith('"'), line


def test_repository_unknown_to_a_healthy_server_is_not_called_unreachable(stack, docker_config, signed_repo,
                                                                          empty_notary):
    res = run_module('trust_info', common(stack, docker_config, server=empty_notary, references=[signed_repo]))
    assert res.failed, res
    msg = res['msg']
    assert 'cannot be reached' not in msg, msg
    assert 'the Notary server %s answers, but has no trust data for %s (HTTP 404 for its timestamp)' \
        % (empty_notary, signed_repo) in msg, msg
    assert os.path.join(docker_config, 'trust', 'tuf', signed_repo) in msg, msg
    assert 'received HTTP status 404 when requesting timestamp' in res['stdout'], res
    assert_whole_lines_only(res['stdout'])
    # The stack's Notary still has it: the message was about the server asked, not the repository.
    assert stack.versions(signed_repo)['targets'] >= 1


def test_unreachable_server_with_a_cache_says_unreachable(stack, docker_config, signed_repo):
    closed = 'https://127.0.0.1:%d' % free_port()
    res = run_module('trust_info', common(stack, docker_config, server=closed, references=[signed_repo]))
    assert res.failed, res
    assert 'the Notary server %s cannot be reached' % closed in res['msg'], res
    assert 'connection refused' in res['msg'], res
    assert 'answers, but has no trust data' not in res['msg'], res
    assert_whole_lines_only(res['stdout'])


def test_timeout_names_the_operation_the_repository_and_the_server(stack, docker_config):
    # A server that accepts connections and never answers.
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(16)
    url = 'https://127.0.0.1:%d' % silent.getsockname()[1]
    repo = stack.repo('msg')
    try:
        res = run_module('trust_info', common(stack, docker_config, server=url, timeout=3,
                                              references=[repo + ':v1']))
    finally:
        silent.close()
    assert res.failed, res
    # docker trust inspect where the CLI has it; the notary CLI's first read where it does not
    operation = 'docker trust inspect of %s:v1' % repo if stack.cli_has_trust else 'notary delegation list %s' % repo
    assert '%s (Notary server %s) did not finish within the timeout of 3 seconds' % (operation, url) in res['msg'], res
    assert '-l warn' not in res['msg'], res


@pytest.mark.cli_independent
def test_wrong_passphrase_of_an_existing_key_does_not_invite_force(stack, docker_config):
    key = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
    res = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase='wrong-Passphrase-9'),
                     secrets=[JEFF_PASS, 'wrong-Passphrase-9'])
    assert res.failed, res
    assert 'force=true to replace the key' not in res['msg'], res
    assert 'nothing was changed. Check the passphrase' in res['msg'], res
    # force is named only with what it destroys.
    assert 'force=true deletes key %s' % key['key_id'] in res['msg'], res
    assert os.path.isfile(os.path.join(docker_config, 'trust', 'private', key['key_id'] + '.key'))
