# -*- coding: utf-8 -*-
"""Reliability: servers that go away, concurrent signing hosts, killed modules, wrong passphrases.

Servers are taken away with a TCP proxy in front of the real Notary server or registry, so
that they come back with their data (the test Notary keeps its data in memory).
"""

import json
import os
import signal
import time

import pytest

from conftest import (ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, install_publisher_certificate, run_module,
                      start_module)
from helpers import TcpProxy

ROLES = ('targets', 'snapshot', 'targets/releases', 'targets/jeff', 'targets/alice')


def signer(stack, docker_config, repo, name='jeff', passphrase=JEFF_PASS, **kwargs):
    key = run_module('trust_key', common(stack, docker_config, signer=name, passphrase=passphrase))
    res = run_module('trust_signer', common(stack, docker_config, repository=repo, signer=name,
                                            public_keys=[key['public_key']], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS, **kwargs))
    assert not res.failed, res
    return key


def changelist(docker_config, repo):
    d = os.path.join(docker_config, 'trust', 'tuf', repo, 'changelist')
    return os.listdir(d) if os.path.isdir(d) else []


@pytest.fixture
def notary_proxy(stack):
    proxy = TcpProxy(int(stack.notary_url.rsplit(':', 1)[1])).start()
    yield proxy
    proxy.stop()


def test_notary_stopped_before_publish_then_back(stack, docker_config, notary_proxy):
    server = 'https://127.0.0.1:%d' % notary_proxy.port
    install_publisher_certificate(docker_config, server)  # the proxied Notary is reached by another host:port
    repo = stack.repo()
    signer(stack, docker_config, repo, server=server)
    stack.build_image(docker_config, repo + ':build')
    before = stack.versions(repo, ROLES)
    notary_proxy.stop()
    start = time.time()
    res = run_module('trust_push', common(stack, docker_config, server=server, timeout=10, repository=repo,
                                          tags=['v1', 'v2'], signer='jeff', signer_passphrase=JEFF_PASS,
                                          source=repo + ':build'))
    assert res.failed and server in res['msg'], res
    assert time.time() - start < 15
    assert stack.versions(repo, ROLES) == before
    assert changelist(docker_config, repo) == []
    notary_proxy.start()
    res = run_module('trust_push', common(stack, docker_config, server=server, repository=repo, tags=['v1', 'v2'],
                                          signer='jeff', signer_passphrase=JEFF_PASS, source=repo + ':build'))
    assert res['changed'] and not res.failed, res
    assert stack.trusted_pull(repo + ':v2').returncode == 0


def test_notary_lost_during_publish_leaves_no_half_state(stack, docker_config, notary_proxy):
    """The server answers the reads, then goes away before the publish."""
    server = 'https://127.0.0.1:%d' % notary_proxy.port
    install_publisher_certificate(docker_config, server)
    repo = stack.repo()
    signer(stack, docker_config, repo, server=server)
    stack.build_image(docker_config, repo + ':build')
    before = stack.versions(repo, ROLES)
    stack.docker(docker_config, 'trust', 'inspect', repo)  # how many connections a read takes is docker's business:
    notary_proxy.allow = 3  # let the first reads through, refuse the rest
    res = run_module('trust_push', common(stack, docker_config, server=server, timeout=10, repository=repo,
                                          tags=['v1', 'v2', 'v3'], signer='jeff', signer_passphrase=JEFF_PASS,
                                          source=repo + ':build'))
    assert res.failed and '127.0.0.1:%d' % notary_proxy.port in res['msg'], res
    assert stack.versions(repo, ROLES) == before
    assert changelist(docker_config, repo) == []
    notary_proxy.allow = None
    res = run_module('trust_push', common(stack, docker_config, server=server, repository=repo,
                                          tags=['v1', 'v2', 'v3'], signer='jeff', signer_passphrase=JEFF_PASS,
                                          source=repo + ':build'))
    assert res['changed'] and not res.failed, res
    entry = stack.inspect(docker_config, repo)[repo]
    assert sorted(t['SignedTag'] for t in entry['SignedTags']) == ['v1', 'v2', 'v3']
    assert stack.trusted_pull(repo + ':v3').returncode == 0


def test_registry_stopped_during_push_signs_nothing(stack, docker_config):
    proxy = TcpProxy(int(stack.registry.rsplit(':', 1)[1])).start()
    try:
        repo = '127.0.0.1:%d/acme/app-%d' % (proxy.port, os.getpid())
        signer(stack, docker_config, repo)
        stack.build_image(docker_config, repo + ':build')
        before = stack.versions(repo, ROLES)
        proxy.allow = 4  # the first tag's upload gets through, the rest does not
        res = run_module('trust_push', common(stack, docker_config, repository=repo, tags=['v1', 'v2', 'v3'],
                                              signer='jeff', signer_passphrase=JEFF_PASS, source=repo + ':build'))
        assert res.failed and ('127.0.0.1:%d' % proxy.port) in res['msg'], res
        assert stack.versions(repo, ROLES) == before
        assert stack.inspect(docker_config, repo)[repo]['SignedTags'] == []
        proxy.allow = None
        res = run_module('trust_push', common(stack, docker_config, repository=repo, tags=['v1', 'v2', 'v3'],
                                              signer='jeff', signer_passphrase=JEFF_PASS, source=repo + ':build'))
        assert res['changed'] and not res.failed, res
        assert len(stack.inspect(docker_config, repo)[repo]['SignedTags']) == 3
    finally:
        proxy.stop()


