# -*- coding: utf-8 -*-
"""trust_revoke against the real stack: a revoked tag no longer passes a trusted pull."""

import json
import shutil

import pytest

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module
from helpers import generate_key_cli, signer_add_cli

ROLES = ('targets', 'snapshot', 'targets/releases', 'targets/jeff', 'targets/alice')


def signed_repo(stack, docker_config, tmp_path, tags, signers=('jeff',)):
    """A repository with ``signers`` and ``tags`` pushed and signed by jeff with trust_push."""
    passes = {'jeff': JEFF_PASS, 'alice': ALICE_PASS}
    repo = stack.repo()
    for name in signers:
        pub = generate_key_cli(stack, docker_config, name, passes[name], str(tmp_path))
        signer_add_cli(stack, docker_config, name, pub, repo, ROOT_PASS, REPO_PASS)
    stack.build_image(docker_config, repo + ':build')
    res = run_module('trust_push', common(stack, docker_config, repository=repo, tags=list(tags), source=repo + ':build',
                                          signer='jeff', signer_passphrase=JEFF_PASS))
    assert res['changed'] is True, res
    return repo


def revoke(stack, docker_config, repo, check_mode=False, diff=False, **kwargs):
    args = common(stack, docker_config, repository=repo, signer=kwargs.pop('signer', 'jeff'),
                  signer_passphrase=kwargs.pop('signer_passphrase', JEFF_PASS))
    args.update(kwargs)
    return run_module('trust_revoke', args, check_mode=check_mode, diff=diff)


def signed_tags(stack, docker_config, repo):
    entry = stack.inspect(docker_config, repo).get(repo) or {}
    return sorted(t['SignedTag'] for t in entry.get('SignedTags') or [])


@pytest.mark.cli_matrix
def test_revoke_one_of_two_tags_then_again(stack, docker_config, tmp_path):
    repo = signed_repo(stack, docker_config, tmp_path, ['v1', 'v2'])
    before = stack.versions(repo, ROLES)

    preview = revoke(stack, docker_config, repo, tags=['v1'], check_mode=True, diff=True)
    assert preview['changed'] is True and preview['revoked'] == ['v1'], preview
    assert preview['diff']['before']['signed_tags'].keys() == {'v1'}
    assert preview['diff']['after'] == {'signed_tags': {}}
    assert stack.versions(repo, ROLES) == before
    assert signed_tags(stack, docker_config, repo) == ['v1', 'v2']
    assert stack.trusted_pull(repo + ':v1').returncode == 0

    res = revoke(stack, docker_config, repo, tags=['v1'], diff=True)
    assert res['changed'] is True and res['revoked'] == ['v1'] and res['unsigned'] == [], res
    assert res['diff']['after'] == {'signed_tags': {}}
    assert signed_tags(stack, docker_config, repo) == ['v2']
    after = stack.versions(repo, ROLES)
    assert after['targets/releases'] == before['targets/releases'] + 1
    assert 'v1' not in stack.tuf(repo, 'targets/releases')['signed']['targets']
    assert 'v1' not in stack.tuf(repo, 'targets/jeff')['signed']['targets']
    assert stack.trusted_pull(repo + ':v1').returncode != 0
    assert stack.trusted_pull(repo + ':v2').returncode == 0

    again = revoke(stack, docker_config, repo, tags=['v1'])
    assert again['changed'] is False and again['revoked'] == [] and again['unsigned'] == ['v1'], again
    assert stack.versions(repo, ROLES) == after

    # signing it again makes it pullable again
    res = run_module('trust_push', common(stack, docker_config, repository=repo, tags=['v1'], signer='jeff',
                                          signer_passphrase=JEFF_PASS))
    assert res['changed'] is True
    assert stack.trusted_pull(repo + ':v1').returncode == 0


def test_all_tags_also_withdraws_other_signers_releases(stack, docker_config, tmp_path):
    repo = signed_repo(stack, docker_config, tmp_path, ['v1', 'v1.0', 'latest'], signers=('jeff', 'alice'))
    # alice signs v1 too: her role keeps its entry, but the release entry is gone.
    res = run_module('trust_push', common(stack, docker_config, repository=repo, tags=['v1'], signer='alice',
                                          signer_passphrase=ALICE_PASS))
    assert res['changed'] is True and res['results'][0]['signers'] == ['alice', 'jeff'], res
    before = stack.versions(repo, ROLES)

    preview = revoke(stack, docker_config, repo, all_tags=True, check_mode=True)
    assert preview['changed'] is True and preview['revoked'] == ['latest', 'v1', 'v1.0']
    assert stack.versions(repo, ROLES) == before

    res = revoke(stack, docker_config, repo, all_tags=True)
    assert res['changed'] is True and res['revoked'] == ['latest', 'v1', 'v1.0'], res
    assert signed_tags(stack, docker_config, repo) == []
    for tag in ('v1', 'v1.0', 'latest'):
        assert stack.trusted_pull('%s:%s' % (repo, tag)).returncode != 0
    after = stack.versions(repo, ROLES)
    assert after['targets/alice'] == before['targets/alice']

    again = revoke(stack, docker_config, repo, all_tags=True)
    assert again['changed'] is False and again['revoked'] == [], again
    assert stack.versions(repo, ROLES) == after


