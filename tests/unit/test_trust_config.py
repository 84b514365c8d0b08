# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""trust_config: the consumer's docker configuration, the Notary CA and the notary CLI's pins in one task.

The module runs as Ansible runs it (its own process, its arguments in a file) on files in a temporary directory:
nothing of it needs docker or a Notary, so its decisions - what is written, what is kept, what is refused before
anything is written - are tested here, and the role's use of it on the real stack (test_trusted_consumer)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys
import tempfile

import pytest

import ansible_collections
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import ensure_directory, ensure_file
from ansible_collections.openbanking.content_trust.plugins.module_utils._hostuser import account_id
from ansible_collections.openbanking.content_trust.plugins.module_utils._pem import certificates_text
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import notary_config_with_pins

ROOTS = os.pathsep.join(os.path.dirname(p) for p in ansible_collections.__path__)
CA = '''-----BEGIN CERTIFICATE-----
MIIBhzCCAS2gAwIBAgIUOBUsUnFVcSHbvAAdR1GattWxx54wCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVY29udGVudC10cnVzdCB0ZXN0IENBMB4XDTI2MTIwNjIyMDgy
MVoXDTM2MTIwMzIyMTMyMVowIDEeMBwGA1UEAwwVY29udGVudC10cnVzdCB0ZXN0
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEL5oomrO0YMMtiniVSfy4ZEbr
A9UlDgGeTXywR7Kca/6kT+5pBs9ulP0f4xg3ogaxjQ12hPNxTR6DgC+exbp3F6NF
MEMwEgYDVR0TAQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYE
FORyJCD6z8izEQK/jZKQqrHLI6ESMAoGCCqGSM49BAMCA0gAMEUCIQDt3xEZyiXn
pCqP+thnl4EV7SvzkCThoHrF3yKMS31aEQIgTrgvkiPErVm9klefXTZxQ5XJkeab
5aygQ8uWprZ3J9c=
-----END CERTIFICATE-----
'''
KEY = '-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END EC PRIVATE KEY-----\n'
SERVER = 'https://127.0.0.1:4443'
GUN = '127.0.0.1:5000/acme/app'
PIN = 'a' * 64
OTHER_PIN = 'b' * 64


