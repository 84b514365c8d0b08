# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A failed initialisation must not leave orphan root or repository keys behind."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import list_local_keys
from ansible_collections.openbanking.content_trust.plugins.modules.trust_signer import clean_failed_init

GUN = '127.0.0.1:5000/acme/app'


class FakeCLI(object):
    def __init__(self, trust_dir, server_has=None, fail=False):
        self.trust_dir = trust_dir
        self.server_has = server_has
        self.fail = fail

    def has_docker_trust(self):
        return True

    def inspect(self, refs):
        if self.fail:
            raise TrustError('unreachable')
        return dict((str(r), self.server_has) for r in refs)


def write_key(trust_dir, key_id, role, gun=None):
    d = os.path.join(trust_dir, 'private')
    if not os.path.isdir(d):
        os.makedirs(d, 0o700)
    headers = 'role: %s\n' % role + ('gun: %s\n' % gun if gun else '')
    path = os.path.join(d, key_id + '.key')
    with open(path, 'w') as f:
        f.write('-----BEGIN ENCRYPTED PRIVATE KEY-----\n%s\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n' % headers)
    return path


def setup(tmp_path):
    trust = str(tmp_path / 'trust')
    old_root = write_key(trust, 'a' * 64, 'root')
    before = set([old_root])
    write_key(trust, 'b' * 64, 'root')                      # created by the failed init
    write_key(trust, 'c' * 64, 'targets', GUN)              # created by the failed init
    write_key(trust, 'd' * 64, 'targets', 'docker.io/acme/other')  # another repository's
    write_key(trust, 'e' * 64, 'jeff')                      # a signer key written meanwhile
    changelist = os.path.join(trust, 'tuf', '127.0.0.1:5000', 'acme', 'app', 'changelist')
    os.makedirs(changelist)
    open(os.path.join(changelist, '1.change'), 'w').close()
    return trust, before, changelist


def left(trust):
    return sorted(k['key_id'][0] for k in list_local_keys(trust))


def test_keys_of_a_failed_init_are_removed(tmp_path):
    trust, before, changelist = setup(tmp_path)
    clean_failed_init(FakeCLI(trust, server_has=None), parse_reference(GUN, allow_tag=False), before)
    assert left(trust) == ['a', 'd', 'e']
    assert not os.path.exists(changelist)


def test_nothing_is_removed_when_the_server_has_the_repository_or_cannot_say(tmp_path):
    trust, before, changelist = setup(tmp_path)
    clean_failed_init(FakeCLI(trust, server_has={'Name': GUN}), parse_reference(GUN, allow_tag=False), before)
    assert left(trust) == ['a', 'b', 'c', 'd', 'e']
    clean_failed_init(FakeCLI(trust, fail=True), parse_reference(GUN, allow_tag=False), before)
    assert left(trust) == ['a', 'b', 'c', 'd', 'e']
