#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_push
short_description: Push image tags and sign them as one signer with Docker Content Trust
version_added: 0.1.0
description:
  - Publishes a whole release in one task - every tag in O(tags) of O(repository) - and signs each tag as exactly
    the signer O(signer), so that C(DOCKER_CONTENT_TRUST=1 docker pull) accepts it.
  - With O(push=true) (the default) each tag is pushed through the docker daemon and signed with
    C(docker trust sign --local), which signs the digest of the local image (works with docker CLI 28 and older, and
    with the CLI 29 C(docker-trust) plugin). C(DOCKER_CONTENT_TRUST=1 docker push) is never used. Where docker has no
    C(docker trust) (docker 29 and later without the plugin), each tag is pushed through the Docker SDK and all are
    signed with the notary CLI, as with O(sign_with=notary).
  - With O(push=false) nothing is pushed; the manifest digest and length of each tag are read from the registry and
    signed with the notary CLI, all tags staged in one step and published in ONE new version of the trust data
    (C(notary publish)). Use it for images pushed by other tools, or on hosts with no docker daemon. Where the docker
    CLI has no C(docker trust) (or there is no docker CLI), the trust data is read with the notary CLI as well.
  - Only the key of O(signer) is used. docker is shown a view of the trust directory that holds that signer's keys
    alone, so other local keys (other signers, with other passphrases) neither sign nor break signing.
  - A tag is left alone when the trust data already lists O(signer) for the digest the local image has in this
    repository (C(RepoDigests)), or with O(push=false) for the digest the registry serves. Such tags are neither
    pushed nor signed, and the trust data keeps its version.
  - Checks before anything changes - the trust data exists, O(signer) is a signer of the repository and has a
    local key, the passphrase decrypts that key, every local image (or registry tag) exists - and names what to do
    when one fails.
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary
  - openbanking.content_trust.common.passphrases
  - ansible.builtin.action_common_attributes
