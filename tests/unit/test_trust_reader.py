# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which CLI reads trust data, and the notary path reading what docker trust inspect reports.

The fixtures are real output: tests/unit/fixtures/capabilities from docker 20.10.24, 28.2.2 and
29.7.2 (with and without the docker-trust plugin); tests/unit/fixtures/notary_read from one
repository on the local stack (signers alice and bob, a tag in the bare targets role, a tag whose
digest differs between signer roles), read with notary 0.7.0 and with docker 28.2.2.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._capabilities import docker_capabilities_from
from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import TrustCLI
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    COMMON_ARGUMENT_SPEC, parse_reference,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import list_rows
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import parse_inspect_entry
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import (
    NOTARY, PINNED, TrustReader, pinned_trust_dir,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def fixture(*path):
    with open(os.path.join(FIXTURES, *path)) as f:
        return f.read()


GUN = fixture('notary_read', 'gun.txt').splitlines()[0]


# --- capability detection ------------------------------------------------------------------

@pytest.mark.parametrize('cli, trust, version, pull_verifies', [
    ('20.10', True, '20.10.24', True),
    ('28', True, '28.2.2', True),
    ('29', False, '29.7.2', False),
    ('29-plugin', True, '29.7.2', False),
])
def test_capabilities_of_the_real_clis(cli, trust, version, pull_verifies):
    caps = docker_capabilities_from(fixture('capabilities', cli.split('-')[0] + '-version.txt'),
                                    fixture('capabilities', cli + '-trust.txt'))
    assert caps['trust'] is trust
    assert caps['version'] == version
    assert caps['pull_verifies'] is pull_verifies
    assert caps['push_signs'] is pull_verifies


def test_general_help_of_cli_29_is_not_docker_trust():
    # CLI 29 without the plugin answers "docker trust --help" with its general help and exit code 0.
    help_text = fixture('capabilities', '29-trust-help.txt')
    assert 'Usage:  docker [OPTIONS] COMMAND' in help_text
    assert docker_capabilities_from(fixture('capabilities', '29-version.txt'), help_text)['trust'] is False


@pytest.mark.parametrize('cli, trust', [('20.10', True), ('28', True), ('29', False)])
def test_without_asking_docker_trust_only_clis_before_29_have_it(cli, trust):
    # TrustCLI asks "docker trust" only when this says False: from 29 on, or for a version it cannot read.
    caps = docker_capabilities_from(fixture('capabilities', cli + '-version.txt'), None)
    assert caps['trust'] is trust and caps['push_signs'] is trust
    assert docker_capabilities_from('', None)['trust'] is False


def test_unknown_version_is_treated_as_new():
    caps = docker_capabilities_from('', '')
    assert caps == {'version': None, 'trust': False, 'push_signs': False, 'pull_verifies': False}


# --- the notary path -----------------------------------------------------------------------

class FakeCLI(object):
    """What TrustReader uses of TrustCLI; notary answers from recorded output."""

    def __init__(self, docker_config, outputs, trust=False):
        self.docker_config = docker_config
        self.trust_dir = os.path.join(docker_config, 'trust')
        self.timeout = 30
        self.outputs = outputs
        self.calls = []
        self.trust = trust

    def has_docker_trust(self):
        return self.trust

    def require_trusted_notary(self, reference):
        # the TLS preflight (tested in test_views_and_tls.py and test_security.py); kept apart from calls
        self.preflighted = getattr(self, 'preflighted', []) + [str(reference)]

    def inspect(self, references, view=None):  # pragma: no cover - must not be called on the notary path
        raise AssertionError('docker trust inspect run on a CLI without docker trust')

    def read_view(self):
        return os.path.join(self.docker_config, 'read-view')

    def notary_argv(self, reference, trust_dir=None, pins=None):
        self.notary_trust_dirs = getattr(self, 'notary_trust_dirs', set()) | set([trust_dir])
        self.notary_pins = dict(getattr(self, 'notary_pins', {}), **{reference.gun: pins})
        # notary caches what it verifies in the trust directory it is given (pinned: a cache of its own)
        self.cache = trust_dir if pins else self.trust_dir
        return ['notary']

    def server_for(self, reference):
        return 'https://127.0.0.1:4443'

    def run(self, argv, what=None, **kwargs):
        self.calls.append(tuple(argv[1:]))
        if argv[1:4] == ['delegation', 'list', GUN]:
            # notary caches what it has verified; the reader reads root and targets from there.
            metadata = os.path.join(getattr(self, 'cache', self.trust_dir), 'tuf', GUN, 'metadata')
            if not os.path.isdir(metadata):
                os.makedirs(metadata)
            for name in ('root.json', 'targets.json'):
                shutil.copy(os.path.join(FIXTURES, 'notary_read', name), metadata)
        return self.outputs[tuple(argv[1:])]


def recorded_outputs(gun=GUN):
    outputs = {('delegation', 'list', gun): (0, fixture('notary_read', 'delegation-list.txt'))}
    for role in ('releases', 'alice', 'bob'):
        outputs[('list', gun, '-r', 'targets/' + role)] = (0, fixture('notary_read', 'list-%s.txt' % role))
    return outputs


def docker_view(reference):
    entry = json.loads(fixture('notary_read', 'docker-trust-inspect.json'))[0]
    if reference.tag:
        entry['SignedTags'] = [t for t in entry['SignedTags'] if t['SignedTag'] == reference.tag]
    return parse_inspect_entry(reference, entry)


def inspect_keys(parsed):
    """The keys of ``parse_inspect_entry`` only (the reader adds the TUF state, tested below)."""
    view = dict((k, v) for k, v in parsed.items() if k not in ('versions', 'expires', 'thresholds'))
    view['signed_tags'] = [dict((k, v) for k, v in t.items() if k != 'length') for t in parsed['signed_tags']]
    return view


def test_notary_rows_of_one_role_only():
    # notary list -r targets walks delegations and prints each tag once; alice's row is not targets'.
    assert list_rows(fixture('notary_read', 'list-bob.txt'), 'targets/bob') == {
        'v1': '594e519ae499312b29433b7dd8a97ff068defcba9755b6d5d00e84c524d67b06',
        'v2': '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}
    assert list_rows(fixture('notary_read', 'list-bob.txt'), 'targets/releases') == {}


def test_notary_path_reads_what_docker_trust_inspect_reports(tmp_path):
    ref = parse_reference(GUN, allow_tag=False)
    cli = FakeCLI(str(tmp_path), recorded_outputs())
    reader = TrustReader(cli)
    assert reader.via == NOTARY
    parsed = reader.read([ref])[GUN]
    assert inspect_keys(parsed) == docker_view(ref)
    # Including the administrative keys: the root certificate's ID from root.json, not the key file's.
    assert parsed['root_key_ids'] == ['b87f2c4bea3b1662b5d710e0bcbe046113d2823539c4c22b4d2a24191545d1b5']
    assert parsed['repository_key_ids'] == ['cefa8925c053c7b3d0d6976ee945f4af54867f97faade225df55ff3f1f59a9d4']
    assert [t['signers'] for t in parsed['signed_tags']] == [['Repo Admin'], ['alice'], ['bob']]
    assert oct(os.stat(cli.trust_dir).st_mode & 0o777) == '0o700'
    # notary reads through the view without private keys, never the real trust directory
    assert cli.notary_trust_dirs == set([os.path.join(str(tmp_path), 'read-view', 'trust')])


def test_notary_path_with_a_tag_reads_that_tag_only(tmp_path):
    ref = parse_reference(GUN + ':v2')
    parsed = TrustReader(FakeCLI(str(tmp_path), recorded_outputs())).read_one(ref)
    assert inspect_keys(parsed) == docker_view(ref)
    assert [t['tag'] for t in parsed['signed_tags']] == ['v2']


def test_notary_path_without_trust_data(tmp_path):
    ref = parse_reference('127.0.0.1:5000/none/x', allow_tag=False)
    answer = (1, fixture('notary_read', 'delegation-list-no-trust-data.txt'))
    cli = FakeCLI(str(tmp_path), {('delegation', 'list', ref.gun): answer})
    parsed = TrustReader(cli).read_one(ref)
    assert parsed['exists'] is False and parsed['signed_tags'] == [] and parsed['root_key_ids'] == []
    assert cli.calls == [('delegation', 'list', ref.gun)]


def test_notary_path_refuses_a_stale_cache(tmp_path):
    # notary exits 0 from its cache when the server is down; that answer may be stale.
    ref = parse_reference(GUN, allow_tag=False)
    answer = (0, fixture('notary_read', 'delegation-list-offline-cached.txt'))
    # the reader asks notary's debug log (-D) why; here it says nothing of a 404
    cli = FakeCLI(str(tmp_path), {('delegation', 'list', GUN): answer, ('-D', 'delegation', 'list', GUN): answer})
    with pytest.raises(TrustError) as exc:
        TrustReader(cli).read_one(ref)
    assert 'cannot be reached' in exc.value.msg and 'stale' in exc.value.msg


def test_notary_path_tells_a_server_without_the_repository_from_an_unreachable_one(tmp_path):
    # A healthy server that answers 404 (its database restored from before the repository existed).
    ref = parse_reference(GUN, allow_tag=False)
    answer = (0, fixture('notary_read', 'delegation-list-offline-cached.txt'))
    debug = (0, answer[1] + 'time="2026-11-29T16:06:40Z" level=debug msg="received HTTP status 404 when '
                            'requesting timestamp."\n')
    cli = FakeCLI(str(tmp_path), {('delegation', 'list', GUN): answer, ('-D', 'delegation', 'list', GUN): debug})
    with pytest.raises(TrustError) as exc:
        TrustReader(cli).read_one(ref)
    assert 'cannot be reached' not in exc.value.msg, exc.value.msg
    assert 'answers, but has no trust data for %s (HTTP 404 for its timestamp)' % GUN in exc.value.msg


def test_docker_path_when_docker_trust_exists(tmp_path):
    ref = parse_reference(GUN, allow_tag=False)
    cli = FakeCLI(str(tmp_path), {}, trust=True)
    entry = json.loads(fixture('notary_read', 'docker-trust-inspect.json'))[0]
    cli.inspect = lambda refs, view=None: dict((str(r), entry) for r in refs)
    reader = TrustReader(cli)
    assert inspect_keys(reader.read([ref])[GUN]) == docker_view(ref)
    assert cli.calls == []


class FakeModule(object):
    def __init__(self, **params):
        self.params = dict((k, v.get('default')) for k, v in COMMON_ARGUMENT_SPEC.items())
        self.params.update(params)

    def fail_json(self, **kwargs):  # pragma: no cover - a test failure
        raise AssertionError(kwargs)


def test_capabilities_are_asked_once_per_run_and_shared_by_views(tmp_path):
    log = tmp_path / 'calls.log'
    docker = tmp_path / 'docker'
    # Answers as the real docker 29.7.2 without the plugin does (recorded output).
    docker.write_text('#!/bin/sh\necho "$*" >> %s\nif [ "$1" = --version ]; then cat %s; exit 0; fi\n'
                      'cat %s >&2; exit 1\n' % (log, os.path.join(FIXTURES, 'capabilities', '29-version.txt'),
                                                os.path.join(FIXTURES, 'capabilities', '29-trust.txt')))
    docker.chmod(0o755)
    cli = TrustCLI(FakeModule(docker_cli=str(docker), docker_config=str(tmp_path / 'config')))
    assert cli.has_docker_trust() is False
    assert cli.docker_capabilities()['version'] == '29.7.2'
    view = cli.view(str(tmp_path / 'view'))
    assert view.has_docker_trust() is False and TrustReader(view).via == NOTARY
    assert log.read_text().splitlines() == ['--version', 'trust']
    missing = TrustCLI(FakeModule(docker_cli=str(tmp_path / 'no-docker'), docker_config=str(tmp_path / 'config')))
    assert missing.has_docker_trust() is False  # no docker at all: the notary path


# --- parallel reads: chunks and merging ------------------------------------------------------

def refs(*names):
    return [parse_reference(n) for n in names]


def test_few_references_are_one_chunk():
    from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import chunk_references
    many = refs(*['127.0.0.1:5000/team/r%d' % i for i in range(7)])
    assert chunk_references(many) == [many]
    assert chunk_references([]) == []


def test_many_references_split_evenly_in_input_order():
    from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import chunk_references
    many = refs(*['127.0.0.1:5000/team/r%d' % i for i in range(40)])
    chunks = chunk_references(many)
    assert [len(c) for c in chunks] == [10, 10, 10, 10]
    assert [r for c in chunks for r in c] == many
    assert [len(c) for c in chunk_references(many[:20])] == [10, 10]


def test_one_repository_stays_in_one_chunk():
    # two processes must never refresh one repository's cache at the same time
    from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import chunk_references
    names = []
    for i in range(10):
        names += ['127.0.0.1:5000/team/r%d:v1' % i, '127.0.0.1:5000/team/r%d:v2' % i]
    names += ['127.0.0.1:5000/team/r0:v3']  # a late reference of the first repository
    many = refs(*names)
    chunks = chunk_references(many)
    assert len(chunks) == 2
    guns = [set(r.gun for r in c) for c in chunks]
    assert not guns[0] & guns[1]
    assert sorted(str(r) for c in chunks for r in c) == sorted(names)
    for chunk in chunks:
        assert chunk == [r for r in many if r in chunk]


class ChunkedCLI(FakeCLI):
    """docker trust inspect answering from the fixture per reference; records the chunks."""

    def __init__(self, docker_config, fail=()):
        super(ChunkedCLI, self).__init__(docker_config, {}, trust=True)
        self.chunks = []
        self.fail = fail

    def inspect(self, references, view=None):
        import threading
        import time
        self.chunks.append((threading.current_thread().name, [str(r) for r in references]))
        time.sleep(0.05)
        for r in references:
            if str(r) in self.fail:
                raise TrustError('cannot read %s' % r)
        entry = json.loads(fixture('notary_read', 'docker-trust-inspect.json'))[0]
        return dict((str(r), dict(entry, Name=str(r))) for r in references if 'none' not in str(r))


def test_docker_path_reads_chunks_concurrently_and_merges_in_input_order(tmp_path):
    names = ['127.0.0.1:5000/team/r%d' % i for i in range(30)] + ['127.0.0.1:5000/none/x']
    cli = ChunkedCLI(str(tmp_path))
    result = TrustReader(cli).read(refs(*names))
    assert list(result) == names
    assert len(cli.chunks) == 3 and len(set(thread for thread, dummy in cli.chunks)) == 3
    assert sorted(n for dummy, chunk in cli.chunks for n in chunk) == sorted(names)
    assert result['127.0.0.1:5000/none/x']['exists'] is False
    assert result['127.0.0.1:5000/team/r7']['exists'] is True


def test_the_first_failing_chunk_in_input_order_is_raised(tmp_path):
    names = ['127.0.0.1:5000/team/r%d' % i for i in range(32)]
    cli = ChunkedCLI(str(tmp_path), fail=(names[30], names[9]))
    with pytest.raises(TrustError) as exc:
        TrustReader(cli).read(refs(*names))
    assert exc.value.msg == 'cannot read %s' % names[9]
    assert len(cli.chunks) == 4  # every chunk ran to its end before the error was raised


class ManyReposNotaryCLI(FakeCLI):
    """notary answering for any repository of team/ with the recorded output of GUN."""

    def run(self, argv, what=None, **kwargs):
        import threading
        gun = [a for a in argv if a.startswith('127.0.0.1:5000/team/')][0]
        self.calls.append((threading.current_thread().name, gun))
        if argv[1:3] == ['delegation', 'list']:
            metadata = os.path.join(self.trust_dir, 'tuf', gun, 'metadata')
            os.makedirs(metadata)  # fails if two threads read one repository
            for name in ('root.json', 'targets.json'):
                shutil.copy(os.path.join(FIXTURES, 'notary_read', name), metadata)
        return self.outputs[tuple(GUN if a == gun else a for a in argv[1:])]


def test_notary_path_reads_repositories_concurrently(tmp_path):
    many = [parse_reference('127.0.0.1:5000/team/r%d:v%d' % (i, i % 2 + 1)) for i in range(16)]
    cli = ManyReposNotaryCLI(str(tmp_path), recorded_outputs())
    result = TrustReader(cli).read(many)
    assert list(result) == [str(r) for r in many]
    for ref in many:
        expected = docker_view(parse_reference(GUN + ':' + ref.tag))
        same = dict(repository=ref.gun, reference=str(ref))
        assert dict(inspect_keys(result[str(ref)]), **same) == dict(expected, **same)
    threads = set(thread for thread, dummy in cli.calls)
    # notary's reads are processes of their own per repository: 16 repositories go over the 4 workers (docker trust
    # inspect, many repositories per process, would take 8 a process: 2)
    assert len(threads) == 4


# --- pinned reads: notary's trust pinning, a cache of their own -----------------------------

ROOT_ID = 'b87f2c4bea3b1662b5d710e0bcbe046113d2823539c4c22b4d2a24191545d1b5'


def test_a_pinned_repository_is_read_by_notary_under_its_pins_even_where_docker_trust_exists(tmp_path):
    ref = parse_reference(GUN, allow_tag=False)
    cli = FakeCLI(str(tmp_path), recorded_outputs(), trust=True)  # inspect() would fail the test
    reader = TrustReader(cli, pins={GUN: [ROOT_ID]})
    parsed = reader.read([ref])[GUN]
    assert inspect_keys(dict((k, v) for k, v in parsed.items() if k != 'pinned')) == docker_view(ref)
    assert parsed['pinned'] is True and reader.via == PINNED
    assert cli.notary_pins == {GUN: [ROOT_ID]}
    # its own cache, below trust/pinned, never the one that unpinned reads fill
    cache = pinned_trust_dir(cli.trust_dir, GUN, [ROOT_ID])
    assert cli.notary_trust_dirs == set([cache])
    assert cache.startswith(os.path.join(cli.trust_dir, 'pinned') + os.sep)
    assert os.path.isfile(os.path.join(cache, 'tuf', GUN, 'metadata', 'root.json'))
    assert not os.path.exists(os.path.join(cli.trust_dir, 'tuf'))
    assert oct(os.stat(os.path.join(cache, 'private')).st_mode & 0o777) == '0o700'
    # the TUF state comes from the pinned cache too
    assert parsed['versions']['root'] >= 1 and reader.cache_dir(GUN) == cache


def test_pinned_caches_differ_per_pin_set_and_repository():
    one = pinned_trust_dir('/t', GUN, ['a' * 64])
    assert one == pinned_trust_dir('/t', GUN, ['a' * 64])
    assert one == pinned_trust_dir('/t', GUN, ['a' * 64])
    assert one != pinned_trust_dir('/t', GUN, ['b' * 64])
    assert one != pinned_trust_dir('/t', GUN + 'x', ['a' * 64])
    assert pinned_trust_dir('/t', GUN, ['a' * 64, 'b' * 64]) == pinned_trust_dir('/t', GUN, ['b' * 64, 'a' * 64])


@pytest.mark.parametrize('notary_says', [
    'could not validate the path to a trusted root: unable to match any certificates to trust_pinning config',
    'valid signatures did not meet threshold for root',
])
def test_a_root_the_pins_refuse_is_the_repository_s_verdict_not_a_failed_read(tmp_path, notary_says):
    ref = parse_reference(GUN, allow_tag=False)
    other = parse_reference(GUN + '-unpinned', allow_tag=False)
    outputs = recorded_outputs()
    outputs[('delegation', 'list', GUN)] = (1, '* fatal: %s\n' % notary_says)
    outputs.update(recorded_outputs(other.gun))
    cli = FakeCLI(str(tmp_path), outputs)
    read = TrustReader(cli, pins={GUN: [ROOT_ID]}).read([ref, other])
    refused = read[GUN]
    assert refused['exists'] is False and refused['signed_tags'] == []
    assert 'not signed by the pinned root key %s' % ROOT_ID in refused['refused']
    assert notary_says.split(':')[0] in refused['refused'] and 'trust_info' in refused['refused']
    # the unpinned repository of the same read is read as before, without pins
    assert 'refused' not in read[other.gun] and cli.notary_pins[other.gun] is None
