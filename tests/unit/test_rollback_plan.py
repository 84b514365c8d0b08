# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rollback of a failed release (rollback_plan and rollback_report filters, _rollback.py), on recorded results.

The fixtures are trust_push's real results on the stack (tests/unit/fixtures/rollback/, see ``recorded``): a release
of app1 (v2.1.0, stable - jeff had signed it for an older build -, shared - only alice had signed it) and app2,
whose publish failed after app1 was signed; and the same release succeeding (a later step, cosign, failing).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.filter.rollback_plan import rollback_plan as plan_filter
from ansible_collections.openbanking.content_trust.plugins.filter.rollback_report import (
    rollback_report as report_filter,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._rollback import (
    ALL_UNDONE, NOTARY_UNDONE, rollback_plan, rollback_report,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'rollback')
APP1, APP2 = 'registry.example/acme/app1', 'registry.example/acme/app2'
OLD = 'sha256:c8dfcb6afaf9046b8d356959d68d5f25f64c2023ce5ada0766b5bd58444782aa'
NEW = 'sha256:e8b8ee2aa8304025e7c62b74cca8114f1ab2d3f580a37a30bce372329fb57563'
OTHER = 'sha256:' + 'f' * 64


def recorded(name):
    with open(os.path.join(FIXTURES, name + '.json')) as f:
        data = json.load(f)
    return data['push'], data['inspected']


def signed_tag(inspected, repo, tag, digest, signers):
    entry = [e for e in inspected['repositories'] if e['repository'] == repo][0]
    entry['signed_tags'] = [t for t in entry['signed_tags'] if t['tag'] != tag]
    if digest:
        entry['signed_tags'].append(dict(tag=tag, digest=digest, signers=signers, length=524))


def test_the_recorded_failure_result_carries_what_the_rollback_needs():
    push, inspected = recorded('push_failed_second_repository')
    assert push['failed'] and [i['repository'] for i in push['images']] == [APP1, APP2]
    assert push['images'][0]['signer_before'] == {'v2.1.0': None, 'stable': OLD, 'shared': None}
    assert push['images'][0]['before']['shared'] == [OLD]  # alice's signature


def test_a_failure_after_the_first_repository_undoes_exactly_what_this_run_signed():
    push, inspected = recorded('push_failed_second_repository')
    plan = rollback_plan(push['images'], inspected, 'jeff')
    assert plan['revoke'] == [{'repository': APP1, 'tags': ['v2.1.0', 'shared']}]
    assert plan['restore'] == [{'repository': APP1, 'digests': {'stable': OLD}}]
    # app2 was pushed, never signed: nothing of it to undo in the trust data.
    assert plan['left_alone'] == [] and plan['unchanged'] == []


def test_a_digest_only_another_signer_signed_is_never_signed_by_this_signer():
    push, inspected = recorded('push_failed_second_repository')
    plan = rollback_plan(push['images'], inspected, 'jeff')
    assert all(OLD != d for r in plan['restore'] for t, d in r['digests'].items() if t == 'shared')
    [entry] = plan['not_restored']
    assert (entry['repository'], entry['tag']) == (APP1, 'shared')
    assert 'other signers had signed it for %s; jeff never signed that digest' % OLD in entry['reason']


def test_a_tag_another_host_signed_again_after_this_run_is_left_alone():
    push, inspected = recorded('push_failed_second_repository')
    # Another host's release, as jeff too, pointed stable at another build after this run signed it.
    signed_tag(inspected, APP1, 'stable', OTHER, ['jeff'])
    plan = rollback_plan(push['images'], inspected, 'jeff')
    assert plan['restore'] == []
    assert [(e['tag'], 'now shows jeff signing %s' % OTHER in e['reason']) for e in plan['left_alone']] == \
        [('stable', True)]
    # ... or revoked it: still not this run's to touch.
    signed_tag(inspected, APP1, 'v2.1.0', None, None)
    plan = rollback_plan(push['images'], inspected, 'jeff')
    assert plan['revoke'] == [{'repository': APP1, 'tags': ['shared']}]
    assert sorted(e['tag'] for e in plan['left_alone']) == ['stable', 'v2.1.0']


def test_tags_this_run_did_not_sign_are_never_touched_even_when_they_changed():
    push, inspected = recorded('push_succeeded')
    # This run found app1 signed already and signed only app2 (then cosign failed).
    assert not any(r['signed'] for r in push['images'][0]['results'])
    # Meanwhile another signer re-pointed app1:stable.
    signed_tag(inspected, APP1, 'stable', OTHER, ['alice'])
    plan = rollback_plan(push['images'], inspected, 'jeff')
    assert plan['revoke'] == [{'repository': APP2, 'tags': ['v2.1.0', 'extra']}] and plan['restore'] == []
    [entry] = plan['left_alone']
    assert (entry['repository'], entry['tag']) == (APP1, 'stable')
    assert 'not by this run' in entry['reason'] and OTHER in entry['reason']


def test_a_forced_re_sign_of_the_same_digest_has_nothing_to_undo():
    push, inspected = recorded('push_succeeded')
    images = copy.deepcopy(push['images'])
    for r in images[0]['results']:
        r['signed'] = True  # force: the same digests signed again
    plan = rollback_plan(images, inspected, 'jeff')
    assert plan['unchanged'] == ['%s:%s' % (APP1, t) for t in ('v2.1.0', 'stable', 'shared')]
    assert plan['revoke'] == [{'repository': APP2, 'tags': ['v2.1.0', 'extra']}] and plan['restore'] == []


def test_without_signer_before_nothing_is_signed_again():
    push, inspected = recorded('push_failed_second_repository')
    images = copy.deepcopy(push['images'])
    for image in images:
        del image['signer_before']
    plan = rollback_plan(images, inspected, 'jeff')
    assert plan['revoke'] == [] and plan['restore'] == []
    assert sorted(e['tag'] for e in plan['not_restored']) == ['shared', 'stable', 'v2.1.0']


def test_a_repository_in_two_images_is_planned_once():
    push, inspected = recorded('push_failed_second_repository')
    first = copy.deepcopy(push['images'][0])
    second = copy.deepcopy(first)
    first['results'] = first['results'][:1]
    second['results'] = second['results'][1:]
    plan = rollback_plan([first, second, push['images'][1]], inspected, 'jeff')
    assert plan['revoke'] == [{'repository': APP1, 'tags': ['v2.1.0', 'shared']}]


def loop(items, failed=()):
    return {'results': [dict(item=item, failed=i in failed, msg='boom' if i in failed else None, changed=True)
                        for i, item in enumerate(items)]}


def test_the_report_says_what_was_and_was_not_rolled_back():
    push, inspected = recorded('push_failed_second_repository')
    plan = rollback_plan(push['images'], inspected, 'jeff')
    lines = rollback_report(push['images'], plan=plan, inspected=inspected, revoked=loop(plan['revoke']),
                            restored=loop(plan['restore']), formats=['notary', 'cosign'], cosign={'skipped': True})
    text = '\n'.join(lines)
    assert '- %s:v2.1.0 pushed and signed %s' % (APP1, NEW) in text
    assert '- %s:v2.1.0 pushed, NOT signed %s' % (APP2, NEW) in text
    assert '- %s:v2.1.0 revoked (this run had signed it anew)' % APP1 in text
    assert '- %s:stable signed for its previous digest %s again' % (APP1, OLD) in text
    assert 'NOT rolled back (fix by hand' in text and '- %s:shared NOT restored: before this run' % APP1 in text
    assert 'Nothing was signed with cosign by this run.' in text
    assert ALL_UNDONE not in text


def test_a_clean_rollback_says_every_repository_is_as_before_and_failures_are_named():
    push, inspected = recorded('push_failed_second_repository')
    images = copy.deepcopy(push['images'])
    images[0]['before']['shared'] = []  # nobody else had signed shared
    plan = rollback_plan(images, inspected, 'jeff')
    lines = rollback_report(images, plan=plan, inspected=inspected, revoked=loop(plan['revoke']),
                            restored=loop(plan['restore']))
    assert lines[-1] == ALL_UNDONE
    lines = rollback_report(images, plan=plan, inspected=inspected, revoked=loop(plan['revoke']),
                            restored=loop(plan['restore'], failed=[0]))
    assert '- %s:stable NOT restored to %s: boom' % (APP1, OLD) in lines and ALL_UNDONE not in lines


def test_cosign_and_notation_signatures_this_run_pushed_are_reported_as_not_rolled_back():
    push, inspected = recorded('push_succeeded')
    plan = rollback_plan(push['images'], inspected, 'jeff')
    cosign = {'results': [{'item': {'repository': APP1}, 'results': [
        {'tag': 'v2.1.0', 'digest': NEW, 'signed': True}, {'tag': 'stable', 'digest': NEW, 'signed': False}]},
        {'item': {'repository': APP2}, 'failed': True, 'msg': 'the registry serves other digests'}]}
    lines = rollback_report(push['images'], plan=plan, inspected=inspected, revoked=loop(plan['revoke']),
                            cosign=cosign, notation={'skipped': True}, formats=['notary', 'cosign', 'notation'])
    i = [n for n, line in enumerate(lines) if line.startswith('Signed with cosign by this run, NOT rolled back')][0]
    assert lines[i + 1:i + 2] == ['- %s:v2.1.0 %s' % (APP1, NEW)]
    assert not any(line.startswith('Signed with Notation') for line in lines)
    assert 'Nothing was signed with' not in '\n'.join(lines)


@pytest.mark.parametrize('case, expected', [
    (dict(enabled=False), 'Not rolled back (content_trust_release_rollback is false)'),
    (dict(inspected={'failed': True, 'msg': 'notary unreachable'}),
     'NOT rolled back: the trust data could not be read after the failure (notary unreachable)'),
    (dict(progress=[]), 'Nothing to roll back: the run failed before the first push.'),
])
def test_the_report_when_nothing_could_be_rolled_back(case, expected):
    push, inspected = recorded('push_failed_second_repository')
    progress = case.pop('progress', push['images'])
    args = dict(inspected=inspected)
    args.update(case)
    assert rollback_report(progress, **args)[-1].startswith(expected)


def test_a_release_without_notary_reports_only_the_oci_signatures():
    assert rollback_report([], formats=['cosign', 'notation'], cosign={'results': []}) == [
        'Nothing was signed with cosign or Notation by this run.']


def test_the_filters_refuse_bad_input_naming_the_filter():
    with pytest.raises(AnsibleFilterError, match='rollback_plan: progress must be a list'):
        plan_filter({'repository': APP1}, {'repositories': []}, 'jeff')
    with pytest.raises(AnsibleFilterError, match='rollback_plan: signer must name'):
        plan_filter([], {'repositories': []}, '')
    with pytest.raises(AnsibleFilterError, match='rollback_report: progress\\[0\\] must be a dict'):
        report_filter(['x'])
    push, inspected = recorded('push_failed_second_repository')
    assert plan_filter(push['images'], inspected['repositories'], 'jeff') == rollback_plan(push['images'], inspected,
                                                                                           'jeff')


def test_a_clean_notary_rollback_after_cosign_signed_does_not_say_everything_is_as_before():
    """A three-format release that failed after cosign signed: Notary is rolled back, the cosign signatures are not,
    and the last lines say exactly that (not "every repository shows the trust data it had before")."""
    push, inspected = recorded('push_failed_second_repository')
    images = copy.deepcopy(push['images'])
    images[0]['before']['shared'] = []
    plan = rollback_plan(images, inspected, 'jeff')
    cosign = {'results': [{'item': {'repository': APP1}, 'results': [{'tag': 'v2.1.0', 'digest': NEW, 'signed': True}]}]}
    lines = rollback_report(images, plan=plan, inspected=inspected, revoked=loop(plan['revoke']),
                            restored=loop(plan['restore']), cosign=cosign, notation={'results': []},
                            formats=['notary', 'cosign', 'notation'])
    assert ALL_UNDONE not in lines
    assert lines[-2] == NOTARY_UNDONE
    assert lines[-1] == ('NOT rolled back: the cosign signatures listed above stay in the registry and verify for '
                         'those tags.')
    assert '- %s:v2.1.0 %s' % (APP1, NEW) in lines
