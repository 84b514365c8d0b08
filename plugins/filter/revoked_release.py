# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: revoked_release
short_description: The tags of a release that the revocation list withdrew, and why they must not be signed
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Checks the revocation list (C(content_trust_revoked_images), C([{repository, tags, reason}])) once - a bad entry
    fails naming it - and returns the tags of the release (its version and each image's C(tags)) that it lists, with
    the message the P(openbanking.content_trust.publish_release#role) role fails with before anything is pushed or
    signed - each tag, its reason, and how to lift the revocation.
  - Runs on the controller. Standard library only.
positional: _input, version, revoked
options:
  _input:
    description: The images of the release, C(content_trust_release_images) (C(repository), C(tags)).
    type: list
    elements: dict
    required: true
  version:
    description: The release tag, which every image gets.
    type: str
    required: true
  revoked:
    description: The revocation list, C([{repository, tags, reason}]).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Refuse to sign a withdrawn tag
  ansible.builtin.fail:
    msg: "{{ refusal.message }}"
  vars:
    refusal: "{{ release_images | openbanking.content_trust.revoked_release('v1.2.0', revoked_images) }}"
  when: refusal.refused | length > 0
'''

RETURN = r'''
_value:
  description:
    - C(refused) - C(repository:tag) of every tag of the release that the list withdrew.
    - C(message) - why nothing is signed and how to lift the revocation; empty when nothing is refused.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import release_refusals


def revoked_release(images, version, revoked):
    """See DOCUMENTATION."""
    try:
        return release_refusals(images, version, revoked)
    except InputError as exc:
        raise AnsibleFilterError('revoked_release: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'revoked_release': revoked_release}
