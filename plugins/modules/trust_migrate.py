#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_migrate
short_description: Carry repositories' Docker Content Trust data to another Notary server
version_added: 0.1.0
description:
  - Moves the trust data of each repository in O(repositories) from the Notary server O(source_server) (for example
    C(https://notary.docker.io), which shuts down on 2026-12-08) to the Notary server O(server), so that
    C(docker trust inspect) and C(DOCKER_CONTENT_TRUST=1 docker pull) against O(server) report what they reported
    against the source.
  - Reads from the source the signed tags with their digests and lengths, the signers with their public keys, the root
    certificate and the repository key.
  - Initializes the repository on O(server) with the SAME root key and the SAME root certificate (C(notary init
    --rootcert)), so the Root key ID C(docker trust inspect) shows does not change and clients that cached the old root
    keep trusting the new trust data. The repository key stays the same as well (C(notary key rotate targets)); the
    snapshot key is managed by O(server), as docker sets it up.
  - Adds every signer with the same public keys to C(targets/<name>) and C(targets/releases) (the delegation keys of
    the source's C(targets.json)), and signs every tag again with the same digest and length as the local signer
    O(signer), without a docker daemon (all tags staged in one step, one C(notary publish)).
  - Reads and compares first and changes only what differs. When everything already matches, nothing is published and
    the TUF versions on O(server) do not move.
  - docker and notary cache trust data per repository whatever the server, so the source and O(server) are each read
    through a trust directory of their own (temporary, 0700, with copies of the needed private keys only). Afterwards
    the cached trust data of each repository in O(docker_config) is replaced by O(server)'s, so that later docker
    commands with O(server) work.
  - Checks before anything changes, for every repository - the source has trust data, the root key, the repository key
    and the key of O(signer) are local and their passphrases decrypt them, O(server) has no trust data with another
    root for it, no tag there is signed for another digest - and fails naming the repository and what is needed.
author:
  - Open Banking (@OpenBankingUK)
requirements:
  - Python libraries C(cryptography) and C(pexpect) on the host that runs the module
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary
  - openbanking.content_trust.common.passphrases
  - ansible.builtin.action_common_attributes
options:
  server:
    description:
      - URL of the NEW Notary server, the one the trust data moves to. Required. Must be C(https://).
      - Its CA, if it is not in the system's trust store, goes in C(<docker_config>/tls/<host:port>/ca.crt).
  source_server:
    description:
      - URL of the Notary server that has the trust data now, C(https://host[:port]), for example
        C(https://notary.docker.io). Read only. Its CA, if needed, goes in C(<docker_config>/tls/<host:port>/ca.crt).
    type: str
    required: true
  repositories:
    description:
      - The repositories (GUNs) to migrate, such as V(registry.example.com/openbanking/conformance-suite). No tags.
        Short names mean docker.io, as docker reads them.
    type: list
    elements: str
    required: true
  signer:
    description:
      - The local signer that signs the tags again on O(server). It must be a signer of every repository (on the
        source) that has signed tags, with its private key in C(<docker_config>/trust/private) and in the repository's
        C(targets/releases).
      - Tags are signed into C(targets/<signer>) and C(targets/releases). C(docker trust inspect) therefore lists
        O(signer) as the signer of every tag on O(server), whoever signed it on the source.
    type: str
    required: true
  signer_passphrase:
    description:
      - Passphrase of the key of O(signer). When not set, O(repository_passphrase) is used, as docker does.
    type: str
  force:
    description:
      - When O(server) already has a tag signed for another digest than the source, the task fails naming the tag,
        unless O(force=true); then the source's digest is signed there.
    type: bool
    default: false
notes:
  - Needs the repository's root key, its repository key and the key of O(signer) in C(<docker_config>/trust/private)
    (copy them from where the repository was initialized), with O(root_passphrase), O(repository_passphrase) and
    O(signer_passphrase). The root key is needed only when a repository is initialized on O(server), the repository
    key only when its signers change there.
  - O(repository_passphrase) must be at least 8 characters; C(notary init) encrypts the temporary keys it creates
    with it.
  - Signers are only added on O(server), never removed, and only the tags that C(docker trust inspect) lists
    (C(targets/releases) and C(targets)) are carried over, not tags that are only in a signer's own role.
  - Clients other than this host that cached the source's trust data of a repository may refuse O(server)'s
    (C(version N is lower than current version M)) until their C(<docker config>/trust/tuf/<GUN>) is removed; the
    task warns when the source's versions are higher.
  - When a run stops after the trust data reached O(server) but before O(server) took over the snapshot key, that key
    is kept in C(<docker_config>/trust/private); the next run hands it to O(server) and removes the file.
  - In check mode the module reads both servers and checks keys and passphrases, and writes nothing.
seealso:
  - module: openbanking.content_trust.trust_signer
  - module: openbanking.content_trust.trust_info
  - module: openbanking.content_trust.trust_push
attributes:
  check_mode:
    support: full
    details: Reads both Notary servers and checks keys and passphrases; never initializes, stages or publishes, and
      leaves the cached trust data alone.
  diff_mode:
    support: full
    details: Per repository, the root key ID, signers and signed tags on O(server) before and after.
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Move the conformance suite's trust data off Docker Hub's Notary
  openbanking.content_trust.trust_migrate:
    source_server: https://notary.docker.io
    server: https://notary.example.com:4443
    repositories:
      - docker.io/openbanking/conformance-suite
      - docker.io/openbanking/conformance-api
    signer: jeff
    signer_passphrase: "{{ vault_jeff_passphrase }}"
    root_passphrase: "{{ vault_root_passphrase }}"
    repository_passphrase: "{{ vault_repository_passphrase }}"
  register: migration

- name: Preview what would move (nothing is written)
  openbanking.content_trust.trust_migrate:
    source_server: https://notary.docker.io
    server: https://notary.example.com:4443
    repositories: [docker.io/openbanking/conformance-suite]
    signer: jeff
    signer_passphrase: "{{ vault_jeff_passphrase }}"
    root_passphrase: "{{ vault_root_passphrase }}"
    repository_passphrase: "{{ vault_repository_passphrase }}"
  check_mode: true
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
  description: One entry per repository, in the order of O(repositories).
  returned: always
  type: list
  elements: dict
  contains:
    repository:
      description: The repository (GUN).
      type: str
      sample: docker.io/openbanking/conformance-suite
    root_key_id:
      description: The Root key ID C(docker trust inspect) shows, on the source and (afterwards) on O(server).
      type: str
      sample: 9cde00f0541fbda2ec4659baad3f8caa4654a88ffc97fbc04798178e51fbb11b
    signed_tags:
      description: The signed tags of the source and their digests, as they are (or would be) on O(server).
      type: list
      elements: dict
      contains:
        tag:
          description: The tag.
          type: str
          sample: v1.2.0
        digest:
          description: The manifest digest, C(sha256:<hex>).
          type: str
          sample: sha256:a36b20c98c7fbe92df41c42f461c2a167f6c0efd029bf02492359ccff2801822
    signers:
      description: The source's signers and their key IDs, as C(docker trust inspect) lists them.
      type: dict
      sample: {"jeff": ["6d3c419a591439faabe4609a094febc4783e2dff590278e075373e887b68b7b7"]}
    initialized:
      description: Whether the repository was initialized on O(server) (would be, in check mode).
      type: bool
    added_signers:
      description: Signers whose role was created on O(server) or given missing keys (would be, in check mode).
      type: list
      elements: str
      sample: [jeff, alice]
    newly_signed_tags:
      description: Tags signed on O(server) by this task (would be, in check mode).
      type: list
      elements: str
      sample: [v1.2.0, latest]
    cache_updated:
      description: Whether the cached trust data of the repository in O(docker_config) was replaced by O(server)'s.
      type: bool
    changed:
      description: Whether anything changed for this repository (would, in check mode).
      type: bool
source_server:
  description: The source Notary server.
  returned: always
  type: str
  sample: https://notary.docker.io
server:
  description: The Notary server the trust data moved to.
  returned: always
  type: str
  sample: https://notary.example.com:4443
diff:
  description:
    - Per repository, the root key ID, the signers with their key IDs and the signed tags with their digests on
      O(server), before and after (an empty dict when there is no trust data).
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

import os

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import Secrets
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    check_server_url, parse_reference, validate_signer_name,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._passphrases import signer_passphrase
from ansible_collections.openbanking.content_trust.plugins.module_utils._migration import (
    apply, describe, has_changes, key_paths, merged_state, needed_keys, read_state, repository_steps,
    verify as verify_migration,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._notaryaction import NotaryAction
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import InputError, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import RELEASES_ROLE
from ansible_collections.openbanking.content_trust.plugins.module_utils._tufcache import replace_cached_metadata
from ansible_collections.openbanking.content_trust.plugins.module_utils._views import add_keys_to_view, isolated_view
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import signer_keys


def _inputs(module, cli):
    p = module.params
    if not cli.server:
        raise InputError('server must be set to the URL of the new Notary server, the one the trust data moves to')
    source_server = check_server_url(p['source_server'])
    if source_server == cli.server:
        raise InputError('source_server and server are the same Notary server (%s); server must be the new one'
                         % source_server)
    refs = []
    for i, text in enumerate(p['repositories'] or []):
        ref = parse_reference(text, allow_tag=False, what='repositories[%d]' % i)
        if ref.gun not in [r.gun for r in refs]:
            refs.append(ref)
    if not refs:
        raise InputError('repositories must list at least one repository to migrate')
    return source_server, refs, validate_signer_name(p['signer'], 'signer')


class Migrate(NotaryAction):
    """Carry repositories' trust data to a new Notary server: every repository is planned and its keys checked
    before any changes; each is then published in its own transaction, under the locks of all of them."""

    def inputs(self):
        self.source_server, self.references, self.signer = _inputs(self.module, self.cli)
        self.passphrase, self.option = signer_passphrase(self.params)

    def plan(self):
        cli, refs = self.cli, self.references
        # Each server through a TUF cache of its own (see _views.isolated_view).
        source = cli.view(isolated_view(cli, []), server=self.source_server)
        self.dest_view = isolated_view(cli, [])
        self.dest = cli.view(self.dest_view)
        sources = read_state(source, refs)
        missing = [ref.gun for ref in refs if sources[ref.gun] is None]
        if missing:
            raise InputError('the source Notary server %s has no trust data for %s; nothing to migrate (check the '
                             'names and source_server)' % (self.source_server, ', '.join(missing)))
        dests = read_state(self.dest, refs)
        steps = dict((ref.gun, repository_steps(cli, ref, sources[ref.gun], dests[ref.gun], self.params['force']))
                     for ref in refs)
        return dict(sources=sources, dests=dests, steps=steps, keys={},
                    changed_refs=[ref for ref in refs if has_changes(steps[ref.gun])],
                    before=dict((ref.gun, describe(dests[ref.gun])) for ref in refs),
                    after=dict((ref.gun, merged_state(sources[ref.gun], dests[ref.gun])) for ref in refs),
                    cache_updated=dict((ref.gun, False) for ref in refs))

    def changed(self, plan):
        return bool(plan['changed_refs'])

    def preflight(self, plan):
        # Every key it needs, checked with its passphrase, before anything changes.
        for ref in self.references:
            plan['keys'][ref.gun] = needed_keys(self.cli, ref, plan['sources'][ref.gun], plan['dests'][ref.gun],
                                                plan['steps'][ref.gun], self.signer, self.passphrase, self.option)
        if plan['changed_refs']:
            self.cli.notary_path()

    def apply(self, plan):
        p, passphrase = self.params, self.passphrase
        secrets = Secrets(root=p['root_passphrase'], repository=p['repository_passphrase'],
                          signers={self.signer: passphrase}, signer_fallback=passphrase)
        done = []
        try:
            for ref in plan['changed_refs']:
                self.publish(ref, lambda ref=ref: self._attempt(ref, plan, secrets))
                done.append(ref)
        except TrustError as exc:
            if done:
                exc.msg += '; already migrated in this run: %s' % ', '.join(r.gun for r in done)
            raise
        return done

    def _attempt(self, ref, plan, secrets):
        """Migrate one repository; after a TUF conflict, read the new server again and plan again first."""
        cli, gun = self.cli, ref.gun
        if self.tx.attempt_number:
            have = plan['dests'][gun] = read_state(self.dest, [ref])[gun]
            plan['steps'][gun] = repository_steps(cli, ref, plan['sources'][gun], have, self.params['force'])
            plan['keys'][gun] = needed_keys(cli, ref, plan['sources'][gun], have, plan['steps'][gun], self.signer,
                                            self.passphrase, self.option)
        add_keys_to_view(self.dest_view, sorted(set(key_paths(plan['steps'][gun], plan['keys'][gun]))))
        apply(cli, self.dest, self.tx, self.dest_view, ref, plan['sources'][gun], plan['steps'][gun], plan['keys'][gun],
              self.signer, secrets)

    def verify(self, plan, outcome):
        # Read again; this also refreshes the view's cache, which replaces the local one in refresh().
        changed_refs, dests = plan['changed_refs'], plan['dests']
        dests.update(read_state(self.dest, changed_refs))
        verify_migration(self.cli.server, changed_refs, plan['sources'], dests)
        plan['after'].update((ref.gun, describe(dests[ref.gun])) for ref in changed_refs)

    def refresh(self, plan, outcome):
        for ref in self.references:
            plan['cache_updated'][ref.gun] = replace_cached_metadata(self.cli.trust_dir, ref.gun,
                                                                     os.path.join(self.dest_view, 'trust'))

    def result(self, plan, outcome):
        module, cli = self.module, self.cli
        results = []
        for ref in self.references:
            src, steps, cache_updated = plan['sources'][ref.gun], plan['steps'][ref.gun], plan['cache_updated'][ref.gun]
            if not module.check_mode:
                lower = sorted(role for role, version in src['versions'].items()
                               if version > plan['dests'][ref.gun]['versions'].get(role, 0))
                if lower and has_changes(steps):
                    module.warn('repository %s: the source has higher TUF versions of %s than the new Notary server; '
                                'clients that cached its trust data from the source refuse the new server\'s ("version '
                                'N is lower than current version M") until their <docker config>/trust/tuf/%s is '
                                'removed (done here for %s)' % (ref.gun, ', '.join(lower), ref.gun, cli.docker_config))
            results.append(dict(
                repository=ref.gun,
                root_key_id=src['parsed']['root_key_ids'][0],
                signed_tags=[dict(tag=t, digest='sha256:' + src['tags'][t][0]) for t in sorted(src['tags'])],
                signers=signer_keys(src['parsed']),
                initialized=steps['init'],
                added_signers=sorted(set(c['role'][len('targets/'):] for c in steps['delegations']
                                         if c['role'] != RELEASES_ROLE)),
                newly_signed_tags=list(steps['tags']),
                cache_updated=cache_updated,
                changed=has_changes(steps) or cache_updated,
            ))
        return dict(changed=any(r['changed'] for r in results), repositories=results, source_server=self.source_server,
                    server=cli.server, diff=dict(before=plan['before'], after=plan['after']))


def main():
    module = build_module(dict(
        source_server=dict(type='str', required=True),
        repositories=dict(type='list', elements='str', required=True),
        signer=dict(type='str', required=True),
        signer_passphrase=dict(type='str', no_log=True),
        force=dict(type='bool', default=False),
    ), requires=('cryptography', 'pexpect'))
    run(module, Migrate)


if __name__ == '__main__':
    main()
