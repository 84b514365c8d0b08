#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: cosign_sign
short_description: Sign the digests of image tags with cosign, idempotently
version_added: 0.1.0
description:
  - Resolves each tag of O(repository) to the digest the registry serves for it and signs that DIGEST with
    C(cosign sign --key), never the tag.
  - Each signature names the repository and the tag it is for, in the signed payload, under the annotations
    C(org.openbanking.content_trust.repository) (the repository, such as C(127.0.0.1:5000/acme/app)) and
    C(org.openbanking.content_trust.tag). The verifiers (M(openbanking.content_trust.cosign_verify),
    M(openbanking.content_trust.trust_pull)) require them for the tag they verify, so a signature on the digest of
    C(v1.0.0) does not verify when a registry attacker points C(v2.0.0) at that digest. A digest carried by two
    tags therefore gets one signature per tag.
  - Idempotent - a tag whose digest already carries a signature that verifies with this key, for this tag (and
    carries O(annotations)) is left alone; no new signature manifest is pushed and the task reports no change.
    A signature made before the tag binding (no such annotations) does not count, and the tag is signed again.
  - Works with cosign 2.x (signatures stored as the C(sha256-<hex>.sig) tag) and 3.x (bundles stored as OCI
    referrers, a C(sha256-<hex>) tag on registries without the referrers API); the version is detected.
  - A loopback registry is reached over plain http (as docker does), any other registry over TLS with the
    credentials of O(docker_config).
  - The key password is given to cosign on its terminal prompt, never in argv or the environment.
author:
  - Open Banking (@OpenBankingUK)
requirements:
  - Python libraries C(cryptography) and C(pexpect) on the host that runs the module
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary_ignored
  - openbanking.content_trust.common.ignored_passphrases
  - ansible.builtin.action_common_attributes
