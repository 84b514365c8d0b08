# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: a release of several images in Notary, all or nothing.

Not a public API; it may change without notice.

``Release`` is the ``NotaryAction`` over several repositories that ``trust_push``'s ``images`` runs: each image is a
part (the module's single-repository action, ``part_class``), planned and checked under the locks of every
repository before the first push, then each published in its own transaction.  ``verify_release`` is the check of
what was published (``trust_verify``'s checks), for one image or a release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import ContentTrustError, InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._notaryaction import NotaryAction
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import parse_root_pins
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerkeys import parse_signer
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import held_root_pins
from ansible_collections.openbanking.content_trust.plugins.module_utils._verified_pull import check_release


def verify_release(cli, params, images, pins):
    """trust_verify's checks (``_verified_pull.check_release``) of what was published: ``images`` is
    ``[(reference, tags, results, trust)]``; the digest each result reports is the one expected, and ``trust`` the
    trust data the run read last (under the repository's lock: after publishing, or the plan's when nothing changed)."""
    held = held_root_pins(cli, [ref for ref, tags, results, trust in images], pins)
    out = check_release(cli, [(ref, tags, dict((r['tag'], r['digest']) for r in results if r['digest']))
                              for ref, tags, results, trust in images],
                        parse_signer(params['signer'], 'signer'), dict(pins, **held), params['verify_pull'],
                        read=dict((str(ref), trust) for ref, tags, results, trust in images))
    out['held_root_pins'] = held
    return out


def release_problems(problems, total):
    """The all-or-nothing refusal: ``problems`` is ``[(repository, ContentTrustError)]`` of the images that cannot
    be published.  Its kind is theirs when they agree, else ``error``."""
    exc = ContentTrustError('%d of %d images of the release cannot be published; nothing was pushed or signed:\n%s'
                            % (len(problems), total, '\n'.join('- %s: %s' % (repo, e.msg) for repo, e in problems)))
    kinds = set(e.kind for repo, e in problems)
    exc.kind = kinds.pop() if len(kinds) == 1 else 'error'
    return exc


class Release(NotaryAction):
    """Every image of a release planned and checked before the first push - all or nothing, naming every image that
    cannot be published - then each repository published in its own transaction, under the locks of all of them.  A
    failure after the first push returns what this run pushed and signed, and what each repository had signed before
    (``images``), so that the caller can roll back.  ``part_class``: the action of one image (``trust_push``'s
    ``PushAndSign``), which has ``images`` (the local images' client: one for the release), ``signed_before``,
    ``before`` and ``current`` (its last plan)."""

    part_class = None

    def inputs(self):
        p = self.params
        if not p['images']:
            raise InputError('images must list at least one image (repository and tags)')
        self.pins = parse_root_pins(p['root_key_ids'])
        self.parts = []
        for i, image in enumerate(p['images']):
            sub = self.part_class(self.module, self.cli)
            sub.params = dict(p, repository=image['repository'], tags=image['tags'], source=image['source'],
                              digests=None, images=None, verify=False)
            try:
                sub.inputs()
            except InputError as exc:
                raise InputError('images[%d] (%s): %s' % (i, image['repository'], exc.msg))
            self.parts.append(sub)
        self.references = [sub.reference for sub in self.parts]

    def close(self):
        for local in set(sub.images for sub in self.parts if sub.images is not None):
            local.close()

    def plan(self):
        plans, problems, local = [], [], None
        for sub in self.parts:
            sub.images = local  # one connection to the daemon for every image
            try:
                plan = sub.plan()
                sub.preflight(plan)
            except ContentTrustError as exc:
                problems.append((sub.params['repository'], exc))
                plan = None
            local = sub.images or local
            plans.append(plan)
        if problems:
            raise release_problems(problems, len(self.parts))
        return plans

    def changed(self, plan):
        return any(sub.changed(part) for sub, part in zip(self.parts, plan))

    def apply(self, plan):
        plans = plan  # one plan per image
        published = set()
        for i, sub in enumerate(self.parts):
            if not sub.changed(plans[i]):
                continue
            # The plan made under the locks serves the first attempt, unless an earlier image changed this repository.
            fresh = [plans[i]] if sub.reference.gun not in published else []
            try:
                plans[i] = self.publish(sub.reference, functools.partial(self._attempt, sub, fresh))
            except ContentTrustError as exc:
                exc.msg = '%s: %s' % (sub.params['repository'], exc.msg)
                exc.result = dict(images=[self._entry(other, other.current, partial=j >= i)
                                          for j, other in enumerate(self.parts)])
                raise
            published.add(sub.reference.gun)

    def _attempt(self, sub, fresh):
        sub.tx = self.tx
        if not fresh:  # a retry after a TUF conflict, or a repository an earlier image changed: plan again
            return sub._steps()[0]
        planned = fresh.pop()
        sub.verify(planned, sub.apply(planned))
        return planned

    @staticmethod
    def _entry(sub, plan, partial=False):
        entry = dict(repository=sub.params['repository'], before=sub.signed_before, signer_before=dict(sub.before),
                     changed=False)
        if partial:  # the image that failed, as far as it got, and those after it (untouched)
            entry['results'] = [dict(tag=item['tag'], digest=item['digest'], pushed=item['pushed'],
                                     signed=item['signed'], signers=[]) for item in plan['items']]
            entry['changed'] = any(r['pushed'] or r['signed'] for r in entry['results'])
        else:
            res = sub.result(plan, None)
            entry.update(results=res['results'], changed=res['changed'], diff=res['diff'])
        return entry

    def result(self, plan, outcome):
        plans = plan  # one plan per image
        entries = [self._entry(sub, plan) for sub, plan in zip(self.parts, plans)]
        diffs = [(e['repository'], e.pop('diff')) for e in entries]
        out = dict(changed=any(e['changed'] for e in entries), images=entries,
                   results=[dict(r, repository=e['repository']) for e in entries for r in e['results']],
                   diff=dict(before=dict((repo, d['before']) for repo, d in diffs),
                             after=dict((repo, d['after']) for repo, d in diffs)))
        if self.params['verify'] and not self.module.check_mode:
            out['verification'] = verify_release(
                self.cli, self.params, [(sub.reference, sub.tags, e['results'], plan['trust'])
                                        for sub, e, plan in zip(self.parts, entries, plans)], self.pins)
        return out
