# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A first initialization stages in a view: only the root and repository keys it made are kept, and only
when the Notary server has the repository (or cannot say)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import list_local_keys
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import (
    keep_new_keys, server_may_have,
)

GUN = '127.0.0.1:5000/acme/app'


class FakeCLI(object):
    def __init__(self, trust_dir, server_has=None, fail=False):
        self.trust_dir = trust_dir
        self.timeout = 5
        self.server_has = server_has
        self.fail = fail

    def has_docker_trust(self):
        return True

    def read_view(self):
        return os.path.join(self.trust_dir, 'read-view')

    def inspect(self, refs, view=None):
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


def left(trust):
    return sorted(k['key_id'][0] for k in list_local_keys(trust))


def test_only_the_new_root_and_repository_keys_of_the_view_are_kept(tmp_path):
    real = str(tmp_path / 'config' / 'trust')
    write_key(real, 'a' * 64, 'root')
    view = str(tmp_path / 'view')
    view_trust = os.path.join(view, 'trust')
    write_key(view_trust, 'a' * 64, 'root')                      # the copy of the real root key
    write_key(view_trust, 'b' * 64, 'root')                      # made by the init
    write_key(view_trust, 'c' * 64, 'targets', GUN)              # made by the init
    write_key(view_trust, 'd' * 64, 'targets', 'docker.io/acme/other')
    write_key(view_trust, 's' * 64, 'snapshot', GUN)             # notary's, the server manages it
    write_key(view_trust, 'e' * 64, 'jeff')
    keep_new_keys(FakeCLI(real), view, set(['a' * 64]), GUN)
    assert left(real) == ['a', 'b', 'c']
    for key_id in ('b' * 64, 'c' * 64):
        assert os.stat(os.path.join(real, 'private', key_id + '.key')).st_mode & 0o777 == 0o600


def test_keys_of_a_failed_init_are_kept_only_when_the_server_has_the_repository_or_cannot_say(tmp_path):
    trust = str(tmp_path / 'trust')
    ref = parse_reference(GUN, allow_tag=False)
    assert server_may_have(FakeCLI(trust, server_has=None), ref) is False
    entry = {'Name': GUN, 'SignedTags': [], 'Signers': [], 'AdministrativeKeys': []}
    assert server_may_have(FakeCLI(trust, server_has=entry), ref) is True
    assert server_may_have(FakeCLI(trust, fail=True), ref) is True
