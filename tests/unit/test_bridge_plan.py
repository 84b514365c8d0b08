# -*- coding: utf-8 -*-
"""Which Notary-signed tags the bridge signs in other formats, and why the others are refused."""

import pytest

from ansible_collections.openbanking.content_trust.plugins.filter.bridge_plan import bridge_plan

D1 = 'sha256:' + '1' * 64
D2 = 'sha256:' + '2' * 64


def result(tag, signed=D1, served=D1, signers=('jeff',), verified=True, problems=()):
    return {'repository': 'r/a', 'tag': tag, 'reference': 'r/a:' + tag, 'signed_digest': signed,
            'registry_digest': served, 'signers': list(signers), 'verified': verified, 'problems': list(problems)}


def test_verified_tags_are_signed_on_the_notary_digest():
    plan = bridge_plan([result('v1'), result('v2', signed=D2, served=D2)])
    assert plan == {'sign': [{'repository': 'r/a', 'tags': ['v1', 'v2'], 'digests': {'v1': D1, 'v2': D2},
                              'signers': {'v1': ['jeff'], 'v2': ['jeff']}}], 'refused': []}


def test_a_re_pushed_tag_is_refused_with_both_digests():
    plan = bridge_plan([result('v1', served=D2, verified=False, problems=['signed digest differs'])])
    assert plan['sign'] == []
    assert plan['refused'][0]['reason'].startswith('the registry serves %s, not the digest %s Notary signed' % (D2, D1))


def test_only_the_bridged_signers_count():
    plan = bridge_plan([result('v1', signers=['alice']), result('v2', signers=['alice', 'jeff'])], ['jeff'])
    assert plan['sign'][0]['tags'] == ['v2'] and plan['sign'][0]['signers'] == {'v2': ['jeff']}
    assert [r['tag'] for r in plan['refused']] == ['v1'] and 'none of the bridged signers' in plan['refused'][0]['reason']


def test_missing_and_unverified_tags_are_refused():
    plan = bridge_plan([result('gone', served=None), result('bad', verified=False, problems=['no trust data'])])
    assert [(r['tag'], r['reason']) for r in plan['refused']] == [('gone', 'the registry has no such tag'),
                                                                  ('bad', 'no trust data')]


JEFF_KEYED = {'name': 'jeff', 'key_ids': ['a' * 64]}


def key_check(signer, *results):
    return {'item': signer, 'results': list(results), 'changed': False}


def test_a_signer_given_with_keys_counts_only_where_its_own_check_verified_the_tag():
    checks = [key_check(JEFF_KEYED, result('v1'),
                        result('v2', verified=False, problems=['not signed by jeff (key aaaaaaa) with its keys: x']))]
    plan = bridge_plan([result('v1'), result('v2')], [JEFF_KEYED], checks)
    assert plan['sign'][0]['tags'] == ['v1'] and plan['sign'][0]['signers'] == {'v1': ['jeff']}
    assert [r['tag'] for r in plan['refused']] == ['v2']
    assert 'not by the given keys: jeff: not signed by jeff (key aaaaaaa) with its keys' in plan['refused'][0]['reason']


def test_a_signer_given_with_keys_but_not_checked_counts_for_nothing():
    plan = bridge_plan([result('v1')], [JEFF_KEYED])
    assert plan['sign'] == [] and 'jeff: not checked' in plan['refused'][0]['reason']
    # a check of another digest than the one the tag's result verified does not count either
    plan = bridge_plan([result('v1')], [JEFF_KEYED], [key_check(JEFF_KEYED, result('v1', signed=D2, served=D2))])
    assert plan['sign'] == []


def test_names_and_keyed_signers_mix():
    plan = bridge_plan([result('v1', signers=['alice', 'jeff'])], ['alice', JEFF_KEYED], [key_check(JEFF_KEYED)])
    assert plan['sign'][0]['signers'] == {'v1': ['alice']}


def test_a_bad_signer_is_refused_naming_it():
    import pytest
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError) as exc:
        bridge_plan([result('v1')], [{'name': 'jeff', 'key_ids': ['nope']}])
    assert 'the signers of bridge_plan[0].key_ids' in str(exc.value)


# --- bridge_withdrawals: what the bridge withdraws when Notary revokes a tag it carried over --------------------

def _withdrawals():
    from ansible_collections.openbanking.content_trust.plugins.filter.bridge_withdrawals import bridge_withdrawals
    return bridge_withdrawals


REPO = '127.0.0.1:5000/acme/app'
PREVIOUS = {'tags': [{'repository': REPO, 'tag': 'v1', 'digest': 'sha256:' + '1' * 64},
                     {'repository': REPO, 'tag': 'v2', 'digest': 'sha256:' + '2' * 64},
                     {'repository': '127.0.0.1:5000/acme/other', 'tag': 'v1', 'digest': 'sha256:' + '3' * 64}]}


def test_the_candidates_are_the_carried_over_tags_notary_no_longer_lists():
    f = _withdrawals()
    assert f(PREVIOUS, [{'repository': REPO, 'tags': ['v2']}], [REPO]) == [
        {'repository': REPO, 'tags': ['v1'], 'digests': {'v1': 'sha256:' + '1' * 64}}]
    # nothing carried over before, or everything still signed: nothing to check
    assert f({}, [], [REPO]) == [] and f(PREVIOUS, [{'repository': REPO, 'tags': ['v1', 'v2']}], [REPO]) == []


def test_a_tag_is_withdrawn_only_on_a_verified_answer_that_it_is_unsigned():
    f = _withdrawals()
    signed_now = [{'repository': REPO, 'tags': ['v2']}]
    read = {'repository': REPO, 'exists': True, 'signed_tags': [{'tag': 'v2'}]}
    out = f(PREVIOUS, signed_now, [REPO], [read])
    assert out['withdraw'] == [{'repository': REPO, 'tags': ['v1'], 'digests': {'v1': 'sha256:' + '1' * 64}}]
    assert out['references'] == [REPO + ':v1'] and out['kept'] == []
    # the unpinned listing was wrong and the verified read still lists v1: nothing withdrawn
    read_v1 = dict(read, signed_tags=[{'tag': 'v1'}, {'tag': 'v2'}])
    assert f(PREVIOUS, signed_now, [REPO], [read_v1])['withdraw'] == []


@pytest.mark.parametrize('entry, words', [
    ({'repository': REPO, 'exists': False, 'refused': 'the root the Notary server serves is not signed by the pinned '
      'root key'}, 'its root is refused'),
    ({'repository': REPO, 'exists': False, 'signed_tags': []}, 'no trust data'),
    (None, 'not read'),
])
def test_an_attacker_who_replaces_or_deletes_the_trust_data_makes_the_bridge_withdraw_nothing(entry, words):
    f = _withdrawals()
    out = f(PREVIOUS, [], [REPO], [entry] if entry else [])
    assert out['withdraw'] == [] and out['references'] == []
    assert [(k['reference'], words in k['reason']) for k in out['kept']] == [(REPO + ':v1', True), (REPO + ':v2', True)]
    # kept for the next run: the report lists them as pending_withdrawal, which are candidates again
    again = f({'pending_withdrawal': out['kept']}, [], [REPO])
    assert again == [{'repository': REPO, 'tags': ['v1', 'v2'],
                      'digests': {'v1': 'sha256:' + '1' * 64, 'v2': 'sha256:' + '2' * 64}}]
