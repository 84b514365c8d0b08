#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: notation_verify
short_description: Verify the Notation signatures of image tags under a strict trust policy
version_added: 0.1.0
description:
  - Resolves each tag of O(repository) to the digest the registry serves for it and runs C(notation verify) on that
    digest, with a trust store holding O(ca_certificates) and a C(strict) trust policy scoped to the repository.
  - The trust store and policy live in a private temporary directory of this run (C(XDG_CONFIG_HOME)); the host's
    notation configuration is neither read nor changed.
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
  ca_certificates:
    description: Trusted CA certificates (PEM text; a bundle of several is fine).
    type: list
    elements: str
    required: true
  trusted_identities:
    description:
      - "Identities allowed to sign, in Notation's form (C(x509.subject: C=GB, ST=London, O=Acme, CN=release)):
        the trust policy's C(trustedIdentities). Notation requires at least C, ST and O in such a subject."
      - Required unless O(trust_any_identity) is true; C(*) is refused here (that is what O(trust_any_identity) says).
    type: list
    elements: str
    default: []
  trust_any_identity:
    description:
      - Accept a signature by any certificate the CAs of O(ca_certificates) issued (C(trustedIdentities) C(*)), so whoever
        can get a code-signing certificate from those CAs can then sign what verifies here.
      - When false (the default), O(trusted_identities) must name the subjects to trust.
    type: bool
    default: false
  require_tag_binding:
    description:
      - Count only a signature whose signed user metadata names this repository and the tag being verified
        (C(org.openbanking.content_trust.repository) and C(org.openbanking.content_trust.tag), which
        M(openbanking.content_trust.notation_sign) signs; checked by C(notation verify --user-metadata)). Without
        it, a registry attacker who points a tag at the digest of another signed release gets that release verified
        under the tag.
      - V(false) accepts a signature on the digest whatever tag it was made for, including signatures made before
        the tag binding existed (no such metadata). Use it only until those are re-signed with
        M(openbanking.content_trust.notation_sign); a refused tag's problem says which case it is.
    type: bool
    default: true
  fail_on_unverified:
    description: Fail the task, naming every tag that does not verify.
    type: bool
    default: true
  notation_cli:
    description: Name or path of the notation binary.
    type: str
    default: notation
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.notation_sign
'''

EXAMPLES = r'''
- name: Require a Notation signature from the team's CA
  openbanking.content_trust.notation_verify:
    repository: registry.example.com/openbanking/conformance-suite
    tags: [v1.4.0]
    ca_certificates:
      - "{{ lookup('ansible.builtin.file', 'files/signing-ca.crt') }}"
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
      description: Whether a Notation signature on the digest verifies under the policy (for this tag, with
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
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocifiles import check_trusted_identities
from ansible_collections.openbanking.content_trust.plugins.module_utils._ociverify import unverified_message, verify_notation


class Verify(Reader):
    """Whether every tag's digest carries a valid Notation signature."""

    def inputs(self):
        self.repository = parse_reference(self.params['repository'], allow_tag=False)
        self.identities = check_trusted_identities(self.params['trusted_identities'], self.params['trust_any_identity'])

    def plan(self):
        p = self.params
        results = verify_notation(self.cli, self.repository, p['tags'], p['ca_certificates'], self.identities,
                                  notation_cli=p['notation_cli'], require_tag_binding=p['require_tag_binding'])
        unverified = [r['tag'] for r in results if not r['verified']]
        if unverified and p['fail_on_unverified']:
            raise Unverified(unverified_message(self.repository, results, 'Notation'))
        return dict(changed=False, results=results, verified=not unverified, unverified=unverified)


def main():
    module = build_module(dict(
        repository=dict(type='str', required=True),
        tags=dict(type='list', elements='str', required=True),
        ca_certificates=dict(type='list', elements='str', required=True),
        trusted_identities=dict(type='list', elements='str', default=[]),
        trust_any_identity=dict(type='bool', default=False),
        require_tag_binding=dict(type='bool', default=True),
        fail_on_unverified=dict(type='bool', default=True),
        notation_cli=dict(type='str', default='notation'),
    ), passphrases='ignored', requires=('cryptography',))
    run(module, Verify)


if __name__ == '__main__':
    main()
