# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The revocation list (_revoked.py): its shape, and what publish_release, verify_release, the bridge and the
consumers decide from it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.filter.bridge_plan import bridge_plan
from ansible_collections.openbanking.content_trust.plugins.filter.revoked_release import revoked_release
from ansible_collections.openbanking.content_trust.plugins.filter.with_revoked_tags import with_revoked_tags
from ansible_collections.openbanking.content_trust.plugins.module_utils import _pulls, _verified_pull
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError, Unverified
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import (
    parse_revoked, release_refusals, revoked_checks, withdrawn_tags,
)

APP = 'registry.example/acme/app'
D1, D2 = 'sha256:' + '1' * 64, 'sha256:' + '2' * 64
REVOKED = [{'repository': APP, 'tags': ['v2.0', 'v2.0.1'], 'reason': 'CVE-2026-1 in libfoo'}]


def test_the_list_is_parsed_to_repository_tag_and_reason():
    assert parse_revoked(REVOKED + [{'repository': 'alpine', 'tags': ['3'], 'reason': ' old '},
                                    {'repository': APP, 'tags': ['v2.0'], 'reason': 'listed again'}]) == {
        APP: {'v2.0': 'CVE-2026-1 in libfoo', 'v2.0.1': 'CVE-2026-1 in libfoo'},
        'docker.io/library/alpine': {'3': 'old'}}
    assert parse_revoked(None) == {} and parse_revoked([]) == {}


@pytest.mark.parametrize('entries, words', [
    ({'repository': APP}, ['must be a list']),
    (['app:v1'], ['[0] must be a dict']),
    ([{'repository': APP, 'tags': ['v1'], 'reason': 'x', 'digest': D1}], ['[0] has unknown keys digest']),
    ([{'tags': ['v1'], 'reason': 'x'}], ['[0].repository']),
    ([{'repository': APP + ':v1', 'tags': ['v1'], 'reason': 'x'}], ['[0].repository']),
    ([{'repository': APP, 'tags': 'v1', 'reason': 'x'}], ['[0].tags must be a non-empty list']),
    ([{'repository': APP, 'tags': [], 'reason': 'x'}], ['[0].tags must be a non-empty list']),
    ([{'repository': APP, 'tags': ['-bad'], 'reason': 'x'}], ['[0].tags', 'not a valid tag']),
    (REVOKED + [{'repository': APP, 'tags': ['v1']}], ['[1].reason must say why']),
    ([{'repository': APP, 'tags': ['v1'], 'reason': '  '}], ['[0].reason must say why']),
], ids=['not-a-list', 'not-a-dict', 'unknown-key', 'no-repository', 'repository-with-tag', 'tags-a-string',
        'no-tags', 'bad-tag', 'no-reason', 'blank-reason'])
def test_a_bad_entry_is_refused_naming_it(entries, words):
    with pytest.raises(InputError) as exc:
        parse_revoked(entries)
    assert exc.value.kind == 'bad_input'
    assert 'content_trust_revoked_images' in str(exc.value)
    for word in words:
        assert word in str(exc.value), (word, str(exc.value))


def test_publish_release_refuses_a_listed_tag_naming_it_the_reason_and_how_to_lift_it():
    images = [{'repository': APP, 'tags': ['v2.0', 'latest']}, {'repository': 'registry.example/acme/db'}]
    out = release_refusals(images, 'v2.0.1', REVOKED)
    assert out['refused'] == [APP + ':v2.0', APP + ':v2.0.1']
    for words in ('Nothing was pushed or signed', APP + ':v2.0: CVE-2026-1 in libfoo', APP + ':v2.0.1',
                  'remove the tag from content_trust_revoked_images'):
        assert words in out['message'], (words, out['message'])
    assert 'latest' not in out['message'] and 'acme/db' not in out['message']
    images[0]['tags'] = ['latest']
    assert release_refusals(images, 'v3.0', REVOKED) == {'refused': [], 'message': ''}
    assert revoked_release(images, 'v2.0', []) == {'refused': [], 'message': ''}
    with pytest.raises(AnsibleFilterError, match=r'content_trust_revoked_images\[0\]\.reason'):
        revoked_release(images, 'v3.0', [{'repository': APP, 'tags': ['v1']}])


