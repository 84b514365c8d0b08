# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module base: plan -> preflight -> apply -> verify -> result, and what check mode runs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action, InputError


class FakeModule(object):
    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.params = {}


class Recorder(Action):
    def __init__(self, module, cli, changed=True, bad_input=False):
        super(Recorder, self).__init__(module, cli)
        self.calls = []
        self._changed = changed
        self._bad_input = bad_input

    def plan(self):
        self.calls.append('plan')
        return dict(changed=self._changed)

    def preflight(self, plan):
        self.calls.append('preflight')
        if self._bad_input:
            raise InputError('bad')

    def apply(self, plan):
        self.calls.append('apply')
        return 'done'

    def verify(self, plan, outcome):
        self.calls.append('verify:%s' % outcome)

    def result(self, plan, outcome):
        self.calls.append('result:%s' % outcome)
        return dict(outcome=outcome)


def test_a_change_runs_every_step_in_order_and_changed_comes_from_the_plan():
    action = Recorder(FakeModule(), None)
    assert action() == dict(outcome='done', changed=True)
    assert action.calls == ['plan', 'preflight', 'apply', 'verify:done', 'result:done']


@pytest.mark.parametrize('check_mode, changed', [(True, True), (True, False), (False, False)])
def test_check_mode_or_nothing_to_do_runs_plan_and_preflight_only(check_mode, changed):
    action = Recorder(FakeModule(check_mode=check_mode), None, changed=changed)
    assert action() == dict(outcome=None, changed=changed)
    assert action.calls == ['plan', 'preflight', 'result:None']


def test_a_failed_preflight_applies_nothing():
    action = Recorder(FakeModule(), None, bad_input=True)
    with pytest.raises(InputError):
        action()
    assert action.calls == ['plan', 'preflight']


