# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: with_revoked_tags
short_description: A release's images plus the withdrawn tags of their repositories, to check that they no longer verify
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Adds to each image the tags that the revocation list (C(content_trust_revoked_images), C([{repository, tags,
    reason}])) lists for its repository, so that C(playbooks/verify_release.yml) verifies them too; the
    M(openbanking.content_trust.release_report) action then reports a listed tag that still verifies in any format as
    a failure. A bad entry of the list fails naming it.
  - Listed repositories that are not among the images are not added.
  - Runs on the controller. Standard library only.
positional: _input, revoked
options:
  _input:
    description: The images, C([{repository, tags, ...}]); other keys are kept.
    type: list
    elements: dict
    required: true
  revoked:
    description: The revocation list, C([{repository, tags, reason}]).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Verify the release and what it withdrew
  openbanking.content_trust.cosign_verify:
    repository: "{{ item.repository }}"
    tags: "{{ item.tags }}"
    public_keys: "{{ cosign_public_keys }}"
  loop: "{{ release_images | openbanking.content_trust.with_revoked_tags(revoked_images) }}"
'''

RETURN = r'''
_value:
  description: The images, each with the listed tags of its repository appended to C(tags).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import with_revoked_tags as _with


def with_revoked_tags(images, revoked):
    """See DOCUMENTATION."""
    try:
        return _with(images, revoked)
    except (InputError, KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('with_revoked_tags: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'with_revoked_tags': with_revoked_tags}
