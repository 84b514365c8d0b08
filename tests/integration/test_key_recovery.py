# -*- coding: utf-8 -*-
"""docs/key-management.md, "The Notary server's data": the documented recovery, run as
written (its shell blocks are read from the document) on a Notary server that lost its data.
It keeps the root certificate (the Root ID consumers pinned), and a consumer that cached the
lost, higher versions verifies again after the one documented step. The recovery used to
re-initialize the repository from the root key, which makes a new root certificate: consumers
with the old root cached then refuse it."""

import json
import os
import re
import subprocess

from conftest import JEFF_PASS, REPO_PASS, ROOT, ROOT_PASS, common, run_module
from helpers import PrivateNotary

DOC = os.path.join(ROOT, 'docs', 'key-management.md')
MARK = '<!-- tests/integration/test_key_recovery.py runs this block as written -->'


def documented_blocks():
    with open(DOC) as f:
        text = f.read()
    section = text[text.index("### The Notary server's data"):]
    blocks = re.findall(re.escape(MARK) + r'\n```sh\n(.*?)```', section, re.S)
    assert len(blocks) == 2, 'the two recovery blocks are missing from %s' % DOC
    return blocks


def run_block(block, env, cwd):
    # The document's own values are examples: the test's come from the environment.
    script = '\n'.join(line for line in block.splitlines() if not re.match(r'^(GUN|SERVER|CA|TRUST)=', line))
    proc = subprocess.run(['bash', '-euo', 'pipefail', '-c', script], env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=120, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, out
    return out


def inspect(stack, docker_config, repo, server):
    env = stack.cli_env(docker_config)
    env['DOCKER_CONTENT_TRUST_SERVER'] = server
    proc = subprocess.run([stack.reference_cli, 'trust', 'inspect', repo], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, check=False)
    entries = json.loads(proc.stdout.decode() or '[]')
    return entries[0] if entries else None


def root_id(entry):
    return [k['ID'] for a in entry['AdministrativeKeys'] if a['Name'] == 'Root' for k in a['Keys']]


def test_documented_recovery_keeps_the_root_id_and_consumers_verify_after_one_step(stack, docker_config, tmp_path):
    notary = PrivateNotary(stack, tmp_path).start()
    try:
        repo = stack.repo('recover')
        srv = dict(server=notary.url)
        key = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
        signer = common(stack, docker_config, repository=repo, signer='jeff', public_keys=[key['public_key']],
                        root_passphrase=ROOT_PASS, repository_passphrase=REPO_PASS, **srv)
        assert not run_module('trust_signer', signer).failed
        stack.build_image(docker_config, repo + ':build')
        # Six releases, one by one: the consumer below caches TUF versions higher than the
        # recovered repository will have.
        for tag in ('v1', 'v2', 'v3', 'v4', 'v5', 'v6'):
            res = run_module('trust_push', common(stack, docker_config, repository=repo, tags=[tag], signer='jeff',
                                                  source=repo + ':build', signer_passphrase=JEFF_PASS, **srv))
            assert res['changed'], res
        before = inspect(stack, docker_config, repo, notary.url)
        pinned = root_id(before)
        digest = [t['Digest'] for t in before['SignedTags'] if t['SignedTag'] == 'v1']
        consumer = str(tmp_path / 'consumer')
        os.mkdir(consumer, 0o700)
        assert root_id(inspect(stack, consumer, repo, notary.url)) == pinned

        notary.restart()  # the data is lost; the server is healthy and empty

        env = dict(os.environ, GUN=repo, SERVER=notary.url, CA=stack.ca, TRUST=os.path.join(docker_config, 'trust'),
                   NOTARY_ROOT_PASSPHRASE=ROOT_PASS, NOTARY_TARGETS_PASSPHRASE=REPO_PASS,
                   NOTARY_SNAPSHOT_PASSPHRASE=REPO_PASS)
        recovery, consumer_step = documented_blocks()
        run_block(recovery, env, str(tmp_path))
        # sync_signers.yml and publish_release.yml: the modules they run.
        res = run_module('trust_signer', signer)
        assert res['changed'] and res['initialized'] is False, res
        res = run_module('trust_push', common(stack, docker_config, repository=repo, tags=['v1'], signer='jeff',
                                              push=False, signer_passphrase=JEFF_PASS, **srv))
        assert res['changed'], res

        after = inspect(stack, docker_config, repo, notary.url)
        assert root_id(after) == pinned
        assert [t['Digest'] for t in after['SignedTags'] if t['SignedTag'] == 'v1'] == digest

        # The consumer cached higher versions: TUF's rollback protection refuses the new ones.
        assert inspect(stack, consumer, repo, notary.url) is None
        # The one documented step, then it verifies again, against the root it pinned.
        root_json = os.path.join(consumer, 'trust', 'tuf', repo, 'metadata', 'root.json')
        with open(root_json, 'rb') as f:
            pinned_root_json = f.read()
        run_block(consumer_step, dict(os.environ, GUN=repo, DOCKER_CONFIG=consumer), str(tmp_path))
        again = inspect(stack, consumer, repo, notary.url)
        assert again is not None and root_id(again) == pinned
        assert [t['SignedTag'] for t in again['SignedTags']] == ['v1']
        assert [t['Digest'] for t in again['SignedTags']] == digest
        pull_env = stack.cli_env(consumer)
        pull_env.update(DOCKER_CONTENT_TRUST='1', DOCKER_CONTENT_TRUST_SERVER=notary.url)
        pulled = subprocess.run([stack.reference_cli, 'pull', repo + ':v1'], env=pull_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=120, check=False)
        assert pulled.returncode == 0, pulled.stdout.decode()
        assert b'sha256:' + digest[0].encode() in pulled.stdout
        # The pin was kept, not replaced: the root the consumer trusted first still signs.
        with open(root_json, 'rb') as f:
            assert json.loads(f.read())['signed']['keys'].keys() >= json.loads(pinned_root_json)['signed']['keys'].keys()

        # The old recipe (re-run sync_signers.yml on an empty cache) keeps the root KEY but
        # makes a new root CERTIFICATE: another Root ID, which the consumer's pin refuses.
        notary.restart()
        old_cwd = tmp_path / 'old-recipe'
        old_cwd.mkdir()
        run_block(recovery.split('# 3.')[0], env, str(old_cwd))  # steps 1 and 2 only: an empty cache
        res = run_module('trust_signer', signer)
        assert res['initialized'] is True, res
        assert root_id(inspect(stack, docker_config, repo, notary.url)) != pinned
        run_block(consumer_step, dict(os.environ, GUN=repo, DOCKER_CONFIG=consumer), str(tmp_path))
        assert inspect(stack, consumer, repo, notary.url) is None
    finally:
        notary.stop()
