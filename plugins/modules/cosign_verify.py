#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: cosign_verify
short_description: Verify the cosign signatures of image tags with public keys
version_added: 0.1.0
description:
  - Resolves each tag of O(repository) to the digest the registry serves for it and runs C(cosign verify --key)
    on that digest with each of O(public_keys) until one verifies.
  - Signatures written by cosign 2.x (C(.sig) tags) and 3.x (OCI referrers) are both found.
  - Read-only. Fails naming every tag that does not verify, unless O(fail_on_unverified=false).
author:
  - Open Banking (@OpenBankingUK)
requirements:
  - Python library C(cryptography) on the host that runs the module
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary_ignored
  - openbanking.content_trust.common.ignored_passphrases
  - ansible.builtin.action_common_attributes
options:
  repository:
    description: Repository, without a tag.
    type: str
    required: true
  tags:
    description: Tags to verify.
    type: list
    elements: str
    required: true
  public_keys:
    description: Trusted public keys (PEM text, such as RV(openbanking.content_trust.cosign_key#module:public_key)); any one of them may have signed.
    type: list
    elements: str
    required: true
  annotations:
    description: Annotations the signature must carry.
    type: dict
    default: {}
  transparency_log:
    description: Require the signature to be in the transparency log (Rekor); off for privately signed images.
    type: bool
    default: false
  require_tag_binding:
    description:
      - Count only a signature whose signed payload names this repository and the tag being verified (the
        annotations C(org.openbanking.content_trust.repository) and C(org.openbanking.content_trust.tag) that
        M(openbanking.content_trust.cosign_sign) signs). Without it, a registry attacker who points a tag at the
        digest of another signed release gets that release verified under the tag.
      - V(false) accepts a signature on the digest whatever tag it was made for, including signatures made before
        the tag binding existed (no such annotations). Use it only until those are re-signed with
        M(openbanking.content_trust.cosign_sign); a refused tag's problem says which case it is.
    type: bool
    default: true
  fail_on_unverified:
    description: Fail the task, naming every tag that does not verify.
    type: bool
    default: true
  cosign_cli:
    description: Name or path of the cosign binary (2.x or 3.x).
    type: str
    default: cosign
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.cosign_sign
'''

EXAMPLES = r'''
- name: Require a cosign signature by the release key
  openbanking.content_trust.cosign_verify:
    repository: registry.example.com/openbanking/conformance-suite
    tags: [v1.4.0]
    public_keys:
      - "{{ lookup('ansible.builtin.file', 'files/cosign-release.pub') }}"
'''

RETURN = r'''
error_kind:
  description:
    - When the task failed, the class of the failure, the same for the same cause in every module of the collection -
      V(bad_input) (an option, found before anything changed), V(bad_key), V(wrong_passphrase), V(missing_signing_key),
      V(notary_unreachable), V(notary_tls_untrusted), V(repository_unknown), V(registry_unreachable),
      V(credentials_refused), V(cli_failure), V(timeout), V(unverified) (a signature or trust data that does not
      verify), V(missing_requirement) (a Python library the module needs), or V(failed) (another failure of a tool).
  returned: failure
  type: str
  sample: notary_unreachable
results:
  description: One entry per tag, in order.
  returned: always
  type: list
  elements: dict
  contains:
    tag:
      description: Tag.
      type: str
    digest:
      description: The digest the registry serves for the tag (None when it has no such tag).
      type: str
    verified:
      description: Whether a signature on the digest verifies with one of the keys (for this tag, with
        O(require_tag_binding)).
      type: bool
    problems:
      description: Why it did not verify.
      type: list
      elements: str
verified:
  description: Whether every tag verified.
  returned: always
  type: bool
unverified:
  description: Tags that did not verify.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import Unverified
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Reader, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._ociverify import unverified_message, verify_cosign


class Verify(Reader):
    """Whether every tag's digest carries a valid cosign signature."""

    def inputs(self):
        self.repository = parse_reference(self.params['repository'], allow_tag=False)

    def plan(self):
        p = self.params
        results = verify_cosign(self.cli, self.repository, p['tags'], p['public_keys'], annotations=p['annotations'],
                                cosign_cli=p['cosign_cli'], transparency_log=p['transparency_log'],
                                require_tag_binding=p['require_tag_binding'])
        unverified = [r['tag'] for r in results if not r['verified']]
        if unverified and p['fail_on_unverified']:
            raise Unverified(unverified_message(self.repository, results, 'cosign'))
        return dict(changed=False, results=results, verified=not unverified, unverified=unverified)


def main():
    module = build_module(dict(
        repository=dict(type='str', required=True),
        tags=dict(type='list', elements='str', required=True),
        public_keys=dict(type='list', elements='str', required=True, no_log=False),
        annotations=dict(type='dict', default={}),
        transparency_log=dict(type='bool', default=False),
        require_tag_binding=dict(type='bool', default=True),
        fail_on_unverified=dict(type='bool', default=True),
        cosign_cli=dict(type='str', default='cosign'),
    ), passphrases='ignored', requires=('cryptography',))
    run(module, Verify)


if __name__ == '__main__':
    main()
