# -*- coding: utf-8 -*-
"""A release in as few calls as the job allows (issue 14), on the real stack: trust_push ``images`` (every
image checked before the first push, each repository one publish, what a failure part-way leaves for a
rollback), the ``report`` action that writes files on the controller, and the ``release_report`` action that checks a
release, writes both its reports and shows its verification in one task."""

import json
import os
import stat
import subprocess
import sys
import time
import uuid

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._files import locked
from conftest import JEFF_PASS, REPO_PASS, ROOT, ROOT_PASS, common, run_module
from test_release_all_or_nothing import failing_notary

BIN = os.path.dirname(sys.executable)


def _setup(stack, docker_config, count=2):
    key = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
    repos = [stack.repo('one') for dummy in range(count)]
    for repo in repos:
        res = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='jeff',
                                                public_keys=[key['public_key']], root_passphrase=ROOT_PASS,
                                                repository_passphrase=REPO_PASS))
        assert not res.failed, res
    source = 'one-call-%s:build' % uuid.uuid4().hex[:8]
    stack.build_image(docker_config, source)
    return repos, source


def _push(stack, docker_config, images, check_mode=False, **extra):
    return run_module('trust_push', common(stack, docker_config, images=images, signer='jeff',
                                           signer_passphrase=JEFF_PASS, **extra), check_mode=check_mode)


def _signed(stack, docker_config, repo):
    entry = stack.inspect(docker_config, repo).get(repo) or {}
    return dict((t['SignedTag'], 'sha256:' + t['Digest']) for t in entry.get('SignedTags') or [])


def test_trust_push_publishes_a_release_of_several_repositories_in_one_call(stack, docker_config):
    (repo1, repo2), source = _setup(stack, docker_config)
    images = [{'repository': repo1, 'tags': ['v1', 'latest'], 'source': source},
              {'repository': repo2, 'tags': ['v1'], 'source': source}]
    versions = {r: stack.versions(r) for r in (repo1, repo2)}

    res = _push(stack, docker_config, images, check_mode=True)
    assert res['changed'] and not res.get('failed'), res
    assert [(r['repository'], r['tag'], r['pushed'], r['signed']) for r in res['results']] == [
        (repo1, 'v1', True, True), (repo1, 'latest', True, True), (repo2, 'v1', True, True)]
    assert {r: stack.versions(r) for r in (repo1, repo2)} == versions
    assert _signed(stack, docker_config, repo1) == {} and _signed(stack, docker_config, repo2) == {}

    res = _push(stack, docker_config, images)
    assert res['changed'] and not res.get('failed'), res
    assert [i['repository'] for i in res['images']] == [repo1, repo2]
    assert res['images'][0]['before'] == {'v1': [], 'latest': []}, res['images']
    digest = res['results'][0]['digest']
    # What docker shows a consumer: every tag signed by jeff for the pushed digest; one publish per repository.
    assert _signed(stack, docker_config, repo1) == {'v1': digest, 'latest': digest}
    assert _signed(stack, docker_config, repo2) == {'v1': digest}
    after = {r: stack.versions(r) for r in (repo1, repo2)}
    for repo in (repo1, repo2):
        assert after[repo]['targets/releases'] == versions[repo]['targets/releases'] + 1, (repo, versions, after)
    assert stack.trusted_pull(repo2 + ':v1').returncode == 0

    res = _push(stack, docker_config, images)
    assert not res['changed'] and not res.get('failed'), res
    assert res['images'][1]['before'] == {'v1': [digest]}, res['images']
    assert 'verification' not in res, res
    assert {r: stack.versions(r) for r in (repo1, repo2)} == after


