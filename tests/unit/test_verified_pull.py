# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The decisions of trust_pull: signer policy, pinned roots and the inputs, on plain trust data."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import parse_root_pins
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import parse_inspect_entry
from ansible_collections.openbanking.content_trust.plugins.module_utils._verified_pull import (
    Unverified, check_root, check_tag, parse_images, signer_verdict, single_digest_problem,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerkeys import parse_signers
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import tag_signatures

A, B = 'a' * 64, 'b' * 64
REF = parse_reference('127.0.0.1:5000/acme/app', allow_tag=False)
PARSED = parse_inspect_entry(REF, {
    'Name': str(REF),
    'SignedTags': [
        {'SignedTag': 'v1', 'Digest': A, 'Signers': ['jeff']},
        {'SignedTag': 'both', 'Digest': A, 'Signers': ['jeff', 'alice']},
        {'SignedTag': 'alice-only', 'Digest': B, 'Signers': ['alice']},
        {'SignedTag': 'admin', 'Digest': B, 'Signers': ['Repo Admin']},
        {'SignedTag': 'split', 'Digest': A, 'Signers': ['jeff']},
        {'SignedTag': 'split', 'Digest': B, 'Signers': ['alice']},
    ],
    'Signers': [{'Name': 'jeff', 'Keys': [{'ID': 'c' * 64}]}, {'Name': 'alice', 'Keys': [{'ID': 'd' * 64}]}],
    'AdministrativeKeys': [{'Name': 'Root', 'Keys': [{'ID': 'e' * 64}]}],
})


@pytest.mark.parametrize('tag, signers, require_all, expected', [
    ('v1', None, False, ('sha256:' + A, ['jeff'])),
    ('admin', None, False, ('sha256:' + B, ['Repo Admin'])),
    ('v1', ['jeff', 'alice'], False, ('sha256:' + A, ['jeff'])),
    ('both', ['jeff', 'alice'], True, ('sha256:' + A, ['alice', 'jeff'])),
    ('split', ['alice'], False, ('sha256:' + B, ['alice'])),
])
def test_accepted(tag, signers, require_all, expected):
    assert check_tag(PARSED, tag, signers, require_all) == expected


@pytest.mark.parametrize('tag, signers, require_all, words', [
    ('v9', None, False, 'tag v9 is not signed'),
    ('alice-only', ['jeff'], False, 'signed only by alice, none of the accepted signers jeff'),
    ('admin', ['jeff'], False, 'signed only by Repo Admin'),
    ('v1', ['jeff', 'alice'], True, 'no signature of alice (signed by jeff)'),
    ('split', None, False, 'more than one digest'),
])
def test_refused(tag, signers, require_all, words):
    with pytest.raises(Unverified) as exc:
        check_tag(PARSED, tag, signers, require_all)
    assert words in str(exc.value)


@pytest.mark.parametrize('tag, signer, problem', [
    ('v1', 'jeff', None),
    ('both', 'alice', None),
    ('alice-only', 'jeff', 'not signed by jeff (signers: alice)'),
    ('admin', 'jeff', 'not signed by jeff (signers: Repo Admin)'),
])
def test_one_signer_check_for_trust_pull_and_trust_verify(tag, signer, problem):
    # check_release (trust_verify, trust_push's verify) reports signer_verdict's problem; check_tag (trust_pull, the
    # bridge) accepts exactly the entries it passes: the two cannot disagree about who signed
    entry = tag_signatures(PARSED, tag)[0]
    policy = parse_signers([signer])[0]
    assert signer_verdict(entry, policy, {}, tag) == (problem, None)
    if problem is None:
        assert check_tag(PARSED, tag, [signer])[0] == entry['digest']
    else:
        with pytest.raises(Unverified):
            check_tag(PARSED, tag, [signer])


def test_a_tag_signed_for_two_digests_is_refused_by_both_consumers():
    assert 'signed for more than one digest' in single_digest_problem(tag_signatures(PARSED, 'split'), 'split')
    assert single_digest_problem(tag_signatures(PARSED, 'v1'), 'v1') is None


def test_root_pins():
    assert check_root(['e' * 64], None) == 'e' * 64
    assert check_root([], None) is None
    assert check_root(['e' * 64, 'f' * 64], ['f' * 64]) == 'f' * 64
    with pytest.raises(Unverified) as exc:
        check_root(['e' * 64], ['f' * 64])
    assert 'e' * 64 in str(exc.value) and 'f' * 64 in str(exc.value)
    with pytest.raises(Unverified) as exc:
        check_root([], ['f' * 64])
    assert 'could not be read' in str(exc.value)


def test_inputs():
    assert parse_root_pins({'127.0.0.1:5000/acme/app': 'e' * 64}) == {'127.0.0.1:5000/acme/app': ['e' * 64]}
    assert parse_root_pins({'alpine': ['e' * 64]}) == {'docker.io/library/alpine': ['e' * 64]}
    assert parse_root_pins(None) == {}
    for pins, words in [({'127.0.0.1:5000/acme/app': ['E' * 64]}, 'not a root key ID'),
                        ({'127.0.0.1:5000/acme/app': []}, 'non-empty list'),
                        ({'127.0.0.1:5000/acme/app:v1': ['e' * 64]}, 'must not contain a tag')]:
        with pytest.raises(ValueError) as exc:
            parse_root_pins(pins)
        assert words in str(exc.value)
    images = parse_images([{'repository': '127.0.0.1:5000/acme/app', 'tags': ['v1', 'v1', 'latest']}])
    assert [(r.gun, tags) for r, tags in images] == [('127.0.0.1:5000/acme/app', ['v1', 'latest'])]
    for images, words in [([], 'at least one image'), ([{'repository': 'x/y', 'tags': []}], 'at least one tag'),
                          ([{'repository': 'x/y', 'tags': ['-v']}], 'not a valid tag')]:
        with pytest.raises(ValueError) as exc:
            parse_images(images)
        assert words in str(exc.value)


@pytest.mark.parametrize('fmt', ['cosign', 'notation'])
@pytest.mark.parametrize('policy_value, passed', [(None, True), (True, True), (False, False)])
def test_oci_verification_requires_the_tag_binding_unless_the_policy_says_not(monkeypatch, fmt, policy_value, passed):
    from ansible_collections.openbanking.content_trust.plugins.module_utils import _ociverify, _verified_pull
    seen = {}

    def verifier(cli, reference, tags, keys, **kwargs):
        seen.update(kwargs, tags=tags)
        return [{'tag': t, 'digest': kwargs['digests'][t], 'verified': t == 'v1.0.0',
                 'problems': [] if t == 'v1.0.0' else ['bound to tag v1.0.0, not to %s' % t]} for t in tags]
    monkeypatch.setattr(_ociverify, 'verify_cosign', verifier)
    monkeypatch.setattr(_ociverify, 'verify_notation', verifier)
    reference = parse_reference('127.0.0.1:5000/acme/app', allow_tag=False)
    targets = [dict(reference=reference, repository=reference.gun, tag=tag, digest='sha256:' + 'a' * 64)
               for tag in ('v1.0.0', 'v2.0.0')]
    policy = dict(cosign_public_keys=['k'], cosign_cli='cosign', notation_ca_certificates=['c'],
                  notation_cli='notation')
    if policy_value is not None:
        policy['require_tag_binding'] = policy_value
    kept, failures = _verified_pull.verify_oci_signatures(None, targets, fmt, policy)
    assert seen['require_tag_binding'] is passed and seen['tags'] == ['v1.0.0', 'v2.0.0']
    assert [t['tag'] for t in kept] == ['v1.0.0']
    assert len(failures) == 1 and 'v2.0.0' in failures[0] and 'not to v2.0.0' in failures[0]