def run(args, check_mode=False, diff=False):
    """The module's parsed result, run as Ansible runs it."""
    fd, path = tempfile.mkstemp(suffix='.json')
    with os.fdopen(fd, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)}, f)
    try:
        proc = subprocess.run([sys.executable, '-m',
                               'ansible_collections.openbanking.content_trust.plugins.modules.trust_config', path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=False,
                              env=dict(os.environ, PYTHONPATH=ROOTS))
    finally:
        os.unlink(path)
    out = proc.stdout.decode()
    assert 'Traceback' not in out + proc.stderr.decode(), (out, proc.stderr)
    return json.loads(out[out.index('{'):])


def tree(base):
    """``{relative path: (mode, content or None)}`` of everything under ``base``."""
    found = {}
    for root, dirs, files in os.walk(base):
        for name in dirs + files:
            path = os.path.join(root, name)
            content = None
            if os.path.isfile(path):
                with open(path) as f:
                    content = f.read()
            found[os.path.relpath(path, base)] = ('%04o' % (os.stat(path).st_mode & 0o7777), content)
    return found


@pytest.fixture
def paths(tmp_path):
    base = str(tmp_path)
    return dict(base=base, docker_config=os.path.join(base, 'home', '.docker'),
                notary_config=os.path.join(base, 'home', '.notary', 'config.json'))


def full(paths, **extra):
    return dict(dict(docker_config=paths['docker_config'], mode='0700', server=SERVER, server_ca=CA,
                     notary_config=paths['notary_config'], notary_pins={GUN: [PIN]}), **extra)


def test_a_fresh_host_gets_directory_ca_and_pins_and_a_second_run_changes_nothing(paths):
    args = full(paths)
    check = run(args, check_mode=True, diff=True)
    assert check['changed'] is True and not check.get('failed'), check
    assert tree(paths['base']) == {}, 'check mode wrote something'
    ca_path = os.path.join(paths['docker_config'], 'tls', '127.0.0.1:4443', 'ca.crt')
    assert ca_path in check['changed_paths'] and paths['notary_config'] in check['changed_paths']
    ca_diff = [d for d in check['diff'] if d.get('after_header') == ca_path]
    assert ca_diff and ca_diff[0]['after'] == CA and ca_diff[0]['before'] == ''

    first = run(args)
    assert first['changed'] is True and first['ca_path'] == ca_path, first
    assert first['changed_paths'] == check['changed_paths']
    files = tree(paths['base'])
    assert files['home/.docker'][0] == '0700'
    assert files['home/.docker/tls/127.0.0.1:4443'][0] == '0755'
    assert files['home/.docker/tls/127.0.0.1:4443/ca.crt'] == ('0644', CA)
    assert files['home/.notary'][0] == '0700'
    mode, text = files['home/.notary/config.json']
    assert mode == '0600' and json.loads(text) == {'trust_pinning': {'certs': {GUN: [PIN]}}}

    again = run(args)
    assert again['changed'] is False and again['changed_paths'] == [], again
    assert tree(paths['base']) == files


def test_the_notary_configuration_keeps_everything_but_the_pins_of_the_repositories_given(paths):
    os.makedirs(os.path.dirname(paths['notary_config']))
    existing = {'remote_server': {'url': 'https://elsewhere'}, 'trust_dir': '~/.notary',
                'trust_pinning': {'disable_tofu': True,
                                  'certs': {GUN: [OTHER_PIN], 'other.example/acme/lib': [OTHER_PIN]}}}
    with open(paths['notary_config'], 'w') as f:
        json.dump(existing, f)
    res = run(full(paths))
    assert res['changed'] is True, res
    with open(paths['notary_config']) as f:
        written = json.load(f)
    assert written == {'remote_server': {'url': 'https://elsewhere'}, 'trust_dir': '~/.notary',
                       'trust_pinning': {'disable_tofu': True,
                                         'certs': {GUN: [PIN], 'other.example/acme/lib': [OTHER_PIN]}}}
    assert run(full(paths))['changed'] is False


def test_an_existing_directory_keeps_its_mode_unless_one_is_asked_for(paths):
    os.makedirs(paths['docker_config'])
    os.chmod(paths['docker_config'], 0o755)
    res = run(dict(docker_config=paths['docker_config'], server=SERVER, server_ca=CA))
    assert res['changed'] is True and 'notary_config' not in res, res
    assert tree(paths['base'])['home/.docker'][0] == '0755'
    res = run(dict(docker_config=paths['docker_config'], mode='0700'))
    assert res['changed'] is True and res['changed_paths'] == [paths['docker_config']], res
    assert tree(paths['base'])['home/.docker'][0] == '0700'


def test_a_changed_ca_is_replaced_and_shown_in_the_diff(paths):
    run(full(paths))
    other = CA.replace('5aygQ8uWprZ3J9c=', '5aygQ8uWprZ3J9d=')
    res = run(full(paths, server_ca=other), diff=True)
    assert res['changed'] is True and len(res['changed_paths']) == 1, res
    assert res['diff'][0]['before'] == CA and res['diff'][0]['after'] == other


@pytest.mark.parametrize('extra, kind, words', [
    (dict(server=None), 'bad_input', 'server_ca is given, so server must be'),
    (dict(server='http://127.0.0.1:4443'), 'bad_input', 'http://127.0.0.1:4443'),
    (dict(server_ca=KEY), 'bad_key', 'server_ca must be PEM certificates'),
    (dict(server_ca='not a certificate'), 'bad_key', 'server_ca must be PEM certificates'),
    (dict(notary_pins={GUN: ['A' * 64]}), 'bad_input', 'is not a root key ID'),
    (dict(notary_pins={'Bad Repo': [PIN]}), 'bad_input', 'Bad Repo'),
    (dict(notary_config=None), 'bad_input', 'notary_pins are given but not notary_config'),
    (dict(mode='rwx'), 'bad_input', 'mode must be an octal file mode'),
    (dict(owner='no-such-user-here'), 'bad_input', "owner: this host has no user named 'no-such-user-here'"),
    (dict(notary_config_group='no-such-group-here'), 'bad_input', 'notary_config_group'),
], ids=['ca without server', 'http server', 'private key as CA', 'no PEM', 'bad pin', 'bad repository',
        'pins without file', 'bad mode', 'unknown owner', 'unknown group'])
def test_bad_input_fails_naming_it_before_anything_is_written(paths, extra, kind, words):
    args = dict((k, v) for k, v in full(paths, **extra).items() if v is not None)
    res = run(args)
    assert res.get('failed') and res.get('error_kind') == kind and words in res['msg'], res
    assert tree(paths['base']) == {}, 'something was written before the input was checked'
    assert 'c2VjcmV0LWtleS1ib2R5' not in json.dumps(res)


def test_a_notary_configuration_that_is_not_json_fails_and_stays_as_it_was(paths):
    os.makedirs(os.path.dirname(paths['notary_config']))
    with open(paths['notary_config'], 'w') as f:
        f.write('{not json')
    res = run(full(paths))
    assert res.get('failed') and res['error_kind'] == 'bad_input' and paths['notary_config'] in res['msg'], res
    with open(paths['notary_config']) as f:
        assert f.read() == '{not json'
    assert not os.path.exists(paths['docker_config']), 'the directory was created before the failure'


def test_a_symlink_in_place_of_the_notary_configuration_is_refused_not_followed(paths):
    target = os.path.join(paths['base'], 'elsewhere.json')
    with open(target, 'w') as f:
        f.write('{}')
    os.makedirs(os.path.dirname(paths['notary_config']))
    os.symlink(target, paths['notary_config'])
    res = run(full(paths))
    assert res.get('failed') and res['error_kind'] == 'bad_input' and 'symbolic link' in res['msg'], res
    with open(target) as f:
        assert f.read() == '{}'


@pytest.mark.skipif(os.geteuid() != 0, reason='giving a directory to another user needs root')
def test_the_directory_and_the_notary_configuration_go_to_their_owners(paths):
    res = run(full(paths, owner='65534', group='65534', notary_config_owner='nobody'))
    assert res['changed'] is True, res
    assert os.stat(paths['docker_config']).st_uid == 65534 and os.stat(paths['docker_config']).st_gid == 65534
    assert os.stat(paths['notary_config']).st_uid == 65534
    assert os.stat(os.path.dirname(paths['notary_config'])).st_uid == 65534
    assert run(full(paths, owner='65534', group='65534', notary_config_owner='nobody'))['changed'] is False


def test_notary_config_with_pins_keeps_the_text_of_an_unchanged_file():
    text = '{"trust_pinning": {"certs": {"%s": ["%s"]}}}' % (GUN, PIN)
    assert notary_config_with_pins(text, {GUN: [PIN]}, 'f') == (False, text)
    changed, new = notary_config_with_pins(None, {GUN: [PIN]}, 'f')
    assert changed and json.loads(new) == {'trust_pinning': {'certs': {GUN: [PIN]}}}
    for bad in ('[]', '{"trust_pinning": []}', '{"trust_pinning": {"certs": ["x"]}}'):
        with pytest.raises(InputError, match='must be a JSON object'):
            notary_config_with_pins(bad, {GUN: [PIN]}, 'f')


def test_ensure_helpers_refuse_what_is_not_a_directory_or_a_regular_file(tmp_path):
    path = str(tmp_path / 'f')
    with open(path, 'w') as f:
        f.write('x')
    with pytest.raises(ValueError, match='is not a directory'):
        ensure_directory(path, 0o700)
    with pytest.raises(ValueError, match='a directory'):
        ensure_file(str(tmp_path), 'x', 0o600)
    assert ensure_file(path, 'x', 0o600, check_mode=True)[0] is True  # the mode differs
    assert ensure_file(path, 'x', (os.stat(path).st_mode & 0o7777))[0] is False


def test_account_ids_and_certificates():
    assert account_id(None, 'owner', 'user') is None and account_id('', 'owner', 'user') is None
    assert account_id('0', 'owner', 'user') == 0 and account_id('root', 'owner', 'user') == 0
    assert certificates_text('\n' + CA + '\n\n', 'ca') == CA
