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
