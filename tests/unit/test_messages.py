# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a failure carries: the lines that explain it, whole; commands named by what they do; the class and
message each recognised CLI output maps to; and how ``run`` reports user errors and bugs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import signal

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _cli, _common, _keys, _module
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import (
    describe_command, failure_lines,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    CLIFailure, CommandTimeout, ContentTrustError, CredentialsRefused, InputError, InvalidReference, KeyProblem,
    MissingSigningKey, NotaryTLSUntrusted, NotaryUnreachable, RegistryUnreachable, RepositoryUnknown, TrustError,
    Unverified, WrongKeyPassphrase, WrongPassphrase, explain, notary_ca_path, notary_tls_untrusted, server_hostport,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action, run

DEBUG_LOG = '\n'.join(
    ['time="2026-11-29T14:13:46Z" level=debug msg="verifying signature for key ID: %064d"' % i for i in range(200)]
    + ['time="2026-11-29T14:13:46Z" level=debug msg="received HTTP status 404 when requesting timestamp."',
       'time="2026-11-29T14:13:46Z" level=warning msg="Error while downloading remote metadata, using cached '
       'timestamp - this might not be the latest version available remotely"',
       'time="2026-11-29T14:13:46Z" level=debug msg="successfully verified cached targets"'])


def test_failure_lines_keep_errors_and_warnings_whole_and_drop_debug_noise():
    out = failure_lines(DEBUG_LOG)
    assert out.splitlines() == DEBUG_LOG.splitlines()[200:202]


def test_failure_lines_keep_plain_output_and_the_last_lines_when_long():
    plain = '\n'.join('line %d of a long error' % i for i in range(30))
    out = failure_lines(plain + '\n' + plain)
    lines = out.splitlines()
    assert lines[0] == '(10 earlier lines left out)'
    assert lines[1:] == ['line %d of a long error' % i for i in range(10, 30)]
    assert failure_lines('') == ''


def test_describe_command_names_operation_references_and_server():
    assert describe_command(['/usr/local/bin/docker', '-l', 'warn', 'trust', 'inspect', 'r/a:v1', 'r/b:v2'],
                            'https://n:4443') == 'docker trust inspect of r/a:v1, r/b:v2 (Notary server https://n:4443)'
    assert describe_command(['/usr/bin/notary', '-c', '/tmp/c.json', '-s', 'https://n:4443', '-d', '/t', 'publish',
                             'r/a']) == 'notary publish of r/a (Notary server https://n:4443)'
    assert describe_command(['docker', 'push', 'r/a:v1']) == 'docker push of r/a:v1'


# --- one table explains every CLI's output -----------------------------------------------------

SERVER = 'https://n:4443'


def _explained(output, what='docker trust inspect r/a', **kwargs):
    error = explain(output, what, **kwargs)
    assert isinstance(error, TrustError) and isinstance(error, ContentTrustError)
    assert str(error) == error.msg and error.output == output
    return error


@pytest.mark.parametrize('output, cls, expected', [
    ('Get "https://n:4443/v2/": x509: certificate signed by unknown authority', NotaryTLSUntrusted,
     'docker trust inspect r/a: the TLS certificate of the Notary server https://n:4443 is not trusted; install its '
     'CA as /cfg/tls/n:4443/ca.crt'),
    ('tls: failed to verify certificate: certificate signed by unknown authority', NotaryTLSUntrusted,
     'docker trust inspect r/a: the TLS certificate of the Notary server https://n:4443 is not trusted; install its '
     'CA as /cfg/tls/n:4443/ca.crt'),
    ('error contacting notary server: dial tcp 127.0.0.1:4443: connect: connection refused', NotaryUnreachable,
     'docker trust inspect r/a: the Notary server https://n:4443 cannot be reached (dial tcp 127.0.0.1:4443: connect: '
     'connection refused)'),
    ('some line\ndial tcp: lookup n: no such host', NotaryUnreachable,
     'docker trust inspect r/a: the Notary server https://n:4443 cannot be reached (dial tcp: lookup n: no such host)'),
    ('could not find necessary signing keys, at least one of these keys must be available: 0a1b2c', MissingSigningKey,
     'docker trust inspect r/a: no usable local private key for the role being signed (needed one of: 0a1b2c); the '
     'key is missing from the trust directory or its passphrase was wrong'),
    ('does not have trust data for 127.0.0.1:5000/acme/app', RepositoryUnknown,
     'docker trust inspect r/a: the Notary server has no trust data for this repository'),
    ('remote trust data does not exist for 127.0.0.1:5000/acme/app', RepositoryUnknown,
     'docker trust inspect r/a: the Notary server has no trust data for this repository'),
    ('you are not authorized to perform this operation: server returned 401.', CredentialsRefused,
     'docker trust inspect r/a: the registry or Notary server refused the credentials; run "docker login" with this '
     'docker_config'),
    ('Error response from daemon: No such image: r/a:v1', CLIFailure,
     'docker trust inspect r/a: the image does not exist locally'),
    ('first\n  the last line  \n\n', CLIFailure, 'docker trust inspect r/a failed: the last line'),
    ('', CLIFailure, 'docker trust inspect r/a failed: no output'),
])
def test_docker_output_maps_to_its_class_and_message(output, cls, expected):
    error = _explained(output, server=SERVER, docker_config='/cfg', rc=1, cmd=['docker', 'trust', 'inspect'])
    assert error.__class__ is cls
    assert error.msg == expected
    assert (error.rc, error.cmd) == (1, ['docker', 'trust', 'inspect'])


def test_without_a_server_the_messages_say_where_it_came_from():
    error = _explained('dial tcp 127.0.0.1:1: connect: connection refused')
    assert error.__class__ is NotaryUnreachable
    assert 'the Notary server (from the docker configuration) cannot be reached' in error.msg
    error = _explained('x509: certificate has expired')
    assert error.__class__ is NotaryTLSUntrusted and 'install its CA' not in error.msg


def test_notary_failure_texts():
    offline = ('Pushing changes to r/a\nERRO[0000] could not reach https://n:4443: Get "https://n:4443/v2/": dial tcp '
               '127.0.0.1:4443: connect: connection refused\n* fatal: client is offline')
    error = _explained(offline, 'notary publish', sources=('notary',), server=SERVER)
    assert error.__class__ is NotaryUnreachable
    assert error.msg == ('notary publish: the Notary server https://n:4443 cannot be reached (Get "https://n:4443/v2/": '
                         'dial tcp 127.0.0.1:4443: connect: connection refused)')
    assert explain('* fatal: client is offline', 'notary publish', sources=('notary',), server=SERVER).msg == \
        'notary publish: the Notary server https://n:4443 cannot be reached (client is offline)'
    tls = 'could not reach https://n:4443: Get "https://n:4443/v2/": x509: certificate signed by unknown authority'
    error = _explained(tls, 'notary publish', sources=('notary',), server=SERVER, docker_config='/cfg')
    assert error.__class__ is NotaryTLSUntrusted and error.msg.endswith('install its CA as /cfg/tls/n:4443/ca.crt')
    # nothing notary-specific: None keeps the error already raised; with the docker rules, the generic one
    assert explain('* fatal: something else', 'notary publish', sources=('notary',), server=SERVER,
                   fallback=False) is None
    assert explain('* fatal: something else', 'notary publish', sources=('notary', 'docker'), server=SERVER).msg == \
        'notary publish failed: * fatal: something else'


def test_push_failures_blame_the_registry_not_the_notary():
    refused = ('The push refers to repository [127.0.0.1:1/acme/app]\r\nGet "http://127.0.0.1:1/v2/": dial tcp '
               '127.0.0.1:1: connect: connection refused\r\n')
    error = _explained(refused, 'docker trust sign x', sources=('push',), registry='http://127.0.0.1:1')
    assert error.__class__ is RegistryUnreachable
    assert error.msg == ('docker trust sign x: the registry http://127.0.0.1:1 cannot be reached by the docker daemon '
                         '(Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused)')
    denied = 'The push refers to repository [r/acme/app]\nunauthorized: authentication required\n'
    error = _explained(denied, 'w', sources=('push',), registry='https://r')
    assert error.__class__ is CredentialsRefused and 'refused the push' in error.msg and 'docker login' in error.msg
    other = 'The push refers to repository [r/acme/app]\nblob upload unknown\n'
    error = _explained(other, 'w', sources=('push',), registry='https://r')
    assert error.__class__ is CLIFailure and error.msg == 'w: pushing to the registry https://r failed: blob upload unknown'
    signing = 'The push refers to repository [r]\nv1: digest: sha256:%s size: 1\nSigning and pushing trust metadata\nx\n' \
        % ('a' * 64)
    assert explain(signing, 'w', sources=('push',), registry='https://r', fallback=False) is None


def test_the_daemons_push_error_names_the_registry():
    error = _explained('Get "https://r/v2/": dial tcp: lookup r: no such host', 'pushing r/a:v1',
                       sources=('registry',), registry='https://r')
    assert error.__class__ is RegistryUnreachable and 'the registry https://r cannot be reached' in error.msg
    error = _explained('denied: requested access to the resource is denied', 'pushing r/a:v1', sources=('registry',),
                       registry='https://r')
    assert error.__class__ is CredentialsRefused


def test_cosign_and_notation_keep_their_first_error_line():
    out = 'Pushing\r\nError: signing [x]: boom\r\nerror during command execution: signing [x]: boom\r\n'
    error = _explained(out, 'cosign sign', sources=('oci',))
    assert error.__class__ is CLIFailure and error.msg == 'cosign sign failed: signing [x]: boom'
    assert explain('no error line\r\nlast one\r\n', 'notation verify', sources=('oci',)).msg == \
        'notation verify failed: last one'


def test_the_hierarchy():
    for cls in (InputError, InvalidReference, KeyProblem, WrongKeyPassphrase, TrustError, WrongPassphrase,
                NotaryUnreachable, NotaryTLSUntrusted, RepositoryUnknown, RegistryUnreachable, CredentialsRefused,
                MissingSigningKey, CLIFailure, CommandTimeout, Unverified):
        assert issubclass(cls, ContentTrustError), cls
    # user input errors are ValueErrors too (code that validates with "except ValueError" keeps working);
    # failures of the tools are not
    assert issubclass(InvalidReference, InputError) and issubclass(KeyProblem, InputError)
    assert issubclass(InputError, ValueError) and not issubclass(TrustError, ValueError)
    # the renamed classes no longer shadow builtins
    assert not hasattr(_common, 'ReferenceError') and not hasattr(_keys, 'KeyError_')
    assert _common.InvalidReference is InvalidReference and _keys.KeyProblem is KeyProblem
    assert _cli.TrustError is TrustError and _module.InputError is InputError
    error = WrongPassphrase('passphrase incorrect', output='out', rc=1, cmd=['notary'])
    assert (str(error), error.output, error.rc, error.cmd, error.kind) == \
        ('passphrase incorrect', 'out', 1, ['notary'], 'wrong_passphrase')


def test_a_notary_url_gives_its_host_port_one_way():
    for url in ('https://n:4443', 'https://n:4443/', 'http://n:4443', 'https://n:4443/some/path'):
        assert server_hostport(url) == 'n:4443'
    assert notary_ca_path('/cfg', 'https://n:4443/') == '/cfg/tls/n:4443/ca.crt'
    # the roles' derivation is the same function (the notary_tls_dir filter)
    from ansible_collections.openbanking.content_trust.plugins.filter.notary_tls_dir import notary_tls_dir
    assert notary_tls_dir('/cfg', 'https://n:4443/x') == '/cfg/tls/n:4443'
    error = notary_tls_untrusted('https://n:4443', '/cfg', reason='certificate verify failed', note='why')
    assert error.msg == ('the TLS certificate of the Notary server https://n:4443 is not trusted (certificate verify '
                         'failed): why; install its CA as /cfg/tls/n:4443/ca.crt')


def test_the_tls_text_and_the_host_port_rule_exist_once():
    code = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'plugins',
                        'module_utils')
    found = {}
    for root, dummy, files in os.walk(code):
        for name in files:
            if name.endswith('.py'):
                with open(os.path.join(root, name)) as f:
                    text = f.read()
                for needle in ('TLS certificate of the Notary server', 'https?://', 'is not trusted', 'def explain',
                               "/tls/%s/ca.crt"):
                    if needle in text:
                        found.setdefault(needle, []).append(name)
    assert found['TLS certificate of the Notary server'] == ['_errors.py']
    assert found['is not trusted'] == ['_errors.py']
    assert found['https?://'] == ['_errors.py']
    assert found['def explain'] == ['_errors.py']
    assert "/tls/%s/ca.crt" not in found