options:
  repository:
    description:
      - The repository (GUN) to push to and sign in, without a tag, for example C(registry.example.com/acme/app).
        Short names mean docker.io, as docker reads them.
      - Required unless O(images) is set; not allowed with it.
    type: str
  tags:
    description:
      - Tags to push and sign, for example C([v1.2.0, v1.2, latest]). At least one.
      - Required with O(repository).
    type: list
    elements: str
  images:
    description:
      - A whole release of several repositories in one task, all or nothing, instead of O(repository), O(tags) and
        O(source).
      - Every image is planned and checked first (trust data, signer, key, passphrase, local images); when one
        cannot be published, nothing is pushed or signed and the failure names every such image.
      - Then each repository is pushed and signed as with O(repository), each in its own transaction. A failure
        part-way returns RV(images) with what this run pushed and signed and what each repository had signed
        before, so that the caller can roll back (the P(openbanking.content_trust.publish_release#role) role does).
    type: list
    elements: dict
    version_added: 0.1.0
    suboptions:
      repository:
        description: The repository, as O(repository).
        type: str
        required: true
      tags:
        description: Its tags, as O(tags).
        type: list
        elements: str
        required: true
      source:
        description: The local image to tag as each of its tags first, as O(source).
        type: str
  source:
    description:
      - A local image (name, name:tag or image ID) to tag as C(<repository>:<tag>) for each of O(tags) first.
      - Without it, each C(<repository>:<tag>) must already exist locally (with O(push=true)).
      - Not allowed with O(push=false).
    type: str
  signer:
    description:
      - Sign as exactly this signer. It must be a signer of O(repository)
        (see M(openbanking.content_trust.trust_signer)) and have its private key in the local trust directory
        (see M(openbanking.content_trust.trust_key)).
      - A name, or the signer with its keys, C({name, key_ids}) or C({name, public_key}) (the inventory's
        C(content_trust_repositories[].signers[]) shape). With keys, only a local key among them signs (none on this
        host fails the task before anything changes, C(error_kind=missing_signing_key)), and O(verify) requires a
        valid signature by one of them, as O(openbanking.content_trust.trust_verify#module:signer) does with keys.
    type: raw
    required: true
  signer_passphrase:
    description:
      - Passphrase of the signer's key. When not set, O(repository_passphrase) is used, as docker does.
    type: str
  push:
    description:
      - V(true) pushes each tag through the docker daemon and signs the pushed digest.
      - V(false) pushes nothing and signs the digest the registry already serves for each tag, with the notary CLI.
        The registry is reached over http for loopback registries and https otherwise, with the credentials of
        O(docker_config) (C(docker login)).
    type: bool
    default: true
  force:
    description:
      - Push and sign every tag even when O(signer) already signed the wanted digest; when the digests are the
        same, the signer's role and C(targets/releases) are re-signed (C(notary witness)) with the signer's current
        key, for example after a key rotation.
      - Also re-signs C(targets/releases) first when it lost its valid signature because a key that signed it was
        removed from the repository; the signer then vouches for every tag in it. Without O(force) that case fails,
        naming the repository.
    type: bool
    default: false
  digests:
    description:
      - With O(push=false), sign these manifest digests (C(sha256:<hex>)) for these tags instead of the digests the
        registry serves for the tags, as a dictionary of tag to digest; each digest must be in the registry. Every key must be one
        of O(tags).
      - For example to point a tag back at the digest it was signed for before (the rollback of the
        P(openbanking.content_trust.publish_release#role) role does this).
    type: dict
    version_added: 0.1.0
  sign_with:
    description:
      - How tags pushed with O(push=true) are signed.
      - V(docker) runs C(docker trust sign) per tag (built in up to docker CLI 28, the docker-trust plugin from 29);
        each tag is its own publish, so N changed tags move the trust data N versions.
      - V(notary) pushes every tag through the daemon first, then stages all their signatures with the notary CLI
        and publishes them as ONE new version of the trust data. Nothing is signed unless every push succeeded.
      - V(auto) uses V(notary) when more than one tag needs signing and the notary CLI is installed, else V(docker).
      - With O(push=false) the notary CLI always signs.
    type: str
    choices: [auto, docker, notary]
    default: auto
  verify:
    description:
      - After publishing (and when nothing needed publishing), verify every tag as
        M(openbanking.content_trust.trust_verify) does, in the same task - signed by O(signer), for the digest the
        registry serves and the one this run pushed, under a root pinned in O(root_key_ids), and (O(verify_pull))
        pulled by its signed digest - and return RV(verification).
      - A tag that does not verify does not fail the task; RV(verification) says why. Not in check mode.
    type: bool
    default: false
  verify_pull:
    description:
      - With O(verify), which tags to pull by their signed digest, as O(openbanking.content_trust.trust_verify#module:pull).
    type: str
    choices: [first, all, none]
    default: first
  root_key_ids:
    description:
      - With O(verify), pinned roots, as O(openbanking.content_trust.trust_verify#module:root_key_ids). A repository
        not pinned here whose root private key this host holds is pinned to it (C(verification.held_root_pins)).
    type: dict
requirements:
  - Python libraries C(cryptography) and C(pexpect) on the host that runs the module
  - Docker SDK for Python (C(docker)) to read and push local images, with O(push=true)
  - notary CLI, with O(push=false) or O(sign_with=notary)
seealso:
  - module: openbanking.content_trust.trust_signer
  - module: openbanking.content_trust.trust_key
  - module: openbanking.content_trust.trust_revoke
  - module: openbanking.content_trust.trust_info
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Log in to the registry first (C(docker login) with the same O(docker_config)); credentials are never options.
  - A release of many tags is published as one new version of the trust data (O(sign_with=auto) with the notary
    CLI installed, or O(push=false)); with O(sign_with=docker) each tag is its own C(docker trust sign).
'''

EXAMPLES = r'''
- name: Push and sign a release of two repositories, all or nothing
  openbanking.content_trust.trust_push:
    server: https://notary.example.com:4443
    images:
      - repository: registry.example.com/openbanking/conformance-suite
        tags: [v1.2.0, latest]
        source: conformance-suite:build-1234
      - repository: registry.example.com/openbanking/conformance-api
        tags: [v1.2.0]
        source: conformance-api:build-1234
    signer: jeff
    signer_passphrase: "{{ vault_jeff_passphrase }}"

- name: Push and sign a release as jeff
  openbanking.content_trust.trust_push:
    server: https://notary.example.com:4443
    repository: registry.example.com/openbanking/conformance-suite
    tags: [v1.2.0, v1.2, latest]
    source: conformance-suite:build-1234
    signer: jeff
    signer_passphrase: "{{ vault_jeff_passphrase }}"
  register: release

- name: Sign what CI already pushed, on a host without a docker daemon
  openbanking.content_trust.trust_push:
    server: https://notary.example.com:4443
    repository: registry.example.com/openbanking/conformance-suite
    tags: [v1.2.0]
    signer: release-bot
    signer_passphrase: "{{ vault_release_bot_passphrase }}"
    push: false
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
images:
  description:
    - With O(images), one entry per image, in their order.
    - Also returned when the task failed after the first push, with what happened as far as it got.
  returned: when O(images) is set
  type: list
  elements: dict
  contains:
    repository:
      description: The repository, as given.
      type: str
    changed:
      description: Whether this run pushed or signed a tag of it.
      type: bool
    before:
      description: For each tag, every digest the trust data listed for it (by any signer) before this run.
      type: dict
      sample: {"v1.2.0": [], "stable": ["sha256:72ed4585f501abdb868f6f4a8f76ac34b3402903ec06e2409d8be2602e553807"]}
    signer_before:
      description:
        - For each tag, the digest O(signer) had signed for it before this run, or null when O(signer) had not signed
          it. A rollback signs only these digests again (the P(openbanking.content_trust.publish_release#role) role's
          does), never one that another signer signed.
      type: dict
      sample: {"v1.2.0": null, "stable": "sha256:72ed4585f501abdb868f6f4a8f76ac34b3402903ec06e2409d8be2602e553807"}
      version_added: 0.1.0
    results:
      description: One entry per tag, as RV(results).
      type: list
      elements: dict
verification:
  description:
    - With O(verify), what M(openbanking.content_trust.trust_verify) returns for every tag of the release
      (C(results), C(repositories), C(verified), C(unverified), C(verified_with)).
  returned: when O(verify) is set, not in check mode
  type: dict
  sample: {"verified": true, "unverified": [], "results": [], "repositories": [], "verified_with": {}}
results:
  description:
    - One entry per tag, in the order of O(tags).
    - With O(images), the tags of every image in turn, each entry with its C(repository) as well.
  returned: always
  type: list
  elements: dict
  contains:
    tag:
      description: The tag.
      type: str
      sample: v1.2.0
    digest:
      description:
        - The manifest digest signed for the tag by O(signer), C(sha256:<hex>).
        - In check mode, the digest that would be signed when it is known before pushing, else None.
      type: str
      sample: sha256:72ed4585f501abdb868f6f4a8f76ac34b3402903ec06e2409d8be2602e553807
    pushed:
      description: Whether the tag was pushed (would be, in check mode).
      type: bool
    signed:
      description: Whether a new signature was published for the tag (would be, in check mode).
      type: bool
    signers:
      description: Signers that the trust data lists for the tag's digest afterwards.
      type: list
      elements: str
      sample: [jeff]
diff:
  description:
    - The tags of O(tags) under C(signed_by_<signer>), each with the digest the signer signed (null when the signer
      has not signed it), before and after.
    - Returned only in diff mode (C(--diff)), in check mode too; always the shape C(before) and C(after) below.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Before the change.
      type: dict
      returned: when diff mode is on
    after:
      description: After the change (would be, in check mode).
      type: dict
      returned: when diff mode is on
'''

import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    parse_reference, parse_tags,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._passphrases import signer_passphrase
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import InputError, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._notaryaction import NotaryAction
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import RELEASES_ROLE, releases_signature_valid, signer_role
from ansible_collections.openbanking.content_trust.plugins.module_utils._tufcache import role_version
from ansible_collections.openbanking.content_trust.plugins.module_utils._push import (
    with_progress, plan_local, plan_registry, push_all, results, sign_with_docker, sign_with_notary, signing_method,
    skip_signed_after_push,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._daemon import LocalImages
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import (
    check_passphrase, read_trust, signed_by, signer_local_keys, signer_secrets, tag_signatures,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import parse_root_pins
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerkeys import keys_to_sign_with, parse_signer
from ansible_collections.openbanking.content_trust.plugins.module_utils._release import Release, verify_release


def _inputs(p):
    repository = parse_reference(p['repository'], allow_tag=False)
    tags = parse_tags(p['tags'], empty='tags must list at least one tag to push and sign')
    signer = parse_signer(p['signer'], 'signer')
    if p['source'] is not None and not p['push']:
        raise InputError('source is only used with push: true (push: false signs what the registry already has)')
    if p['source'] is not None and not p['source'].strip():
        raise InputError('source must name a local image')
    if p['digests']:
        if p['push']:
            raise InputError('digests is only used with push: false (push: true signs what it pushes)')
        for tag, digest in p['digests'].items():
            if tag not in tags:
                raise InputError('digests names tag %r, which is not in tags' % tag)
            if not isinstance(digest, str) or not re.match(r'^sha256:[0-9a-f]{64}$', digest):
                raise InputError('digests[%s] must be a manifest digest sha256:<64 hex digits>, got %r' % (tag, digest))
    return repository, tags, signer


class PushAndSign(NotaryAction):
    """Push tags (or take the registry's) and sign them as one signer, in the repository's publish transaction;
    after a TUF conflict, read and plan again (tags an interrupted attempt signed count as done)."""

    images = None  # LocalImages, opened by the first plan that needs the daemon
    before = None  # {tag: digest signed by the signer} as the first attempt read it

    def inputs(self):
        self.done = set()
        self.reference, self.tags, self.policy = _inputs(self.params)
        self.signer = self.policy['name']
        self.passphrase, self.option = signer_passphrase(self.params)
        self.pins = parse_root_pins(self.params['root_key_ids'])
        if self.params['push'] and self.params['sign_with'] == 'docker':
            self.cli.require_docker_trust()

    def close(self):
        if self.images is not None:
            self.images.close()

    def plan(self):
        p, cli, repository, tags, signer = self.params, self.cli, self.reference, self.tags, self.signer
        trust = read_trust(cli, repository)
        keys = keys_to_sign_with(self.policy, signer_local_keys(cli, trust, signer), repository)
        # Before reading the images: a wrong passphrase is reported first, as it always was.
        check_passphrase(keys, self.passphrase, signer, self.option)
        if p['push']:
            self.images = self.images or LocalImages(cli)
            items = plan_local(p, repository, tags, signer, trust, self.images)
        else:
            items = plan_registry(p, cli, repository, tags, signer, trust)
        if self.before is None:
            self.before = dict((tag, signed_by(trust, tag, signer)) for tag in tags)
            # every digest signed for each tag, by anyone: what a rollback of a release restores
            self.signed_before = dict((tag, sorted(set(t['digest'] for t in tag_signatures(trust, tag)))) for tag in tags)
        for item in items:  # signed by an attempt that a conflict interrupted: done
            item['pushed'] = item['signed'] = item['tag'] in self.done
            item['todo'] = item['todo'] and not item['signed']
        self.current = dict(items=items, trust=trust, keys=keys, changed=any(item['todo'] for item in items),
                            releases_ok=releases_signature_valid(cli.trust_dir, repository.gun),
                            releases_version=role_version(cli.trust_dir, repository.gun, RELEASES_ROLE))
        return self.current

    def preflight(self, plan):
        p, repository, signer = self.params, self.reference, self.signer
        if plan['changed'] and plan['releases_ok'] is False and not p['force']:
            raise TrustError(
                'targets/releases of %s is no longer validly signed: a key that signed it was removed from the '
                'repository, so docker shows none of its tags and the Notary server refuses new signatures. Set '
                'force: true to re-sign targets/releases as %s (%s then vouches for every tag in it), or add the '
                'removed key back (in content_trust_repositories, then the sync_signers.yml playbook; in your own tasks, '
                'openbanking.content_trust.trust_signer)' % (repository.gun, signer, signer))
        plan['method'] = signing_method(p, self.cli, plan['items'])
        if plan['method'] == 'docker' and plan['changed']:
            self.cli.require_docker_trust()

    def apply(self, plan):
        p, cli, tx, repository, signer, items = self.params, self.cli, self.tx, self.reference, self.signer, plan['items']
        view = tx.view(plan['keys'])
        secrets = signer_secrets(signer, self.passphrase, p['repository_passphrase'])
        notary = tx.notary(view)
        try:
            if plan['releases_ok'] is False:
                notary.witness([RELEASES_ROLE], secrets)  # force: re-sign the releases role with this signer's key
            if plan['method'] == 'docker':
                sign_with_docker(cli, items, self.images, view, secrets)
            else:
                if p['push']:
                    # Nothing is signed before every tag is pushed: a failed push leaves no
                    # signature for an image the registry does not have.
                    push_all(cli, items, self.images, repository)
                    skip_signed_after_push(items, plan['trust'], signer, p['force'])
                sign_with_notary(notary, items, signer, secrets)
            if p['force'] and role_version(notary.trust_dir, repository.gun, RELEASES_ROLE) == plan['releases_version']:
                # The same digests again: notary publishes nothing for an unchanged target,
                # so force re-signs the roles with the signer's current key instead.
                notary.witness([signer_role(signer), RELEASES_ROLE], secrets)
        except TrustError as exc:
            self.done.update(item['tag'] for item in items if item['signed'])
            raise with_progress(exc, items)

    def verify(self, plan, outcome):
        # What the results report is read back from the trust data, not assumed from what was run.
        plan['trust'] = read_trust(self.cli, self.reference)

    def result(self, plan, outcome):
        check_mode = self.module.check_mode
        if check_mode:
            for item in plan['items']:
                item['pushed'] = bool(item['todo'] and self.params['push'])
                item['signed'] = item['todo']
        res = results(plan['items'], plan['trust'], self.signer, check_mode)
        after = dict(self.before)
        for r in res:
            if r['signed']:
                after[r['tag']] = r['digest'] or '(digest of the pushed image)'
        key = 'signed_by_%s' % self.signer
        out = dict(changed=plan['changed'] or bool(self.done), results=res,
                   diff=dict(before={key: self.before}, after={key: after}))
        if self.params['verify'] and not check_mode:
            out['verification'] = verify_release(self.cli, self.params, [(self.reference, self.tags, res, plan['trust'])],
                                                 self.pins)
        return out


class PushRelease(Release):
    """``images``: a release of several images, all or nothing (``_release.Release``), each as ``PushAndSign``."""

    part_class = PushAndSign


def main():
    module = build_module(dict(
        repository=dict(type='str'),
        tags=dict(type='list', elements='str'),
        images=dict(type='list', elements='dict', options=dict(
            repository=dict(type='str', required=True),
            tags=dict(type='list', elements='str', required=True),
            source=dict(type='str'),
        )),
        source=dict(type='str'),
        signer=dict(type='raw', required=True),
        signer_passphrase=dict(type='str', no_log=True),
        push=dict(type='bool', default=True),
        force=dict(type='bool', default=False),
        sign_with=dict(type='str', default='auto', choices=['auto', 'docker', 'notary']),
        digests=dict(type='dict'),
        verify=dict(type='bool', default=False),
        verify_pull=dict(type='str', default='first', choices=['first', 'all', 'none']),
        root_key_ids=dict(type='dict', no_log=False),
    ), required_one_of=[('repository', 'images')], required_together=[('repository', 'tags')],
        mutually_exclusive=[('images', 'repository'), ('images', 'tags'), ('images', 'source'), ('images', 'digests')], requires=('cryptography', 'pexpect'))
    run(module, PushRelease if module.params['images'] else PushAndSign)


if __name__ == '__main__':
    main()