def test_trust_push_verifies_what_it_published_in_the_same_call(stack, docker_config):
    (repo1, repo2), source = _setup(stack, docker_config)
    images = [{'repository': repo1, 'tags': ['v1', 'latest'], 'source': source},
              {'repository': repo2, 'tags': ['v1'], 'source': source}]
    root1 = stack.inspect(docker_config, repo1)[repo1]['AdministrativeKeys'][0]['Keys'][0]['ID']
    res = _push(stack, docker_config, images, verify=True, root_key_ids={repo1: [root1]})
    assert res['changed'] and not res.get('failed'), res
    check = res['verification']
    assert check['verified'] is True and check['unverified'] == [], check
    digest = res['results'][0]['digest']
    assert [(r['reference'], r['signed_digest'], r['registry_digest'], r['signers'], r['pulled']) for r in check['results']] == [
        ('%s:v1' % repo1, digest, digest, ['jeff'], True), ('%s:latest' % repo1, digest, digest, ['jeff'], None),
        ('%s:v1' % repo2, digest, digest, ['jeff'], True)], check['results']
    # trust_verify on its own says the same.
    alone = run_module('trust_verify', common(stack, docker_config, images=[
        {'repository': repo1, 'tags': ['v1', 'latest']}, {'repository': repo2, 'tags': ['v1']}], signer='jeff',
        root_key_ids={repo1: [root1]}, allow_unpinned=True))
    expected = [(r['reference'], r['verified']) for r in check['results']]
    assert [(r['reference'], r['verified']) for r in alone['results']] == expected, alone
    # A root that is not the pinned one: reported, not failed; nothing moves on a re-run.
    versions = {r: stack.versions(r) for r in (repo1, repo2)}
    res = _push(stack, docker_config, images, verify=True, root_key_ids={repo2: ['0' * 64]})
    assert not res['changed'] and not res.get('failed'), res
    check = res['verification']
    assert check['verified'] is False and check['unverified'] == ['%s:v1' % repo2], check
    assert 'not signed by the pinned root key' in check['results'][2]['problems'][0], check['results'][2]
    assert {r: stack.versions(r) for r in (repo1, repo2)} == versions
    # Check mode verifies nothing (it would read what is not published yet).
    res = _push(stack, docker_config, images, check_mode=True, verify=True)
    assert 'verification' not in res and not res['changed'], res


def test_trust_push_names_every_image_that_cannot_be_published_and_changes_nothing(stack, docker_config):
    (repo1, repo2), source = _setup(stack, docker_config)
    versions = {r: stack.versions(r) for r in (repo1, repo2)}
    res = _push(stack, docker_config, [{'repository': repo1, 'tags': ['v1'], 'source': 'typo-%s:x' % uuid.uuid4().hex[:6]},
                                       {'repository': repo2, 'tags': ['v1'], 'source': source},
                                       {'repository': stack.repo('none'), 'tags': ['v1'], 'source': source}])
    assert res.get('failed'), res
    assert res['msg'].startswith('2 of 3 images of the release cannot be published; nothing was pushed or signed'), res
    assert '\n- %s: local image typo-' % repo1 in res['msg'] and 'has no trust data' in res['msg'], res
    assert 'images' not in res, res  # nothing to roll back
    assert {r: stack.versions(r) for r in (repo1, repo2)} == versions
    assert _signed(stack, docker_config, repo2) == {}


def test_a_failure_part_way_returns_what_was_signed_and_what_was_there_before(stack, docker_config, tmp_path):
    (repo1, repo2), source = _setup(stack, docker_config)
    res = _push(stack, docker_config, [{'repository': repo1, 'tags': ['v1'], 'source': source},
                                       {'repository': repo2, 'tags': ['v1', 'extra'], 'source': source}],
                notary_cli=failing_notary(tmp_path, repo2))
    assert res.get('failed'), res
    assert res['msg'].startswith('%s: notary publish %s failed' % (repo2, repo2)), res['msg']
    one, two = res['images']
    assert one['changed'] and [(r['tag'], r['pushed'], r['signed']) for r in one['results']] == [('v1', True, True)]
    assert two['before'] == {'v1': [], 'extra': []}
    assert [(r['tag'], r['pushed'], r['signed']) for r in two['results']] == [('v1', True, False), ('extra', True, False)]
    assert _signed(stack, docker_config, repo1) == {'v1': one['results'][0]['digest']}
    assert _signed(stack, docker_config, repo2) == {}


@pytest.mark.cli_independent
def test_trust_push_refuses_images_together_with_repository(stack, docker_config):
    res = run_module('trust_push', common(stack, docker_config, images=[{'repository': 'a/b', 'tags': ['v1']}],
                                          repository='a/b', signer='jeff', signer_passphrase=JEFF_PASS))
    assert res.get('failed') and 'mutually exclusive: images|repository' in res['msg'], res
    res = run_module('trust_push', common(stack, docker_config, images=[{'repository': 'a/b:v1', 'tags': ['v1']}],
                                          signer='jeff', signer_passphrase=JEFF_PASS))
    assert res.get('failed') and res['msg'].startswith('images[0] (a/b:v1): '), res


