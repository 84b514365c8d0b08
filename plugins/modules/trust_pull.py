#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_pull
short_description: Pull only what was signed, by its signed digest, with pinned roots
version_added: 0.1.0
description:
  - For deploy hosts. Reads each repository's verified trust data (the notary CLI, or C(docker trust) where the
    docker CLI has it), checks the repository's root against O(root_key_ids) and every tag against O(signers),
    resolves each tag to its signed digest, pulls C(repository@sha256:...) through the docker daemon with the
    Docker SDK, checks that the image's C(RepoDigests) holds the signed digest, and points the local
    C(repository:tag) at it.
  - Works whatever the docker CLI - docker CLI 29, which verifies nothing on pull, or no docker CLI at all.
  - An unsigned tag, a tag not signed by O(signers), a root that is not pinned, expired or otherwise invalid trust
    metadata, or pulled content whose digest is not the signed one fails the task, naming the image and why,
    before any local tag is moved. Nothing is pulled unless every image verifies.
  - A registry tag that points somewhere else than the signed digest is not a failure (the signed digest is what
    gets pulled) but a warning.
  - The pins are enforced by notary's trust pinning in the configuration of the notary invocation the module itself
    makes; no client configuration file of the host is relied on.
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary
  - openbanking.content_trust.common.ignored_passphrases
  - ansible.builtin.action_common_attributes