def test_two_signing_hosts_publish_to_one_repository_at_once(stack, tmp_path):
    host_a, host_b = str(tmp_path / 'host-a'), str(tmp_path / 'host-b')
    for d in (host_a, host_b):
        os.mkdir(d, 0o700)
        install_publisher_certificate(d)
    for round_ in range(10):
        repo = stack.repo('race')
        signer(stack, host_a, repo, 'jeff', JEFF_PASS)
        alice = run_module('trust_key', common(stack, host_b, signer='alice', passphrase=ALICE_PASS))
        res = run_module('trust_signer', common(stack, host_a, repository=repo, signer='alice',
                                                public_keys=[alice['public_key']], repository_passphrase=REPO_PASS))
        assert not res.failed, res
        stack.build_image(host_a, repo + ':a', content='a %d' % round_)
        stack.build_image(host_b, repo + ':b', content='b %d' % round_)
        # host a signs two tags (pushed, then one notary publish), host b one (docker trust sign)
        procs = [start_module('trust_push', common(stack, host_a, repository=repo, tags=['a', 'a2'], signer='jeff',
                                                   signer_passphrase=JEFF_PASS, source=repo + ':a')),
                 start_module('trust_push', common(stack, host_b, repository=repo, tags=['b'], signer='alice',
                                                   signer_passphrase=ALICE_PASS))]
        for proc, path in procs:
            out, err = proc.communicate(timeout=120)
            os.unlink(path)
            result = json.loads(out.decode())
            assert not result.get('failed'), (round_, result.get('msg'))
        signed = dict((t['SignedTag'], t['Signers'])
                      for t in stack.inspect(host_a, repo)[repo]['SignedTags'])
        assert signed == {'a': ['jeff'], 'a2': ['jeff'], 'b': ['alice']}, (round_, signed)
        assert stack.trusted_pull(repo + ':a').returncode == 0 and stack.trusted_pull(repo + ':b').returncode == 0


def test_module_killed_while_signing_then_next_run_completes(stack, docker_config):
    repo = stack.repo()
    signer(stack, docker_config, repo)
    stack.build_image(docker_config, repo + ':build')
    tags = ['t%d' % i for i in range(12)]
    # docker trust sign per tag: with the reference CLI, whichever docker the matrix leg tests.
    args = common(stack, docker_config, repository=repo, tags=tags, signer='jeff', signer_passphrase=JEFF_PASS,
                  source=repo + ':build', sign_with='docker', docker_cli=stack.reference_cli)
    proc, path = start_module('trust_push', args)
    # kill it once docker trust sign is running (the first tags are being signed)
    deadline = time.time() + 60
    while time.time() < deadline and stack.version(repo, 'targets/releases') < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    os.unlink(path)
    res = run_module('trust_push', args)
    assert not res.failed, res
    entry = stack.inspect(docker_config, repo)[repo]
    assert sorted(t['SignedTag'] for t in entry['SignedTags']) == sorted(tags)
    assert all(r['signers'] == ['jeff'] for r in res['results'])
    assert stack.trusted_pull(repo + ':t11').returncode == 0
    again = run_module('trust_push', args)
    assert again['changed'] is False


def test_wrong_passphrase_for_each_kind_of_key(stack, docker_config, tmp_path):
    """Root, repository, signer and imported keys: each fails fast, names the key, changes nothing."""
    repo = stack.repo()
    jeff = signer(stack, docker_config, repo)  # also leaves a local root key for the next init
    other = stack.repo()
    cases = [
        ('trust_signer', dict(repository=other, signer='jeff', public_keys=[jeff['public_key']],
                              root_passphrase='wrong-Passphrase', repository_passphrase=REPO_PASS), 'root key', other),
        ('trust_signer', dict(repository=repo, signer='bob', public_keys=[jeff['public_key']],
                              repository_passphrase='wrong-Passphrase'), 'repository', repo),
        ('trust_push', dict(repository=repo, tags=['v1'], signer='jeff', signer_passphrase='wrong-Passphrase'),
         'signer key "jeff"', repo),
    ]
    stack.build_image(docker_config, repo + ':v1')
    for module, args, words, gun in cases:
        before = stack.versions(gun, ROLES)
        start = time.time()
        res = run_module(module, common(stack, docker_config, **args), secrets=[ROOT_PASS, REPO_PASS, JEFF_PASS,
                                                                                'wrong-Passphrase'])
        assert time.time() - start < 10, module
        assert res.failed and words in res['msg'] and 'incorrect' in res['msg'], (module, res['msg'])
        assert stack.versions(gun, ROLES) == before
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b'right-Passphrase')).decode()
    start = time.time()
    res = run_module('trust_key', common(stack, docker_config, signer='imported', passphrase=JEFF_PASS, private_key=pem,
                                         private_key_passphrase='wrong-Passphrase'),
                     secrets=[JEFF_PASS, 'wrong-Passphrase', 'right-Passphrase'])
    assert time.time() - start < 10
    assert res.failed and 'private_key' in res['msg'] and 'incorrect' in res['msg']
    assert not [k for k in os.listdir(os.path.join(docker_config, 'trust', 'private'))
                if 'imported' in open(os.path.join(docker_config, 'trust', 'private', k)).read()]
