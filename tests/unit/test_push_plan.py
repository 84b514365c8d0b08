# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""trust_push's decisions (module_utils/_push.py) on a recorded daemon and recorded trust data, with no docker and
no Notary: what is pushed and signed, what is left alone, how the tags are pushed, and what a failure says was done.
The stack proves the wiring once per path (tests/integration/test_trust_push.py, test_push_many_tags.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _push
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError

REPO = parse_reference('127.0.0.1:5000/team/app')
D1, D2 = 'sha256:' + '1' * 64, 'sha256:' + '2' * 64


def image(image_id, *digests):
    return {'Id': image_id, 'RepoDigests': ['%s@%s' % (REPO.gun, d) for d in digests]}


def trust(*signed):
    """Trust data that lists ``(tag, digest, [signers])``."""
    return {'signed_tags': [dict(tag=t, digest=d, signers=s) for t, d, s in signed]}


class Daemon(object):
    """The local images, as LocalImages answers for them; records what the plan asked and what apply did."""

    url = 'unix:///run/docker.sock'

    def __init__(self, images):
        self.images = dict(images)
        self.calls = []

    def inspect_many(self, names):
        self.calls.append(('inspect_many', list(names)))
        return dict((n, self.images.get(n)) for n in names)

    def inspect(self, name):
        self.calls.append(('inspect', name))
        return self.images.get(name)

    def tagged(self, repository):
        self.calls.append(('tagged', repository.gun))
        prefix = repository.gun + ':'
        return dict((n[len(prefix):], i) for n, i in self.images.items() if n.startswith(prefix))

    def tag(self, image_id, ref):
        self.calls.append(('tag', image_id, str(ref)))
        self.images[str(ref)] = image(image_id)

    def push(self, ref, auth):
        self.calls.append(('push', str(ref)))
        return D2, 524

    def push_all_tags(self, repository, auth, pushed):
        self.calls.append(('push_all_tags', repository.gun))
        for tag in sorted(self.tagged(repository)):
            pushed(tag, D2, 524)


class CLI(object):
    docker_config = '/nonexistent'
    timeout = 30

    def __init__(self, docker_trust=True, notary=True):
        self._trust, self._notary = docker_trust, notary

    def has_docker_trust(self):
        return self._trust

    def notary_path(self):
        if not self._notary:
            raise TrustError('notary_cli not found')
        return '/usr/bin/notary'


def params(**kwargs):
    return dict(dict(source=None, force=False, push=True, sign_with='auto', digests=None), **kwargs)


def test_a_tag_the_signer_signed_for_the_local_digest_is_left_alone():
    daemon = Daemon({REPO.gun + ':v1': image('i1', D1), REPO.gun + ':v2': image('i2', D2)})
    plan = _push.plan_local(params(), REPO, ['v1', 'v2'], 'jeff', trust(('v1', D1, ['jeff']), ('v2', D1, ['jeff'])),
                            daemon)
    assert [(i['tag'], i['todo'], i['digest']) for i in plan] == [('v1', False, D1), ('v2', True, D2)]
    assert daemon.calls == [('inspect_many', [REPO.gun + ':v1', REPO.gun + ':v2'])]  # one docker process
    # signed by someone else for that digest: still this signer's to sign; force signs again
    assert _push.plan_local(params(), REPO, ['v1'], 'jeff', trust(('v1', D1, ['alice'])), daemon)[0]['todo']
    assert _push.plan_local(params(force=True), REPO, ['v1'], 'jeff', trust(('v1', D1, ['jeff'])), daemon)[0]['todo']


def test_a_source_image_is_tagged_only_where_the_tag_is_another_image():
    daemon = Daemon({'build:latest': image('new'), REPO.gun + ':v1': image('old', D1), REPO.gun + ':v2': image('new')})
    plan = _push.plan_local(params(source='build:latest'), REPO, ['v1', 'v2', 'v3'], 'jeff', trust(), daemon)
    assert [(i['tag'], i['retag'], i['image_id']) for i in plan] == [('v1', True, 'new'), ('v2', False, 'new'),
                                                                     ('v3', True, 'new')]


def test_missing_images_are_all_named_before_anything_is_pushed():
    daemon = Daemon({REPO.gun + ':v1': image('i1')})
    with pytest.raises(TrustError) as exc:
        _push.plan_local(params(), REPO, ['v1', 'v2', 'v3'], 'jeff', trust(), daemon)
    assert 'local images %s:v2, %s:v3 do not exist on the docker daemon' % (REPO.gun, REPO.gun) in exc.value.msg
    with pytest.raises(TrustError) as exc:
        _push.plan_local(params(source='nope:1'), REPO, ['v1'], 'jeff', trust(), daemon)
    assert 'nope:1 (source) does not exist' in exc.value.msg
    assert not [c for c in daemon.calls if c[0] in ('tag', 'push', 'push_all_tags')]


@pytest.mark.parametrize('p, todo, docker_trust, notary, method', [
    (dict(), 1, True, True, 'docker'),         # one tag: docker trust sign pushes and signs it in one go
    (dict(), 2, True, True, 'notary'),         # several: every tag staged, one publish
    (dict(), 1, False, True, 'notary'),        # CLI 29 without the plugin: the notary CLI signs
    (dict(), 2, True, False, 'docker'),        # no notary CLI: docker, tag by tag
    (dict(sign_with='docker'), 5, True, True, 'docker'),
    (dict(push=False), 1, True, True, 'notary'),  # the registry's digests: only notary signs without pushing
])
def test_the_signing_method(p, todo, docker_trust, notary, method):
    plan = [dict(todo=True)] * todo
    assert _push.signing_method(params(**p), CLI(docker_trust, notary), plan) == method


def test_a_release_into_a_fresh_repository_is_pushed_in_one_call(monkeypatch):
    monkeypatch.setattr(_push, 'registry_credentials', lambda *a, **k: None)
    tags = ['v%d' % i for i in range(_push.MANY_TAGS)]
    daemon = Daemon(dict((REPO.gun + ':' + t, image('i')) for t in tags))
    plan = [dict(tag=t, ref=REPO.with_tag(t), image_id='i', retag=False, todo=True, pushed=False) for t in tags]
    _push.push_all(CLI(), plan, daemon, REPO)
    assert [c[0] for c in daemon.calls].count('push_all_tags') == 1 and ('push', str(REPO.with_tag('v0'))) not in daemon.calls
    assert all(i['pushed'] and i['digest'] == D2 and i['length'] == 524 for i in plan)


def test_another_local_tag_of_the_repository_means_one_push_per_tag(monkeypatch):
    monkeypatch.setattr(_push, 'registry_credentials', lambda *a, **k: None)
    tags = ['v%d' % i for i in range(_push.MANY_TAGS)]
    daemon = Daemon(dict([(REPO.gun + ':' + t, image('i')) for t in tags] + [(REPO.gun + ':dev', image('x'))]))
    plan = [dict(tag=t, ref=REPO.with_tag(t), image_id='i', retag=False, todo=True, pushed=False) for t in tags]
    _push.push_all(CLI(), plan, daemon, REPO)
    assert 'push_all_tags' not in [c[0] for c in daemon.calls]  # dev would be pushed too
    assert [c for c in daemon.calls if c[0] == 'push'] == [('push', str(REPO.with_tag(t))) for t in tags]


def test_a_failure_says_what_this_run_pushed_and_signed():
    plan = [dict(tag='v1', pushed=True, signed=True), dict(tag='v2', pushed=True, signed=False),
            dict(tag='v3', pushed=False, signed=False)]
    exc = _push.with_progress(TrustError('notary publish failed'), plan)
    assert exc.msg == ('notary publish failed; already pushed and signed in this run: v1; pushed to the registry '
                       'but not signed: v2')


def test_a_tag_signed_in_this_run_must_be_listed_by_the_server():
    plan = [dict(tag='v1', ref=REPO.with_tag('v1'), digest=D1, pushed=True, signed=True)]
    res = _push.results(plan, trust(('v1', D1, ['jeff', 'alice'])), 'jeff', False)
    assert res == [dict(tag='v1', digest=D1, pushed=True, signed=True, signers=['jeff', 'alice'])]
    with pytest.raises(TrustError) as exc:
        _push.results(plan, trust(('v1', D2, ['jeff'])), 'jeff', False)
    assert 'does not list jeff for it with digest %s' % D1 in exc.value.msg
    # check mode reports the plan, nothing is read back
    assert _push.results(plan, trust(), 'jeff', True)[0]['signed'] is True


def test_a_tag_whose_push_shows_a_digest_the_signer_signed_is_not_signed_again():
    # the local image did not say its registry digest (built again): planned, pushed, and the push gives D1 - which jeff
    # signed for v1 already (same digest and signature): not signed again, so not reported as signed
    plan = [dict(tag='v1', digest=D1, todo=True, pushed=True, signed=False),
            dict(tag='v2', digest=D1, todo=True, pushed=True, signed=False),   # signed by alice only: jeff signs
            dict(tag='v3', digest=D2, todo=True, pushed=True, signed=False)]   # jeff signed another digest: signs
    signed = trust(('v1', D1, ['jeff']), ('v2', D1, ['alice']), ('v3', D1, ['jeff']))
    _push.skip_signed_after_push(plan, signed, 'jeff', force=False)
    assert [item['todo'] for item in plan] == [False, True, True]
    res = _push.results(plan, signed, 'jeff', True)
    assert (res[0]['pushed'], res[0]['signed']) == (True, False)
    # force signs it all the same
    plan[0]['todo'] = True
    _push.skip_signed_after_push(plan, signed, 'jeff', force=True)
    assert plan[0]['todo'] is True