# --- run(): user errors fail cleanly, bugs say they are bugs -----------------------------------

class _Exit(Exception):
    def __init__(self, failed, result):
        super(_Exit, self).__init__(result)
        self.failed, self.result = failed, result


class _FakeModule(object):
    def __init__(self, docker_config):
        self.params = dict(docker_cli='docker', notary_cli='notary', docker_host=None, docker_config=docker_config,
                           server=None, timeout=30, root_passphrase=None, repository_passphrase=None)
        self.check_mode = False
        self._diff = False

    def fail_json(self, **result):
        raise _Exit(True, result)

    def exit_json(self, **result):
        raise _Exit(False, result)


@pytest.fixture
def run_action(tmp_path):
    saved = dict((s, signal.getsignal(s)) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT))

    def run_it(action):
        class Work(Action):  # the module's work: ``action`` stands for its plan
            def plan(self):
                return action(self.module, self.cli)

            def changed(self, plan):
                return False

            def result(self, plan, outcome):
                return plan

        with pytest.raises(_Exit) as info:
            run(_FakeModule(str(tmp_path / 'docker')), Work)
        return info.value

    yield run_it
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize('bug', [ValueError('invalid literal for int()'), TypeError("'NoneType' is not iterable"),
                                 KeyError('tags')])
def test_run_reports_a_programming_error_as_unexpected_with_its_traceback(run_action, bug):
    def action(module, cli):
        raise bug

    out = run_action(action)
    assert out.failed
    assert out.result['msg'] == 'unexpected error: %s' % bug
    assert out.result['exception'].startswith('Traceback (most recent call last):')
    assert type(bug).__name__ in out.result['exception'] and 'in action' in out.result['exception']
    assert 'error_kind' not in out.result