options:
  repository:
    description: Repository, without a tag (C(registry.example.com/acme/app)).
    type: str
    required: true
  origin:
    description:
      - Who makes the signatures, signed with them under C(org.openbanking.content_trust.origin) (verifiers that do not
        ask for it ignore it). The bridge (C(playbooks/bridge_signatures.yml)) signs with V(notary), so that it withdraws
        only the signatures it made when Notary revokes a tag (O(openbanking.content_trust.cosign_revoke#module:origin)).
      - A tag counts as signed only by a signature with this origin.
    type: str
  tags:
    description: Tags whose digests to sign. Every tag must exist in the registry.
    type: list
    elements: str
    required: true
  digests:
    description:
      - The digest each tag must have, tag to C(sha256:...), for example the digest Notary signed. When the registry
        serves another digest for a tag, the task fails before anything is signed.
    type: dict
    default: {}
  key:
    description: Path to the cosign private key file (C(<path>.key) of M(openbanking.content_trust.cosign_key)).
    type: path
    required: true
  key_passphrase:
    description: Password of O(key).
    type: str
    required: true
  annotations:
    description:
      - Annotations signed with each digest (C(cosign sign -a key=value)); a signature without them does not count
        as an existing signature.
      - The keys C(org.openbanking.content_trust.repository) and C(org.openbanking.content_trust.tag) are the
        collection's own (the tag binding, added to every signature) and are refused here.
    type: dict
    default: {}
  transparency_log:
    description:
      - Upload the signature to the transparency log (Rekor) cosign is configured for.
      - Off by default - these keys sign for private consumers, who verify with the public key alone
        (C(cosign verify --insecure-ignore-tlog)).
    type: bool
    default: false
  signature_form:
    description:
      - Which form of signature to write. V(default) is cosign's own - 2.x writes the C(sha256-<hex>.sig) tag,
        3.x a new-format bundle stored as an OCI referrer.
      - V(containers) writes the C(sha256-<hex>.sig) form with either version (cosign 3.x gets
        C(--new-bundle-format=false)), the only one podman, skopeo and CRI-O read
        (M(openbanking.content_trust.containers_policy)); M(openbanking.content_trust.trust_pull) and
        M(openbanking.content_trust.cosign_verify) read both.
      - A tag already carrying a signature that verifies for it is not signed again, whatever its form; withdraw it
        with M(openbanking.content_trust.cosign_revoke) (which removes both forms) to sign it again in this form.
    type: str
    choices: [default, containers]
    default: default
  cosign_cli:
    description: Name or path of the cosign binary (2.x or 3.x).
    type: str
    default: cosign
attributes:
  check_mode:
    support: full
    details: Reads the registry and verifies existing signatures; signs nothing.
  diff_mode:
    support: full
    details: Per tag (C(<repository>:<tag>)), the digest signed by this key for that tag before and after, and the
      key's fingerprint; never the key or its password.
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.cosign_key
  - module: openbanking.content_trust.cosign_verify
'''

EXAMPLES = r'''
- name: Sign release v1.4.0 with cosign
  openbanking.content_trust.cosign_sign:
    repository: registry.example.com/openbanking/conformance-suite
    tags: [v1.4.0, latest]
    key: /srv/cosign/release.key
    key_passphrase: "{{ vault_cosign_passphrase }}"
    annotations:
      release: v1.4.0
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
      description: The digest the registry serves for the tag, which is what is signed.
      type: str
    signed:
      description: Whether this run signed the digest for this tag (would sign, in check mode).
      type: bool
public_key:
  description: The public key of O(key) (PEM), which verifies the signatures.
  returned: always
  type: str
cosign_major_version:
  description: The major version of cosign detected (2 or 3).
  returned: always
  type: int
diff:
  description:
    - C(signer) (C(public_key_fingerprint), the SHA-256 of the public key in DER, as
      C(openssl pkey -pubin -in <key>.pub -outform DER | sha256sum) prints it) and C(signed_tags) (C(<repository>:<tag>)
      to the digest this key has signed for that tag, null when the digest the tag has now carries no signature by it
      for that tag), before and after. Equal when nothing is signed.
    - Returned only in diff mode (C(--diff)), in check mode too (what would be signed).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
      returned: when diff mode is on
    after:
      description: After the run (would be, in check mode).
      type: dict
      returned: when diff mode is on
  sample:
    before:
      signer: {public_key_fingerprint: 3f0c...}
      signed_tags: {"registry.example.com/acme/app:v1": null}
    after:
      signer: {public_key_fingerprint: 3f0c...}
      signed_tags: {"registry.example.com/acme/app:v1": "sha256:5b0b..."}
'''

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference, parse_tags
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action, InputError, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocibinding import (
    BINDING_ORIGIN, check_annotations, check_origin, tag_binding, with_binding,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocifiles import public_key_fingerprint
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocisig import (
    OciTools, by_digest, check_pinned, resolve_digests, signing_plan, signing_state,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import run_parallel


class Sign(Action):
    """Sign each tag whose digest has no signature by this key for this tag (with these annotations) yet: one
    ``cosign sign`` per tag, its tag binding among the annotations."""

    def inputs(self):
        p = self.params
        self.repository = parse_reference(p['repository'], allow_tag=False)
        self.tags = parse_tags(p['tags'])
        self.origin = check_origin(p['origin'])
        self.annotations = check_annotations(p['annotations'])
        # What a signature by this run carries besides its tag binding: the user's annotations and the origin.
        self.verify_annotations = with_binding(self.annotations, {BINDING_ORIGIN: self.origin} if self.origin else {})
        if not p['key_passphrase']:
            raise InputError('key_passphrase must not be empty: it unlocks the cosign private key %s' % p['key'])
        self.tools = OciTools(self.cli, cosign_cli=p['cosign_cli'], secrets=[p['key_passphrase']])

    def plan(self):
        p, tools, repository = self.params, self.tools, self.repository
        self.features = tools.cosign_features()
        # Deriving the public key checks the password before anything is signed.
        self.public = tools.cosign_public_key(p['key'], p['key_passphrase'])
        pub_path = self.pub_path = tools.write_public_keys([self.public])[0]
        # In check mode a tag not pushed yet (publish_release pushes first) would be signed once pushed.
        digests = resolve_digests(self.cli, repository, self.tags, missing_ok=self.module.check_mode)
        check_pinned(repository, digests, p['digests'])
        # One cosign verify per digest (and key) answers for every tag of it: the tags it is signed for are read
        # from the payloads cosign verified with this key (cosign_signed_for).
        signed = tools.cosign_signed_digests(repository, digests.values(), [pub_path], self.verify_annotations,
                                             p['transparency_log'])
        return signing_plan(self.tags, digests, lambda digest, tag: not (signed[digest][0]
                                                                         and tag in signed[digest][1]))

    def apply(self, plan):
        p = self.params
        # Distinct digests in parallel, the tags of one digest one after another: each signature of a digest
        # rewrites the digest's signature manifest (cosign 2.x: the sha256-<hex>.sig tag; 3.x: the referrers or
        # their index tag), and two at once could lose one.
        containers = p['signature_form'] == 'containers'
        run_parallel(lambda rows: [self.tools.cosign_sign(
            self.repository, row['digest'], p['key'], p['key_passphrase'],
            with_binding(self.annotations, tag_binding(self.repository, row['tag'], self.origin)),
            p['transparency_log'], containers_form=containers) for row in rows], by_digest(plan['to_sign']))
        return plan['to_sign']

    def verify(self, plan, outcome):
        # Read back: each new signature verifies for its tag (one cosign verify per digest).  A cosign that signs no
        # annotations in its bundle format (3.x before sigstore/cosign#4508) fails here, naming itself, instead of
        # leaving useless signatures.
        signed = self.tools.cosign_signed_digests(self.repository, [row['digest'] for row in outcome], [self.pub_path],
                                                  self.verify_annotations, self.params['transparency_log'])
        for row in outcome:
            verified, tags, problem = signed[row['digest']]
            if not (verified and row['tag'] in tags):
                raise TrustError('cosign signed %s@%s for tag %s, but no signature on it verifies for that tag '
                                 'afterwards%s' % (self.repository.gun, row['digest'], row['tag'],
                                                   (': %s' % problem) if problem else ''))

    def result(self, plan, outcome):
        signer = dict(public_key_fingerprint=public_key_fingerprint(self.public))
        return dict(changed=plan['changed'], results=plan['results'], public_key=self.public,
                    cosign_major_version=self.features['major'],
                    diff=self.diff(*signing_state(self.repository.gun, plan['results'], signer),
                                   header='%s (cosign signatures)' % self.repository.gun))


def main():
    module = build_module(dict(
        repository=dict(type='str', required=True),
        tags=dict(type='list', elements='str', required=True),
        origin=dict(type='str'),
        digests=dict(type='dict', default={}),
        key=dict(type='path', required=True, no_log=False),
        key_passphrase=dict(type='str', required=True, no_log=True),
        annotations=dict(type='dict', default={}),
        transparency_log=dict(type='bool', default=False),
        signature_form=dict(type='str', default='default', choices=['default', 'containers']),
        cosign_cli=dict(type='str', default='cosign'),
    ), passphrases='ignored', requires=('cryptography', 'pexpect'))
    run(module, Sign)


if __name__ == '__main__':
    main()
