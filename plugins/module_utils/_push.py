# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: pushing tags and signing them as one signer (trust_push).

Not a public API; it may change without notice.

A plan is a list of one dict per tag: ``tag``, ``ref``, ``digest`` (known or None), ``todo`` (it must be
pushed and/or signed), ``pushed`` and ``signed`` (what happened), and ``length``, ``image_id``,
``retag`` where they apply.  Everything here runs inside a publish transaction (``_transaction``):
``view`` is the transaction's view and ``notary`` a ``NotaryRepository`` staging in it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import explain
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import RELEASES_ROLE, signer_role
from ansible_collections.openbanking.content_trust.plugins.module_utils._registry import (
    RegistryClient, registry_credentials, registry_url,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._daemon import pushed_digest, repo_digests
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import signed_by, tag_signatures


# From this many tags on, one listing of the repository's local tags costs less than an inspect per tag
# (a listing scans every image of the daemon: about 0.2 s with 8000 images), and one --all-tags push less
# than a push per tag.
MANY_TAGS = 50


def plan_local(params, repository, tags, signer, trust, images):
    """push: true - what the local images are, and which tags the signer already signed."""
    source = params['source']
    plan = []
    missing = []
    source_image = None
    # Below MANY_TAGS: the source and every tag in one docker process (the listing serves the bigger releases).
    known = images.inspect_many(([source] if source is not None else []) +
                                ([str(repository.with_tag(t)) for t in tags] if len(tags) < MANY_TAGS else []))

    def inspect(name):
        return known[name] if name in known else images.inspect(name)
    if source is not None:
        source_image = inspect(source)
        if source_image is None:
            raise TrustError('local image %s (source) does not exist on the docker daemon %s; build or pull it first'
                             % (source, images.url))
    local = images.tagged(repository) if len(tags) >= MANY_TAGS else None  # one daemon call, not one per tag
    for tag in tags:
        ref = repository.with_tag(tag)
        current = local.get(tag) if local is not None else None
        if current is None and (local is None or source_image is None):
            current = inspect(str(ref))  # not listed: ask once more before calling it missing
        image = source_image or current
        if image is None:
            missing.append(str(ref))
            continue
        digests = repo_digests(image, repository)
        done = signed_by(trust, tag, signer, digests)
        plan.append(dict(tag=tag, ref=ref, image_id=image['Id'], retag=bool(source_image) and
                         (current is None or current['Id'] != image['Id']),
                         digest=done or (digests[0] if len(digests) == 1 else None),
                         todo=params['force'] or not done, pushed=False, signed=False))
    if missing:
        raise TrustError('local image%s %s do%s not exist on the docker daemon %s; build or tag %s first, or set source'
                         % ('s' if len(missing) > 1 else '', ', '.join(missing), '' if len(missing) > 1 else 'es',
                            images.url, 'them' if len(missing) > 1 else 'it'))
    return plan


def plan_registry(params, cli, repository, tags, signer, trust):
    """push: false - what the registry serves, and which tags the signer already signed."""
    registry = RegistryClient(repository, cli.docker_config, timeout=min(cli.timeout, 60))
    plan = []
    missing = []
    wanted = params['digests'] or {}
    for tag in tags:
        served = registry.manifest(wanted.get(tag, tag))
        if served is None:
            missing.append('%s (%s)' % (tag, wanted[tag]) if tag in wanted else tag)
            continue
        digest, length = served
        done = signed_by(trust, tag, signer, [digest])
        plan.append(dict(tag=tag, ref=repository.with_tag(tag), digest=digest, length=length,
                         todo=params['force'] or not done, pushed=False, signed=False))
    if missing:
        raise TrustError('the registry %s has no tag %s in %s; push %s first, or use push: true'
                         % (registry.base, ', '.join(missing), repository.path, 'them' if len(missing) > 1 else 'it'))
    return plan


def signing_method(params, cli, plan):
    """docker trust sign per tag, or the notary CLI: every tag staged, one publish."""
    wanted = params['sign_with']
    if wanted != 'auto' or not params['push']:
        return wanted if params['push'] else 'notary'
    todo = sum(1 for item in plan if item['todo'])
    # docker CLI 29 without the docker-trust plugin: the notary CLI signs, the Docker SDK pushes.
    if todo > 1 or not cli.has_docker_trust():
        try:
            cli.notary_path()
            return 'notary'
        except TrustError:
            pass
    return 'docker'


def sign_with_docker(cli, plan, images, view, secrets):
    """``docker trust sign --local`` per tag, in the view: each tag is pushed and signed as one publish."""
    docker = cli.docker_path()
    env = cli.env(docker_config=view)
    for item in plan:
        if not item['todo']:
            continue
        if item['retag']:
            images.tag(item['image_id'], item['ref'])
        what = 'docker trust sign %s' % item['ref']
        try:
            # --local: sign the local image's digest; without it docker re-signs whatever digest the
            # tag already has in targets/releases, so a rebuilt image would keep the old signature.
            out = cli.run_pty([docker, 'trust', 'sign', '--local', str(item['ref'])], secrets, env=env, what=what)
        except TrustError as exc:
            # a failure before docker signs is the registry's, not the Notary server's
            raise explain(exc.output, what, sources=('push',), registry=registry_url(item['ref']), rc=exc.rc,
                          cmd=exc.cmd, fallback=False) or exc
        pushed = pushed_digest(out, item['tag'])
        item['digest'] = pushed[0] if pushed else item['digest']
        item['pushed'] = item['signed'] = True


def push_all(cli, plan, images, repository):
    """Push every tag that needs signing; digest and size come from what the registry stored.

    When the repository's local tags are exactly the tags to push (a release into a fresh repository),
    the daemon pushes them all in one call (``--all-tags``) instead of one call per tag; any other local
    tag of the repository would be pushed too, so then each tag is pushed on its own."""
    auth = None
    todo = [item for item in plan if item['todo']]
    if not todo:
        return
    creds = registry_credentials(cli.docker_config, todo[0]['ref'], timeout=min(cli.timeout, 30))
    if creds:
        auth = {'identitytoken': creds[1]} if creds[0] == '<token>' else {'username': creds[0], 'password': creds[1]}
    for item in todo:
        if item['retag']:
            images.tag(item['image_id'], item['ref'])
    by_tag = dict((item['tag'], item) for item in todo)
    if len(todo) >= MANY_TAGS:
        local = images.tagged(repository)
        if set(local) == set(by_tag) and all(local[t]['Id'] == item['image_id'] for t, item in by_tag.items()):
            stray = []

            def pushed(tag, digest, size):
                item = by_tag.get(tag)
                if item is None:  # tagged by someone else since the listing: say so, never sign it
                    stray.append(tag)
                    return
                item['digest'], item['length'], item['pushed'] = digest, size, True

            images.push_all_tags(repository, auth, pushed)
            if stray:
                raise TrustError('pushing every local tag of %s also pushed %s, tagged locally by another process '
                                 'during this run; it is not signed' % (repository.gun, ', '.join(sorted(stray))))
    for item in todo:
        if not item['pushed']:
            item['digest'], item['length'] = images.push(item['ref'], auth)
            item['pushed'] = True


def skip_signed_after_push(plan, trust, signer, force):
    """A tag pushed because the local image did not say its registry digest (built again, or pushed from elsewhere),
    whose pushed digest the signer had already signed for it: pushed, but not signed again (no new TUF version,
    and not reported as signed).  ``force`` signs it all the same."""
    if force:
        return
    for item in plan:
        if item['todo'] and item['pushed'] and item['digest'] and signed_by(trust, item['tag'], signer, [item['digest']]):
            item['todo'] = False


def sign_with_notary(notary, plan, signer, secrets):
    """Stage every tag's signature in the view in one step (the changelist written directly, not one
    ``notary addhash`` process per tag), then publish them as one new version."""
    todo = [item for item in plan if item['todo']]
    if not todo:
        return
    notary.stage_targets([(item['tag'], item['length'], item['digest'].split(':', 1)[1]) for item in todo],
                         roles=[signer_role(signer), RELEASES_ROLE])
    notary.publish(secrets)
    for item in todo:
        item['signed'] = True


def with_progress(exc, plan):
    """Add to a failure what this run already pushed and signed."""
    done = [item['tag'] for item in plan if item['signed']]
    if done:
        exc.msg += '; already pushed and signed in this run: %s' % ', '.join(done)
    unsigned = [item['tag'] for item in plan if item['pushed'] and not item['signed']]
    if unsigned:
        exc.msg += '; pushed to the registry but not signed: %s' % ', '.join(unsigned)
    return exc


def results(plan, trust, signer, check_mode):
    """One result per tag; a tag signed in this run must be listed for ``signer`` by the Notary server."""
    out = []
    for item in plan:
        digest = item['digest']
        if item['signed'] and not check_mode:
            listed = signed_by(trust, item['tag'], signer, [digest] if digest else None)
            if not listed:
                raise TrustError('%s was signed as %s, but the Notary server does not list %s for it%s'
                                 % (item['ref'], signer, signer, ' with digest %s' % digest if digest else ''))
            digest = listed
        signers = []
        for entry in tag_signatures(trust, item['tag']):
            if entry['digest'] == digest:
                signers = entry['signers']
        out.append(dict(tag=item['tag'], digest=digest, pushed=item['pushed'], signed=item['signed'],
                        signers=signers))
    return out
