#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_verify
short_description: Verify signed releases as a consumer would, in one call
version_added: 0.1.0
description:
  - For every tag of every image, checks that the tag is signed, that the signed digest is the digest the
    registry serves for the tag (and the one expected, when given), and that the expected signer signed it;
    then pulls the signed digest as M(openbanking.content_trust.trust_pull) does, as a consumer would.
  - Trust data of all images is read with one C(docker trust inspect) call where docker has C(docker trust)
    (docker 28.x and older, or 29 with the docker-trust plugin), otherwise with the notary CLI, which
    verifies the same TUF metadata; registry digests with one C(HEAD) request per tag.
  - A tag that does not verify is reported in RV(results) with its problems; the task does not fail for it
    unless O(fail_on_unverified=true), so that a report can still be written. A Notary server or registry that
    cannot be reached fails the task, naming it.
  - The pull does not depend on the docker CLI, since docker CLI 29 verifies nothing on pull
    (C(DOCKER_CONTENT_TRUST=1 docker pull) of an unsigned tag succeeds there). C(REPO@sha256:...) of the signed
    digest is pulled through the daemon with the Docker SDK, and the image's C(RepoDigests) must hold it.
    RV(verified_with) says which CLI read the trust data and how the tags were pulled.
author:
  - Open Banking (@OpenBankingUK)
requirements:
  - Python library C(cryptography) on the host that runs the module
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary
  - openbanking.content_trust.common.ignored_passphrases
  - ansible.builtin.action_common_attributes
