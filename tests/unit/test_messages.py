# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a failure carries: the lines that explain it, whole; commands named by what they do."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import (
    describe_command, failure_lines,
)

DEBUG_LOG = '\n'.join(
    ['time="2026-11-29T14:13:46Z" level=debug msg="verifying signature for key ID: %064d"' % i for i in range(200)]
    + ['time="2026-11-29T14:13:46Z" level=debug msg="received HTTP status 404 when requesting timestamp."',
       'time="2026-11-29T14:13:46Z" level=warning msg="Error while downloading remote metadata, using cached '
       'timestamp - this might not be the latest version available remotely"',
       'time="2026-11-29T14:13:46Z" level=debug msg="successfully verified cached targets"'])


def test_failure_lines_keep_errors_and_warnings_whole_and_drop_debug_noise():
    out = failure_lines(DEBUG_LOG)
    assert out.splitlines() == DEBUG_LOG.splitlines()[200:202]


def test_failure_lines_keep_plain_output_and_the_last_lines_when_long():
    plain = '\n'.join('line %d of a long error' % i for i in range(30))
    out = failure_lines(plain + '\n' + plain)
    lines = out.splitlines()
    assert lines[0] == '(10 earlier lines left out)'
    assert lines[1:] == ['line %d of a long error' % i for i in range(10, 30)]
    assert failure_lines('') == ''


def test_describe_command_names_operation_references_and_server():
    assert describe_command(['/usr/local/bin/docker', '-l', 'warn', 'trust', 'inspect', 'r/a:v1', 'r/b:v2'],
                            'https://n:4443') == 'docker trust inspect of r/a:v1, r/b:v2 (Notary server https://n:4443)'
    assert describe_command(['/usr/bin/notary', '-c', '/tmp/c.json', '-s', 'https://n:4443', '-d', '/t', 'publish',
                             'r/a']) == 'notary publish of r/a (Notary server https://n:4443)'
    assert describe_command(['docker', 'push', 'r/a:v1']) == 'docker push of r/a:v1'
