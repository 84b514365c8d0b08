# -*- coding: utf-8 -*-
"""A release with several signers (issue 20), on the real stack: alice publishes release v1.0.0 of three
repositories with publish_release; bob, a second signer of two of them (trust_signer, his own signing host and
key), co-signs those two with publish_release from his own inventory. The release report is one file that both
runs update: after both it lists all three repositories and both signers, as Notary has them."""

import json
import os
import subprocess
import sys
import uuid

from conftest import ALICE_PASS, ALL_SECRETS, REPO_PASS, ROOT, ROOT_PASS, common, install_publisher_certificate, \
    run_module

BIN = os.path.dirname(sys.executable)
BOB_PASS = 'bob-Passphrase-7-%s' % uuid.uuid4().hex[:6]
SECRETS = ALL_SECRETS + [BOB_PASS]


def _signing_host(tmp_path, stack, name, passphrase):
    """A signing host of its own: a docker configuration with the stack's publisher certificate and the signer's
    key; returns (the configuration, the public key)."""
    config = tmp_path / ('%s-docker' % name)
    config.mkdir(mode=0o700)
    install_publisher_certificate(str(config))
    key = run_module('trust_key', common(stack, str(config), signer=name, passphrase=passphrase), secrets=SECRETS)
    assert not key.failed, key
    return str(config), key['public_key']


def _publish_release(tmp_path, stack, signer, passphrase, docker_config, images, **extra):
    """publish_release.yml as ``signer`` runs it from an inventory of their own; returns (rc, output)."""
    with open(stack.ca) as f:
        ca = f.read()
    inventory = tmp_path / ('%s-inventory.json' % signer)
    inventory.write_text(json.dumps({'all': {
        'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}},
        'children': {'signing_hosts': {'hosts': {'localhost': {}}}},
        'vars': dict({
            'content_trust_docker_cli': stack.docker_cli, 'content_trust_docker_host': stack.docker_host,
            'content_trust_docker_config': docker_config, 'content_trust_server': stack.notary_url,
            'content_trust_server_ca': ca, 'content_trust_timeout': 60,
            'content_trust_release_version': 'v1.0.0', 'content_trust_release_signer': signer,
            'content_trust_release_images': images,
            # The same controller and directory for both signers: the one report of the release.
            'content_trust_report_dir': str(tmp_path / 'reports'),
        }, **extra)}}))
    secrets = tmp_path / ('%s-secrets-%s.json' % (signer, uuid.uuid4().hex[:6]))
    fd = os.open(str(secrets), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump({'content_trust_signer_passphrase': passphrase}, f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
               PATH=BIN + os.pathsep + os.environ['PATH'])
    for k in list(env):
        if k.endswith('_PASSPHRASE') or k == 'DOCKER_CONTENT_TRUST':
            del env[k]
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', str(inventory), '-e', '@%s' % secrets,
                           os.path.join(ROOT, 'playbooks', 'publish_release.yml')],
                          env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    for secret in SECRETS:
        assert secret not in out, 'a secret appeared in the output of %s\'s publish_release' % signer
    return proc.returncode, out


def test_a_second_signer_co_signs_two_of_three_repositories_and_the_report_keeps_all_three(stack, tmp_path):
    alice_config, alice_pub = _signing_host(tmp_path, stack, 'alice', ALICE_PASS)
    bob_config, bob_pub = _signing_host(tmp_path, stack, 'bob', BOB_PASS)
    repos = [stack.repo('signers') for dummy in range(3)]
    # The trust admin (alice's configuration holds the root and repository keys here): alice signs all three, bob
    # the first two.
    for repo, name, pub in [(r, 'alice', alice_pub) for r in repos] + [(r, 'bob', bob_pub) for r in repos[:2]]:
        res = run_module('trust_signer', common(stack, alice_config, repository=repo, signer=name, public_keys=[pub],
                                                root_passphrase=ROOT_PASS, repository_passphrase=REPO_PASS),
                         secrets=SECRETS)
        assert not res.failed, res
    source = 'signers-%s:build' % uuid.uuid4().hex[:8]
    stack.build_image(alice_config, source)

    rc, out = _publish_release(tmp_path, stack, 'alice', ALICE_PASS, alice_config,
                               [{'repository': r, 'source': source} for r in repos])
    assert rc == 0, out[-6000:]
    # bob co-signs, on his own signing host, the digests the registry serves (alice pushed them).
    rc, out = _publish_release(tmp_path, stack, 'bob', BOB_PASS, bob_config, [{'repository': r} for r in repos[:2]],
                               content_trust_release_push=False)
    assert rc == 0, out[-6000:]

    # What Notary has: alice and bob on the first two repositories' release tag, alice alone on the third.
    signed = {}
    for repo in repos:
        tags = dict((t['SignedTag'], t) for t in stack.inspect(alice_config, repo)[repo]['SignedTags'])
        signed[repo] = ('sha256:' + tags['v1.0.0']['Digest'], sorted(tags['v1.0.0']['Signers']))
    assert [s for dummy, s in signed.values()] == [['alice', 'bob'], ['alice', 'bob'], ['alice']], signed

    with open(str(tmp_path / 'reports' / 'release-v1.0.0.json')) as f:
        report = json.load(f)
    assert report['checked_by'] == ['alice', 'bob'] and report['verified'] is True, report
    assert [(i['reference'], i['digest'], i['signers'], i['checked_by']) for i in report['images']] == [
        ('%s:v1.0.0' % r, signed[r][0], signed[r][1], signed[r][1]) for r in repos], report['images']
    assert sorted(r['repository'] for r in report['repositories']) == sorted(repos)
    with open(str(tmp_path / 'reports' / 'release-v1.0.0.md')) as f:
        markdown = f.read()
    assert '- Signers: `alice`, `bob`' in markdown, markdown
    assert '| %s | v1.0.0 | %s | alice | yes | yes | alice |' % (repos[2], signed[repos[2]][0][7:]) in markdown

    # bob again, with nothing changed: the report is not written (changed=0), and still has alice's third repository.
    rc, out = _publish_release(tmp_path, stack, 'bob', BOB_PASS, bob_config, [{'repository': r} for r in repos[:2]],
                               content_trust_release_push=False)
    assert rc == 0 and ' changed=0 ' in out, out[-6000:]
    with open(str(tmp_path / 'reports' / 'release-v1.0.0.json')) as f:
        assert json.load(f) == report
