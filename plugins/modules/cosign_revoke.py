#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: cosign_revoke
short_description: Withdraw the cosign signatures of image tags from the registry
version_added: 0.1.0
description:
  - Removes from the registry the cosign signatures bound to O(tags) of O(repository) (the tag binding
    M(openbanking.content_trust.cosign_sign) signs, C(org.openbanking.content_trust.repository) and
    C(org.openbanking.content_trust.tag)), so that C(cosign verify -a org.openbanking.content_trust.tag=<tag>), and
    every verifier of this collection, no longer finds a signature for that tag. The signatures of other tags on the
    same digest stay.
  - What is removed is decided from what each signature SIGNS - the simple-signing payload's C(optional) section
    (cosign 2.x, and 3.x with C(--new-bundle-format=false)), the subject annotations of the in-toto statement in a
    cosign 3.x bundle - read from the blob by its digest, never from manifest or layer annotations, which anyone who
    can push can write. A signature bound to another tag, another repository or to no tag is never removed.
    Signatures are not verified first - a forged signature bound to the tag is removed with the others - and whichever
    key made it.
  - cosign 2.x signatures (the C(sha256-<hex>.sig) tag, one layer per signature) - the manifest is pushed again
    without the layers removed (a manifest PUT; no DELETE is needed). With no layer left it is pushed with none,
    and C(cosign verify) says C(no signatures found), as for a digest never signed.
  - cosign 3.x bundles (one manifest per signature, a referrer of the digest, found through the referrers API or in
    the C(sha256-<hex>) fallback index that Notation signatures share) - the bundles' manifests are deleted and the
    fallback index is pushed again without them, every other entry (the other tags' bundles, Notation signatures)
    kept. The registry must allow manifest DELETEs (docker-registry -
    C(storage.delete.enabled) set to C(true)); where it does
    not, the task fails before anything changes, naming that setting.
  - Deleting a signature is cleanup and a signal to consumers outside your inventory. It protects nobody against
    someone who controls the registry, who can push the deleted signature again; consumers refuse a withdrawn tag on
    their side.
  - A loopback registry is reached over plain http (as docker does), any other registry over TLS with the
    credentials of O(docker_config), which must allow pushing (and deleting) in the repository.
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
    description: The repository (GUN), without a tag, for example C(registry.example.com/acme/app).
    type: str
    required: true
  tags:
    description: Tags whose cosign signatures to withdraw.
    type: list
    elements: str
    required: true
  digests:
    description:
      - The digest whose signatures to withdraw for a tag, tag to C(sha256:...), for a tag the registry no longer
        serves (deleted, or moved by someone who can push). Tags not named here are resolved in the registry.
    type: dict
    default: {}
  origin:
    description:
      - Withdraw only the signatures that say they were made by this origin (C(org.openbanking.content_trust.origin), set
        by O(openbanking.content_trust.cosign_sign#module:origin)); the others bound to the tags stay. The bridge withdraws with
        V(notary), so it never removes a signature it did not make.
    type: str
  missing:
    description:
      - What to do about a tag of O(tags) with no cosign signature bound to it (already withdrawn, never signed, or
        mistyped), as in M(openbanking.content_trust.trust_revoke).
      - V(warn) leaves it alone and warns, naming the tags the signatures on its digest are bound to.
      - V(fail) fails, before anything is withdrawn, with the same message.
      - V(ignore) leaves it alone silently (it is still listed in RV(unsigned)).
    type: str
    choices: [warn, fail, ignore]
    default: warn
attributes:
  check_mode:
    support: full
    details: Reads the signatures and asks the registry whether it deletes manifests (a DELETE of a manifest that
      cannot exist); changes nothing.
  diff_mode:
    support: full
    details: Per tag (C(<repository>:<tag>)), the signatures bound to it before and after.
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.cosign_sign
  - module: openbanking.content_trust.notation_revoke
  - module: openbanking.content_trust.trust_revoke
notes:
  - Two runs withdrawing signatures of the same digest at the same time may undo each other's rewrite of the
    signature manifest or the fallback index; run them one after the other.
'''

EXAMPLES = r'''
- name: Withdraw the cosign signature of a bad release tag (v2.0.0 on the same digest keeps its own)
  openbanking.content_trust.cosign_revoke:
    repository: registry.example.com/openbanking/conformance-suite
    tags: [v2.0]
    missing: fail  # a tag with no signature is a typo here, not an earlier run
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
      description: The digest whose signatures were read (the registry's for the tag, or O(digests)); null for a tag
        the registry does not have.
      type: str
    format:
      description: The signature format, C(cosign).
      type: str
    revoked:
      description: Whether this run withdrew signatures bound to the tag (would withdraw, in check mode).
      type: bool
    unsigned:
      description: Whether no cosign signature on the digest was bound to the tag (nothing to withdraw).
      type: bool
    signatures:
      description: The signatures withdrawn (would be, in check mode), each C(kind) (C(simple-signing), a layer of
        C(sha256-<hex>.sig) - C(digest) is the layer's; C(bundle), a cosign 3.x bundle - C(digest) is its manifest's).
      type: list
      elements: dict
revoked:
  description: Tags whose signatures were withdrawn (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [v2.0]
unsigned:
  description: Tags of O(tags) with no cosign signature bound to them, left alone.
  returned: always
  type: list
  elements: str
diff:
  description:
    - C(signatures) - each tag asked for, as C(<repository>:<tag>), to the cosign signatures bound to it
      (C(<kind> <digest>)), before and after. An empty list after means that no signature of this format
      verifies for the tag any more. Equal when nothing is withdrawn.
    - Returned only in diff mode (C(--diff)), in check mode too (what would be withdrawn).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Before the change, C(signatures) (C(<repository>:<tag>) to a list).
      type: dict
      returned: when diff mode is on
    after:
      description: After the change (would be, in check mode).
      type: dict
      returned: when diff mode is on
'''

from ansible_collections.openbanking.content_trust.plugins.module_utils._module import build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocirevoke import (
    REVOKE_ARGUMENT_SPEC, RevokeSignatures,
)


class Revoke(RevokeSignatures):
    """cosign 2.x signature layers and cosign 3.x bundles bound to the tags."""

    FORMAT = 'cosign'


def main():
    module = build_module(dict(REVOKE_ARGUMENT_SPEC), passphrases='ignored', requires=('cryptography',))
    run(module, Revoke)


if __name__ == '__main__':
    main()
