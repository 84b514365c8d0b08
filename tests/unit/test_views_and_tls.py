# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where temporary views live and when they are swept; when the Notary's certificate is verified."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import TrustCLI
from ansible_collections.openbanking.content_trust.plugins.module_utils._views import _lock, sweep_stale_views
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    RESERVED_SIGNER_NAMES, is_loopback_host, notary_tls_verified, parse_reference, validate_signer_name,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import signer_role_matches


@pytest.mark.parametrize('host', ['localhost', 'LOCALHOST', '127.0.0.1', '127.5.6.7', '::1', '[::1]'])
def test_literally_loopback(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize('host', ['vm', 'localhost.localdomain', 'notary.example.com', '10.0.0.1', '192.0.2.2',
                                  '127.0.0.1.nip.io', '::2', ''])
def test_not_literally_loopback(host):
    assert not is_loopback_host(host)


@pytest.mark.parametrize('registry,server,verified', [
    ('127.0.0.1:5000', 'https://127.0.0.1:4443', False),     # both on this host: docker skips, so do we
    ('localhost:5000', 'https://localhost:4443', False),
    ('127.0.0.1:5000', 'https://notary.example.com', True),  # docker would skip; the collection must not
    ('127.0.0.1:5000', 'https://vm:4443', True),             # resolving to 127.0.0.1 is not enough
    ('registry.example.com', 'https://127.0.0.1:4443', True),  # docker verifies here
    ('registry.example.com', 'https://notary.example.com', True),
])
def test_when_the_notary_certificate_is_verified(registry, server, verified):
    assert notary_tls_verified(parse_reference(registry + '/acme/app', allow_tag=False), server) is verified


@pytest.mark.parametrize('name', list(RESERVED_SIGNER_NAMES) + ['targets/jeff', 'a/b'])
def test_reserved_and_slashed_signer_names(name):
    with pytest.raises(ValueError, match='reserved|no "/"'):
        validate_signer_name(name)


def test_only_delegation_keys_match_a_signer():
    assert signer_role_matches('jeff', 'jeff') and signer_role_matches('targets/jeff', 'jeff')
    for role, name in (('root', 'root'), ('targets', 'targets'), ('snapshot', 'snapshot'),
                       ('targets', 'jeff'), ('targets/releases', 'targets/releases'), ('timestamp', 'timestamp')):
        assert not signer_role_matches(role, name)


# --- views -------------------------------------------------------------------------------------

def _view(views, name, held):
    os.makedirs(os.path.join(views, name), 0o700)
    fd = _lock(os.path.join(views, name + '.lock'), create=True)
    assert fd is not None
    if not held:
        os.close(fd)
        return None
    return fd


def test_sweep_removes_dead_views_only(tmp_path):
    views = str(tmp_path / '.views')
    os.mkdir(views, 0o700)
    live = _view(views, 'view-live', held=True)
    _view(views, 'view-dead', held=False)
    os.mkdir(os.path.join(views, 'view-nolock'))
    with open(os.path.join(views, 'view-gone.lock'), 'w'):
        pass
    try:
        swept = sweep_stale_views(views)
        assert sorted(swept) == ['view-dead', 'view-nolock']
        assert sorted(os.listdir(views)) == ['view-live', 'view-live.lock']
    finally:
        os.close(live)
    assert sweep_stale_views(views) == ['view-live']
    assert os.listdir(views) == []


class FakeModule(object):
    def __init__(self, docker_config):
        self.params = dict(docker_cli='docker', notary_cli='notary', docker_host=None, docker_config=docker_config,
                           server=None, timeout=30, root_passphrase=None, repository_passphrase=None)

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def test_views_live_in_the_trust_directory_and_go_with_cleanup(tmp_path):
    config = str(tmp_path / 'cfg')
    cli = TrustCLI(FakeModule(config))
    view = cli.tempdir()
    other = cli.tempdir()
    trust = os.path.join(config, 'trust')
    views = os.path.join(trust, '.views')
    # in one directory of the run, locked once: a lock per view held a file open per view until the run ended
    run = os.path.dirname(view)
    assert os.path.dirname(run) == views and os.path.dirname(other) == run
    assert sorted(os.listdir(views)) == [os.path.basename(run), os.path.basename(run) + '.lock']
    for d in (trust, views, run, view):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    # a second run on the same configuration leaves them alone while this one lives
    assert sweep_stale_views(views) == []
    assert os.path.isdir(view) and os.path.isdir(other)
    cli.cleanup()
    assert not os.path.exists(os.path.join(trust, '.views'))
    assert os.listdir(trust) == []


def test_the_read_view_shows_the_real_tuf_cache_and_no_private_key(tmp_path):
    # docker and notary open every private key file for each repository they read: reads run without them,
    # on the real TUF cache (a read refreshes it, under the repository's lock) and the rest of the configuration.
    config = tmp_path / 'cfg'
    (config / 'trust' / 'private').mkdir(parents=True)
    (config / 'trust' / 'private' / 'abc.key').write_text(u'key')
    (config / 'tls' / 'notary:4443').mkdir(parents=True)
    (config / 'config.json').write_text(u'{}')
    cli = TrustCLI(FakeModule(str(config)))
    view = cli.read_view()
    assert os.listdir(os.path.join(view, 'trust', 'private')) == []
    for d in (os.path.join(view, 'trust'), os.path.join(view, 'trust', 'private'), str(config / 'trust' / 'tuf')):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert os.path.realpath(os.path.join(view, 'trust', 'tuf')) == os.path.realpath(str(config / 'trust' / 'tuf'))
    assert os.path.isdir(os.path.join(view, 'tls', 'notary:4443'))
    assert os.path.isfile(os.path.join(view, 'config.json'))
    # what docker writes to the cache through the view lands in the real one
    os.makedirs(os.path.join(view, 'trust', 'tuf', 'r', 'metadata'))
    cli.cleanup()
    assert not os.path.exists(view)
    assert os.path.isdir(str(config / 'trust' / 'tuf' / 'r' / 'metadata'))
    assert (config / 'trust' / 'private' / 'abc.key').read_text() == u'key'
    assert (config / 'config.json').exists() and (config / 'tls' / 'notary:4443').is_dir()


def _views_churn(config, rounds):
    """One process of the race below: open and close views on a shared configuration."""
    for dummy in range(rounds):
        cli = TrustCLI(FakeModule(config))
        view = cli.tempdir()
        assert os.path.isdir(view)
        cli.cleanup()


def test_runs_at_once_on_one_configuration_never_trip_over_each_others_views(tmp_path):
    # Two modules on one host create the views directory, and remove it when they are the last
    # to leave, at the same moments: neither may fail with "File exists" or "No such file".
    import multiprocessing
    config = str(tmp_path / 'cfg')
    ctx = multiprocessing.get_context('fork')
    procs = [ctx.Process(target=_views_churn, args=(config, 150)) for dummy in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0] * len(procs)
    assert not os.path.exists(os.path.join(config, 'trust', '.views'))


def _notary_config(cli, reference):
    argv = cli.notary_argv(parse_reference(reference))
    with open(argv[argv.index('-c') + 1]) as f:
        return argv, json.load(f)


def test_notary_cli_presents_the_client_certificate_docker_would(tmp_path):
    """A Notary that wants a client certificate for writes gets the pair of <docker_config>/tls/<host:port>/
    from the notary CLI too; only the paths go into its configuration, never the key."""
    config = str(tmp_path / 'cfg')
    module = FakeModule(config)
    module.params['server'] = 'https://notary.example.test:4443'
    cli = TrustCLI(module)
    tls = os.path.join(config, 'tls', 'notary.example.test:4443')
    os.makedirs(tls)
    try:
        argv, notary = _notary_config(cli, 'registry.example.test/acme/app')
        assert 'tls_client_cert' not in notary['remote_server'] and 'tls_client_key' not in notary['remote_server']
        # a certificate without its key is no pair (docker would refuse it too)
        with open(os.path.join(tls, 'client.cert'), 'w') as f:
            f.write('CERT')
        argv, notary = _notary_config(cli, 'registry.example.test/acme/app')
        assert 'tls_client_cert' not in notary['remote_server']
        with open(os.path.join(tls, 'client.key'), 'w') as f:
            f.write('SECRET KEY MATERIAL')
        with open(os.path.join(tls, 'ca.crt'), 'w') as f:
            f.write('CA')
        argv, notary = _notary_config(cli, 'registry.example.test/acme/app')
        assert notary['remote_server']['tls_client_cert'] == os.path.join(tls, 'client.cert')
        assert notary['remote_server']['tls_client_key'] == os.path.join(tls, 'client.key')
        assert notary['remote_server']['root_ca'] == os.path.join(tls, 'ca.crt')
        assert 'SECRET' not in json.dumps(notary) and 'SECRET' not in ' '.join(argv)
    finally:
        cli.cleanup()
