# -*- coding: utf-8 -*-
"""Two modules on ONE host, ONE docker configuration and ONE repository at the same time (issue 9):
both land, and what docker trust inspect and the Notary server report agrees."""

import json
import os

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module, start_module


def signers(stack, docker_config, repo, names):
    for name, passphrase in names:
        key = run_module('trust_key', common(stack, docker_config, signer=name, passphrase=passphrase))
        res = run_module('trust_signer', common(stack, docker_config, repository=repo, signer=name,
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
    alice = run_module('trust_key', common(stack, docker_config, signer='alice', passphrase=ALICE_PASS))
    pushed, added, inspected = at_once(
        push(stack, docker_config, repo, ['v1', 'v2'], 'jeff', JEFF_PASS, src),
        ('trust_signer', common(stack, docker_config, repository=repo, signer='alice',
                                public_keys=[alice['public_key']], repository_passphrase=REPO_PASS)),
        ('trust_info', common(stack, docker_config, references=[repo])))
    for res in (pushed, added, inspected):
        assert not res.get('failed'), res.get('msg')
    entry = stack.inspect(docker_config, repo)[repo]
    assert sorted(s['Name'] for s in entry['Signers']) == ['alice', 'jeff']
    assert sorted((t['SignedTag'], t['Signers']) for t in entry['SignedTags']) == [('v1', ['jeff']), ('v2', ['jeff'])]
    assert staged(docker_config, repo) == []


def nothing_left(docker_config, repo):
    """Nothing staged in the real trust directory, no view left, and the repository's lock file private."""
    assert staged(docker_config, repo) == []
    views = os.path.join(docker_config, 'trust', '.views')
    assert not os.path.isdir(views) or os.listdir(views) == []
    locks = os.path.join(docker_config, 'trust', '.locks')
    assert os.stat(locks).st_mode & 0o777 == 0o700
    assert [os.stat(os.path.join(locks, f)).st_mode & 0o777 for f in os.listdir(locks)] == \
        [0o600] * len(os.listdir(locks))


def add_signer(stack, docker_config, repo, name, public_key):
    return ('trust_signer', common(stack, docker_config, repository=repo, signer=name, public_keys=[public_key],
                                   repository_passphrase=REPO_PASS))


def test_a_signer_change_and_a_push_at_once(stack, docker_config):
    repo = stack.repo('one-host')
    signers(stack, docker_config, repo, [('jeff', JEFF_PASS)])
    src = stack.build_image(docker_config, repo + ':src', content='signer-and-push')
    alice = run_module('trust_key', common(stack, docker_config, signer='alice', passphrase=ALICE_PASS))
    before = stack.versions(repo)
    pushed, added = at_once(push(stack, docker_config, repo, ['v1'], 'jeff', JEFF_PASS, src),
                            add_signer(stack, docker_config, repo, 'alice', alice['public_key']))
    assert not pushed.get('failed') and not added.get('failed'), (pushed.get('msg'), added.get('msg'))
    assert pushed['changed'] and added['changed'] and pushed['results'][0]['signed']
    entry = stack.inspect(docker_config, repo)[repo]
    assert sorted(s['Name'] for s in entry['Signers']) == ['alice', 'jeff']
    assert [(t['SignedTag'], t['Signers']) for t in entry['SignedTags']] == [('v1', ['jeff'])]
    assert entry['SignedTags'][0]['Digest'] == pushed['results'][0]['digest'].split(':', 1)[1]
    # two publishes, one after the other: the Notary server's targets moved twice
    assert stack.version(repo, 'targets') >= before['targets'] + 1
    assert stack.version(repo, 'snapshot') == before['snapshot'] + 2
    nothing_left(docker_config, repo)
    assert stack.trusted_pull(repo + ':v1').returncode == 0


def test_two_signers_added_at_once(stack, docker_config):
    repo = stack.repo('one-host')
    signers(stack, docker_config, repo, [('jeff', JEFF_PASS)])
    alice = run_module('trust_key', common(stack, docker_config, signer='alice', passphrase=ALICE_PASS))
    bob = run_module('trust_key', common(stack, docker_config, signer='bob', passphrase=ALICE_PASS))
    before = stack.versions(repo)
    first, second = at_once(add_signer(stack, docker_config, repo, 'alice', alice['public_key']),
                            add_signer(stack, docker_config, repo, 'bob', bob['public_key']))
    assert not first.get('failed') and not second.get('failed'), (first.get('msg'), second.get('msg'))
    assert first['changed'] and second['changed']
    entry = stack.inspect(docker_config, repo)[repo]
    shown = dict((s['Name'], sorted(k['ID'] for k in s['Keys'])) for s in entry['Signers'])
    assert sorted(shown) == ['alice', 'bob', 'jeff']
    assert shown['alice'] == first['key_ids'] and shown['bob'] == second['key_ids']
    assert stack.version(repo, 'targets') == before['targets'] + 2
    nothing_left(docker_config, repo)
    again = run_module('trust_signer', add_signer(stack, docker_config, repo, 'bob', bob['public_key'])[1])
    assert not again.failed and not again['changed']
    assert stack.version(repo, 'targets') == before['targets'] + 2


def test_two_revokes_of_different_tags_at_once(stack, docker_config):
    repo = stack.repo('one-host')
    signers(stack, docker_config, repo, [('jeff', JEFF_PASS)])
    src = stack.build_image(docker_config, repo + ':src', content='revokes')
    res = run_module('trust_push', push(stack, docker_config, repo, ['v1', 'v2', 'v3'], 'jeff', JEFF_PASS, src)[1])
    assert not res.failed, res
    before = stack.versions(repo)

    def revoke(tag):
        return ('trust_revoke', common(stack, docker_config, repository=repo, tags=[tag], signer='jeff',
                                       signer_passphrase=JEFF_PASS, repository_passphrase=REPO_PASS))

    first, second = at_once(revoke('v1'), revoke('v2'))
    assert not first.get('failed') and not second.get('failed'), (first.get('msg'), second.get('msg'))
    assert first['revoked'] == ['v1'] and second['revoked'] == ['v2']
    assert dict((t, s) for t, (d, s) in signed_tags(stack, docker_config, repo).items()) == {'v3': ['jeff']}
    assert stack.version(repo, 'targets/releases') >= before['targets/releases'] + 2
    nothing_left(docker_config, repo)
    assert stack.trusted_pull(repo + ':v1').returncode != 0
    assert stack.trusted_pull(repo + ':v3').returncode == 0


def test_an_inspect_while_a_push_runs(stack, docker_config):
    repo = stack.repo('one-host')
    signers(stack, docker_config, repo, [('jeff', JEFF_PASS)])
    src = stack.build_image(docker_config, repo + ':src', content='inspect-and-push')
    pushed, inspected = at_once(push(stack, docker_config, repo, ['v1', 'v2'], 'jeff', JEFF_PASS, src),
                                ('trust_info', common(stack, docker_config, references=[repo])))
    assert not pushed.get('failed') and not inspected.get('failed'), (pushed.get('msg'), inspected.get('msg'))
    final = signed_tags(stack, docker_config, repo)
    assert sorted(final) == ['v1', 'v2']
    # the inspect saw the repository either before the push or after it, never half of it
    seen = dict((t['tag'], t['digest']) for t in inspected['repositories'][0]['signed_tags'])
    assert seen in ({}, dict((t, 'sha256:' + d) for t, (d, s) in final.items())), seen
    assert [s['name'] for s in inspected['repositories'][0]['signers']] == ['jeff']
    nothing_left(docker_config, repo)