def test_verify_release_checks_the_listed_tags_of_the_release_repositories():
    images = [{'repository': APP, 'tags': ['v3.0', 'v2.0'], 'digests': {'v3.0': D1}},
              {'repository': 'registry.example/acme/db', 'tags': ['v3.0']}]
    out = with_revoked_tags(images, REVOKED + [{'repository': 'registry.example/other', 'tags': ['x'], 'reason': 'y'}])
    assert out == [{'repository': APP, 'tags': ['v3.0', 'v2.0', 'v2.0.1'], 'digests': {'v3.0': D1}},
                   {'repository': 'registry.example/acme/db', 'tags': ['v3.0']}]
    assert images[0]['tags'] == ['v3.0', 'v2.0']  # not changed in place


def _check(tag, **signatures):
    return {'repository': APP, 'tag': tag, 'reference': '%s:%s' % (APP, tag), 'digest': D1, 'signatures': signatures,
            'verified': all(signatures.values()), 'problems': [] if all(signatures.values()) else ['x'], 'line': 'l'}


def test_a_listed_tag_that_still_verifies_anywhere_fails_the_release_report():
    checks = [_check('v3.0', notary=True, cosign=True, notation=True),
              _check('v2.0', notary=False, cosign=True, notation=True),
              _check('v2.0.1', notary=False, cosign=False, notation=False)]
    out = revoked_checks(checks, REVOKED)
    assert out[0] is checks[0]
    assert (out[1]['verified'], out[1]['problems']) == (
        False, ['revoked (CVE-2026-1 in libfoo) but still verifies in cosign, notation'])
    assert 'NOT WITHDRAWN' in out[1]['line']
    assert (out[2]['verified'], out[2]['problems'], out[2]['revoked']) == (True, [], 'CVE-2026-1 in libfoo')
    assert 'verifies in no format' in out[2]['line']


def test_the_local_tags_of_a_withdrawn_digest_go_and_a_digest_still_verified_stays():
    revoked = parse_revoked(REVOKED + [{'repository': 'registry.example/acme/db', 'tags': ['v1'], 'reason': 'r'}])
    local = {APP: {'v2.0': {'Id': 'sha256:img1', 'digests': [D1]}, 'latest': {'Id': 'sha256:img1', 'digests': [D1]},
                   'v3.0': {'Id': 'sha256:img3', 'digests': [D2]}},
             'registry.example/acme/db': {'v1': {'Id': 'sha256:db1', 'digests': [D2]}}}
    out = withdrawn_tags(revoked, local, verified=set())
    assert [(w['repository'], w['tag'], w['image'], w['reason']) for w in out] == [
        (APP, 'latest', 'sha256:img1', 'CVE-2026-1 in libfoo'),
        (APP, 'v2.0', 'sha256:img1', 'CVE-2026-1 in libfoo'),
        ('registry.example/acme/db', 'v1', 'sha256:db1', 'r')]
    # a tag of the inventory that is not listed verified D1: the digest is not withdrawn, only the listed name goes
    assert [w['tag'] for w in withdrawn_tags(revoked, local, verified={(APP, D1)})] == ['v2.0', 'v1']
    # a listed tag that is not on this host withdraws nothing
    assert withdrawn_tags(revoked, {APP: {'latest': {'Id': 'sha256:img1', 'digests': [D1]}}}, set()) == []


def test_a_listed_tag_is_refused_in_every_format_whatever_the_signatures(monkeypatch):
    """Every verifier accepts everything (the attacker re-pushed every deleted signature): the listed tag fails all
    the same, with its reason, as unverified; the other tag on the same digest verifies."""
    reference = parse_reference(APP, allow_tag=False)
    read = []

    def accept_all(cli, images, *args):
        read.append(images)
        return ([dict(reference=ref, repository=ref.gun, tag=tag, digest=D1, signers=['jeff'], root_key_id=None)
                 for ref, tags in images for tag in tags], [])

    def verify_all(cli, targets, fmt, policy):
        for target in targets:
            target.setdefault('formats', []).append(fmt)
        return targets, []
    monkeypatch.setitem(_verified_pull.VERIFIERS, 'notary', accept_all)
    monkeypatch.setattr(_verified_pull, 'registry_targets', accept_all)
    monkeypatch.setattr(_verified_pull, 'verify_oci_signatures', verify_all)
    policy = dict(revoked=parse_revoked(REVOKED))
    for formats in (['notary'], ['cosign'], ['notation'], ['notary', 'cosign', 'notation']):
        with pytest.raises(Unverified) as exc:
            _verified_pull.verify_images(None, [(reference, ['v2.0', 'v2.0.0'])], policy, formats=formats)
        assert exc.value.kind == 'unverified'
        assert 'nothing was pulled or tagged; 1 image(s) do not verify: %s:v2.0: revoked: CVE-2026-1 in libfoo' \
            % APP in exc.value.msg, exc.value.msg
        assert read[-1] == [(reference, ['v2.0.0'])]  # the listed tag is not even read
        targets = _verified_pull.verify_images(None, [(reference, ['v2.0.0'])], policy, formats=formats)
        assert [(t['tag'], t['digest'], t['formats']) for t in targets] == [('v2.0.0', D1, formats)]


