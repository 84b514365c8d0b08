# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/stack/tools.sh takes the Debian mirror from the machine's apt sources (one-line and deb822), never a
public host of its own, and says so when there is none."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, 'tests', 'stack', 'tools.sh')

pytestmark = pytest.mark.skipif(not os.path.isfile(TOOLS), reason='tests/stack/tools.sh is not in this copy')


def mirror(tmp_path, files):
    os.makedirs(str(tmp_path / 'sources.list.d'))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = dict(os.environ, CT_APT_DIR=str(tmp_path))
    env.pop('CT_DEBIAN_MIRROR', None)
    return subprocess.run(['bash', TOOLS, 'mirror'], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30, check=False, universal_newlines=True)


def test_one_line_sources_skip_the_security_archive_and_comments(tmp_path):
    run = mirror(tmp_path, {'sources.list': (
        '# deb http://commented.example/debian bookworm main\n'
        'deb [arch=amd64 signed-by=/k.gpg] https://mirror.bank.example/debian-security bookworm-security main\n'
        'deb https://packages.vendor.example/apt stable-vendor main\n'
        'deb [ signed-by=/k.gpg ] https://mirror.bank.example/debian/ bookworm main contrib\n')})
    assert (run.returncode, run.stdout.strip()) == (0, 'https://mirror.bank.example/debian'), run.stderr


def test_deb822_sources(tmp_path):
    run = mirror(tmp_path, {'sources.list.d/vendor.list': 'deb https://vendor.example/apt nodistro main\n',
                            'sources.list.d/debian.sources': (
                                'Types: deb\nURIs: https://mirror.bank.example/security\nSuites: trixie-security\n'
                                'Components: main\n\n'
                                'Types: deb\nURIs: https://off.example/debian\nSuites: trixie\nEnabled: no\n\n'
                                'Types: deb deb-src\nURIs: https://mirror.bank.example/deb/\n'
                                'Suites: trixie trixie-updates\nComponents: main\n')})
    assert (run.returncode, run.stdout.strip()) == (0, 'https://mirror.bank.example/deb'), run.stderr


def test_no_debian_mirror_fails_saying_so(tmp_path):
    run = mirror(tmp_path, {'sources.list.d/vendor.sources': 'Types: deb\nURIs: https://vendor.example/apt\n'
                                                             'Suites: nodistro\n'})
    assert run.returncode != 0 and run.stdout == ''
    assert 'no Debian mirror in the apt sources' in run.stderr and 'CT_DEBIAN_MIRROR' in run.stderr