options:
  images:
    description:
      - The images to pull, in the shape M(openbanking.content_trust.trust_verify) takes.
    type: list
    elements: dict
    required: true
    suboptions:
      repository:
        description: Repository (GUN), without a tag, for example C(registry.example.com/acme/app).
        type: str
        required: true
      tags:
        description: Tags to pull.
        type: list
        elements: str
        required: true
  signers:
    description:
      - Each tag must be signed by at least one of these signers (by all of them with O(require_all_signers)).
      - When not set, any valid signature in C(targets) or C(targets/releases) is accepted.
      - A signer is given by name (a string, for example V(jeff)) or with its keys, as a dict with C(name) and
        C(key_ids) (a list of key IDs, 64 hex characters, as RV(openbanking.content_trust.trust_info#module:repositories[].signers[].key_ids)
        and the C(openbanking.content_trust.key_id) filter show them) and/or C(public_key) (the signer's public key or
        certificate, PEM, as in the inventory's C(signers[].public_key)) or C(public_keys) (a list of them). Other keys
        are refused, and so is a private key given as C(public_key) (without echoing it).
      - A signer given by name only is matched by name, as C(docker trust inspect) shows it - the tag is in the role
        C(targets/<name>). With pinned roots an outsider cannot add a signer of that name, but whoever holds the
        repository key can (a second key for it, or a new delegation of the same name).
      - A signer given with keys counts only when the verified C(targets) metadata delegates C(targets/<name>) to one
        of its keys and the C(targets/<name>) metadata that lists the tag carries a valid signature by one of them
        (checked here, over notary's canonical JSON). A holder of the repository key cannot forge that.
    type: list
    elements: raw
  require_all_signers:
    description:
      - Each tag must be signed by every one of O(signers), for the same digest.
    type: bool
    default: false
  root_key_ids:
    description:
      - Pinned roots, a map of repository (GUN) to the list of root key IDs accepted for it, exactly as
        C(docker trust inspect) and RV(openbanking.content_trust.trust_info#module:repositories[].root_key_ids)
        show them (the root certificate's ID, which differs per repository).
      - A pinned repository is read by the notary CLI under its own trust pinning (C(trust_pinning.certs),
        C(disable_tofu)), with a TUF cache established under the pins (below O(docker_config)C(/trust/pinned)) - its
        root must be signed by the pinned root keys, meeting the root role's threshold. A root that only lists a
        pinned certificate, or that another key signed, fails. docker trust inspect cannot pin and is never used for
        a pinned repository. The root key IDs are compared as a second check.
      - With V(notary) in O(formats), every repository of O(images) must be pinned unless O(allow_unpinned) is true;
        every repository named here must be one of O(images) (a pin with a typo fails and names the closest one).
      - A repository not pinned here whose root private key is in this host's trust directory is pinned to that key
        (RV(held_root_pins)).
    type: dict
  allow_unpinned:
    description:
      - Trust on first use for the repositories that O(root_key_ids) does not pin - whatever root the Notary server
        hands out first is trusted, so whoever controls that server decides what gets pulled. Shown as a warning.
      - When false (the default), a repository without a pin fails the task before anything is read or pulled.
    type: bool
    default: false
  tag_locally:
    description:
      - Point the local C(repository:tag) at the verified image. V(false) only pulls by digest.
    type: bool
    default: true
  formats:
    description:
      - The signature formats that must verify; EVERY one listed must, on the same digest.
      - V(notary) - Docker Content Trust (Notary v1), with O(signers), O(require_all_signers) and O(root_key_ids).
      - V(cosign) - a cosign signature that one of O(cosign_public_keys) verifies.
      - V(notation) - a Notation signature from a certificate chain to one of O(notation_ca_certificates).
      - With V(notary) the digest pulled is the Notary-signed one, and cosign and Notation must have signed that
        same digest. Without it, the digest the registry serves for the tag now is what the other formats must have
        signed, and what gets pulled. A deploy host can so require a cosign or Notation signature instead of, or as
        well as, the Notary one, and switch over one format at a time.
    type: list
    elements: str
    choices: [notary, cosign, notation]
    default: [notary]
  cosign_public_keys:
    description: Public keys (PEM) for V(cosign) in O(formats); a signature by any one of them verifies.
    type: list
    elements: str
  notation_ca_certificates:
    description: CA certificates (PEM) for V(notation) in O(formats), trusted under a strict trust policy.
    type: list
    elements: str
  notation_trusted_identities:
    description:
      - "For V(notation) in O(formats): the subjects of the signing certificates Notation accepts, as
        M(openbanking.content_trust.notation_verify) takes them (C(x509.subject: C=GB, ST=London, O=Acme, CN=release));
        required unless O(notation_trust_any_identity)."
    type: list
    elements: str
  notation_trust_any_identity:
    description:
      - For V(notation) in O(formats), accept a signature by any certificate the CAs of O(notation_ca_certificates)
        issued. When false (the default), O(notation_trusted_identities) must name the subjects to trust.
    type: bool
    default: false
  require_tag_binding:
    description:
      - For V(cosign) and V(notation) in O(formats), count only a signature whose signed payload names the image's
        repository and the tag being pulled (C(org.openbanking.content_trust.repository) and
        C(org.openbanking.content_trust.tag), which M(openbanking.content_trust.cosign_sign) and
        M(openbanking.content_trust.notation_sign) sign). cosign and Notation sign digests; without the binding a
        registry attacker who points a tag at the digest of another signed release gets that release pulled under
        the tag.
      - V(false) accepts a signature on the digest whatever tag it was made for, including signatures made before
        the tag binding existed. Use it only until those are re-signed.
    type: bool
    default: true
  revoked:
    description:
      - The revocation list, in the shape of O(images) plus a reason (the inventory's C(content_trust_revoked_images)).
        Every tag listed here is refused, in every format, whatever signatures the registry and the Notary server
        serve - deleting a signature protects nobody against whoever controls the registry, who can push it again.
      - A tag of O(images) listed here fails the task (C(error_kind=unverified)) with the reason, and nothing is
        pulled or tagged.
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
        description: Why they were withdrawn; shown wherever a tag is refused.
        type: str
        required: true
  untag_revoked:
    description:
      - Remove the local tags of O(revoked) from this host, and the local tags that point at a withdrawn digest - a
        digest that a tag of O(revoked) points at on this host and that no verified tag of O(images) uses - every
        local tag of that repository on that image (such as C(latest)). Reported in RV(untagged). The tags of
        O(images) are never removed.
      - Containers running such an image are reported in RV(running) and as a warning; they are not stopped.
    type: bool
    default: false
  cosign_cli:
    description: Name or path of the cosign CLI, for V(cosign) in O(formats).
    type: str
    default: cosign
  notation_cli:
    description: Name or path of the notation CLI, for V(notation) in O(formats).
    type: str
    default: notation
attributes:
  check_mode:
    support: full
    details: Verifies everything and reports what would be pulled and tagged; pulls and tags nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - Python library C(cryptography) on the host that runs the module
  - Docker SDK for Python (C(docker)) and a docker daemon (O(docker_host))
  - notary CLI (pinned repositories are always read with it; unpinned ones where the docker CLI has no C(docker trust))
notes:
  - The trust data is cached under O(docker_config)C(/trust), as docker and notary cache it, so a repository whose
    root changes without a valid rotation also fails where it was read before.
  - The role C(openbanking.content_trust.trusted_consumer) (C(playbooks/pull_verified.yml)) runs this module on deploy
    hosts; C(docs/consumers.md) explains how to take the pins from M(openbanking.content_trust.trust_info).
seealso:
  - module: openbanking.content_trust.trust_info
  - module: openbanking.content_trust.trust_verify
'''

EXAMPLES = r'''
- name: Pull the release, signed by jeff, with the repository's root pinned
  openbanking.content_trust.trust_pull:
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/openbanking/conformance-suite
        tags: [v1.0.0]
    signers: [jeff]
    root_key_ids:
      registry.example.com/openbanking/conformance-suite:
        - 3f0c9dbc1bd3bd2b3a3c8e6a3fd8a0c5fd9f2e0c5a4f3c6b3e1f9d2c7b8a6e5d

- name: The same, but only jeff's own key counts (a holder of the repository key cannot make another "jeff")
  openbanking.content_trust.trust_pull:
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/openbanking/conformance-suite
        tags: [v1.0.0]
    signers:
      - name: jeff
        public_key: "{{ lookup('ansible.builtin.file', 'keys/jeff.pub') }}"
    root_key_ids:
      registry.example.com/openbanking/conformance-suite:
        - 3f0c9dbc1bd3bd2b3a3c8e6a3fd8a0c5fd9f2e0c5a4f3c6b3e1f9d2c7b8a6e5d

- name: Pull only what both release managers signed, on a host with docker CLI 29
  openbanking.content_trust.trust_pull:
    docker_cli: /usr/bin/docker
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/acme/app
        tags: [v2.3.1, latest]
    signers: [alice, jeff]
    require_all_signers: true
    root_key_ids:
      registry.example.com/acme/app: [6c7e4f1d2b9a8e3c5d0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d]

- name: During the move off Notary v1, require the Notary AND the cosign signature on the same digest
  openbanking.content_trust.trust_pull:
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/acme/app
        tags: [v2.3.1]
    formats: [notary, cosign]
    root_key_ids:
      registry.example.com/acme/app: [6c7e4f1d2b9a8e3c5d0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d]
    cosign_public_keys:
      - "{{ lookup('ansible.builtin.file', 'keys/release-cosign.pub') }}"

- name: A repository whose root is not pinned yet, trusted on first use (shown as a warning)
  openbanking.content_trust.trust_pull:
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/acme/tools
        tags: [v1.0.0]
    allow_unpinned: true

- name: Pull the release, refusing what was withdrawn, and drop the local tags of withdrawn digests
  openbanking.content_trust.trust_pull:
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/acme/app
        tags: [v2.3.1]
    root_key_ids:
      registry.example.com/acme/app: [6c7e4f1d2b9a8e3c5d0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d]
    revoked:
      - repository: registry.example.com/acme/app
        tags: [v2.3.0]
        reason: CVE-2026-1234 in the TLS library
    untag_revoked: true

- name: After it, a cosign signature alone
  openbanking.content_trust.trust_pull:
    images:
      - repository: registry.example.com/acme/app
        tags: [v2.4.0]
    formats: [cosign]
    cosign_public_keys:
      - "{{ lookup('ansible.builtin.file', 'keys/release-cosign.pub') }}"
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
held_root_pins:
  description:
    - The repositories this run pinned to a root key the host holds (repository to root key IDs), for those
      O(root_key_ids) does not pin. A host whose trust directory holds a repository's root private key (the signing host
      that initialized it) pins the repository to that key's certificate in the root the server serves, and notary then
      accepts the root only with a valid signature by that key.
  returned: always
  type: dict
  sample: {registry.example.com/openbanking/conformance-suite: [6a4fbd2a0f7b1f56f9b3b0a6a0e8c1d2f5b7e9a1c3d5f7091b2d4f6a8c0e2b4d]}
results:
  description: One entry per tag, in order.
  returned: success
  type: list
  elements: dict
  contains:
    repository:
      description: Repository (GUN).
      type: str
    tag:
      description: Tag.
      type: str
    digest:
      description: The signed digest, which is what was pulled (C(sha256:...)).
      type: str
    signers:
      description: Signers of that digest.
      type: list
      elements: str
    root_key_id:
      description: The repository's root key ID (the pinned one, when pinned); None without V(notary) in O(formats).
      type: str
    formats:
      description: The signature formats that verified this digest (every one of O(formats)).
      type: list
      elements: str
    pulled:
      description: Whether the image was pulled (would be, in check mode); false when it was already present.
      type: bool
    tagged:
      description: Whether the local C(repository:tag) was moved to the image (would be, in check mode).
      type: bool
untagged:
  description: With O(untag_revoked), the local tags removed (would be, in check mode) because they point at a
    withdrawn digest.
  returned: success
  type: list
  elements: dict
  contains:
    repository:
      description: Repository (GUN).
      type: str
    tag:
      description: The local tag removed.
      type: str
    image:
      description: The local image ID it pointed at.
      type: str
    digests:
      description: The image's digests in the repository (C(RepoDigests)).
      type: list
      elements: str
    reason:
      description: Why the tag, or the listed tag on the same image, was withdrawn.
      type: str
running:
  description: With O(untag_revoked), the running containers of a withdrawn image; reported, not stopped.
  returned: success
  type: list
  elements: dict
  contains:
    container:
      description: Container ID.
      type: str
    name:
      description: Container name.
      type: str
    image:
      description: The image ID it runs.
      type: str
    reference:
      description: The image as the container was started with it.
      type: str
'''

from ansible_collections.openbanking.content_trust.plugins.module_utils._notaryaction import NotaryAction
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import InputError, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import (
    check_pins_cover, parse_root_pins, unpinned_warning,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import parse_revoked
from ansible_collections.openbanking.content_trust.plugins.module_utils._pulls import apply_pulls, apply_untag, plan_pulls, plan_untag, pull_results
from ansible_collections.openbanking.content_trust.plugins.module_utils._verified_pull import parse_images, verify_images
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerkeys import parse_signers
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import held_root_pins


class Pull(NotaryAction):
    """Pull each image by its verified signed digest and tag it: the plan is what the daemon lacks and which
    tags would move; apply pulls, checks the pulls, and moves the tags."""

    def inputs(self):
        p = self.params
        self.images = parse_images(p['images'])
        self.policy = policy = dict(signers=parse_signers(p['signers']), require_all_signers=p['require_all_signers'],
                                    root_key_ids=parse_root_pins(p['root_key_ids']))
        if policy['require_all_signers'] and not policy['signers']:
            raise InputError('require_all_signers needs signers: the list of signers that must all have signed each tag')
        self.formats = formats = p['formats']
        if not formats:
            raise InputError('formats must list at least one of notary, cosign, notation')
        self.unpinned, self.held = [], {}
        if 'notary' in formats:
            self.held = held_root_pins(self.cli, [image[0] for image in self.images], policy['root_key_ids'])
            policy['root_key_ids'].update(self.held)
            self.unpinned = check_pins_cover(self.images, policy['root_key_ids'], p['allow_unpinned'])
        elif policy['root_key_ids']:
            raise InputError('root_key_ids pins Notary roots, but formats (%s) does not verify Notary: remove the pins '
                             'or add notary to formats' % ', '.join(formats))
        if 'cosign' in formats and not p['cosign_public_keys']:
            raise InputError('formats lists cosign: cosign_public_keys must give the public keys (PEM) that verify it')
        if 'notation' in formats and not p['notation_ca_certificates']:
            raise InputError('formats lists notation: notation_ca_certificates must give the CA certificates (PEM) '
                             'that verify it')
        identities = None
        if 'notation' in formats:
            # _ocisig (cosign, Notation, pexpect) is loaded only by a run that checks those formats
            from ansible_collections.openbanking.content_trust.plugins.module_utils._ocifiles import check_trusted_identities
            identities = check_trusted_identities(p['notation_trusted_identities'], p['notation_trust_any_identity'],
                                                  'notation_trusted_identities', 'notation_trust_any_identity')
        policy.update(cosign_public_keys=p['cosign_public_keys'], cosign_cli=p['cosign_cli'],
                      notation_ca_certificates=p['notation_ca_certificates'],
                      notation_trusted_identities=identities, notation_cli=p['notation_cli'],
                      require_tag_binding=p['require_tag_binding'], revoked=parse_revoked(p['revoked'], 'revoked'))

    def plan(self):
        p = self.params
        if self.unpinned:
            self.module.warn(unpinned_warning(self.unpinned))
        self.targets = verify_images(self.cli, self.images, self.policy, formats=self.formats)
        images = plan_pulls(self.cli, self.targets, tag_locally=p['tag_locally'], warn=self.module.warn)
        untagged, running = [], []
        if p['untag_revoked']:
            untagged, running = plan_untag(self.cli, self.policy['revoked'], self.targets)
        for container in running:
            reasons = sorted(set(w['reason'] for w in untagged if w['image'] == container['image']))
            self.module.warn('container %s (%s) runs %s, whose tags were withdrawn (%s); it is not stopped'
                             % (container['name'] or container['container'][:12], container['reference'],
                                container['image'], '; '.join(reasons)))
        return dict(changed=any(t['pulled'] or t['tagged'] for t in self.targets) or bool(untagged), images=images,
                    untagged=untagged, running=running)

    def apply(self, plan):
        if any(t['pulled'] or t['tagged'] for t in self.targets):
            apply_pulls(self.cli, self.targets, plan['images'], tag_locally=self.params['tag_locally'])
        apply_untag(self.cli, plan['untagged'])

    def result(self, plan, outcome):
        results = pull_results(self.targets)
        return dict(changed=any(r['pulled'] or r['tagged'] for r in results) or bool(plan['untagged']),
                    results=results, untagged=plan['untagged'], running=plan['running'], held_root_pins=self.held)


def main():
    module = build_module(dict(
        images=dict(type='list', elements='dict', required=True, options=dict(
            repository=dict(type='str', required=True),
            tags=dict(type='list', elements='str', required=True),
        )),
        signers=dict(type='list', elements='raw'),
        require_all_signers=dict(type='bool', default=False),
        root_key_ids=dict(type='dict', no_log=False),
        allow_unpinned=dict(type='bool', default=False),
        tag_locally=dict(type='bool', default=True),
        formats=dict(type='list', elements='str', choices=['notary', 'cosign', 'notation'], default=['notary']),
        cosign_public_keys=dict(type='list', elements='str', no_log=False),
        notation_ca_certificates=dict(type='list', elements='str'),
        notation_trusted_identities=dict(type='list', elements='str'),
        notation_trust_any_identity=dict(type='bool', default=False),
        require_tag_binding=dict(type='bool', default=True),
        cosign_cli=dict(type='str', default='cosign'),
        notation_cli=dict(type='str', default='notation'),
        revoked=dict(type='list', elements='dict', default=[], options=dict(
            repository=dict(type='str', required=True),
            tags=dict(type='list', elements='str', required=True),
            reason=dict(type='str', required=True),
        )),
        untag_revoked=dict(type='bool', default=False),
    ), passphrases='ignored', requires=('cryptography',))
    run(module, Pull)


if __name__ == '__main__':
    main()
