# -*- coding: utf-8 -*-
"""Pinned roots enforced by signatures, and consumers that fail closed, against an attacker.

The attacker (``attacker.Attacker``) reaches the registry and the Notary server and holds none of our keys.  Each
test sets up a repository signed by ``jeff`` with the collection, takes its root pin as a consumer would
(trust_info's ``root_key_ids``), lets the attacker act, then runs the consumers (trust_pull, trust_verify) with
the pin and asks the real tools what happened: what the daemon holds, what the Notary server serves.
"""

import json
import os
import subprocess
import sys

import pytest

from attacker import Attacker
from conftest import (
    COSIGN_PASS, JEFF_PASS, REPO_PASS, ROOT, ROOT_PASS, common, install_publisher_certificate, run_module,
)
# The consumers' CLIs (28, none, 29 without the plugin), as test_trust_pull parametrizes them.
from test_trust_pull import consumer_cli  # noqa: F401 pylint: disable=unused-import


@pytest.fixture
def consumer_config(tmp_path):
    d = tmp_path / 'consumer'
    d.mkdir(mode=0o700)
    return str(d)


def publish(stack, config, repo, tag='v1', content=None):
    """jeff signs ``repo:tag`` (a fresh image); returns (signed digest, root pin, the root's pinned certificate key)."""
    key = run_module('trust_key', common(stack, config, docker_cli=stack.reference_cli, signer='jeff', passphrase=JEFF_PASS))
    assert not key.failed, key
    res = run_module('trust_signer', common(stack, config, docker_cli=stack.reference_cli, repository=repo, signer='jeff',
                                            public_keys=[key['public_key']], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert not res.failed, res
    stack.build_image(config, '%s:%s' % (repo, tag), content=content or repo)
    res = run_module('trust_push', common(stack, config, docker_cli=stack.reference_cli, repository=repo, tags=[tag],
                                          signer='jeff', signer_passphrase=JEFF_PASS))
    assert not res.failed, res
    digest = res['results'][0]['digest']
    info = run_module('trust_info', common(stack, config, docker_cli=stack.reference_cli, references=[repo]))
    assert not info.failed, info
    pin = info['repositories'][0]['root_key_ids']
    assert len(pin) == 1
    root = stack.tuf(repo, 'root')['signed']
    return digest, pin[0], root['keys'][pin[0]]


def local_ids(stack, config, repo):
    out = stack.docker(config, 'images', '--no-trunc', '--digests', '--format', '{{.Digest}}', repo).stdout.decode()
    return set(line.strip() for line in out.split() if line.strip() and line.strip() != '<none>')


def forget(stack, config, repo):
    ids = stack.docker(config, 'images', '-q', '--no-trunc', repo).stdout.decode().split()
    if ids:
        stack.docker(config, 'image', 'rm', '-f', *sorted(set(ids)))


def test_a_root_that_lists_the_pinned_certificate_but_is_signed_by_the_attacker_is_refused(
        stack, docker_config, consumer_config, consumer_cli, tmp_path):
    repo = stack.repo('pinattack')
    digest, pin, pinned_key = publish(stack, docker_config, repo)
    forget(stack, docker_config, repo)

    attacker = Attacker(stack, str(tmp_path))
    assert attacker.wipe(repo) == 200, 'the attacker (a publisher certificate) could not delete the trust data'
    evil = attacker.recreate(repo, 'v1')
    (status, body), evil_root = attacker.root_listing(repo, pinned_key)
    assert status == 200, body
    forget(stack, attacker.config, repo)
    # The attack is real: what the server now serves lists the pinned certificate as a root key, so a consumer that
    # only compares IDs would accept it.
    served = stack.tuf(repo, 'root')['signed']
    assert pin in served['roles']['root']['keyids'] and served['roles']['root']['threshold'] == 1
    assert len(served['roles']['root']['keyids']) == 2
    unpinned_view = run_module('trust_info', common(stack, attacker.config, docker_cli=stack.reference_cli,
                                                    references=[repo]))
    assert pin in unpinned_view['repositories'][0]['root_key_ids'], unpinned_view

    args = common(stack, consumer_config, docker_cli=consumer_cli, images=[dict(repository=repo, tags=['v1'])],
                  signers=['jeff'], root_key_ids={repo: [pin]})
    pulled = run_module('trust_pull', args)
    assert pulled.failed and pulled['error_kind'] == 'unverified', pulled
    assert 'not signed by the pinned root key' in pulled['msg'] and pin in pulled['msg'], pulled['msg']
    assert 'trust_info' in pulled['msg']
    assert evil not in local_ids(stack, consumer_config, repo) and digest not in local_ids(stack, consumer_config, repo)

    verified = run_module('trust_verify', common(stack, consumer_config, docker_cli=consumer_cli,
                                                 images=[dict(repository=repo, tags=['v1'])], signer='jeff',
                                                 root_key_ids={repo: [pin]}, pull='all'))
    assert not verified.failed, verified
    assert verified['verified'] is False and verified['results'][0]['pulled'] is None, verified
    assert any('not signed by the pinned root key' in p for p in verified['results'][0]['problems']), verified
    assert evil not in local_ids(stack, consumer_config, repo)
    # Still what the attacker published: the consumers changed nothing on the server.
    assert stack.tuf(repo, 'root')['signed']['version'] == evil_root['signed']['version']


def test_a_repository_deleted_and_recreated_with_another_root_is_refused_then_an_unpinned_read_does_not_help(
        stack, docker_config, consumer_config, tmp_path):
    repo = stack.repo('pinrecreate')
    digest, pin, dummy = publish(stack, docker_config, repo)
    image = dict(repository=repo, tags=['v1'])
    good = run_module('trust_pull', common(stack, consumer_config, images=[image], signers=['jeff'],
                                           root_key_ids={repo: [pin]}))
    assert not good.failed and good['results'][0]['digest'] == digest, good

    attacker = Attacker(stack, str(tmp_path))
    assert attacker.wipe(repo) == 200
    evil = attacker.recreate(repo, 'v1')
    forget(stack, docker_config, repo)
    forget(stack, attacker.config, repo)

    # A fresh consumer and the one that had read the repository under the pin: both refuse.
    fresh = str(tmp_path / 'fresh')
    os.makedirs(fresh, mode=0o700)
    for config in (consumer_config, fresh):
        res = run_module('trust_pull', common(stack, config, images=[image], signers=['jeff'],
                                              root_key_ids={repo: [pin]}))
        assert res.failed and res['error_kind'] == 'unverified', res
        assert evil not in local_ids(stack, config, repo)

    # Trust on first use accepts the attacker's root, loudly ...
    tofu = run_module('trust_pull', common(stack, fresh, images=[image], signers=['jeff'], allow_unpinned=True))
    assert not tofu.failed and tofu['results'][0]['digest'] == evil, tofu
    assert any('trusted on first use' in str(w) for w in tofu.get('warnings', [])), tofu
    forget(stack, fresh, repo)
    # ... and once that host is given the real pin, the root it cached without pins does not stand in for them.
    res = run_module('trust_pull', common(stack, fresh, images=[image], signers=['jeff'], root_key_ids={repo: [pin]}))
    assert res.failed and res['error_kind'] == 'unverified', res
    assert evil not in local_ids(stack, fresh, repo)


def test_consumers_fail_closed_without_a_pin_and_name_a_mistyped_one(stack, docker_config, consumer_config):
    repo = stack.repo('pinclosed')
    digest, pin, dummy = publish(stack, docker_config, repo)
    forget(stack, docker_config, repo)
    image = dict(repository=repo, tags=['v1'])
    for module, extra in (('trust_pull', {}), ('trust_verify', dict(pull='none'))):
        res = run_module(module, common(stack, consumer_config, images=[image], **extra))
        assert res.failed and res['error_kind'] == 'bad_input', res
        assert 'no pinned root for %s' % repo in res['msg'] and 'allow_unpinned' in res['msg'], res['msg']
        typo = repo[:-1] + ('x' if repo[-1] != 'x' else 'y')
        res = run_module(module, common(stack, consumer_config, images=[image], root_key_ids={typo: [pin]}, **extra))
        assert res.failed and res['error_kind'] == 'bad_input', res
        assert 'did you mean %s?' % repo in res['msg'], res['msg']
    # Nothing was read: no TUF cache of the repository on the consumer.
    assert not os.path.exists(os.path.join(consumer_config, 'trust', 'tuf', repo))
    assert local_ids(stack, consumer_config, repo) == set()

    res = run_module('trust_pull', common(stack, consumer_config, images=[image], allow_unpinned=True))
    assert not res.failed and res['results'][0]['digest'] == digest and res['results'][0]['pulled'], res
    assert any('trusted on first use' in str(w) for w in res.get('warnings', [])), res
    res = run_module('trust_verify', common(stack, consumer_config, images=[image], root_key_ids={repo: [pin]},
                                            signer='jeff', pull='none'))
    assert not res.failed and res['verified'] and res['verified_with']['trust_data'] == 'notary with trust pinning', res
    assert not res.get('warnings'), res


def test_a_pinned_read_survives_a_legitimate_reread_and_a_pin_of_another_root_fails_with_the_way_out(
        stack, docker_config, consumer_config, tmp_path):
    """The pinned cache is kept between runs (TUF's rollback protection), and a pin that is not the repository's root
    fails in notary itself, with a message that says where the right pin comes from."""
    repo = stack.repo('pinreread')
    digest, pin, dummy = publish(stack, docker_config, repo)
    image = dict(repository=repo, tags=['v1'])
    args = common(stack, consumer_config, images=[image], root_key_ids={repo: [pin]}, signer='jeff', pull='none')
    first = run_module('trust_verify', args)
    assert not first.failed and first['verified'], first
    before = stack.versions(repo)
    second = run_module('trust_verify', args)
    assert not second.failed and second['verified'] and stack.versions(repo) == before, second
    other_pin = 'a' * 64
    res = run_module('trust_verify', dict(args, root_key_ids={repo: [other_pin]}))
    assert not res.failed and not res['verified'], res
    problem = res['results'][0]['problems'][0]
    assert 'not signed by the pinned root key %s' % other_pin in problem and 'trust_info' in problem, problem


def test_a_legitimate_root_rotation_fails_against_the_old_pin_and_passes_with_the_new_one(
        stack, docker_config, consumer_config, tmp_path):
    """The owner rotates the root (notary key rotate <gun> root): a host that read the repository under the old pin
    and a fresh host both refuse it, saying where the new pin comes from; the new pin from trust_info verifies."""
    repo = stack.repo('pinrotate')
    digest, pin, dummy = publish(stack, docker_config, repo)
    image = dict(repository=repo, tags=['v1'])
    args = common(stack, consumer_config, images=[image], signer='jeff', pull='none')
    assert run_module('trust_verify', dict(args, root_key_ids={repo: [pin]}))['verified'] is True

    env = dict(stack.cli_env(docker_config), NOTARY_ROOT_PASSPHRASE=ROOT_PASS)
    rotated = subprocess.run([
        'notary', '-s', stack.notary_url, '--tlscacert', stack.ca, '-d', os.path.join(docker_config, 'trust')]
        + (['--tlscert', stack.client_cert, '--tlskey', stack.client_key] if stack.client_cert else [])  # a publisher
        + ['key', 'rotate', repo, 'root'], env=env, input=b'yes\n', stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=120, check=False)
    assert rotated.returncode == 0 and b'Aborting' not in rotated.stdout, rotated.stdout.decode()
    assert stack.version(repo, 'root') == 2
    info = run_module('trust_info', common(stack, docker_config, docker_cli=stack.reference_cli, references=[repo]))
    new_pin = info['repositories'][0]['root_key_ids']
    assert new_pin and pin not in new_pin, info

    fresh = str(tmp_path / 'fresh')
    os.makedirs(fresh, mode=0o700)
    for config in (consumer_config, fresh):
        res = run_module('trust_verify', dict(common(stack, config, images=[image], signer='jeff', pull='none'),
                                              root_key_ids={repo: [pin]}))
        assert not res.failed and res['verified'] is False, res
        problem = ' '.join(res['results'][0]['problems'])
        assert pin in problem and 'trust_info' in problem and 'root_key_ids' in problem, problem
    for config in (consumer_config, fresh):
        res = run_module('trust_verify', dict(common(stack, config, images=[image], signer='jeff', pull='none'),
                                              root_key_ids={repo: new_pin}))
        assert not res.failed and res['verified'] is True and res['results'][0]['signed_digest'] == digest, res


@pytest.fixture(scope='module')
def attacked_release(stack, tmp_path_factory):
    """A release repository after the root-listing attack, a cosign key and the pins file with the real pin: what the
    playbooks of every consumer CLI below run against."""
    from ocitools import cosign_binary
    base = tmp_path_factory.mktemp('pinplays')
    publisher = str(base / 'publisher')
    os.makedirs(publisher, mode=0o700)
    install_publisher_certificate(publisher)
    repo = stack.repo('pinplays')
    digest, pin, pinned_key = publish(stack, publisher, repo)
    attacker = Attacker(stack, str(base))
    assert attacker.wipe(repo) == 200
    evil = attacker.recreate(repo, 'v1')
    (status, body), dummy = attacker.root_listing(repo, pinned_key)
    assert status == 200, body
    forget(stack, publisher, repo)
    forget(stack, attacker.config, repo)
    cosign = cosign_binary('2.5')
    key = run_module('cosign_key', common(stack, publisher, path=str(base / 'cosign' / 'release'),
                                          passphrase=COSIGN_PASS, cosign_cli=cosign))
    assert not key.failed, key
    with open(str(base / 'content_trust_pins.yml'), 'w') as f:
        json.dump([{'repository': repo, 'root_key_ids': [pin]}], f)
    return dict(repo=repo, pin=pin, evil=evil, cosign=cosign, key=key['private_key_path'], pins=str(base / 'content_trust_pins.yml'))


def test_verify_release_and_the_bridge_refuse_the_root_listing_attack_and_sign_nothing(
        stack, attacked_release, consumer_cli, tmp_path):
    """The attack of the first test, against the playbooks, on every consumer CLI: verify_release.yml fails naming
    the repository, and the bridge carries nothing over (no cosign signature in the registry), both under the pin in
    the pins file."""
    from ocitools import registry_state
    from test_bridge import playbook as bridge_playbook
    a = attacked_release
    repo, pin = a['repo'], a['pin']
    # The playbooks run on a host that never read the repository (the worst case: no cached root to compare with).
    host_config = str(tmp_path / 'host-docker')
    os.makedirs(host_config, mode=0o700)
    inventory = str(tmp_path / 'inventory.json')
    with open(inventory, 'w') as f:
        json.dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                   'ansible_python_interpreter': sys.executable}},
                           'children': {'signing_hosts': {'hosts': {'localhost': {}}}},
                           'vars': {'content_trust_docker_config': host_config,
                                    'content_trust_docker_cli': consumer_cli,
                                    'content_trust_docker_host': stack.docker_host,
                                    'content_trust_server': stack.notary_url,
                                    'content_trust_timeout': 60,
                                    'content_trust_pins_file': a['pins'],
                                    'content_trust_release_version': 'v1',
                                    'content_trust_release_signer': 'jeff',
                                    'content_trust_release_images': [{'repository': repo}],
                                    'content_trust_report_dir': str(tmp_path / 'reports'),
                                    'content_trust_bridge_repositories': [repo],
                                    'content_trust_bridge_formats': ['cosign'],
                                    'content_trust_bridge_signers': ['jeff'],
                                    'content_trust_cosign_key': a['key'],
                                    'content_trust_cosign_cli': a['cosign'],
                                    'content_trust_bridge_report_dir': str(tmp_path / 'bridge')}}}, f)
    secrets = str(tmp_path / 'secrets.json')
    fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump({'content_trust_cosign_key_passphrase': COSIGN_PASS}, f)

    before = registry_state(stack, repo)
    rc, out = bridge_playbook(inventory, secrets)
    assert 'REFUSED' in out and 'not signed by the pinned root key %s' % pin in out, out
    assert registry_state(stack, repo) == before, 'the bridge signed something under the attacker\'s root'

    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, '-e', '@' + secrets,
            os.path.join(ROOT, 'playbooks', 'verify_release.yml')]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, timeout=600,
                          check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode != 0 and repo in out and 'not signed by the pinned root key %s' % pin in out, out
    with open(str(tmp_path / 'reports' / 'release-v1.json')) as f:
        report = json.load(f)
    assert report['verified'] is False and report['images'][0]['pulled'] is None, report
    assert a['evil'] not in local_ids(stack, host_config, repo)


