#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: notation_sign
short_description: Sign the digests of image tags with Notation, idempotently
version_added: 0.1.0
description:
  - Resolves each tag of O(repository) to the digest the registry serves for it and signs that DIGEST with
    C(notation sign), using the private key O(key) and the certificate chain O(certificate_chain).
  - Each signature names the repository and the tag it is for in its signed user metadata
    (C(notation sign --user-metadata)), under C(org.openbanking.content_trust.repository) (the repository, such
    as C(127.0.0.1:5000/acme/app)) and C(org.openbanking.content_trust.tag). The verifiers
    (M(openbanking.content_trust.notation_verify), M(openbanking.content_trust.trust_pull)) require them for the
    tag they verify, so a signature on the digest of C(v1.0.0) does not verify when a registry attacker points
    C(v2.0.0) at that digest. A digest carried by two tags therefore gets one signature per tag.
  - Idempotent - a tag whose digest already carries a Notation signature for this tag by the leaf certificate
    of O(certificate_chain), that verifies under a strict policy trusting the chain's root, is left alone; no
    new signature is pushed and the task reports no change. A signature made before the tag binding (no such
    metadata) does not count, and the tag is signed again.
  - Notation signs only with an unencrypted key file. O(key) is the signer's own file (issued by their CA, mode
    0600), read in place and never copied - the one place in this collection where a private key rests
    decrypted. Keep it on the signing host only, readable by its owner only.
  - The notation configuration (the signing key entry, by path) lives in a private temporary directory of this
    run (C(XDG_CONFIG_HOME)); the host's notation configuration is neither read nor changed.
  - A loopback registry is reached over plain http (as docker does), any other registry over TLS with the
    credentials of O(docker_config).
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
    description:
      - Path to the PEM private key of the signing certificate, unencrypted, owned by the user it is meant for
        (O(key_owner)), mode 0600 (the task fails otherwise, before anything is signed).
    type: path
    required: true
  key_owner:
    description:
      - The uid of the user O(key) is meant for; the key must be that user's file.
      - Unset, the user running the task, and when that is root under C(sudo), also the user who ran C(sudo)
        (C(SUDO_UID)). With become, the P(openbanking.content_trust.publish_release#role) role gives the uid of
        the user its docker configuration belongs to.
    type: int
  certificate_chain:
    description:
      - Path to the PEM certificate chain, leaf first, ending with the root CA. The leaf must carry the
        code-signing extended key usage Notation requires (C(extendedKeyUsage=codeSigning)) and a
        C(digitalSignature) key usage, and must not be a CA.
    type: path
    required: true
  notation_cli:
    description: Name or path of the notation binary.
    type: str
    default: notation
notes:
  - "Making a key and chain with openssl (a CA, then a leaf with the code-signing usage):"
  - "C(openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 3650
    -subj '/C=GB/ST=London/O=Acme/CN=Acme Signing CA' -addext basicConstraints=critical,CA:true
    -addext keyUsage=critical,keyCertSign,cRLSign)"
  - "C(openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout signer.key -out signer.csr
    -subj '/C=GB/ST=London/O=Acme/CN=release signer')"
  - "C(printf 'basicConstraints=critical,CA:false\\nkeyUsage=critical,digitalSignature\\nextendedKeyUsage=codeSigning\\n'
    > leaf.ext; openssl x509 -req -in signer.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365
    -extfile leaf.ext -out signer.crt; cat signer.crt ca.crt > signer-chain.pem; chmod 600 signer.key)"
attributes:
  check_mode:
    support: full
    details: Reads the registry and the existing signatures; signs nothing.
  diff_mode:
    support: full
    details: Per tag (C(<repository>:<tag>)), the digest signed with this certificate for that tag before and after,
      and the certificate's fingerprint; never the key.
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.notation_verify
'''

EXAMPLES = r'''
- name: Sign release v1.4.0 with Notation
  openbanking.content_trust.notation_sign:
    repository: registry.example.com/openbanking/conformance-suite
    tags: [v1.4.0, latest]
    key: /srv/notation/signer.key
    certificate_chain: /srv/notation/signer-chain.pem
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
      description: Whether this run signed the digest (would sign, in check mode).
      type: bool
certificate_fingerprint:
  description: SHA-256 fingerprint (hex) of the signing (leaf) certificate.
  returned: always
  type: str