def test_wrong_passphrase_revokes_nothing(stack, docker_config, tmp_path):
    repo = signed_repo(stack, docker_config, tmp_path, ['v1'])
    before = stack.versions(repo, ROLES)
    res = run_module('trust_revoke', common(stack, docker_config, repository=repo, tags=['v1'], signer='jeff',
                                            signer_passphrase='wrong-Passphrase'),
                     secrets=[JEFF_PASS, 'wrong-Passphrase'])
    assert res.failed and 'passphrase incorrect' in res['msg'], res
    assert stack.versions(repo, ROLES) == before
    assert stack.trusted_pull(repo + ':v1').returncode == 0


@pytest.mark.cli_independent
@pytest.mark.parametrize('args, words', [
    (dict(tags=['v1'], all_tags=True), 'mutually exclusive'),
    (dict(), 'tags must list at least one tag'),
    (dict(tags=['.v1']), 'is not a valid tag'),
    (dict(tags=['v1'], repository='127.0.0.1:5000/acme/app:v1'), 'must not contain a tag'),
])
def test_malformed_input(stack, docker_config, args, words):
    full = common(stack, docker_config, repository='127.0.0.1:5000/acme/app', signer='jeff',
                  signer_passphrase=JEFF_PASS, docker_cli='/nonexistent/docker')
    full.update(args)
    res = run_module('trust_revoke', full)
    assert res.failed and words in res['msg'], res


def test_unsigned_tag_warns_naming_the_closest_signed_tags(stack, docker_config, tmp_path):
    # Before, a mistyped tag (letter O for zero) came back ok with only unsigned: [v2.0.O].
    repo = signed_repo(stack, docker_config, tmp_path, ['v2.0.0', 'v2.0.1', 'latest'])
    before = stack.versions(repo, ROLES)

    res = revoke(stack, docker_config, repo, tags=['v2.0.O'])
    assert res['changed'] is False and res['revoked'] == [] and res['unsigned'] == ['v2.0.O'], res
    assert res['closest'] == {'v2.0.O': ['v2.0.0', 'v2.0.1']}, res
    warnings = json.dumps(res.get('warnings'))
    assert 'v2.0.O (closest signed tags: v2.0.0, v2.0.1)' in warnings and repo in warnings, res
    assert stack.versions(repo, ROLES) == before

    quiet = revoke(stack, docker_config, repo, tags=['v2.0.O'], missing='ignore')
    assert quiet['changed'] is False and quiet['unsigned'] == ['v2.0.O'] and not quiet.get('warnings'), quiet

    # missing=fail: fails before anything is revoked, even the tag that is signed.
    strict = revoke(stack, docker_config, repo, tags=['v2.0.1', 'v2.0.O'], missing='fail')
    assert strict.failed and 'v2.0.O (closest signed tags: v2.0.0, v2.0.1)' in strict['msg'], strict
    assert 'nothing was revoked' in strict['msg'], strict
    assert signed_tags(stack, docker_config, repo) == ['latest', 'v2.0.0', 'v2.0.1']
    assert stack.versions(repo, ROLES) == before

    far = revoke(stack, docker_config, repo, tags=['nightly-2026'])
    assert far['closest'] == {'nightly-2026': []}, far
    assert 'nightly-2026 (no signed tag is close to it)' in json.dumps(far.get('warnings')), far


def test_failure_part_way_names_the_tags_already_revoked(stack, docker_config, tmp_path):
    repo = signed_repo(stack, docker_config, tmp_path, ['v1', 'v2', 'v3'])
    # The real docker CLI, except that revoking v2 fails once v1 is revoked (a failure
    # injected part-way, as a lost connection would be).
    # Where docker has no docker trust, the notary CLI revokes: fail its removal of v2 instead.
    if stack.cli_has_trust:
        option, real, call = 'docker_cli', shutil.which(stack.docker_cli), 'trust revoke -y %s:v2' % repo
    else:
        option, real, call = 'notary_cli', shutil.which('notary'), 'remove -p %s v2' % repo
    wrapper = tmp_path / 'cli-failing-on-v2'
    wrapper.write_text('#!/bin/sh\ncase "$*" in *"%s"*) echo "injected: connection reset" >&2; '
                       'exit 1;; esac\nexec %s "$@"\n' % (call, real))
    wrapper.chmod(0o755)

    res = revoke(stack, docker_config, repo, tags=['v1', 'v2', 'v3'], **{option: str(wrapper)})
    assert res.failed, res
    assert 'already revoked in this run: v1; not revoked: v2, v3' in res['msg'], res
    # What the Notary holds agrees with the message.
    assert signed_tags(stack, docker_config, repo) == ['v2', 'v3']