@pytest.mark.parametrize('error, kind', [
    (InputError('tags must list at least one tag'), 'bad_input'),
    (InvalidReference('repository "A" is not a valid repository name'), 'bad_input'),
    (KeyProblem('public_keys[0] is not a PEM public key'), 'bad_key'),
    (WrongKeyPassphrase('key 1 could not be decrypted: the passphrase is incorrect'), 'wrong_passphrase'),
    (RepositoryUnknown('repository r/a has no trust data'), 'repository_unknown'),
])
def test_run_reports_a_user_error_cleanly(run_action, error, kind):
    def action(module, cli):
        raise error

    out = run_action(action)
    assert out.failed
    assert out.result == {'msg': error.msg, 'error_kind': kind}


def test_run_reports_a_cli_failure_with_its_output_and_exit_code(run_action):
    def action(module, cli):
        raise explain('level=debug msg="noise"\nError: boom', 'notary publish', rc=2, cmd=['notary'])

    out = run_action(action)
    assert out.result == {'msg': 'notary publish failed: Error: boom', 'error_kind': 'cli_failure',
                          'stdout': 'Error: boom', 'rc': 2}


def test_run_exits_with_the_result(run_action):
    out = run_action(lambda module, cli: {'changed': False})
    assert not out.failed and out.result == {'changed': False}
