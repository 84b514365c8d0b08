# -*- coding: utf-8 -*-
"""Merging Notary, cosign and Notation results into one check per tag."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.filter.signature_checks import signature_checks

D1 = 'sha256:' + '1' * 64
D2 = 'sha256:' + '2' * 64
NOTARY = [{'repository': 'r/a', 'tag': 'v1', 'reference': 'r/a:v1', 'digest': D1, 'verified': True, 'problems': []},
          {'repository': 'r/a', 'tag': 'latest', 'reference': 'r/a:latest', 'digest': D1, 'verified': True,
           'problems': []}]


def loop(*results):
    return [{'item': {'repository': 'r/a'}, 'results': list(results)}]


def test_every_listed_format_must_verify():
    cosign = loop({'tag': 'v1', 'digest': D1, 'verified': True},
                  {'tag': 'latest', 'digest': D1, 'verified': False, 'problems': ['no signature']})
    checks = signature_checks(NOTARY, ['notary', 'cosign'], cosign)
    assert [c['signatures'] for c in checks] == [{'notary': True, 'cosign': True}, {'notary': True, 'cosign': False}]
    assert [c['verified'] for c in checks] == [True, False]
    assert checks[1]['problems'] == ['cosign: no signature']


def test_a_format_verifying_another_digest_than_notary_signed_fails():
    checks = signature_checks(NOTARY[:1], ['notary', 'notation'], None, loop({'tag': 'v1', 'digest': D2, 'verified': True}))
    assert not checks[0]['verified'] and 'not the Notary-signed' in checks[0]['problems'][0]


def test_without_notary_the_tags_come_from_the_other_formats():
    checks = signature_checks([], ['cosign'], loop({'tag': 'v1', 'digest': D1, 'verified': True}))
    assert [(c['reference'], c['verified'], c['signatures']) for c in checks] == [('r/a:v1', True, {'cosign': True})]


def test_missing_or_skipped_results_do_not_verify():
    checks = signature_checks(NOTARY[:1], ['notary', 'cosign'], [{'skipped': True, 'item': {'repository': 'r/a'}}])
    assert not checks[0]['verified'] and checks[0]['problems'] == ['cosign: not verified']


def test_unknown_format_is_refused():
    with pytest.raises(AnsibleFilterError):
        signature_checks(NOTARY, ['gpg'])


def test_trust_verify_results_are_taken_as_they_are():
    results = [{'reference': 'r/a:v1', 'repository': 'r/a', 'tag': 'v1', 'signed_digest': D1, 'registry_digest': D1,
                'signers': ['jeff'], 'pulled': True, 'verified': True, 'problems': []},
               {'reference': 'r/a:latest', 'repository': 'r/a', 'tag': 'latest', 'signed_digest': None,
                'registry_digest': D2, 'signers': [], 'pulled': None, 'verified': False,
                'problems': ['tag latest is not signed']}]
    checks = signature_checks(results, ['notary', 'cosign'], loop({'tag': 'v1', 'digest': D1, 'verified': True}))
    assert [(c['digest'], c['registry_digest'], c['signers'], c['verified']) for c in checks] == [
        (D1, D1, ['jeff'], True), (None, D2, [], False)]
    assert 'signed_digest' not in checks[0] and checks[1]['problems'] == ['tag latest is not signed', 'cosign: not verified']
    assert results[0]['signed_digest'] == D1  # the input is not changed
