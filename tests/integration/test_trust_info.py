# -*- coding: utf-8 -*-
"""trust_info reads what the bare docker CLI wrote, and says what docker itself says."""

import base64
import binascii
import os
import stat
import time
import urllib.request

import pytest

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, SHARED_BIN, common, run_module
from helpers import generate_key_cli, sign_cli, signer_add_cli
from ocitools import ACCEPT


def counting_docker(tmp_path, real='docker'):
    """A docker_cli that records each call, so tests can count docker invocations."""
    log = tmp_path / 'calls.log'
    wrapper = tmp_path / 'docker-counting'
    wrapper.write_text('#!/bin/sh\necho "$*" >> %s\nexec %s "$@"\n' % (log, real))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return str(wrapper), log


def signed_repo(stack, docker_config, tmp_path, tags=('v1.0.0',)):
    pub = generate_key_cli(stack, docker_config, 'jeff', JEFF_PASS, str(tmp_path))
    repo = stack.repo('openbanking')
    signer_add_cli(stack, docker_config, 'jeff', pub, repo, ROOT_PASS, REPO_PASS)
    for tag in tags:
        stack.build_image(docker_config, '%s:%s' % (repo, tag))
        sign_cli(stack, docker_config, '%s:%s' % (repo, tag), {'jeff': JEFF_PASS})
    return repo


def test_matches_docker_inspect(stack, docker_config, tmp_path):
    repo = signed_repo(stack, docker_config, tmp_path, tags=('v1.0.0', 'v1.0.1'))
    docker_view = stack.inspect(docker_config, repo)[repo]
    res = run_module('trust_info', common(stack, docker_config, references=[repo, repo + ':v1.0.1']))
    assert res['changed'] is False
    whole, one = res['repositories']
    assert whole['exists'] is True and whole['repository'] == repo and whole['reference'] == repo
    assert sorted((t['tag'], t['digest'], t['signers']) for t in whole['signed_tags']) == \
        sorted((t['SignedTag'], 'sha256:' + t['Digest'], t['Signers']) for t in docker_view['SignedTags'])
    assert whole['signers'] == [{'name': s['Name'], 'key_ids': [k['ID'] for k in s['Keys']]}
                                for s in docker_view['Signers']]
    admin = dict((a['Name'], [k['ID'] for k in a['Keys']]) for a in docker_view['AdministrativeKeys'])
    assert whole['root_key_ids'] == admin['Root'] and whole['repository_key_ids'] == admin['Repository']
    assert [t['tag'] for t in one['signed_tags']] == ['v1.0.1']
    # the digest is the one the registry serves for the pushed tag
    local = stack.docker(docker_config, 'image', 'inspect', '--format', '{{json .RepoDigests}}', repo + ':v1.0.1')
    assert one['signed_tags'][0]['digest'] in local.stdout.decode()


def server_state(stack, gun):
    """Versions, expiry dates, thresholds and released lengths as the Notary server itself serves them."""
    docs = dict((role, stack.tuf(gun, role)) for role in ('root', 'targets', 'snapshot', 'timestamp'))
    delegations = docs['targets']['signed'].get('delegations', {}).get('roles', [])
    for role in delegations:
        docs[role['name']] = stack.tuf(gun, role['name'])
    served = dict((role, doc['signed']) for role, doc in docs.items() if doc is not None)
    thresholds = dict((role, info['threshold']) for role, info in served['root']['roles'].items())
    thresholds.update((role['name'], role['threshold']) for role in delegations)
    lengths = {}
    for role in ('targets/releases', 'targets'):  # as docker: releases first
        for tag, meta in (served.get(role, {}).get('targets') or {}).items():
            digest = 'sha256:' + binascii.hexlify(base64.b64decode(meta['hashes']['sha256'])).decode()
            lengths.setdefault(tag, (digest, meta['length']))
    return dict(versions=dict((role, s['version']) for role, s in served.items()),
                expires=dict((role, s['expires']) for role, s in served.items()),
                thresholds=thresholds, lengths=lengths)


def assert_same_as_server(stack, parsed):
    served = server_state(stack, parsed['repository'])
    assert parsed['versions'] == served['versions']
    assert parsed['expires'] == served['expires']
    assert parsed['thresholds'] == served['thresholds']
    assert parsed['signed_tags'], parsed
    for tag in parsed['signed_tags']:
        assert (tag['digest'], tag['length']) == served['lengths'][tag['tag']]
    return served


