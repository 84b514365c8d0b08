# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who a host's docker configuration belongs to under become, which Notation key owners are accepted, and when a
task's secrets would be written to a file on the host (_hostuser.py, the docker_user and pipelining_warning filters,
the group_defaults lookup)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.filter.docker_user import docker_user as docker_user_filter
from ansible_collections.openbanking.content_trust.plugins.filter.pipelining_warning import pipelining_warning
from ansible_collections.openbanking.content_trust.plugins.lookup.group_defaults import group_defaults
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._hostuser import (
    docker_config_path, docker_user, home_path, key_owner_uids, secrets_written_to_disk,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocifiles import check_private_file

PASSWD = {'deploy': ['x', '1001', '1002', 'Deploy', '/home/deploy', '/bin/bash']}


@pytest.mark.parametrize('path, home, expected', [
    ('~/.docker', '/home/deploy', '/home/deploy/.docker'),
    ('~', '/home/deploy', '/home/deploy'),
    ('~/a/../.docker/', '/home/deploy', '/home/deploy/.docker'),
    ('/srv/docker', '/home/deploy', '/srv/docker'),
])
def test_home_path_resolves_tilde_against_the_users_home(path, home, expected):
    assert home_path(path, home) == expected


@pytest.mark.parametrize('path, home, words', [
    ('~root/.docker', '/home/deploy', '~user is not supported'),
    ('.docker', '/home/deploy', 'absolute path'),
    ('', '/home/deploy', 'empty'),
    ('~/.docker', '', 'no home directory'),
])
def test_home_path_refuses_what_would_differ_per_user(path, home, words):
    with pytest.raises(InputError, match=words):
        home_path(path, home)


def test_docker_user_is_the_login_users_home_not_roots():
    user = docker_user('~/.docker', 'deploy', PASSWD)
    assert user == dict(config='~/.docker', path='/home/deploy/.docker', owner='deploy', uid=1001, gid=1002,
                        home='/home/deploy')


def test_docker_user_unknown_owner_is_named():
    with pytest.raises(InputError, match='no user nobody2 on the host'):
        docker_user('~/.docker', 'nobody2', PASSWD)
    with pytest.raises(AnsibleFilterError, match='content_trust_docker_config_owner'):
        docker_user_filter('~/.docker', '', PASSWD)


def test_docker_user_from_getent_output_names_the_login_user_when_no_owner_is_given():
    line = 'deploy:x:1001:1002:Deploy,,,:/home/deploy:/bin/bash\n'
    expected = dict(config='~/.docker', path='/home/deploy/.docker', owner='deploy', uid=1001, gid=1002,
                    home='/home/deploy')
    assert docker_user('~/.docker', '', line) == expected
    assert docker_user('~/.docker', 'deploy', line) == expected
    # the entry of another user is never taken for the owner asked for
    with pytest.raises(InputError, match='no user ci on the host'):
        docker_user('~/.docker', 'ci', line)
    # getent found nobody (exit 2, no output)
    with pytest.raises(InputError, match='no user ci on the host'):
        docker_user('~/.docker', 'ci', '')
    with pytest.raises(InputError, match='no user name to give'):
        docker_user('~/.docker', '', '')


def test_the_modules_get_the_resolved_path_only_for_the_same_setting():
    user = docker_user('~/.docker', 'deploy', PASSWD)
    assert docker_config_path('~/.docker', user) == '/home/deploy/.docker'
    # Another setting (a later play, another role variable): the fact is not for it.
    assert docker_config_path('~/.docker-ci', user) == '~/.docker-ci'
    assert docker_config_path('~/.docker', None) == '~/.docker'
    values = {'content_trust_docker_cli': 'docker', 'content_trust_docker_config': '~/.docker'}
    assert group_defaults(values, user)['docker_config'] == '/home/deploy/.docker'
    assert group_defaults(values)['docker_config'] == '~/.docker'


@pytest.mark.parametrize('key_owner, euid, sudo_uid, expected', [
    (1001, 0, None, {1001}),        # the configured owner only, whoever runs the module
    ('1001', 0, '1005', {1001}),
    (None, 0, '1001', {0, 1001}),   # root under sudo: the user who became root
    (None, 1001, None, {1001}),     # no become: the user running the task
    (None, 1001, '1005', {1001}),   # SUDO_UID counts only for root
    (None, 0, 'x', {0}),
])
def test_key_owner_uids(key_owner, euid, sudo_uid, expected):
    assert key_owner_uids(key_owner, euid, sudo_uid) == frozenset(expected)


def test_key_owner_must_be_a_uid():
    with pytest.raises(InputError, match='key_owner must be a uid'):
        key_owner_uids('deploy', 0)


def test_notation_key_of_the_configured_owner_is_accepted_under_become(tmp_path):
    key = tmp_path / 'notation.key'
    key.write_text(u'x')
    os.chmod(str(key), stat.S_IRUSR | stat.S_IWUSR)
    mine = os.stat(str(key)).st_uid
    check_private_file(str(key), 'key', frozenset([mine]))
    with pytest.raises(InputError, match=r'belongs to uid %d, not to the user it is meant for \(uid %d\)'
                       % (mine, mine + 1)):
        check_private_file(str(key), 'key', frozenset([mine + 1]))


@pytest.mark.parametrize('connection, pipelining, exposed', [
    ('ssh', False, True),
    ('ansible.builtin.ssh', False, True),
    ('paramiko', False, True),
    ('ssh', True, False),
    ('local', False, False),
    ('ansible.builtin.local', False, False),
    ('', False, False),
])
def test_secrets_written_to_disk_only_remote_without_pipelining(connection, pipelining, exposed):
    assert secrets_written_to_disk(connection, pipelining) is exposed
    message = pipelining_warning(connection, pipelining, 'signer1', 'the signer passphrase')
    assert bool(message) is exposed
    if exposed:
        assert 'signer1' in message and '~/.ansible/tmp' in message and 'ansible_pipelining' in message


def test_a_socket_without_permission_names_the_permission_and_the_fixes():
    from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
        DaemonUnreachable, daemon_unreachable, explain,
    )
    sdk = ("Error while fetching server API version: ('Connection aborted.', PermissionError(13, "
           "'Permission denied'))")
    error = daemon_unreachable('unix:///run/docker.sock', sdk, 'set docker_host to the socket')
    assert isinstance(error, DaemonUnreachable) and error.kind == 'daemon_unreachable'
    assert 'permission denied on its socket' in error.msg and 'docker' in error.msg and 'become' in error.msg
    assert 'set docker_host' not in error.msg
    error = daemon_unreachable('unix:///run/docker.sock', 'Connection refused', 'set docker_host to the socket')
    assert error.kind == 'daemon_unreachable' and 'cannot be reached' in error.msg and 'set docker_host' in error.msg
    cli = ('permission denied while trying to connect to the Docker daemon socket at unix:///run/docker.sock: Get '
           '"http://%2Frun%2Fdocker.sock/v1.47/images/json": dial unix /run/docker.sock: connect: permission denied')
    error = explain(cli, 'push repo:v1')
    assert error.kind == 'daemon_unreachable' and error.msg.startswith('push repo:v1: the docker daemon '
                                                                       'unix:///run/docker.sock refused this user')
    error = explain('Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?', 'pull')
    assert error.kind == 'daemon_unreachable' and 'unix:///x.sock cannot be reached' in error.msg


def test_a_daemon_this_host_cannot_use_fails_the_check_instead_of_failing_the_release(monkeypatch):
    from ansible_collections.openbanking.content_trust.plugins.module_utils import _verified_pull
    from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
    from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
        DaemonUnreachable, TrustError, daemon_unreachable,
    )
    ref = parse_reference('127.0.0.1:5000/acme/app', allow_tag=False)

    def refused(cli, targets, tag_locally):
        raise daemon_unreachable('unix:///run/docker.sock', 'Permission denied')
    monkeypatch.setattr(_verified_pull, 'pull_verified', refused)
    with pytest.raises(DaemonUnreachable, match='permission denied on its socket'):
        _verified_pull._pull_signed(None, ref, 'v1', 'sha256:' + 'a' * 64)

    def missing(cli, targets, tag_locally):
        raise TrustError('manifest unknown')
    monkeypatch.setattr(_verified_pull, 'pull_verified', missing)
    assert _verified_pull._pull_signed(None, ref, 'v1', 'sha256:' + 'a' * 64) == (False, 'manifest unknown', False)
