# -*- coding: utf-8 -*-
"""The same life cycle on docker 28 (docker trust) and on docker 29 without the docker-trust plugin
(notary CLI + Docker SDK): the same digests, signers, key IDs and TUF versions moved."""

import os
import shutil

import pytest

from conftest import (ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, SHARED_BIN, common, install_publisher_certificate,
                      run_module)

DOCKER_29 = os.path.join(SHARED_BIN, 'docker-29')
ROLES = ('root', 'targets', 'snapshot', 'timestamp', 'targets/releases', 'targets/jeff', 'targets/alice')


def life_cycle(stack, docker_config, docker_cli, repo, source, jeff_pub, alice_pub):
    """trust_signer (initializes), trust_push of two tags, trust_revoke of one, a second signer added
    then removed, each step run twice; returns what the real tools report after each step."""
    run = dict(docker_cli=docker_cli)
    steps = [
        ('trust_signer', dict(repository=repo, signer='jeff', public_keys=[jeff_pub], root_passphrase=ROOT_PASS,
                              repository_passphrase=REPO_PASS)),
        ('trust_push', dict(repository=repo, tags=['v1', 'v2'], signer='jeff', signer_passphrase=JEFF_PASS,
                            source=source)),
        ('trust_revoke', dict(repository=repo, tags=['v1'], signer='jeff', signer_passphrase=JEFF_PASS)),
        ('trust_signer', dict(repository=repo, signer='alice', public_keys=[alice_pub], repository_passphrase=REPO_PASS)),
        ('trust_signer', dict(repository=repo, signer='alice', state='absent', repository_passphrase=REPO_PASS)),
    ]
    seen = []
    for module, args in steps:
        first = run_module(module, common(stack, docker_config, **dict(run, **args)))
        assert not first.failed, (docker_cli, module, first)
        versions = stack.versions(repo, ROLES)
        again = run_module(module, common(stack, docker_config, **dict(run, **args)))
        assert not again.failed and again['changed'] is False, (docker_cli, module, again)
        assert stack.versions(repo, ROLES) == versions
        entry = stack.inspect(docker_config, repo)[repo]
        seen.append(dict(
            module=module, changed=first['changed'], versions=versions,
            tags=[(t['SignedTag'], t['Digest'], sorted(t['Signers'])) for t in entry['SignedTags']],
            signers=sorted((s['Name'], sorted(k['ID'] for k in s['Keys'])) for s in entry['Signers']),
            admin=dict((a['Name'], len(a['Keys'])) for a in entry['AdministrativeKeys'])))
    return seen


@pytest.mark.skipif(not os.access(DOCKER_29, os.X_OK), reason='docker CLI 29 not found: %s is absent here' % SHARED_BIN)
def test_cli_29_without_the_plugin_does_what_cli_28_does(stack, docker_config, tmp_path):
    plugins = os.path.join(docker_config, 'cli-plugins')
    if os.path.isdir(plugins):
        shutil.rmtree(plugins)  # the plugin leg of the matrix: this test is about docker 29 without it
    # One signing host per CLI, holding the same signer keys, so key IDs can be compared.
    keys = {}
    for name, passphrase in (('jeff', JEFF_PASS), ('alice', ALICE_PASS)):
        res = run_module('trust_key', common(stack, docker_config, signer=name, passphrase=passphrase))
        assert not res.failed, res
        keys[name] = res['public_key']
    other = str(tmp_path / 'cli-29-config')
    os.mkdir(other, 0o700)
    install_publisher_certificate(other)
    shutil.copytree(os.path.join(docker_config, 'trust'), os.path.join(other, 'trust'))
    source = stack.build_image(docker_config, stack.repo('build') + ':build')

    results = {}
    for cli, config in ((stack.reference_cli, docker_config), (DOCKER_29, other)):
        repo = stack.repo('cli')
        results[cli] = life_cycle(stack, config, cli, repo, source, keys['jeff'], keys['alice'])
    with_28, with_29 = results[stack.reference_cli], results[DOCKER_29]

    assert [s['changed'] for s in with_28] == [True, True, True, True, True]
    for step_28, step_29 in zip(with_28, with_29):
        # Same digests (the same image), signers and signer key IDs; one root and one repository key.
        assert step_29['tags'] == step_28['tags'], step_28['module']
        assert step_29['signers'] == step_28['signers'], step_28['module']
        assert step_29['admin'] == step_28['admin'] == {'Root': 1, 'Repository': 1}
        assert step_29['changed'] == step_28['changed']
    # Every step after the initialization moves the same TUF versions.
    for i in range(1, len(with_28)):
        moved = [dict((r, run[i]['versions'][r] - run[i - 1]['versions'][r]) for r in ROLES) for run in (with_28, with_29)]
        assert moved[1] == moved[0], with_28[i]['module']
    # The initialization: notary cannot create a repository with a server-managed snapshot key in one
    # publish as docker does; it publishes it, rotates the snapshot key to the server's (root version 2)
    # and publishes the signer: one version more of root, targets, snapshot and timestamp.
    first_28, first_29 = with_28[0]['versions'], with_29[0]['versions']
    assert (first_28['root'], first_28['targets'], first_28['snapshot'], first_28['timestamp']) == (1, 2, 1, 1)
    assert dict((r, first_29[r] - first_28[r]) for r in ROLES) == {
        'root': 1, 'targets': 1, 'snapshot': 1, 'timestamp': 1, 'targets/releases': 0, 'targets/jeff': 0,
        'targets/alice': 0}
    assert [t[0] for t in with_28[1]['tags']] == ['v1', 'v2'] and [t[0] for t in with_28[2]['tags']] == ['v2']
    assert [s[0] for s in with_28[3]['signers']] == ['alice', 'jeff'] and [s[0] for s in with_28[4]['signers']] == ['jeff']
    # The notary path left no local snapshot key behind: the Notary server manages it, as with docker.
    roles = set()
    for fn in os.listdir(os.path.join(other, 'trust', 'private')):
        with open(os.path.join(other, 'trust', 'private', fn)) as f:
            roles.update(line.split(':', 1)[1].strip() for line in f if line.startswith('role:'))
    assert roles == {'root', 'targets', 'jeff', 'alice'}