def test_versions_expiry_thresholds_and_lengths_are_what_the_server_serves(stack, docker_config, tmp_path):
    """On the CLI under test (CT_DOCKER_CLI: docker trust inspect on 28, the notary CLI on 29 without the plugin)."""
    repo = signed_repo(stack, docker_config, tmp_path, tags=('v1', 'v2'))
    res = run_module('trust_info', common(stack, docker_config, references=[repo, repo + ':v2']))
    assert not res.failed, res
    whole, one = res['repositories']
    served = assert_same_as_server(stack, whole)
    assert set(['root', 'targets', 'snapshot', 'timestamp', 'targets/releases', 'targets/jeff']) <= set(whole['versions'])
    assert [t['tag'] for t in one['signed_tags']] == ['v2'] and one['versions'] == whole['versions']
    # a tag's length is the size of the manifest the registry serves for its digest
    for tag in whole['signed_tags']:
        req = urllib.request.Request('http://%s/v2/%s/manifests/%s' % (stack.registry, repo[len(stack.registry) + 1:],
                                                                       tag['digest']), headers={'Accept': ACCEPT})
        assert len(urllib.request.urlopen(req, timeout=10).read()) == tag['length'] > 0
    # another release moves the versions: the model follows the server, it does not repeat itself
    stack.build_image(docker_config, '%s:v3' % repo)
    sign_cli(stack, docker_config, '%s:v3' % repo, {'jeff': JEFF_PASS})
    again = run_module('trust_info', common(stack, docker_config, references=[repo]))['repositories'][0]
    after = assert_same_as_server(stack, again)
    assert after['versions']['targets/releases'] > served['versions']['targets/releases']
    assert again['versions']['targets/releases'] == whole['versions']['targets/releases'] + 1
    assert again['versions']['root'] == whole['versions']['root']


def test_missing_repository_is_not_a_failure(stack, docker_config):
    missing = stack.repo('nobody')
    res = run_module('trust_info', common(stack, docker_config, references=[missing, missing + ':v1']))
    assert not res.failed, res
    assert [r['exists'] for r in res['repositories']] == [False, False]
    assert res['repositories'][0]['signed_tags'] == [] and res['repositories'][0]['signers'] == []
    assert res['repositories'][0]['versions'] == {} and res['repositories'][0]['expires'] == {}


def test_unreachable_server_fails_naming_it(stack, docker_config):
    start = time.time()
    res = run_module('trust_info', common(stack, docker_config, server='https://127.0.0.1:1',
                                          references=[stack.repo()]))
    assert res.failed
    assert 'https://127.0.0.1:1' in res['msg'] and 'cannot be reached' in res['msg']
    assert time.time() - start < 20


def test_untrusted_certificate_names_the_ca_path(stack, docker_config):
    """A non-loopback registry name makes docker verify the Notary certificate."""
    repo = '%s/acme/app' % stack.nonloopback_host
    res = run_module('trust_info', common(stack, docker_config, references=[repo]))
    assert res.failed and 'not trusted' in res['msg']
    hostport = stack.notary_url.split('://', 1)[1]
    ca_path = os.path.join(docker_config, 'tls', hostport, 'ca.crt')
    assert ca_path in res['msg']
    os.makedirs(os.path.dirname(ca_path), exist_ok=True)
    with open(stack.ca) as src, open(ca_path, 'w') as dst:
        dst.write(src.read())
    res = run_module('trust_info', common(stack, docker_config, references=[repo]))
    assert not res.failed, res
    assert res['repositories'][0]['exists'] is False


def test_query(stack, docker_config, tmp_path):
    repo = signed_repo(stack, docker_config, tmp_path)
    res = run_module('trust_info', common(stack, docker_config, references=[repo],
                                          query="[0].signed_tags[?contains(signers, 'jeff')].tag"))
    assert res['query_result'] == ['v1.0.0']
    bad = run_module('trust_info', common(stack, docker_config, references=[repo], query='[0'))
    assert bad.failed and 'JMESPath' in bad['msg']


