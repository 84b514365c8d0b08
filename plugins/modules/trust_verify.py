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
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.deprecated_passphrases
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
    type: str
  root_key_ids:
    description:
      - Pinned roots, a map of repository (GUN) to the root key IDs accepted for it, as
        M(openbanking.content_trust.trust_pull) takes them. A tag of a repository whose root is not among them does
        not verify; the problem names both IDs.
    type: dict
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
attributes:
  check_mode:
    support: full
    details: Read-only apart from the pull into the daemon's image store, which also runs in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.trust_push
  - module: openbanking.content_trust.trust_inspect
'''

EXAMPLES = r'''
- name: Verify release v1.0.0 as a consumer would
  openbanking.content_trust.trust_verify:
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/openbanking/conformance-suite
        tags: [v1.0.0, latest]
    signer: jeff
    fail_on_unverified: true
'''

RETURN = r'''
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
    - The trust data of each image's repository, as M(openbanking.content_trust.trust_inspect) returns it
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

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    parse_reference, parse_tag, validate_signer_name,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import InputError, Reader, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._registry import RegistryClient
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import tag_entry
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import TrustReader
from ansible_collections.openbanking.content_trust.plugins.module_utils._verified_pull import (
    Unverified, check_root, parse_root_pins, pull_verified,
)


def _inputs(p):
    if not p['images']:
        raise InputError('images must list at least one image (repository and tags) to verify')
    images = []
    for i, image in enumerate(p['images']):
        ref = parse_reference(image['repository'], allow_tag=False, what='images[%d].repository' % i)
        if not image['tags']:
            raise InputError('images[%d].tags must list at least one tag' % i)
        tags = []
        for tag in image['tags']:
            parse_tag(tag, 'images[%d].tags' % i)
            if tag not in tags:
                tags.append(tag)
        images.append((ref, tags, dict(image.get('digests') or {})))
    if p['signer'] is not None:
        validate_signer_name(p['signer'], 'signer')
    return images


def _pull(cli, reference, tag, signed_digest):
    """The consumer's pull of ``_verified_pull``: the signed digest, through the daemon, checked in RepoDigests."""
    target = dict(reference=reference, repository=reference.gun, tag=tag, digest=signed_digest, signers=[],
                  root_key_id=None)
    try:
        pull_verified(cli, [target], tag_locally=False)
    except TrustError as exc:
        return False, exc.msg
    return True, ''


class Verify(Reader):
    """Each tag: signed, signed for the digest the registry serves (and the one expected), by the signer, under a
    pinned root, and (``pull``) pullable by that digest."""

    def inputs(self):
        self.images = _inputs(self.params)
        self.pins = parse_root_pins(self.params['root_key_ids'])

    def plan(self):
        p, cli, images, pins = self.params, self.cli, self.images, self.pins
        reader = TrustReader(cli)
        registries = [RegistryClient(ref, cli.docker_config, timeout=min(cli.timeout, 60)) for ref, tags, d in images]
        # What the registry serves is asked while the trust data is read: neither waits for the other.
        with ThreadPoolExecutor(max_workers=1) as pool:
            serving = pool.submit(lambda: [registry.manifests(tags) for registry, (ref, tags, d) in zip(registries, images)])
            read = reader.read([ref for ref, tags, digests in images])
            served_all = serving.result()
        results = []
        repositories = []
        for (ref, tags, expected), registry, served_tags in zip(images, registries, served_all):
            parsed = read[str(ref)]
            repositories.append(parsed)
            for index, tag in enumerate(tags):
                problems = []
                entry = tag_entry(parsed, tag)
                signed = entry['digest'] if entry else None
                signers = entry['signers'] if entry else []
                served = served_tags[tag]
                served_digest = served[0] if served else None
                if not parsed['exists']:
                    problems.append('no trust data on the Notary server %s' % cli.server_for(ref))
                elif not entry:
                    problems.append('tag %s is not signed' % tag)
                if served is None:
                    problems.append('the registry %s has no tag %s' % (registry.base, tag))
                elif signed and signed != served_digest:
                    problems.append('signed digest %s is not the digest %s the registry serves' % (signed, served_digest))
                if expected.get(tag) and signed and expected[tag] != signed:
                    problems.append('signed digest %s is not the expected (pushed) digest %s' % (signed, expected[tag]))
                if p['signer'] and entry and p['signer'] not in signers:
                    problems.append('not signed by %s (signers: %s)' % (p['signer'], ', '.join(signers) or 'none'))
                if parsed['exists']:
                    try:
                        check_root(parsed['root_key_ids'], pins.get(ref.gun))
                    except Unverified as exc:
                        problems.append('the repository\'s root is not pinned: %s' % exc)
                pulled = None
                if signed and not problems and (p['pull'] == 'all' or (p['pull'] == 'first' and index == 0)):
                    pulled, detail = _pull(cli, ref, tag, signed)
                    if not pulled:
                        problems.append('pulling the signed digest failed: %s' % detail)
                results.append(dict(reference=str(ref.with_tag(tag)), repository=ref.gun, tag=tag, signed_digest=signed,
                                    registry_digest=served_digest, signers=signers, pulled=pulled,
                                    verified=not problems, problems=problems))
        unverified = [r['reference'] for r in results if not r['verified']]
        if unverified and p['fail_on_unverified']:
            raise TrustError('these tags do not verify: %s' % '; '.join(
                '%s (%s)' % (r['reference'], ', '.join(r['problems'])) for r in results if not r['verified']))
        try:
            docker_version = cli.docker_capabilities()['version']
        except TrustError:  # no docker CLI on this host: the notary CLI read the trust data
            docker_version = None
        verified_with = dict(docker_cli=cli.docker_cli if docker_version else None, docker_version=docker_version,
                             trust_data=reader.via, pull='none' if p['pull'] == 'none' else 'signed digest')
        return dict(changed=False, results=results, repositories=repositories, verified=not unverified,
                    unverified=unverified, verified_with=verified_with)


def main():
    module = build_module(dict(
        images=dict(type='list', elements='dict', required=True, options=dict(
            repository=dict(type='str', required=True),
            tags=dict(type='list', elements='str', required=True),
            digests=dict(type='dict'),
        )),
        signer=dict(type='str'),
        root_key_ids=dict(type='dict', no_log=False),
        pull=dict(type='str', default='first', choices=['first', 'all', 'none']),
        fail_on_unverified=dict(type='bool', default=False),
    ), passphrases='deprecated')
    run(module, Verify)


if __name__ == '__main__':
    main()
