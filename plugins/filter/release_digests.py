# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: release_digests
short_description: The digest each tag of a release is signed for with cosign and Notation, and the tags that moved
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - cosign and Notation sign digests, never tags. This filter pins each tag of a release to one digest - with V(notary)
    among O(formats), the digest M(openbanking.content_trust.trust_push) has just signed for it (O(signed)); without
    it, the image's C(digest) when given, else the local image's digest in the repository as trust_push's check-mode
    plan reads it (O(checked)) - and returns the images as M(openbanking.content_trust.cosign_sign) and
    M(openbanking.content_trust.notation_sign) take them, with the pins as C(digests).
  - Given what the registry serves now (O(served)), it also names every tag that moved, so that the
    P(openbanking.content_trust.publish_release#role) role can fail before the first cosign or Notation signature.
  - Runs on the controller. Standard library only.
positional: _input, version, formats
options:
  _input:
    description: The images of the release, C(content_trust_release_images) (C(repository), C(tags), C(digest)).
    type: list
    elements: dict
    required: true
  version:
    description: The release tag, which every image gets.
    type: str
    required: true
  formats:
    description: The release's signature formats.
    type: list
    elements: str
    required: true
  signed:
    description: The registered result of the trust_push that signed the release (with V(notary)).
    type: raw
  checked:
    description: The registered result of trust_push in check mode over the release's images (without V(notary)).
    type: raw
  served:
    description: The registered result of trust_push in check mode with C(push=false) (the registry's digests now).
    type: raw
seealso:
  - module: openbanking.content_trust.cosign_sign
  - module: openbanking.content_trust.notation_sign
'''

EXAMPLES = r'''
- name: Sign with cosign exactly what Notary signed
  openbanking.content_trust.cosign_sign:
    repository: "{{ item.repository }}"
    tags: "{{ item.tags }}"
    digests: "{{ item.digests }}"
    key: /etc/release/cosign.key
    key_passphrase: "{{ vault_cosign_passphrase }}"
  loop: >-
    {{ (release_images | openbanking.content_trust.release_digests('v1.2.0', ['notary', 'cosign'], signed=pushed)).images }}
'''

RETURN = r'''
_value:
  description:
    - C(images) - C([{repository, tags, digests}]), every tag of each image (the release tag first) and C(digests), a
      dictionary of tag to pinned digest.
    - C(unpinned) - C(repository:tag) for every tag no digest pins.
    - C(moved) - one message per repository with a tag whose registry digest (O(served)) is not the pinned one.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._digests import release_digests as _digests


def release_digests(images, version, formats, signed=None, checked=None, served=None):
    """See DOCUMENTATION."""
    try:
        return _digests(images, version, formats, signed=signed, checked=checked, served=served)
    except (InputError, KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('release_digests: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'release_digests': release_digests}