@pytest.mark.cli_independent
def test_fifty_references_in_one_module_call_over_a_few_docker_calls(stack, docker_config, tmp_path):
    repo = signed_repo(stack, docker_config, tmp_path)
    refs = [repo] + ['%s:v%d' % (repo, i) for i in range(44)] + [stack.repo('absent') for dummy in range(5)]
    assert len(refs) == 50
    wrapper, log = counting_docker(tmp_path)
    res = run_module('trust_info', common(stack, docker_config, docker_cli=wrapper, references=refs))
    assert not res.failed, res
    assert len(res['repositories']) == 50
    assert [r['reference'] for r in res['repositories']] == refs
    assert sum(r['exists'] for r in res['repositories']) == 45
    calls = [l.split() for l in log.read_text().splitlines() if 'inspect' in l]
    # the references are split over at most 4 concurrent calls, every reference in exactly one and
    # the 45 of one repository in the same one (two processes never refresh one repository's cache)
    reads = [c for c in calls if '-D' not in c]
    assert 2 <= len(reads) <= 4, calls
    assert sorted(r for c in reads for r in c if '/' in r) == sorted(refs)
    assert [c for c in reads if repo in c][0].count(repo) == 1 and all(r in [c for c in reads if repo in c][0]
                                                                       for r in refs[:45])
    # debug calls only tell the missing repositories from errors
    debug = [r for c in calls if '-D' in c for r in c if '/' in r]
    assert debug and sorted(debug) == sorted(refs[45:]), calls


@pytest.mark.cli_independent
def test_bad_references_fail_before_any_call(stack, docker_config, tmp_path):
    wrapper, log = counting_docker(tmp_path)
    for bad, expect in [('Acme/App', 'not a valid repository name'), ('acme/app:', 'not a valid tag'),
                        ('acme/app@sha256:abc', 'digest references'), ('', 'non-empty')]:
        res = run_module('trust_info', common(stack, docker_config, docker_cli=wrapper, references=[bad]))
        assert res.failed and expect in res['msg'], (bad, res['msg'])
    res = run_module('trust_info', common(stack, docker_config, docker_cli=wrapper, references=[]))
    assert res.failed and 'at least one' in res['msg']
    assert not log.exists()


DOCKER_29 = os.path.join(SHARED_BIN, 'docker-29')


@pytest.mark.cli_independent
@pytest.mark.skipif(not os.access(DOCKER_29, os.X_OK), reason='docker CLI 29 not found: %s is absent here' % SHARED_BIN)
def test_notary_path_on_cli_29_reports_what_docker_28_reports(stack, docker_config, tmp_path):
    """docker 29 without the plugin has no docker trust: the notary CLI reads the same data, key IDs included."""
    repo = signed_repo(stack, docker_config, tmp_path, tags=('v1', 'v2', 'v10'))
    pub = generate_key_cli(stack, docker_config, 'alice', ALICE_PASS, str(tmp_path))
    signer_add_cli(stack, docker_config, 'alice', pub, repo, ROOT_PASS, REPO_PASS)
    plugins = os.path.join(docker_config, 'cli-plugins', 'docker-trust')
    if os.path.exists(plugins):
        os.unlink(plugins)  # the plugin leg of the matrix: this test is about docker 29 without it
    wrapper, log = counting_docker(tmp_path, real=DOCKER_29)
    refs = [repo, repo + ':v10', stack.repo('absent')]
    res = run_module('trust_info', common(stack, docker_config, docker_cli=wrapper, references=refs))
    assert not res.failed, res
    assert 'trust' in log.read_text() and 'trust inspect' not in log.read_text()  # asked, never ran it
    fresh = str(tmp_path / 'fresh-config')
    os.mkdir(fresh, 0o700)
    with_28 = run_module('trust_info', common(stack, fresh, docker_cli=stack.reference_cli, references=refs))
    assert res['repositories'] == with_28['repositories']
    whole = res['repositories'][0]
    docker_view = stack.inspect(docker_config, repo)[repo]
    admin = dict((a['Name'], [k['ID'] for k in a['Keys']]) for a in docker_view['AdministrativeKeys'])
    assert whole['root_key_ids'] == admin['Root'] and len(admin['Root']) == 1
    assert whole['repository_key_ids'] == admin['Repository'] and len(admin['Repository']) == 1
    assert [t['tag'] for t in whole['signed_tags']] == ['v1', 'v2', 'v10']
    assert [(t['SignedTag'], 'sha256:' + t['Digest'], t['Signers']) for t in docker_view['SignedTags']] == \
        [(t['tag'], t['digest'], t['signers']) for t in whole['signed_tags']]
    assert sorted(s['name'] for s in whole['signers']) == ['alice', 'jeff']
    assert [t['tag'] for t in res['repositories'][1]['signed_tags']] == ['v10']
    assert res['repositories'][2]['exists'] is False
    # the TUF state the notary path read is the server's (and, above, docker 28's)
    assert_same_as_server(stack, whole)
