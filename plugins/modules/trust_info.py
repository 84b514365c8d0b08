#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_info
short_description: Read Docker Content Trust data for many repositories and tags in one call
version_added: 0.1.0
description:
  - Reads signed tags, digests, signers, signer key IDs and administrative key IDs from the Notary server,
    for every reference in O(references), with one C(docker trust inspect) call.
  - Where docker has no C(docker trust) (docker 29 and later without the C(docker-trust) plugin) the same data,
    root and repository key IDs included, is read with the notary CLI, which verifies the TUF metadata as docker
    does. C(docker trust) is never run on a docker CLI that lacks it.
  - A repository without trust data is reported with RV(repositories[].exists=false), not as a failure.
    A Notary server that cannot be reached, or whose certificate is not trusted, fails the task and is named.
  - Also reports, per repository, the TUF version, expiry date and signature threshold of each role and, per
    signed tag, the manifest length, read from the metadata the CLI has just verified (useful to watch expiry).
  - Read-only; it never changes trust data.
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary
  - openbanking.content_trust.common.ignored_passphrases
  - ansible.builtin.action_common_attributes
options:
  references:
    description:
      - References to read, each C(repository) or C(repository:tag). Short names mean docker.io, as docker reads them.
    type: list
    elements: str
    required: true
  query:
    description:
      - Optional JMESPath expression evaluated over the returned RV(repositories) list; the answer is RV(query_result).
    type: str
requirements:
  - jmespath (for O(query))
seealso:
  - module: openbanking.content_trust.trust_push
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Read the trust data of a release
  openbanking.content_trust.trust_info:
    server: https://notary.example.com:4443
    references:
      - registry.example.com/openbanking/conformance-suite:v1.0.0
      - registry.example.com/openbanking/conformance-suite
  register: trust

- name: Which tags did jeff sign?
  openbanking.content_trust.trust_info:
    references: [registry.example.com/openbanking/conformance-suite]
    query: "[0].signed_tags[?contains(signers, 'jeff')].tag"
  register: jeff_tags

- name: When does the timestamp of the repository expire?
  openbanking.content_trust.trust_info:
    references: [registry.example.com/openbanking/conformance-suite]
    query: "[0].expires.timestamp"
  register: timestamp_expiry
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
repositories:
  description: One entry per reference, in the order of O(references), with the trust data of its repository.
  returned: always
  type: list
  elements: dict
  contains:
    reference:
      description: The reference as read (normalised, e.g. short names get C(docker.io/)).
      type: str
    repository:
      description: The repository (GUN).
      type: str
    exists:
      description: Whether the Notary server has trust data for the repository.
      type: bool
    signed_tags:
      description: Signed tags (only the one asked for when the reference has a tag).
      type: list
      elements: dict
      contains:
        tag:
          description: Tag name.
          type: str
        digest:
          description: Signed manifest digest, C(sha256:<hex>).
          type: str
        signers:
          description: Names of the roles that signed this digest (C(Repo Admin) for the targets role).
          type: list
          elements: str
        length:
          description:
            - Size in bytes of the signed manifest, as C(targets/releases) (else C(targets)) records it for this digest.
          type: int
          version_added: 0.1.0
    signers:
      description: Signers of the repository and their key IDs.
      type: list
      elements: dict
      contains:
        name:
          description: Signer name.
          type: str
        key_ids:
          description: Canonical key IDs.
          type: list
          elements: str
    root_key_ids:
      description: Root key IDs (of the root certificates in root.json).
      type: list
      elements: str
    repository_key_ids:
      description: Repository (targets) key IDs.
      type: list
      elements: str
    versions:
      description:
        - TUF metadata version of each role the Notary server serves for the repository (C(root), C(targets),
          C(snapshot), C(timestamp) and each delegation such as C(targets/releases) or C(targets/<signer>)),
          as verified by this read. Empty when RV(repositories[].exists=false).
      type: dict
      version_added: 0.1.0
      sample: {"root": 1, "targets": 3, "snapshot": 4, "timestamp": 5, "targets/releases": 2, "targets/jeff": 2}
    expires:
      description:
        - When each role's TUF metadata expires (ISO 8601 in UTC, as the server signed it), for the same roles as
          RV(repositories[].versions). docker and notary refuse trust data past this date until it is re-signed.
      type: dict
      version_added: 0.1.0
      sample: {"root": "2036-11-26T14:07:07.468455754Z", "timestamp": "2026-12-13T14:07:38.1Z"}
    thresholds:
      description:
        - Number of signatures each role needs, from root.json for the top-level roles and from the delegating
          targets metadata for each delegation (also for a delegation that has no metadata yet).
      type: dict
      version_added: 0.1.0
      sample: {"root": 1, "targets": 1, "snapshot": 1, "timestamp": 1, "targets/releases": 1}
query_result:
  description: Result of O(query) over RV(repositories).
  returned: when O(query) is given
  type: raw
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import MissingRequirement
from ansible_collections.openbanking.content_trust.plugins.module_utils._notaryaction import NotaryReader
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import InputError, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import TrustReader

try:
    import jmespath
    HAS_JMESPATH = True
except ImportError:
    HAS_JMESPATH = False


class Inspect(NotaryReader):
    """The trust data of each reference, as the one trust reader reads it; optionally a JMESPath query of it."""

    def inputs(self):
        p = self.params
        if not p['references']:
            raise InputError('references must list at least one repository or repository:tag')
        self.refs = [parse_reference(r, what='references[%d]' % i) for i, r in enumerate(p['references'])]
        self.query = None
        if p['query'] is not None:
            if not HAS_JMESPATH:
                raise MissingRequirement(missing_required_lib('jmespath'))
            try:
                self.query = jmespath.compile(p['query'])
            except jmespath.exceptions.ParseError as exc:
                raise InputError('query is not a valid JMESPath expression: %s' % exc)

    def plan(self):
        read = TrustReader(self.cli).read(self.refs)
        repositories = [read[str(ref)] for ref in self.refs]
        result = dict(changed=False, repositories=repositories)
        if self.query is not None:
            result['query_result'] = self.query.search(repositories)
        return result


def main():
    module = build_module(dict(
        references=dict(type='list', elements='str', required=True),
        query=dict(type='str'),
    ), passphrases='ignored')
    run(module, Inspect)


if __name__ == '__main__':
    main()