options:
  images:
    description:
      - The images to verify.
    type: list
    elements: dict
    required: true
    suboptions:
      repository:
        description: Repository (GUN), without a tag.
        type: str
        required: true
      tags:
        description: Tags to verify.
        type: list
        elements: str
        required: true
      digests:
        description: Digests expected per tag (C(sha256:...)), for example what RV(openbanking.content_trust.trust_push#module:results) reported.
        type: dict
  signer:
    description:
      - A signer that must be among the signers of every tag.
      - A name (a string, for example V(jeff)), matched by name as C(docker trust inspect) shows it; or the signer with
        its keys, a dict with C(name) and C(key_ids) (64 hex characters each, as
        RV(openbanking.content_trust.trust_info#module:repositories[].signers[].key_ids) shows them) and/or
        C(public_key) (PEM, as the inventory's C(signers[].public_key)) or C(public_keys). Then a tag verifies only
        when the verified C(targets) metadata delegates C(targets/<name>) to one of those keys and that role's metadata,
        which lists the tag, carries a valid signature by one of them; a signer of the same name that someone holding
        the repository key added with another key does not count. See M(openbanking.content_trust.trust_pull)'s
        O(openbanking.content_trust.trust_pull#module:signers).
    type: raw
  root_key_ids:
    description:
      - Pinned roots, a map of repository (GUN) to the root key IDs accepted for it, as
        M(openbanking.content_trust.trust_pull) takes them.
      - A pinned repository is read by the notary CLI under its own trust pinning (C(trust_pinning.certs),
        C(disable_tofu)), with a TUF cache established under the pins, so its root must be signed by the pinned root
        keys, meeting the root role's threshold. A root that only lists a pinned certificate, or that another key
        signed, does not verify. docker trust inspect cannot pin and is never used for a pinned repository.
      - Every repository of O(images) must be pinned unless O(allow_unpinned) is true, and every repository named
        here must be one of O(images) (a pin with a typo fails the task and names the closest repository).
      - A repository not pinned here whose root private key is in this host's trust directory (the signing host that
        initialized it) is pinned to that key (RV(held_root_pins)).
    type: dict
  allow_unpinned:
    description:
      - Trust on first use for the repositories that O(root_key_ids) does not pin - whatever root the Notary server
        hands out first is trusted, so whoever controls that server decides what verifies. Shown as a warning.
      - When false (the default), a repository without a pin fails the task before anything is read.
    type: bool
    default: false
  pull:
    description:
      - Which tags to pull by their signed digest through the docker daemon (Docker SDK). V(first) pulls the first
        tag of each image (the release version), V(all) every tag, V(none) none. An image already present with the
        signed digest in its C(RepoDigests) is not pulled again.
    type: str
    choices: [first, all, none]
    default: first
  fail_on_unverified:
    description:
      - Fail the task, naming every tag that does not verify.
    type: bool
    default: false
  revoked:
    description:
      - The revocation list, as M(openbanking.content_trust.trust_pull) takes it (the inventory's
        C(content_trust_revoked_images)). A tag of O(images) listed here does not verify, whatever its signatures,
        and is reported in RV(results) with the reason; it is not pulled.
    type: list
    elements: dict
    default: []
    suboptions:
      repository:
        description: Repository (GUN), without a tag.
        type: str
        required: true
      tags:
        description: The withdrawn tags.
        type: list
        elements: str
        required: true
      reason:
        description: Why they were withdrawn.
        type: str
        required: true
attributes:
  check_mode:
    support: full
    details: >-
      Read-only apart from the pull into the daemon's image store, which also runs in check mode; a pull that
      fetched an image the daemon did not have reports C(changed).
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.trust_push
  - module: openbanking.content_trust.trust_info
'''

EXAMPLES = r'''
- name: Verify release v1.0.0 as a consumer would
  openbanking.content_trust.trust_verify:
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/openbanking/conformance-suite
        tags: [v1.0.0, latest]
    signer: jeff
    root_key_ids:
      registry.example.com/openbanking/conformance-suite:
        - 3f0c9dbc1bd3bd2b3a3c8e6a3fd8a0c5fd9f2e0c5a4f3c6b3e1f9d2c7b8a6e5d
    fail_on_unverified: true

- name: Verify it was jeff's own key that signed, not only a signer named jeff
  openbanking.content_trust.trust_verify:
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/openbanking/conformance-suite
        tags: [v1.0.0]
    signer:
      name: jeff
      key_ids: [8ae710e3ba82b0c1b6a2f7a5c0e3a3cf8c1ab5b6e0b4d1d8b1e1f6f4c8a6f9d1]
    root_key_ids:
      registry.example.com/openbanking/conformance-suite:
        - 3f0c9dbc1bd3bd2b3a3c8e6a3fd8a0c5fd9f2e0c5a4f3c6b3e1f9d2c7b8a6e5d
    fail_on_unverified: true
'''

RETURN = r'''
error_kind:
  description:
    - When the task failed, the class of the failure, the same for the same cause in every module of the collection -
      V(bad_input) (an option, found before anything changed), V(bad_key), V(wrong_passphrase), V(missing_signing_key),
      V(notary_unreachable), V(notary_tls_untrusted), V(repository_unknown), V(registry_unreachable),
      V(daemon_unreachable) (the docker daemon's socket is not there or this user may not open it - a local failure,
      not a verdict about an image),
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
    reference:
      description: C(repository:tag).
      type: str
    repository:
      description: Repository (GUN).
      type: str
    tag:
      description: Tag.
      type: str
    signed_digest:
      description: Digest signed in the trust data, or None.
      type: str
    registry_digest:
      description: Digest the registry serves for the tag, or None.
      type: str
    signers:
      description: Signers of the signed digest.
      type: list
      elements: str
    pulled:
      description: Whether the signed digest was pulled (or was present) and checked in C(RepoDigests) (None when not attempted).
      type: bool
    verified:
      description: Whether every check passed.
      type: bool
    problems:
      description: What did not verify.
      type: list
      elements: str
repositories:
  description:
    - The trust data of each image's repository, as M(openbanking.content_trust.trust_info) returns it
      (signers with their key IDs, root and repository key IDs), for reports.
  returned: always
  type: list
  elements: dict
verified_with:
  description: Which CLI verified, and how; for reports.
  returned: always
  type: dict
  contains:
    docker_cli:
      description: The docker CLI (O(docker_cli)), or None when the host has none.
      type: str
    docker_version:
      description: Its version, for example C(28.2.2) or C(29.7.2).
      type: str
    trust_data:
      description: How the trust data was read and verified - V(docker trust inspect) or V(notary).
      type: str
    pull:
      description:
        - How tags were pulled. V(signed digest) - C(REPO@DIGEST) of the signed digest, through the daemon with
          the Docker SDK, checked in the pulled image's C(RepoDigests), whatever the docker CLI (docker 29 and later
          check nothing on C(DOCKER_CONTENT_TRUST=1 docker pull)). V(none) - nothing pulled.
      type: str
  sample: {docker_cli: docker, docker_version: 28.2.2, trust_data: docker trust inspect, pull: signed digest}
held_root_pins:
  description:
    - The repositories this run pinned to a root key the host holds (repository to root key IDs), for those
      O(root_key_ids) does not pin. A host whose trust directory holds a repository's root private key (the signing host
      that initialized it) pins the repository to that key's certificate in the root the server serves, and notary then
      accepts the root only with a valid signature by that key.
  returned: always
  type: dict
  sample: {registry.example.com/openbanking/conformance-suite: [6a4fbd2a0f7b1f56f9b3b0a6a0e8c1d2f5b7e9a1c3d5f7091b2d4f6a8c0e2b4d]}
verified:
  description: Whether every tag verified.
  returned: always
  type: bool
unverified:
  description: References that did not verify.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import Unverified
from ansible_collections.openbanking.content_trust.plugins.module_utils._notaryaction import NotaryReader
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import (
    check_pins_cover, parse_root_pins, unpinned_warning,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import parse_revoked
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerkeys import parse_signer
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import held_root_pins
from ansible_collections.openbanking.content_trust.plugins.module_utils._verified_pull import check_release, parse_images


def _inputs(p):
    return [(ref, tags, dict(image.get('digests') or {}))
            for (ref, tags), image in zip(parse_images(p['images']), p['images'])]


class Verify(NotaryReader):
    """Each tag: signed, signed for the digest the registry serves (and the one expected), by the signer, under a
    pinned root, and (``pull``) pullable by that digest."""

    def inputs(self):
        self.images = _inputs(self.params)
        self.signer = parse_signer(self.params['signer'], 'signer') if self.params['signer'] is not None else None
        self.pins = parse_root_pins(self.params['root_key_ids'])
        self.held = held_root_pins(self.cli, [image[0] for image in self.images], self.pins)
        self.pins.update(self.held)
        self.unpinned = check_pins_cover(self.images, self.pins, self.params['allow_unpinned'])
        self.revoked = parse_revoked(self.params['revoked'], 'revoked')

    def plan(self):
        result = check_release(self.cli, self.images, self.signer, self.pins, self.params['pull'], revoked=self.revoked)
        if result['unverified'] and self.params['fail_on_unverified']:
            raise Unverified('these tags do not verify: %s' % '; '.join(
                '%s (%s)' % (r['reference'], ', '.join(r['problems'])) for r in result['results'] if not r['verified']))
        result['held_root_pins'] = self.held
        if self.unpinned:
            self.module.warn(unpinned_warning(self.unpinned))
        return result


def main():
    module = build_module(dict(
        images=dict(type='list', elements='dict', required=True, options=dict(
            repository=dict(type='str', required=True),
            tags=dict(type='list', elements='str', required=True),
            digests=dict(type='dict'),
        )),
        signer=dict(type='raw'),
        root_key_ids=dict(type='dict', no_log=False),
        allow_unpinned=dict(type='bool', default=False),
        pull=dict(type='str', default='first', choices=['first', 'all', 'none']),
        fail_on_unverified=dict(type='bool', default=False),
        revoked=dict(type='list', elements='dict', default=[], options=dict(
            repository=dict(type='str', required=True),
            tags=dict(type='list', elements='str', required=True),
            reason=dict(type='str', required=True),
        )),
    ), passphrases='ignored', requires=('cryptography',))
    run(module, Verify)


if __name__ == '__main__':
    main()
