#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: trust_revoke
short_description: Revoke the Docker Content Trust signatures of image tags
version_added: 0.1.0
description:
  - Removes the signatures of O(tags) (or of every signed tag, with O(all_tags=true)) of O(repository), so that
    C(DOCKER_CONTENT_TRUST=1 docker pull) of those tags fails.
  - Each tag is revoked with C(docker trust revoke) acting as exactly the signer O(signer) - docker is shown a view
    of the trust directory that holds that signer's keys alone. It removes the tag from C(targets/releases), which
    is what a trusted pull reads, and from the signer's own role. Other signers' roles are not changed, but without
    the release entry their signatures no longer make the tag pullable.
  - Where docker has no C(docker trust) (docker 29 and later without the C(docker-trust) plugin), the notary CLI
    does the same - each tag removed from the roles the signer's key can sign, one publish per tag.
  - A tag that is not signed is left alone; nothing is published for it, so revoking stays idempotent. As a tag that
    is not signed may also be a typo of one that is, O(missing) says what to do about it.
  - A tag signed only into the C(targets) role (signer C(Repo Admin), as C(DOCKER_CONTENT_TRUST=1 docker push) does
    on a repository without signers) cannot be revoked by a signer; the task fails and says so.
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
  repository:
    description:
      - The repository (GUN), without a tag, for example C(registry.example.com/acme/app).
    type: str
    required: true
  tags:
    description:
      - Tags whose signatures to revoke. Mutually exclusive with O(all_tags).
    type: list
    elements: str
  all_tags:
    description:
      - Revoke every signed tag of the repository. Mutually exclusive with O(tags).
    type: bool
    default: false
  signer:
    description:
      - Revoke as this signer. It must be a signer of O(repository) and have its private key in the local trust
        directory.
    type: str
    required: true
  signer_passphrase:
    description:
      - Passphrase of the signer's key. When not set, O(repository_passphrase) is used, as docker does.
    type: str
  missing:
    description:
      - What to do about a tag of O(tags) that is not signed (already revoked, never signed, or mistyped).
      - V(warn) leaves it alone and warns, naming the tag and the signed tags closest to it.
      - V(fail) fails, before anything is revoked, with the same message.
      - V(ignore) leaves it alone silently (it is still listed in RV(unsigned)).
    type: str
    choices: [warn, fail, ignore]
    default: warn
    version_added: 0.1.0
seealso:
  - module: openbanking.content_trust.trust_push
  - module: openbanking.content_trust.trust_info
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Each revoked tag is its own C(docker trust revoke) and so its own new version of the trust data.
'''

EXAMPLES = r'''
- name: Withdraw a bad release
  openbanking.content_trust.trust_revoke:
    server: https://notary.example.com:4443
    repository: registry.example.com/openbanking/conformance-suite
    tags: [v1.2.0, v1.2]
    signer: jeff
    signer_passphrase: "{{ vault_jeff_passphrase }}"
    missing: fail  # a tag that is not signed is a typo here, not an earlier run

