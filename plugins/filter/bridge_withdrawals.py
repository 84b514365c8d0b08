# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: bridge_withdrawals
short_description: Which signatures the bridge carried over from Notary to withdraw, because Notary revoked the tag
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - The bridge (C(playbooks/bridge_signatures.yml)) signs with cosign and Notation, with origin V(notary), the tags
    Notary signed, and lists them in its report. A tag of that report that Notary no longer signs was revoked there;
    the signatures the bridge made for it are withdrawn
    (M(openbanking.content_trust.cosign_revoke) and M(openbanking.content_trust.notation_revoke) with C(origin=notary)),
    never those anyone else made.
  - Without O(verified) - the candidates, C([{repository, tags, digests}]), the tags of the previous report of
    O(repositories) that are not among the tags Notary signs now (O(signed), trust_info's listing, unverified), for
    one M(openbanking.content_trust.trust_verify) under the pins.
  - With O(verified) (that trust_verify's C(repositories)) - the withdrawals, C({withdraw, kept}). A tag is withdrawn
    only when its repository was read and verified (under its pin when pinned) and does not list the tag; a
    repository whose root is refused, or that has no trust data at all, withdraws nothing (C(kept), with the reason) -
    someone who can reach the Notary server must not be able to make the bridge remove its signatures.
  - Runs on the controller; standard library only.
positional: _input, signed, repositories, verified
options:
  _input:
    description: The previous bridge report (C(bridge-report.json), parsed; an empty dict when there is none).
    type: dict
    required: true
  signed:
    description: C([{repository, tags}]) of what Notary signs now (the bridge's trust_info query).
    type: list
    elements: dict
    required: true
  repositories:
    description: The bridged repositories (C(content_trust_bridge_repositories)); other repositories are left alone.
    type: list
    elements: str
    required: true
  verified:
    description: The C(repositories) that M(openbanking.content_trust.trust_verify) returned for the candidates.
    type: list
    elements: dict
'''

EXAMPLES = r'''
- name: Tags the bridge carried over that Notary no longer signs
  ansible.builtin.set_fact:
    candidates: "{{ previous_report | openbanking.content_trust.bridge_withdrawals(signed_now, content_trust_bridge_repositories) }}"
'''

RETURN = r'''
_value:
  description:
    - Without O(verified), C([{repository, tags, digests}]).
    - With it, C({withdraw, kept, references}) - C(withdraw) as above; C(kept) C([{reference, repository, tag, digest,
      reason}]), what is not withdrawn now (the report keeps it as C(pending_withdrawal), tried again on the next run);
      C(references) C(repository:tag) of every tag withdrawn.
  type: raw
'''

from ansible.errors import AnsibleFilterError


def _candidates(previous, signed, repositories):
    now = {}
    for entry in signed or []:
        now.setdefault(entry.get('repository'), set()).update(entry.get('tags') or [])
    out = {}
    # what it carried over, and what it could not withdraw last time (kept until it can)
    for t in list((previous or {}).get('tags') or []) + list((previous or {}).get('pending_withdrawal') or []):
        if not isinstance(t, dict):
            raise AnsibleFilterError('bridge_withdrawals: the previous report has a tag entry that is not a mapping')
        repo, tag, digest = t.get('repository'), t.get('tag'), t.get('digest')
        if repo not in repositories or not tag or not digest or tag in now.get(repo, ()):
            continue
        out.setdefault(repo, {})[tag] = digest
    return [dict(repository=repo, tags=sorted(digests), digests=digests) for repo, digests in sorted(out.items())]


def bridge_withdrawals(previous, signed, repositories, verified=None):
    candidates = _candidates(previous, signed, repositories or [])
    if verified is None:
        return candidates
    read = dict((r.get('repository'), r) for r in verified or [] if isinstance(r, dict))
    withdraw, kept = [], []
    for c in candidates:
        entry = read.get(c['repository'])
        reason = None
        if entry is None:
            reason = 'its trust data was not read'
        elif entry.get('refused'):
            reason = 'its root is refused: %s' % entry['refused']
        elif not entry.get('exists'):
            reason = 'the Notary server has no trust data for it (deleted, or not this server): not taken for a revocation'
        if reason:
            kept.extend(dict(reference='%s:%s' % (c['repository'], tag), repository=c['repository'], tag=tag,
                             digest=c['digests'][tag], reason=reason) for tag in c['tags'])
            continue
        still = set(t.get('tag') for t in entry.get('signed_tags') or [])
        tags = [t for t in c['tags'] if t not in still]
        if tags:
            withdraw.append(dict(repository=c['repository'], tags=tags, digests=dict((t, c['digests'][t]) for t in tags)))
    return dict(withdraw=withdraw, kept=kept,
                references=['%s:%s' % (w['repository'], t) for w in withdraw for t in w['tags']])


class FilterModule(object):
    def filters(self):
        return {'bridge_withdrawals': bridge_withdrawals}
