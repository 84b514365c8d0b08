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

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import (
    TrustError, docker_capabilities_from,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import list_rows
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import parse_inspect_entry
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import NOTARY, TrustReader

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


def test_unknown_version_is_treated_as_new():
    caps = docker_capabilities_from('', '')
    assert caps == {'version': None, 'trust': False, 'push_signs': False, 'pull_verifies': False}


# --- the notary path -----------------------------------------------------------------------

class FakeCLI(object):
    """What TrustReader uses of TrustCLI; notary answers from recorded output."""

    def __init__(self, docker_config, outputs, trust=False):
        self.docker_config = docker_config
        self.trust_dir = os.path.join(docker_config, 'trust')
        self.outputs = outputs
        self.calls = []
        self.trust = trust

    def has_docker_trust(self):
        return self.trust

    def inspect(self, references):  # pragma: no cover - must not be called on the notary path
        raise AssertionError('docker trust inspect run on a CLI without docker trust')

    def notary_argv(self, reference, trust_dir=None):
        return ['notary']

    def server_for(self, reference):
        return 'https://127.0.0.1:4443'

    def run(self, argv, what=None, **kwargs):
        self.calls.append(tuple(argv[1:]))
        if argv[1:4] == ['delegation', 'list', GUN]:
            # notary caches what it has verified; the reader reads root and targets from there.
            metadata = os.path.join(self.trust_dir, 'tuf', GUN, 'metadata')
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
    assert parsed == docker_view(ref)
    # Including the administrative keys: the root certificate's ID from root.json, not the key file's.
    assert parsed['root_key_ids'] == ['b87f2c4bea3b1662b5d710e0bcbe046113d2823539c4c22b4d2a24191545d1b5']
    assert parsed['repository_key_ids'] == ['cefa8925c053c7b3d0d6976ee945f4af54867f97faade225df55ff3f1f59a9d4']
    assert [t['signers'] for t in parsed['signed_tags']] == [['Repo Admin'], ['alice'], ['bob']]
    assert oct(os.stat(cli.trust_dir).st_mode & 0o777) == '0o700'


def test_notary_path_with_a_tag_reads_that_tag_only(tmp_path):
    ref = parse_reference(GUN + ':v2')
    parsed = TrustReader(FakeCLI(str(tmp_path), recorded_outputs())).read_one(ref)
    assert parsed == docker_view(ref)
    assert [t['tag'] for t in parsed['signed_tags']] == ['v2']


def test_notary_path_without_trust_data(tmp_path):
    ref = parse_reference('127.0.0.1:5000/none/x', allow_tag=False)
    cli = FakeCLI(str(tmp_path), {('delegation', 'list', ref.gun): (1, fixture('notary_read',
                                                                                'delegation-list-no-trust-data.txt'))})
    parsed = TrustReader(cli).read_one(ref)
    assert parsed['exists'] is False and parsed['signed_tags'] == [] and parsed['root_key_ids'] == []
    assert cli.calls == [('delegation', 'list', ref.gun)]


def test_notary_path_refuses_a_stale_cache(tmp_path):
    # notary exits 0 from its cache when the server is down; that answer may be stale.
    ref = parse_reference(GUN, allow_tag=False)
    cli = FakeCLI(str(tmp_path), {('delegation', 'list', GUN): (0, fixture('notary_read',
                                                                           'delegation-list-offline-cached.txt'))})
    with pytest.raises(TrustError) as exc:
        TrustReader(cli).read_one(ref)
    assert 'cannot be reached' in exc.value.msg and 'stale' in exc.value.msg


def test_docker_path_when_docker_trust_exists(tmp_path):
    ref = parse_reference(GUN, allow_tag=False)
    cli = FakeCLI(str(tmp_path), {}, trust=True)
    cli.inspect = lambda refs: dict((str(r), json.loads(fixture('notary_read', 'docker-trust-inspect.json'))[0])
                                    for r in refs)
    reader = TrustReader(cli)
    assert reader.read([ref])[GUN] == docker_view(ref)
    assert cli.calls == []