diff:
  description:
    - C(signer) (C(certificate_fingerprint), as returned) and C(signed_tags) (C(<repository>:<tag>) to the digest
      signed with this certificate for that tag, null when the digest the tag has now carries no such signature for
      that tag), before and after. Equal when nothing is signed.
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
      signer: {certificate_fingerprint: 9a41...}
      signed_tags: {"registry.example.com/acme/app:v1": null}
    after:
      signer: {certificate_fingerprint: 9a41...}
      signed_tags: {"registry.example.com/acme/app:v1": "sha256:5b0b..."}
'''

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference, parse_tags
from ansible_collections.openbanking.content_trust.plugins.module_utils._hostuser import key_owner_uids
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocibinding import check_origin, tag_binding
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocifiles import check_notation_signing_files
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocisig import (
    OciTools, by_digest, check_pinned, resolve_digests, signing_plan, signing_state,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import run_parallel


class Sign(Action):
    """Sign each tag whose digest has no signature by this certificate for this tag yet: one ``notation sign``
    per tag, its tag binding as user metadata."""

    def inputs(self):
        p = self.params
        self.repository = parse_reference(p['repository'], allow_tag=False)
        self.tags = parse_tags(p['tags'])
        self.origin = check_origin(p['origin'])
        owners = key_owner_uids(p['key_owner'], os.geteuid(), os.environ.get('SUDO_UID'))
        self.fingerprint, self.chain = check_notation_signing_files(p['key'], p['certificate_chain'], owners)
        self.tools = OciTools(self.cli, notation_cli=p['notation_cli'])

    def plan(self):
        p, tools, repository, fingerprint = self.params, self.tools, self.repository, self.fingerprint
        tools.notation_path()
        tools.notation_use_key(p['key'], p['certificate_chain'])
        # "Already signed" means: a signature by this very certificate bound to this tag (notation inspect
        # lists it), and one bound to this tag valid under a strict policy that trusts the root of its chain
        # (notation verify --user-metadata, which checks the signed payload).
        tools.notation_trust(repository, [self.chain[-1]])
        # In check mode a tag not pushed yet (publish_release pushes first) would be signed once pushed.
        digests = resolve_digests(self.cli, repository, self.tags, missing_ok=self.module.check_mode)
        check_pinned(repository, digests, p['digests'])
        # One notation inspect per digest finds the candidates; each candidate tag is then verified for real
        # (notation verify --user-metadata), a few at a time: inspect verifies nothing.
        listed = tools.notation_signed_digests(repository, digests.values(), fingerprint)
        candidates = [t for t in self.tags if digests.get(t) and t in listed[digests[t]]]
        verified = dict(zip(candidates, run_parallel(lambda tag: tools.notation_verified(
            repository, digests[tag], tag_binding(repository, tag, self.origin))[0], candidates)))
        return signing_plan(self.tags, digests, lambda digest, tag: not verified.get(tag))

    def apply(self, plan):
        # Distinct digests in parallel, the tags of one digest one after another: each signature of a digest
        # updates the digest's list of signatures in the registry (the referrers, or the sha256-<hex> index tag of
        # a registry without the referrers API), and two at once could lose one.
        run_parallel(lambda rows: [self.tools.notation_sign(self.repository, row['digest'], tag_binding(
            self.repository, row['tag'], self.origin)) for row in rows], by_digest(plan['to_sign']))
        return plan['to_sign']

    def result(self, plan, outcome):
        signer = dict(certificate_fingerprint=self.fingerprint)
        return dict(changed=plan['changed'], results=plan['results'], certificate_fingerprint=self.fingerprint,
                    diff=self.diff(*signing_state(self.repository.gun, plan['results'], signer),
                                   header='%s (Notation signatures)' % self.repository.gun))


def main():
    module = build_module(dict(
        repository=dict(type='str', required=True),
        tags=dict(type='list', elements='str', required=True),
        origin=dict(type='str'),
        digests=dict(type='dict', default={}),
        key=dict(type='path', required=True, no_log=False),
        key_owner=dict(type='int', no_log=False),
        certificate_chain=dict(type='path', required=True),
        notation_cli=dict(type='str', default='notation'),
    ), passphrases='ignored', requires=('cryptography',))
    run(module, Sign)


if __name__ == '__main__':
    main()