def test_the_bridge_never_carries_over_a_listed_tag():
    results = [{'repository': APP, 'tag': tag, 'signed_digest': D1, 'registry_digest': D1, 'signers': ['jeff'],
                'verified': True, 'problems': []} for tag in ('v2.0', 'v2.0.0')]
    plan = bridge_plan(results, [], [], REVOKED)
    assert [(s['repository'], s['tags']) for s in plan['sign']] == [(APP, ['v2.0.0'])]
    assert [(r['tag'], r['reason'].split(' (')[0]) for r in plan['refused']] == [('v2.0', 'revoked: CVE-2026-1 in libfoo')]
    assert len(bridge_plan(results)['sign'][0]['tags']) == 2
    with pytest.raises(AnsibleFilterError, match='bridge_plan'):
        bridge_plan(results, [], [], [{'repository': APP}])


class FakeDaemon(object):
    """The daemon as LocalImages answers: local tags of the repository, running containers; records untags."""
    untagged = []

    def __init__(self, cli, hint=None):
        pass

    def tagged(self, reference):
        assert reference.gun == APP
        return {'v2.0': {'Id': 'sha256:img1', 'RepoDigests': ['%s@%s' % (APP, D1)]},
                'latest': {'Id': 'sha256:img1', 'RepoDigests': ['%s@%s' % (APP, D1)]},
                'v3.0': {'Id': 'sha256:img1', 'RepoDigests': ['%s@%s' % (APP, D1)]}}

    def running(self):
        return [{'Id': 'c' * 64, 'Names': ['/web'], 'Image': APP + ':latest', 'ImageID': 'sha256:img1'},
                {'Id': 'd' * 64, 'Names': ['/db'], 'Image': 'db:1', 'ImageID': 'sha256:other'}]

    def untag(self, reference):
        self.untagged.append(str(reference))

    def close(self):
        pass


def test_a_consumer_drops_the_withdrawn_tags_but_never_one_it_pulls_and_reports_running_containers(monkeypatch):
    monkeypatch.setattr(_pulls, 'LocalImages', FakeDaemon)
    revoked = parse_revoked(REVOKED)
    # v3.0 is pulled by this run, at another digest: the tag is about to move, it is not removed
    targets = [dict(repository=APP, tag='v3.0', digest=D2)]
    withdrawn, running = _pulls.plan_untag(None, revoked, targets)
    assert [(w['tag'], w['digests']) for w in withdrawn] == [('latest', [D1]), ('v2.0', [D1])]
    assert running == [dict(container='c' * 64, name='web', image='sha256:img1', reference=APP + ':latest')]
    _pulls.apply_untag(None, withdrawn)
    assert FakeDaemon.untagged == [APP + ':latest', APP + ':v2.0']
    assert _pulls.plan_untag(None, {}, targets) == ([], [])


def test_revoke_release_withdraws_the_checked_list_grouped_by_repository_and_reason():
    from ansible_collections.openbanking.content_trust.plugins.filter.revocations import revocations
    repo = '127.0.0.1:5000/acme/app'
    assert revocations([{'repository': repo, 'tags': ['v1', 'v1'], 'reason': ' bad build '},
                        {'repository': repo, 'tags': ['v2', 'v1'], 'reason': 'bad build'},
                        {'repository': repo, 'tags': ['v3'], 'reason': 'CVE-2026-1'}]) == [
        {'repository': repo, 'tags': ['v1', 'v2'], 'reason': 'bad build'},
        {'repository': repo, 'tags': ['v3'], 'reason': 'CVE-2026-1'}]
    assert revocations([]) == []
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError) as exc:
        revocations([{'repository': repo, 'tags': ['v1']}])
    assert 'content_trust_revoked_images[0].reason' in str(exc.value)