# --- readers, close(), several repositories, a release of several images ------------------------------------

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference  # noqa: E402
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (  # noqa: E402
    ContentTrustError, TrustError, Unverified,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Reader  # noqa: E402
from ansible_collections.openbanking.content_trust.plugins.module_utils._notaryaction import NotaryAction  # noqa: E402
from ansible_collections.openbanking.content_trust.plugins.module_utils._release import Release  # noqa: E402


class TrustDirCLI(object):
    """What the locks and transactions need of a client: a trust directory and a timeout."""

    def __init__(self, path):
        self.trust_dir = str(path)
        self.timeout = 5


class Reading(Reader):
    def __init__(self, module, cli, changed):
        super(Reading, self).__init__(module, cli)
        self._changed = changed

    def plan(self):
        return dict(changed=self._changed, read=True)

    def apply(self, plan):
        raise AssertionError('a reader applies nothing')


@pytest.mark.parametrize('changed', [True, False])
def test_a_reader_reports_its_own_change_and_applies_nothing(changed):
    # trust_verify pulls the images it verifies: a pull that fetched one is a change, reported, never "applied"
    assert Reading(FakeModule(), None, changed)() == dict(changed=changed, read=True)


class Closing(Recorder):
    def close(self):
        self.calls.append('close')


def test_close_runs_last_also_when_a_step_fails():
    action = Closing(FakeModule(), None, bad_input=True)
    with pytest.raises(InputError):
        action()
    assert action.calls == ['plan', 'preflight', 'close']
    action = Closing(FakeModule(), None)
    action()
    assert action.calls[-1] == 'close'


class Several(NotaryAction):
    """Two repositories: each published in its own transaction; the first conflicts once."""

    def __init__(self, module, cli):
        super(Several, self).__init__(module, cli)
        self.calls = []
        self.conflicts = 1

    def inputs(self):
        self.references = [parse_reference('127.0.0.1:5000/a/one'), parse_reference('127.0.0.1:5000/a/two')]

    def plan(self):
        self.calls.append('plan')
        return dict(changed=True)

    def apply(self, plan):
        for ref in self.references:
            self.publish(ref, lambda ref=ref: self._publish_one(ref))

    def _publish_one(self, ref):
        self.calls.append('publish %s attempt %d' % (ref.gun.rsplit('/', 1)[1], self.tx.attempt_number))
        if self.conflicts:
            self.conflicts -= 1
            raise TrustError('notary publish failed', output='trust server rejected operation: ErrOldVersion')

    def refresh(self, plan, outcome):
        self.calls.append('refresh')

    def result(self, plan, outcome):
        return {}


def test_several_repositories_publish_each_in_its_transaction_retrying_a_conflict(tmp_path, monkeypatch):
    monkeypatch.setattr('time.sleep', lambda seconds: None)
    action = Several(FakeModule(), TrustDirCLI(tmp_path))
    assert action()['changed'] is True
    assert action.calls == ['plan', 'publish one attempt 0', 'publish one attempt 1', 'publish two attempt 0', 'refresh']
    checked = Several(FakeModule(check_mode=True), TrustDirCLI(tmp_path))
    checked()
    assert checked.calls == ['plan']  # check mode: no publish, no refresh


class Image(NotaryAction):
    """One image of a release, as trust_push's PushAndSign looks to ``Release``."""

    log = []
    refuse = {}

    def inputs(self):
        self.reference = parse_reference(self.params['repository'])
        self.tags = self.params['tags']
        self.images = None
        self.signed_before, self.before = {}, {}

    def plan(self):
        Image.log.append('plan ' + self.params['repository'])
        if self.params['repository'] in Image.refuse:
            raise Image.refuse[self.params['repository']]
        items = [dict(tag=t, digest='sha256:' + '1' * 64, pushed=False, signed=False) for t in self.tags]
        self.current = dict(changed=True, trust={}, items=items)
        return self.current

    def apply(self, plan):
        Image.log.append('apply ' + self.params['repository'])
        if self.params['repository'].endswith('/broken'):
            plan['items'][0]['pushed'] = True
            raise TrustError('the registry refused the push')
        return 'done'

    def result(self, plan, outcome):
        return dict(changed=True, results=[dict(tag=t, digest='sha256:' + '1' * 64, signed=True) for t in self.tags],
                    diff=dict(before={}, after={}))


class ImageRelease(Release):
    part_class = Image


def release_module(*repos, **kwargs):
    module = FakeModule(**kwargs)
    module.params = dict(images=[dict(repository=r, tags=['v1'], source=None) for r in repos], root_key_ids=None,
                         verify=False, signer='jeff')
    return module


def test_a_release_refuses_before_the_first_push_naming_every_image_that_cannot_be_published(tmp_path):
    Image.log, Image.refuse = [], {
        '127.0.0.1:5000/a/two': Unverified('no pinned root'), '127.0.0.1:5000/a/three': Unverified('unsigned')}
    action = ImageRelease(release_module('127.0.0.1:5000/a/one', '127.0.0.1:5000/a/two', '127.0.0.1:5000/a/three'),
                          TrustDirCLI(tmp_path))
    with pytest.raises(ContentTrustError) as exc:
        action()
    assert exc.value.msg.startswith('2 of 3 images of the release cannot be published; nothing was pushed or signed')
    assert '- 127.0.0.1:5000/a/two: no pinned root' in exc.value.msg and 'a/three: unsigned' in exc.value.msg
    assert exc.value.kind == Unverified.kind  # the kind of both causes
    assert not [line for line in Image.log if line.startswith('apply')]
    Image.refuse = {'127.0.0.1:5000/a/two': Unverified('x'), '127.0.0.1:5000/a/three': InputError('y')}
    with pytest.raises(ContentTrustError) as exc:
        ImageRelease(release_module('127.0.0.1:5000/a/two', '127.0.0.1:5000/a/three'), TrustDirCLI(tmp_path))()
    assert exc.value.kind == 'error'  # causes of different kinds


def test_a_release_that_fails_part_way_returns_what_it_did_for_the_rollback(tmp_path):
    Image.log, Image.refuse = [], {}
    action = ImageRelease(release_module('127.0.0.1:5000/a/one', '127.0.0.1:5000/a/broken', '127.0.0.1:5000/a/last'),
                          TrustDirCLI(tmp_path))
    with pytest.raises(ContentTrustError) as exc:
        action()
    assert exc.value.msg == '127.0.0.1:5000/a/broken: the registry refused the push'
    images = exc.value.result['images']
    assert [(e['repository'], e['changed']) for e in images] == [
        ('127.0.0.1:5000/a/one', True), ('127.0.0.1:5000/a/broken', True), ('127.0.0.1:5000/a/last', False)]
    assert images[1]['results'][0]['pushed'] is True and images[2]['results'][0]['pushed'] is False
    assert 'apply 127.0.0.1:5000/a/last' not in Image.log  # nothing after the failed image


def test_a_release_in_check_mode_plans_every_image_and_applies_none(tmp_path):
    Image.log, Image.refuse = [], {}
    res = ImageRelease(release_module('127.0.0.1:5000/a/one', '127.0.0.1:5000/a/two', check_mode=True),
                       TrustDirCLI(tmp_path))()
    assert res['changed'] is True
    assert [e['repository'] for e in res['images']] == ['127.0.0.1:5000/a/one', '127.0.0.1:5000/a/two']
    assert Image.log == ['plan 127.0.0.1:5000/a/one', 'plan 127.0.0.1:5000/a/two']
