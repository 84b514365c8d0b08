# -*- coding: utf-8 -*-
"""trust_pull: a deploy host pulls only what was signed, by its signed digest, with pinned roots.

One signed repository, shared by the tests of this file: signers jeff and alice, and

- ``v1``: jeff signed it;
- ``both``: jeff and alice signed the same digest;
- ``alice-only``: only alice signed it;
- ``unsigned``: pushed, never signed;
- ``moved``: jeff signed it, then other content was pushed under the same tag, unsigned.

Every test runs with three consumers' docker CLIs: the CLI 28 of the machine (``docker trust``
built in), a ``docker_cli`` that does not exist (no CLI on the host) and the real docker CLI 29
without its docker-trust plugin.  The consumer's docker configuration is always fresh.  After
each behaviour the tests ask the real tools: ``docker trust inspect`` (CLI 28) for the signed
digest and root, ``docker image inspect`` for what the daemon holds, ``docker events`` for what
it did, and the Notary server for its TUF versions.
"""

import json
import os
import subprocess
import time
import uuid

import pytest

from conftest import (ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT, ROOT_PASS, assert_trust_modes, common,
                      install_publisher_certificate, run_module)

DOCKER_29 = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'bin', 'docker-29'))
CLIS = ['docker-28', 'no-docker-cli', 'docker-29']


@pytest.fixture
def docker_config(tmp_path):
    """The deploy host's docker configuration: fresh, and without the docker-trust plugin whatever
    the leg of the CLI matrix (the docker CLI 29 here is the one WITHOUT its plugin)."""
    d = tmp_path / 'consumer'
    d.mkdir(mode=0o700)
    yield str(d)
    assert_trust_modes(str(d))


@pytest.fixture(params=CLIS)
def consumer_cli(request, stack, tmp_path):
    if request.param == 'docker-28':
        return stack.reference_cli
    if request.param == 'no-docker-cli':
        return str(tmp_path / 'no-such-docker')
    if not os.access(DOCKER_29, os.X_OK):
        pytest.skip('the real docker CLI 29 is not at %s (<repo root>/../shared/bin/docker-29)' % DOCKER_29)
    return DOCKER_29


# The publisher's side is set up with the reference CLI (28.x) whatever the leg of the CLI matrix:
# what is under test here is the consumer.
def sign(stack, config, repo, tags, signer, passphrase, source):
    res = run_module('trust_push', common(stack, config, docker_cli=stack.reference_cli, repository=repo, tags=tags,
                                          signer=signer, signer_passphrase=passphrase, source=source))
    assert not res.failed and res['changed'], res
    return dict((r['tag'], r['digest']) for r in res['results'])


def add_signers(stack, config, repo, names):
    for name, passphrase in names:
        key = run_module('trust_key', common(stack, config, docker_cli=stack.reference_cli, signer=name,
                                             passphrase=passphrase))
        assert not key.failed, key
        res = run_module('trust_signer', common(stack, config, docker_cli=stack.reference_cli, repository=repo, signer=name,
                                                public_keys=[key['public_key']], root_passphrase=ROOT_PASS,
                                                repository_passphrase=REPO_PASS))
        assert not res.failed, res


