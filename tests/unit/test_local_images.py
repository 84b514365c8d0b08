# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LocalImages.inspect_many: one docker image inspect process for many names, and when it falls back to the
SDK (one inspect per name). The real daemon path is covered by the trust_push / trust_pull integration tests."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._daemon import LocalImages


class FakeCLI(object):
    docker_host = 'unix:///run/test.sock'
    timeout = 30

    def __init__(self, rc=0, out='', err='', docker=True):
        self.answer = (rc, out, err)
        self.docker = docker
        self.argvs = []

    def env(self):
        return {}

    def docker_path(self):
        if not self.docker:
            raise TrustError('no docker CLI')
        return '/usr/bin/docker'

    def run_split(self, argv, env=None, timeout=None):
        self.argvs.append(argv)
        return self.answer


class SDKImages(LocalImages):
    """The SDK path recorded instead of run."""

    def __init__(self, cli):
        super(SDKImages, self).__init__(cli)
        self.asked = []

    def inspect(self, name):
        self.asked.append(name)
        return {'Id': 'sdk:' + name}


def image(n):
    return json.dumps({'Id': 'sha256:%064d' % n, 'RepoDigests': []})


def test_one_process_answers_every_name_and_says_which_are_missing():
    err = ('Error response from daemon: no such image: r/x:t2: No such image: r/x:t2\n'
           'Error: No such image: r/x:t4\n')
    cli = FakeCLI(rc=1, out='%s\n%s\n%s\n' % (image(1), image(3), image(5)), err=err)
    local = SDKImages(cli)
    got = local.inspect_many(['src:1', 'r/x:t2', 'r/x:t3', 'r/x:t4', 'r/x:t5', 'src:1'])
    assert cli.argvs == [['/usr/bin/docker', '-H', 'unix:///run/test.sock', 'image', 'inspect', '--format',
                          '{{json .}}', '--', 'src:1', 'r/x:t2', 'r/x:t3', 'r/x:t4', 'r/x:t5']]
    assert got['r/x:t2'] is None and got['r/x:t4'] is None
    assert [got[n]['Id'][-1] for n in ('src:1', 'r/x:t3', 'r/x:t5')] == ['1', '3', '5']
    assert local.asked == [] and local._client is None  # the SDK was never loaded


def test_an_answer_that_does_not_add_up_is_asked_again_name_by_name():
    for cli in (FakeCLI(rc=1, out=image(1) + '\n', err='Cannot connect to the Docker daemon at unix:///x\n'),
                FakeCLI(rc=0, out=image(1) + '\n'),  # two names, one answer
                FakeCLI(rc=0, out='not json\nnot json\n'),
                FakeCLI(rc=1, out=image(1) + '\n' + image(2) + '\n', err='Error: No such image: elsewhere:1\n'),
                FakeCLI(docker=False)):
        local = SDKImages(cli)
        got = local.inspect_many(['a:1', 'b:1'])
        assert local.asked == ['a:1', 'b:1'], cli.answer
        assert got == {'a:1': {'Id': 'sdk:a:1'}, 'b:1': {'Id': 'sdk:b:1'}}


def test_no_names_no_process():
    cli = FakeCLI()
    assert SDKImages(cli).inspect_many([]) == {} and cli.argvs == []