def test_a_signing_host_that_holds_the_root_key_pins_the_repository_to_it(
        stack, docker_config, consumer_config, tmp_path):
    repo = stack.repo('heldroot')
    digest, pin, pinned_key = publish(stack, docker_config, repo)
    image = dict(repository=repo, tags=['v1'])
    # No pin given: the publisher holds the repository's root key, so its reads are pinned to it.
    held = run_module('trust_verify', common(stack, docker_config, images=[image], signer='jeff', pull='none'))
    assert not held.failed and held['verified'], held
    assert held['held_root_pins'] == {repo: [pin]} and held['verified_with']['trust_data'] == 'notary with trust pinning'
    assert not held.get('warnings'), held
    stack.build_image(docker_config, '%s:v2' % repo, content=repo + '-v2')
    pushed = run_module('trust_push', common(stack, docker_config, repository=repo, tags=['v2'], signer='jeff',
                                             signer_passphrase=JEFF_PASS, verify=True, verify_pull='none'))
    assert not pushed.failed and pushed['verification']['verified'], pushed
    assert pushed['verification']['held_root_pins'] == {repo: [pin]}
    # A consumer holds no root key: no pin, no read.
    res = run_module('trust_verify', common(stack, consumer_config, images=[image], signer='jeff', pull='none'))
    assert res.failed and res['error_kind'] == 'bad_input' and 'has no pinned root for %s' % repo in res['msg'], res

    attacker = Attacker(stack, str(tmp_path))
    assert attacker.wipe(repo) == 200
    attacker.recreate(repo, 'v1')
    (status, body), evil_root = attacker.root_listing(repo, pinned_key)
    assert status == 200, body
    # The served root lists the held key's certificate, signed by the attacker only: the held pin refuses it.
    res = run_module('trust_verify', common(stack, docker_config, images=[image], signer='jeff', pull='none'))
    assert not res.failed and res['verified'] is False and res['held_root_pins'] == {repo: [pin]}, res
    assert any('not signed by the pinned root key' in p for p in res['results'][0]['problems']), res
    pulled = run_module('trust_pull', common(stack, docker_config, images=[image], signers=['jeff']))
    assert pulled.failed and pulled['error_kind'] == 'unverified', pulled
    assert stack.tuf(repo, 'root')['signed']['version'] == evil_root['signed']['version']
