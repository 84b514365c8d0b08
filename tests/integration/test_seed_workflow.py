# -*- coding: utf-8 -*-
"""The runbook (key, signer, signed tag, verification) as four module calls, run twice."""

import uuid

import pytest

from conftest import JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module


@pytest.mark.cli_matrix
def test_runbook_in_four_module_calls_then_nothing_changes(stack, docker_config, tmp_path):
    # Unique per run: the Notary keeps every repository for the stack's life, and the test
    # matrix runs this test once per docker CLI against one stack.
    repo = '%s/openbanking/conformance-suite-%s' % (stack.registry, uuid.uuid4().hex[:10])
    stack.build_image(docker_config, 'openbanking/conformance-suite:build')

    def runbook():
        key = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS,
                                             public_key_path=str(tmp_path / 'jeff.pub')))
        signer = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='jeff',
                                                   public_keys=[key['public_key']], root_passphrase=ROOT_PASS,
                                                   repository_passphrase=REPO_PASS))
        push = run_module('trust_push', common(stack, docker_config, repository=repo, tags=['v1.0.0'], signer='jeff',
                                               signer_passphrase=JEFF_PASS,
                                               source='openbanking/conformance-suite:build'))
        inspect = run_module('trust_info', common(stack, docker_config, references=[repo + ':v1.0.0']))
        for res in (key, signer, push, inspect):
            assert not res.failed, res
        return key, signer, push, inspect

    first = runbook()
    assert [r['changed'] for r in first] == [True, True, True, False]
    key, signer, push, inspect = first
    assert signer['initialized'] is True
    entry = inspect['repositories'][0]
    released = stack.tuf(repo, 'targets/releases')['signed']['targets']['v1.0.0']  # what the Notary serves
    assert entry['signed_tags'] == [{'tag': 'v1.0.0', 'digest': push['results'][0]['digest'], 'signers': ['jeff'],
                                     'length': released['length']}]
    assert entry['signers'] == [{'name': 'jeff', 'key_ids': [key['key_id']]}]
    versions = stack.versions(repo)

    second = runbook()
    assert [r['changed'] for r in second] == [False, False, False, False]
    assert second[3]['repositories'] == inspect['repositories']
    assert stack.versions(repo) == versions
    assert stack.trusted_pull(repo + ':v1.0.0').returncode == 0