- name: Withdraw every signed tag of a retired repository
  openbanking.content_trust.trust_revoke:
    repository: registry.example.com/openbanking/old-tool
    all_tags: true
    signer: jeff
    signer_passphrase: "{{ vault_jeff_passphrase }}"
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
revoked:
  description: Tags whose signatures were removed (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [v1.2.0, v1.2]
unsigned:
  description: Tags of O(tags) that were not signed, and were left alone.
  returned: always
  type: list
  elements: str
closest:
  description: For each tag of RV(unsigned), the signed tags of the repository closest to it (a possible typo).
  returned: always
  type: dict
  sample: {v2.0.O: [v2.0.0, v2.0.1]}
diff:
  description:
    - The signed tags among the tags asked for, each with its digests, before and after.
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

import difflib

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    parse_reference, parse_tags, validate_signer_name,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._passphrases import signer_passphrase
from ansible_collections.openbanking.content_trust.plugins.module_utils._notaryaction import NotaryAction
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import InputError, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import delegation_key_ids, delegation_roles
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import (
    check_passphrase, read_trust, read_trust_documents, signer_local_keys, signer_secrets, tag_signatures,
)


def _signed(trust):
    """``{tag: [digest, ...]}`` of every tag a trusted pull can resolve."""
    signed = {}
    for entry in trust['signed_tags']:
        signed.setdefault(entry['tag'], []).append(entry['digest'])
    return signed


def _revoke_with_notary(targets, tags, keys, notary, secrets, done):
    """What ``docker trust revoke -y REPO:TAG`` does, with the notary CLI (docker 29 without the plugin):
    each tag removed from every direct delegation of targets that lists one of the signer's keys
    (its own role and targets/releases), one publish per tag."""
    canonical = delegation_key_ids(targets)
    mine = set(key['key_id'] for key in keys)
    roles = sorted(role for role, info in delegation_roles(targets).items()
                   if role.count('/') == 1 and mine & set(canonical.get(k, k) for k in info['key_ids']))
    for tag in tags:
        notary.remove_target(tag, roles=roles, publish=True, secrets=secrets)
        done.append(tag)


def closest_signed(tag, signed):
    """The signed tags most like ``tag``, best first (at most three; ties in tag order)."""
    close = difflib.get_close_matches(tag, sorted(signed), n=3, cutoff=0.6)
    return sorted(close, key=lambda t: (-difflib.SequenceMatcher(None, tag, t).ratio(), t))


def missing_message(repository, unsigned, closest, signed_count):
    parts = []
    for tag in unsigned:
        if closest[tag]:
            parts.append('%s (closest signed tags: %s)' % (tag, ', '.join(closest[tag])))
        else:
            parts.append('%s (no signed tag is close to it)' % tag)
    return ('not signed in %s, so nothing to revoke for: %s. A tag already revoked is fine; a mistyped tag is not: '
            'check the name (the repository has %d signed tags)' % (repository.gun, '; '.join(parts), signed_count))


class Revoke(NotaryAction):
    """Remove tags' signatures as one signer: one ``docker trust revoke`` (or notary removal) per tag."""

    def inputs(self):
        p = self.params
        self.reference = repository = parse_reference(p['repository'], allow_tag=False)
        self.signer = validate_signer_name(p['signer'], 'signer')
        if p['all_tags'] and p['tags'] is not None:
            raise InputError('tags and all_tags are mutually exclusive: give the tags to revoke, or all_tags: true')
        if not p['all_tags']:
            parse_tags(p['tags'], empty='tags must list at least one tag to revoke (or set all_tags: true)')
        self.passphrase, self.option = signer_passphrase(p)
        # What the first attempt read; after a TUF conflict the plan reads again and revokes what is still signed.
        self.state = dict(done=[])

    def plan(self):
        p, cli, repository, state = self.params, self.cli, self.reference, self.state
        trust, documents = read_trust_documents(cli, repository)
        keys = signer_local_keys(cli, trust, self.signer)
        signed = _signed(trust)
        if 'before' not in state:
            state['before'] = before = signed
            state['wanted'] = wanted = sorted(before) if p['all_tags'] else list(dict.fromkeys(p['tags']))
            state['todo'] = [tag for tag in wanted if tag in before]
            state['unsigned'] = unsigned = [tag for tag in wanted if tag not in before]
            state['closest'] = dict((tag, closest_signed(tag, before)) for tag in unsigned)
            state['after'] = dict((tag, digests) for tag, digests in before.items() if tag not in state['todo'])
        return dict(changed=bool(state['todo']), keys=keys, todo=[tag for tag in state['todo'] if tag in signed],
                    targets=documents.get('targets'))

    def preflight(self, plan):
        p, state = self.params, self.state
        check_passphrase(plan['keys'], self.passphrase, self.signer, self.option)
        if state['unsigned'] and p['missing'] != 'ignore' and not state.get('reported'):
            state['reported'] = True
            message = missing_message(self.reference, state['unsigned'], state['closest'], len(state['before']))
            if p['missing'] == 'fail':
                raise InputError('%s; nothing was revoked (missing=fail)' % message)
            self.module.warn(message)

    def apply(self, plan):
        p, cli, tx, repository, signer, state = self.params, self.cli, self.tx, self.reference, self.signer, self.state
        todo, keys = plan['todo'], plan['keys']
        if not todo:
            return None
        view = tx.view(keys)
        secrets = signer_secrets(signer, self.passphrase, p['repository_passphrase'])
        done = state['done']
        try:
            if cli.has_docker_trust():
                env = cli.env(docker_config=view)
                docker = cli.docker_path()
                for tag in todo:
                    ref = repository.with_tag(tag)
                    cli.run_pty([docker, 'trust', 'revoke', '-y', str(ref)], secrets, env=env,
                                what='docker trust revoke %s' % ref)
                    done.append(tag)
            else:
                _revoke_with_notary(plan['targets'], todo, keys, tx.notary(view), secrets, done)
        except TrustError as exc:
            if not done:
                raise
            raise TrustError('%s (already revoked in this run: %s; not revoked: %s)'
                             % (exc.msg, ', '.join(done), ', '.join(t for t in state['todo'] if t not in done)),
                             output=exc.output, rc=exc.rc, cmd=exc.cmd)
        return done

    def verify(self, plan, outcome):
        if outcome is None:
            return
        cli, repository, state = self.cli, self.reference, self.state
        trust = read_trust(cli, repository)
        state['after'] = after = _signed(trust)
        left = [tag for tag in state['todo'] if tag in after]
        if left:
            holders = sorted(set(s for tag in left for e in tag_signatures(trust, tag) for s in e['signers']))
            raise TrustError('%s still signed after revoking as %s (signed by: %s); a tag in the targets role '
                             '("Repo Admin") can only be removed with the repository key'
                             % (', '.join('%s:%s' % (repository.gun, t) for t in left), self.signer,
                                ', '.join(holders) or 'the targets role'))

    def result(self, plan, outcome):
        state = self.state
        scope = set(state['wanted'])
        return dict(changed=bool(state['todo']), revoked=state['todo'], unsigned=state['unsigned'],
                    closest=state['closest'],
                    diff=dict(before={'signed_tags': dict((t, d) for t, d in state['before'].items() if t in scope)},
                              after={'signed_tags': dict((t, d) for t, d in state['after'].items() if t in scope)}))


def main():
    module = build_module(dict(
        repository=dict(type='str', required=True),
        tags=dict(type='list', elements='str'),
        all_tags=dict(type='bool', default=False),
        signer=dict(type='str', required=True),
        signer_passphrase=dict(type='str', no_log=True),
        missing=dict(type='str', default='warn', choices=['warn', 'fail', 'ignore']),
    ), requires=('cryptography', 'pexpect'))
    run(module, Revoke)


if __name__ == '__main__':
    main()