def image_id(stack, config, ref):
    proc = stack.docker(config, 'image', 'inspect', '-f', '{{.Id}}', ref, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def forget(stack, config, repo, digests):
    """Remove every local image of ``repo`` from the daemon, so that a pull is a real pull."""
    ids = set()
    listed = stack.docker(config, 'images', '--digests', '--no-trunc', '--format', '{{.ID}}', repo).stdout.decode()
    ids.update(line.strip() for line in listed.splitlines() if line.strip())
    for digest in digests:
        found = image_id(stack, config, '%s@%s' % (repo, digest))
        if found:
            ids.add(found)
    if ids:
        stack.docker(config, 'image', 'rm', '-f', *sorted(ids))
    for digest in digests:
        assert image_id(stack, config, '%s@%s' % (repo, digest)) is None


def daemon_events(stack, config, since, until, repo):
    """What the daemon did with images of ``repo`` between two moments (pull, tag, untag, delete ...).
    The daemon is shared with other tests, hence the filter on the repository."""
    out = stack.docker(config, 'events', '--since', '%.3f' % since, '--until', '%.3f' % until,
                       '--filter', 'type=image', '--format', '{{json .}}').stdout.decode()
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [e for e in events if e['id'].startswith(repo + '@') or e['id'].startswith(repo + ':')
            or (e['Actor'].get('Attributes') or {}).get('name', '').startswith(repo + ':')]


def warning_texts(result):
    """The module's warnings as text (ansible-core 2.19 returns them as structured events)."""
    return [w if isinstance(w, str) else w.get('event', {}).get('msg', '') for w in result.get('warnings') or []]


class Signed(object):
    pass


@pytest.fixture(scope='module')
def signed(stack, tmp_path_factory):
    s = Signed()
    s.config = str(tmp_path_factory.mktemp('publisher') / 'docker')
    os.makedirs(s.config, mode=0o700)
    install_publisher_certificate(s.config)  # publishers write; the consumers below hold no certificate
    s.repo = stack.repo('consume')
    add_signers(stack, s.config, s.repo, [('jeff', JEFF_PASS), ('alice', ALICE_PASS)])
    sources = []
    for name in ('a', 'b', 'c', 'moved-away'):
        sources.append(stack.build_image(s.config, 'consume-%s-%s:build' % (name, uuid.uuid4().hex[:8])))
    s.digests = sign(stack, s.config, s.repo, ['v1', 'both', 'moved'], 'jeff', JEFF_PASS, sources[0])
    assert sign(stack, s.config, s.repo, ['both'], 'alice', ALICE_PASS, sources[0])['both'] == s.digests['both']
    s.digests.update(sign(stack, s.config, s.repo, ['alice-only'], 'alice', ALICE_PASS, sources[1]))
    for tag, source in (('unsigned', sources[2]), ('moved', sources[3])):
        stack.docker(s.config, 'tag', source, '%s:%s' % (s.repo, tag))
        stack.docker(s.config, 'push', '%s:%s' % (s.repo, tag))
    s.moved_id = image_id(stack, s.config, sources[3])
    s.signed_id = image_id(stack, s.config, sources[0])
    s.replaced_digest = [d.split('@', 1)[1] for d in json.loads(stack.docker(
        s.config, 'image', 'inspect', '-f', '{{json .RepoDigests}}', sources[3]).stdout.decode())
        if d.startswith(s.repo + '@')][0]
    # What the bare CLI 28 reports is the truth the tests compare with.
    entry = stack.inspect(s.config, s.repo)[s.repo]
    s.docker_view = dict((t['SignedTag'], ('sha256:' + t['Digest'], sorted(t['Signers'])))
                         for t in entry['SignedTags'])
    s.root_key_ids = [k['ID'] for a in entry['AdministrativeKeys'] if a['Name'] == 'Root' for k in a['Keys']]
    assert s.docker_view['v1'] == (s.digests['v1'], ['jeff'])
    assert s.docker_view['both'] == (s.digests['v1'], ['alice', 'jeff'])
    assert s.docker_view['alice-only'] == (s.digests['alice-only'], ['alice'])
    assert 'unsigned' not in s.docker_view and s.replaced_digest != s.digests['moved']
    assert len(s.root_key_ids) == 1
    forget(stack, s.config, s.repo, list(s.digests.values()) + [s.replaced_digest])
    for source in sources:
        stack.docker(s.config, 'image', 'rm', '-f', source, check=False)
    return s


def pull(stack, config, cli, images, **kwargs):
    kwargs.setdefault('allow_unpinned', 'root_key_ids' not in kwargs)  # the pins have tests of their own
    return run_module('trust_pull', common(stack, config, docker_cli=cli, images=images, **kwargs))


def test_signed_tag_is_pulled_by_digest_and_tagged_once(stack, signed, docker_config, consumer_cli):
    forget(stack, docker_config, signed.repo, signed.digests.values())
    versions = stack.versions(signed.repo)
    images = [{'repository': signed.repo, 'tags': ['v1']}]
    pins = {signed.repo: signed.root_key_ids}

    checked = run_module('trust_pull', common(stack, docker_config, docker_cli=consumer_cli, images=images,
                                              signers=['jeff'], root_key_ids=pins), check_mode=True)
    assert not checked.failed and checked['changed'] is True, checked
    assert (checked['results'][0]['pulled'], checked['results'][0]['tagged']) == (True, True)
    assert image_id(stack, docker_config, '%s@%s' % (signed.repo, signed.digests['v1'])) is None
    assert image_id(stack, docker_config, signed.repo + ':v1') is None

    start = time.time()
    res = pull(stack, docker_config, consumer_cli, images, signers=['jeff'], root_key_ids=pins)
    assert not res.failed and res['changed'] is True, res
    assert res['results'] == [{'repository': signed.repo, 'tag': 'v1', 'digest': signed.digests['v1'],
                               'signers': ['jeff'], 'root_key_id': signed.root_key_ids[0],
                               'pulled': True, 'tagged': True, 'formats': ['notary']}]
    # The daemon holds the signed digest under the tag, and it was pulled by that digest.
    repo_digests = json.loads(stack.docker(docker_config, 'image', 'inspect', '-f', '{{json .RepoDigests}}',
                                           signed.repo + ':v1').stdout.decode())
    assert '%s@%s' % (signed.repo, signed.digests['v1']) in repo_digests
    assert image_id(stack, docker_config, signed.repo + ':v1') == signed.signed_id
    events = daemon_events(stack, docker_config, start, time.time(), signed.repo)
    assert [e['id'] for e in events if e['Action'] == 'pull'] == ['%s@%s' % (signed.repo, signed.digests['v1'])]
    assert any(e['Action'] == 'tag' and e['Actor']['Attributes'].get('name') == signed.repo + ':v1' for e in events)

    # Again: nothing changes, and the daemon neither pulls nor tags anything.
    time.sleep(1.1)
    start = time.time()
    again = pull(stack, docker_config, consumer_cli, images, signers=['jeff'], root_key_ids=pins)
    assert not again.failed and again['changed'] is False, again
    assert (again['results'][0]['pulled'], again['results'][0]['tagged']) == (False, False)
    assert daemon_events(stack, docker_config, start, time.time() + 0.5, signed.repo) == []
    assert image_id(stack, docker_config, signed.repo + ':v1') == signed.signed_id
    assert stack.versions(signed.repo) == versions


@pytest.mark.parametrize('tag, options, words', [
    ('unsigned', {}, 'tag unsigned is not signed'),
    ('alice-only', {'signers': ['jeff']}, 'signed only by alice, none of the accepted signers jeff'),
    ('v1', {'signers': ['jeff', 'alice'], 'require_all_signers': True}, 'no signature of alice'),
], ids=['unsigned', 'signed-only-by-another-signer', 'one-of-two-signers-missing'])
def test_what_does_not_verify_fails_naming_it_and_tags_nothing(
        stack, signed, docker_config, consumer_cli, tag, options, words):
    forget(stack, docker_config, signed.repo, signed.digests.values())
    start = time.time()
    res = pull(stack, docker_config, consumer_cli, [{'repository': signed.repo, 'tags': [tag]}], **options)
    assert res.failed, res
    assert '%s:%s' % (signed.repo, tag) in res['msg'] and words in res['msg'], res['msg']
    assert 'nothing was pulled or tagged' in res['msg']
    assert image_id(stack, docker_config, '%s:%s' % (signed.repo, tag)) is None
    assert [e for e in daemon_events(stack, docker_config, start, time.time() + 0.5, signed.repo)
            if e['Action'] in ('pull', 'tag')] == []


def test_both_signers_required_and_present(stack, signed, docker_config, consumer_cli):
    forget(stack, docker_config, signed.repo, signed.digests.values())
    res = pull(stack, docker_config, consumer_cli, [{'repository': signed.repo, 'tags': ['both']}],
               signers=['jeff', 'alice'], require_all_signers=True)
    assert not res.failed and res['changed'], res
    assert res['results'][0]['signers'] == ['alice', 'jeff'] and res['results'][0]['digest'] == signed.digests['both']
    assert image_id(stack, docker_config, signed.repo + ':both') == signed.signed_id


def test_moved_registry_tag_pulls_the_signed_digest_and_warns(stack, signed, docker_config, consumer_cli):
    forget(stack, docker_config, signed.repo, list(signed.digests.values()) + [signed.replaced_digest])
    start = time.time()
    res = pull(stack, docker_config, consumer_cli, [{'repository': signed.repo, 'tags': ['moved']}])
    assert not res.failed and res['changed'], res
    assert res['results'][0]['digest'] == signed.digests['moved'] == signed.docker_view['moved'][0]
    warnings = [w for w in warning_texts(res) if 'has moved away from what was signed' in w]
    assert len(warnings) == 1 and signed.replaced_digest in warnings[0] and signed.digests['moved'] in warnings[0]
    # The local tag is the signed content, never the replaced one, which was not even pulled.
    assert image_id(stack, docker_config, signed.repo + ':moved') == signed.signed_id != signed.moved_id
    assert image_id(stack, docker_config, '%s@%s' % (signed.repo, signed.replaced_digest)) is None
    pulls = [e['id'] for e in daemon_events(stack, docker_config, start, time.time() + 0.5, signed.repo)
             if e['Action'] == 'pull']
    assert pulls == ['%s@%s' % (signed.repo, signed.digests['moved'])]


# --- pinned roots ------------------------------------------------------------------------------

def notary(stack, config, *args):
    # the stack's publisher certificate: its Notary refuses writes (delete --remote, publish) without one
    publisher = ['--tlscert', stack.client_cert, '--tlskey', stack.client_key] if stack.client_cert else []
    argv = ['notary', '-s', stack.notary_url, '--tlscacert', stack.ca] + publisher
    proc = subprocess.run(argv + ['-d', os.path.join(config, 'trust')] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout.decode()
    return proc.stdout.decode()


@pytest.fixture(scope='module')
def reinitialized(stack, tmp_path_factory):
    """A repository signed under one root, deleted from the Notary server and initialized again
    with a new root (another publisher's trust directory), then signed again."""
    s = Signed()
    base = tmp_path_factory.mktemp('reinit')
    first, second = str(base / 'first'), str(base / 'second')
    os.makedirs(first, mode=0o700)
    os.makedirs(second, mode=0o700)
    for publisher in (first, second):
        install_publisher_certificate(publisher)
    s.repo = stack.repo('reinit')
    add_signers(stack, first, s.repo, [('jeff', JEFF_PASS)])
    sign(stack, first, s.repo, ['v1'], 'jeff', JEFF_PASS,
         stack.build_image(first, 'reinit-a-%s:build' % uuid.uuid4().hex[:8]))
    entry = stack.inspect(first, s.repo)[s.repo]
    s.old_root = [k['ID'] for a in entry['AdministrativeKeys'] if a['Name'] == 'Root' for k in a['Keys']][0]
    notary(stack, first, 'delete', s.repo, '--remote')
    assert stack.tuf(s.repo, 'root') is None
    add_signers(stack, second, s.repo, [('jeff', JEFF_PASS)])
    s.digest = sign(stack, second, s.repo, ['v1'], 'jeff', JEFF_PASS,
                    stack.build_image(second, 'reinit-b-%s:build' % uuid.uuid4().hex[:8]))['v1']
    entry = stack.inspect(second, s.repo)[s.repo]
    s.new_root = [k['ID'] for a in entry['AdministrativeKeys'] if a['Name'] == 'Root' for k in a['Keys']][0]
    assert s.new_root != s.old_root and 'sha256:' + entry['SignedTags'][0]['Digest'] == s.digest
    forget(stack, second, s.repo, [s.digest])
    return s


def test_reinitialized_repository_with_the_old_root_pinned_fails_naming_both_roots(
        stack, reinitialized, signed, docker_config, consumer_cli):
    s = reinitialized
    forget(stack, docker_config, s.repo, [s.digest])
    images = [{'repository': s.repo, 'tags': ['v1']}]
    for pinned in ([s.old_root], signed.root_key_ids):  # the old root; another repository's root
        start = time.time()
        res = pull(stack, docker_config, consumer_cli, images, root_key_ids={s.repo: pinned})
        assert res.failed, res
        assert s.repo in res['msg'] and s.new_root in res['msg'] and pinned[0] in res['msg'], res['msg']
        assert 'is not signed by the pinned root key' in res['msg'] and 'trust_info' in res['msg']
        assert image_id(stack, docker_config, s.repo + ':v1') is None
        assert [e for e in daemon_events(stack, docker_config, start, time.time() + 0.5, s.repo)
                if e['Action'] in ('pull', 'tag')] == []
    # The new root, once pinned, is accepted.
    res = pull(stack, docker_config, consumer_cli, images, root_key_ids={s.repo: [s.new_root]})
    assert not res.failed and res['results'][0]['root_key_id'] == s.new_root, res
    assert res['results'][0]['digest'] == s.digest


def test_tag_locally_false_pulls_by_digest_and_tags_nothing(stack, signed, docker_config):
    forget(stack, docker_config, signed.repo, signed.digests.values())
    res = pull(stack, docker_config, stack.reference_cli, [{'repository': signed.repo, 'tags': ['v1']}],
               tag_locally=False)
    assert not res.failed and res['changed'] and res['results'][0]['pulled'] is True, res
    assert res['results'][0]['tagged'] is False
    assert image_id(stack, docker_config, '%s@%s' % (signed.repo, signed.digests['v1'])) == signed.signed_id
    assert image_id(stack, docker_config, signed.repo + ':v1') is None
    again = pull(stack, docker_config, stack.reference_cli, [{'repository': signed.repo, 'tags': ['v1']}],
                 tag_locally=False)
    assert not again.failed and again['changed'] is False, again


def test_bad_pins_and_options_fail_before_anything(stack, signed, docker_config):
    images = [{'repository': signed.repo, 'tags': ['v1']}]
    for options, words in [({'root_key_ids': {signed.repo: ['abc']}}, 'is not a root key ID'),
                           ({'root_key_ids': {'Bad/Repo': signed.root_key_ids}}, 'not a valid'),
                           ({'require_all_signers': True}, 'require_all_signers needs signers'),
                           ({'signers': ['releases']}, 'reserved')]:
        res = pull(stack, docker_config, stack.reference_cli, images, **options)
        assert res.failed and words in res['msg'], (options, res['msg'])
    res = pull(stack, docker_config, stack.reference_cli, [{'repository': signed.repo, 'tags': []}])
    assert res.failed and 'at least one tag' in res['msg']


def test_repository_without_trust_data_and_unreachable_notary(stack, docker_config, consumer_cli):
    missing = stack.repo('nobody')
    res = pull(stack, docker_config, consumer_cli, [{'repository': missing, 'tags': ['v1']}])
    assert res.failed and missing in res['msg'] and 'has no trust data' in res['msg'], res
    res = pull(stack, docker_config, consumer_cli, [{'repository': missing, 'tags': ['v1']}],
               server='https://127.0.0.1:1')
    assert res.failed and 'https://127.0.0.1:1' in res['msg'], res
