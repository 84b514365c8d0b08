# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: revocations
short_description: The revocation list, checked, as revoke_release.yml withdraws it
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Checks C(content_trust_revoked_images) (C([{repository, tags, reason}])) as every consumer does - a bad entry fails
    naming it - and returns it with one entry per repository and reason, each tag once.
  - Runs on the controller; standard library only.
positional: _input
options:
  _input:
    description: The revocation list.
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Revoke the listed tags in Notary
  openbanking.content_trust.trust_revoke:
    repository: "{{ item.repository }}"
    tags: "{{ item.tags }}"
    signer: jeff
    signer_passphrase: "{{ vault_jeff_passphrase }}"
  loop: "{{ content_trust_revoked_images | openbanking.content_trust.revocations }}"
'''

RETURN = r'''
_value:
  description: C([{repository, tags, reason}]).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import revocations as _revocations


def revocations(entries):
    try:
        return _revocations(entries)
    except InputError as exc:
        raise AnsibleFilterError('revocations: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'revocations': revocations}