@pytest.mark.cli_independent
def test_the_report_action_writes_files_on_the_controller_once(tmp_path):
    dest = tmp_path / 'reports' / 'nested'
    files = [{'name': 'r.json', 'content': json.dumps({'release': 'v1'}) + '\n'}, {'name': 'r.md', 'content': '# v1\n'}]

    def play(*args, **extra):
        task = {'openbanking.content_trust.report': dict({'dest': str(dest), 'files': files}, **extra)}
        return run_role_task(tmp_path, task, *args)

    rc, out = play('--check')
    assert rc == 0 and 'changed=1' in out, out
    assert not dest.exists()

    rc, out = play()
    assert rc == 0 and 'changed=1' in out, out
    assert (dest / 'r.json').read_text() == '{"release": "v1"}\n' and (dest / 'r.md').read_text() == '# v1\n'
    assert stat.S_IMODE(os.stat(str(dest / 'r.md')).st_mode) == 0o644
    assert sorted(os.listdir(str(dest))) == ['r.json', 'r.md']  # no temporary file left

    rc, out = play()
    assert rc == 0 and 'changed=0' in out, out

    files[1]['content'] = '# v2\n'
    rc, out = play('--diff', '--check')
    assert rc == 0 and 'changed=1' in out and '-# v1' in out and '+# v2' in out, out
    assert (dest / 'r.md').read_text() == '# v1\n'

    rc, out = play(mode='0600')
    assert rc == 0 and 'changed=1' in out, out
    assert (dest / 'r.md').read_text() == '# v2\n' and stat.S_IMODE(os.stat(str(dest / 'r.json')).st_mode) == 0o600

    files[0]['name'] = '../escape.json'
    rc, out = play()
    assert rc != 0 and "files[].name must be a file name without a directory, got '../escape.json'" in out, out
    assert not (tmp_path / 'reports' / 'escape.json').exists()


@pytest.mark.cli_independent
def test_the_release_report_action_checks_writes_and_shows_in_one_task(tmp_path):
    """release_report: the reports of a release and its verification shown, or a failure naming every tag that
    does not verify (after writing the reports); check mode writes nothing; a second run changes nothing."""
    dest = tmp_path / 'reports'
    digest = 'sha256:' + '1' * 64
    result = dict(reference='reg/app:v1', repository='reg/app', tag='v1', signed_digest=digest,
                  registry_digest=digest, signers=['jeff'], pulled=True, verified=True, problems=[])
    notary = {'results': [result], 'repositories': [], 'verified_with': None}

    def play(*args, **extra):
        task = {'openbanking.content_trust.release_report': dict(
            {'dest': str(dest), 'release': 'v1', 'signer': 'jeff', 'notary': notary,
             'published': ['reg/app:v1 pushed and signed']}, **extra)}
        return run_role_task(tmp_path, task, *args)

    rc, out = play('--check')
    assert rc == 0 and 'changed=1' in out and 'reg/app:v1  %s  notary: ok  verified' % digest in out, out
    assert not dest.exists()

    rc, out = play()
    assert rc == 0 and 'changed=1' in out, out
    assert 'reg/app:v1 pushed and signed' in out  # shown without -v, before the checks
    # No temporary file left; the lock every signer's run takes stays (removing it would let two runs lock two files).
    assert sorted(os.listdir(str(dest))) == ['.release-v1.lock', 'release-v1.json', 'release-v1.md']
    report = json.loads((dest / 'release-v1.json').read_text())
    assert report['verified'] is True and [i['digest'] for i in report['images']] == [digest]
    assert (dest / 'release-v1.md').read_text().startswith('# Release v1\n\n**Verified**')

    rc, out = play()
    assert rc == 0 and 'changed=0' in out, out

    notary['results'] = [result, dict(result, reference='reg/app:latest', tag='latest')]
    rc, out = play('--diff', '--check')
    assert rc == 0 and 'changed=1' in out and '+| reg/app | latest | %s | jeff | yes | yes |' % ('1' * 64) in out, out
    assert 'latest' not in (dest / 'release-v1.md').read_text()

    notary['results'] = [result, dict(result, reference='reg/app:stable', tag='stable', signed_digest=None,
                                      verified=False, problems=['tag stable is not signed'])]
    rc, out = play()
    assert rc != 0 and 'Release v1 does not verify:' in out and '- reg/app:stable: tag stable is not signed' in out, out
    assert '- reg/app:v1:' not in out, out
    # The reports are written before the task fails: they say what does not verify.
    assert json.loads((dest / 'release-v1.json').read_text())['verified'] is False
    assert '**NOT VERIFIED**: 1 of 2 image tags do not verify' in (dest / 'release-v1.md').read_text()

    rc, out = play(release='../v1')
    assert rc != 0 and "release must be a version that can name a file, got '../v1'" in out, out
    assert '"error_kind": "bad_input"' in out, out
    assert sorted(os.listdir(str(dest))) == ['.release-v1.lock', 'release-v1.json', 'release-v1.md']


