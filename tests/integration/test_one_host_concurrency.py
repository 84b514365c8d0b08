# -*- coding: utf-8 -*-
"""Two modules on ONE host, ONE docker configuration and ONE repository at the same time (issue 9):
both land, and what docker trust inspect and the Notary server report agrees."""

import json
import os

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module, start_module


def signers(stack, docker_config, repo, names):
    for name, passphrase in names:
        key = run_module('trust_key', common(stack, docker_config, name=name, passphrase=passphrase))
        res = run_module('trust_signer', common(stack, docker_config, repository=repo, name=name,
                                                public_keys=[key['public_key']], root_passphrase=ROOT_PASS,
                                                repository_passphrase=REPO_PASS))
        assert not res.failed, res


def at_once(*runs):
    """Start every (module, args) at the same moment; returns their results in order."""
    procs = [start_module(module, args) for module, args in runs]
    results = []
    for proc, path in procs:
        out, err = proc.communicate(timeout=240)
        os.unlink(path)
        results.append(json.loads(out.decode()[out.decode().index('{'):]))
    return results


def push(stack, docker_config, repo, tags, signer, passphrase, source):
    return ('trust_push', common(stack, docker_config, repository=repo, tags=tags, signer=signer,
                                 signer_passphrase=passphrase, repository_passphrase=REPO_PASS, source=source))


def signed_tags(stack, docker_config, repo):
    entry = stack.inspect(docker_config, repo).get(repo) or {}
    return dict((t['SignedTag'], (t['Digest'], sorted(t['Signers']))) for t in entry.get('SignedTags') or [])


def staged(docker_config, repo):
    d = os.path.join(docker_config, 'trust', 'tuf', repo, 'changelist')
    return os.listdir(d) if os.path.isdir(d) else []


def test_two_pushes_of_different_signers_and_of_one_signer_land(stack, docker_config):
    repo = stack.repo('one-host')
    signers(stack, docker_config, repo, [('jeff', JEFF_PASS), ('alice', ALICE_PASS)])
    a = stack.build_image(docker_config, repo + ':src-a', content='a')
    b = stack.build_image(docker_config, repo + ':src-b', content='b')
    # different signers, at once
    first, second = at_once(push(stack, docker_config, repo, ['a1', 'a2'], 'jeff', JEFF_PASS, a),
                            push(stack, docker_config, repo, ['b1'], 'alice', ALICE_PASS, b))
    assert not first.get('failed') and not second.get('failed'), (first.get('msg'), second.get('msg'))
    # the same signer, other tags, at once
    third, fourth = at_once(push(stack, docker_config, repo, ['c1'], 'jeff', JEFF_PASS, a),
                            push(stack, docker_config, repo, ['d1'], 'jeff', JEFF_PASS, b))
    assert not third.get('failed') and not fourth.get('failed'), (third.get('msg'), fourth.get('msg'))
    tags = signed_tags(stack, docker_config, repo)
    assert dict((t, s) for t, (d, s) in tags.items()) == {
        'a1': ['jeff'], 'a2': ['jeff'], 'b1': ['alice'], 'c1': ['jeff'], 'd1': ['jeff']}, tags
    assert tags['a1'][0] == tags['c1'][0] and tags['b1'][0] == tags['d1'][0] and tags['a1'][0] != tags['b1'][0]
    assert staged(docker_config, repo) == []
    assert stack.trusted_pull(repo + ':d1').returncode == 0


def test_signer_change_and_inspect_while_a_push_runs(stack, docker_config):
    repo = stack.repo('one-host')
    signers(stack, docker_config, repo, [('jeff', JEFF_PASS)])
    src = stack.build_image(docker_config, repo + ':src', content='s')
    alice = run_module('trust_key', common(stack, docker_config, name='alice', passphrase=ALICE_PASS))
    pushed, added, inspected = at_once(
        push(stack, docker_config, repo, ['v1', 'v2'], 'jeff', JEFF_PASS, src),
        ('trust_signer', common(stack, docker_config, repository=repo, name='alice',
                                public_keys=[alice['public_key']], repository_passphrase=REPO_PASS)),
        ('trust_inspect', common(stack, docker_config, repositories=[repo])))
    for res in (pushed, added, inspected):
        assert not res.get('failed'), res.get('msg')
    entry = stack.inspect(docker_config, repo)[repo]
    assert sorted(s['Name'] for s in entry['Signers']) == ['alice', 'jeff']
    assert sorted((t['SignedTag'], t['Signers']) for t in entry['SignedTags']) == [('v1', ['jeff']), ('v2', ['jeff'])]
    assert staged(docker_config, repo) == []