def _signer_task(dest, signer, repositories):
    """release_report as ``signer``'s release run has it: tag v1 of each of ``repositories``, signed by alice and
    bob in Notary but for ``three`` (alice's alone)."""
    digest = 'sha256:' + '1' * 64
    results = [dict(reference='reg/%s:v1' % r, repository='reg/' + r, tag='v1', signed_digest=digest,
                    registry_digest=digest, signers=['alice'] if r == 'three' else ['alice', 'bob'], pulled=True,
                    verified=True, problems=[]) for r in repositories]
    return {'openbanking.content_trust.release_report': {
        'dest': str(dest), 'release': 'v1', 'signer': signer,
        'notary': {'results': results, 'repositories': [], 'verified_with': None}}}


def _holders(path):
    """The processes other than this one with ``path`` open."""
    pids = set()
    for pid in filter(str.isdigit, os.listdir('/proc')):
        if int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir('/proc/%s/fd' % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink('/proc/%s/fd/%s' % (pid, fd)) == path:
                    pids.add(int(pid))
            except OSError:
                pass
    return pids


@pytest.mark.cli_independent
def test_two_signers_running_at_once_both_land_in_the_one_report(tmp_path):
    """alice (three repositories) and bob (two of them) in two ansible-playbook processes started together, while
    the test holds the report's lock: both wait for it and write nothing past it; once it is released, both runs
    land in one report (neither overwrote the other's rows), and each run again changes nothing. A report file that
    is not a report of the release then fails the run, naming it, and is left as it was."""
    dest = tmp_path / 'reports'
    runs = [('alice', ['one', 'two', 'three']), ('bob', ['one', 'two'])]
    with locked(str(dest), '.release-v1.lock', 0o644) as lock:
        procs = [start_role_task(tmp_path, _signer_task(dest, signer, repos)) for signer, repos in runs]
        deadline = time.monotonic() + 120
        while len(_holders(lock)) < 2:
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                [p.communicate()[0].decode('utf-8', 'replace') for p in procs if p.poll() is not None]
            time.sleep(0.1)
        time.sleep(0.5)
        assert sorted(os.listdir(str(dest))) == ['.release-v1.lock'] and all(p.poll() is None for p in procs)
    outs = [p.communicate(timeout=120)[0].decode('utf-8', 'replace') for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    report = json.loads((dest / 'release-v1.json').read_text())
    assert sorted((i['repository'], i['checked_by']) for i in report['images']) == [
        ('reg/one', ['alice', 'bob']), ('reg/three', ['alice']), ('reg/two', ['alice', 'bob'])], report
    assert report['checked_by'] == ['alice', 'bob'] and report['verified'] is True
    markdown = (dest / 'release-v1.md').read_text()
    assert '- Signers: `alice`, `bob`' in markdown and '| reg/three | v1 | %s | alice | yes | yes | alice |' % (
        '1' * 64) in markdown, markdown
    for signer, repos in runs:
        rc, out = run_role_task(tmp_path, _signer_task(dest, signer, repos))
        assert rc == 0 and 'changed=0' in out, out
    # A report that is not one of this release (here: cut short) is not replaced by a report that would lose rows.
    (dest / 'release-v1.json').write_text('{"release": "v1", "images": [')
    rc, out = run_role_task(tmp_path, _signer_task(dest, 'bob', ['one']))
    assert rc != 0 and '%s cannot be updated: it is not JSON' % (dest / 'release-v1.json') in out, out
    assert '"error_kind": "bad_input"' in out, out
    assert (dest / 'release-v1.json').read_text() == '{"release": "v1", "images": ['
    assert '| reg/three |' in (dest / 'release-v1.md').read_text()


def start_role_task(tmp_path, task, *args):
    """ansible-playbook of one task on localhost, started; returns the process (output on its stdout)."""
    playbook = tmp_path / ('play-%s.yml' % uuid.uuid4().hex[:6])
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False,
                                     'tasks': [dict(name='the task', **task)]}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
               PATH=BIN + os.pathsep + os.environ['PATH'])
    return subprocess.Popen([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                             '-e', 'ansible_python_interpreter=%s' % sys.executable, str(playbook)] + list(args),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def run_role_task(tmp_path, task, *args):
    """ansible-playbook of one task on localhost; returns (rc, output)."""
    proc = start_role_task(tmp_path, task, *args)
    try:
        out = proc.communicate(timeout=300)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, out.decode('utf-8', 'replace')
