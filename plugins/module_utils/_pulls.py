# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: pulling verified digests through the docker daemon.

Not a public API; it may change without notice.

The second step of a verified pull (``_verified_pull`` decides what is verified): pull ``repository@<signed
digest>`` through the daemon (Docker SDK), check that the image's ``RepoDigests`` holds that digest, then tag;
nothing is tagged unless every pull checked out.  Distinct digests are pulled a few at a time, each on a daemon
client of its own.  Also the local tags of withdrawn releases (``plan_untag``, ``apply_untag``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._daemon import LocalImages, repo_digests
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import run_parallel
from ansible_collections.openbanking.content_trust.plugins.module_utils._registry import (
    RegistryClient, registry_credentials,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import withdrawn_tags

DAEMON_HINT = 'set docker_host to the socket of the docker daemon that should hold the images'


def registry_warning(cli, target):
    """A warning when the registry's tag no longer points at the signed digest (None when it does)."""
    reference = target['reference']
    try:
        served = RegistryClient(reference, cli.docker_config, timeout=min(cli.timeout, 60)).manifest(target['tag'])
    except TrustError as exc:
        return ('could not compare the registry tag %s:%s with its signed digest (%s); the signed digest %s is '
                'what gets pulled' % (reference.gun, target['tag'], exc.msg, target['digest']))
    if served is None:
        return ('the registry has no tag %s:%s any more; the signed digest %s is what gets pulled'
                % (reference.gun, target['tag'], target['digest']))
    if served[0] != target['digest']:
        return ('the registry tag %s:%s has moved away from what was signed: it points at %s, the signed digest is '
                '%s; the signed digest is what gets pulled' % (reference.gun, target['tag'], served[0], target['digest']))
    return None


def _auth_config(cli, reference):
    creds = registry_credentials(cli.docker_config, reference, timeout=min(cli.timeout, 30))
    if not creds:
        return None
    if creds[0] == '<token>':
        return {'identitytoken': creds[1]}
    return {'username': creds[0], 'password': creds[1]}


def _pull(local, cli, reference, digest):
    from docker.errors import DockerException  # loaded by LocalImages, which made ``local``
    try:
        for line in local.client.pull(reference.gun, tag=digest, stream=True, decode=True,
                                      auth_config=_auth_config(cli, reference)):
            if line.get('error') or line.get('errorDetail'):
                raise TrustError('pulling %s@%s through the docker daemon %s failed: %s'
                                 % (reference.gun, digest, local.url,
                                    line.get('error') or (line.get('errorDetail') or {}).get('message')))
    except DockerException as exc:
        raise TrustError('pulling %s@%s through the docker daemon %s failed: %s' % (reference.gun, digest, local.url, exc))


def _pull_alone(cli, key):
    """Pull ``(repository, digest)`` on a daemon client of its own (pulls run side by side)."""
    local = LocalImages(cli, hint=DAEMON_HINT)
    try:
        _pull(local, cli, parse_reference(key[0], allow_tag=False), key[1])
    finally:
        local.close()


def _present(local, reference, digest, known=None):
    """The local image that ``RepoDigests`` says is ``reference@digest``, or None (``known``: ``inspect_many``'s
    answer, when it has the name)."""
    name = '%s@%s' % (reference.gun, digest)
    image = known[name] if known and name in known else local.inspect(name)
    if image and digest in repo_digests(image, reference):
        return image
    return None


def pull_verified(cli, targets, tag_locally=True, check_mode=False, warn=None):
    """Pull each verified target by its signed digest and tag it; returns one result per target.

    A tag is moved only after every pull of the run checked out.  Without ``warn`` the registry's tags
    are not compared with the signed digests (the caller does it).  ``plan_pulls`` then ``apply_pulls``."""
    images = plan_pulls(cli, targets, tag_locally, warn)
    if not check_mode and any(t['pulled'] or t['tagged'] for t in targets):
        apply_pulls(cli, targets, images, tag_locally)
    return pull_results(targets)


def _tagging(local, targets, images, tag_locally):
    for target in targets:
        image = images[(target['repository'], target['digest'])]
        target['tagged'] = False
        if tag_locally:
            current = local.inspect(str(target['reference'].with_tag(target['tag'])))
            target['tagged'] = image is None or current is None or current.get('Id') != image.get('Id')


def plan_pulls(cli, targets, tag_locally=True, warn=None):
    """Set each target's ``pulled`` (its signed digest is not in the daemon) and ``tagged`` (its tag would
    move); returns the daemon's images ``{(repository, digest): image or None}`` for ``apply_pulls``."""
    local = LocalImages(cli, hint=DAEMON_HINT)
    try:
        for target in targets if warn else []:
            message = registry_warning(cli, target)
            if message:
                warn(message)
        images = {}
        known = local.inspect_many('%s@%s' % (t['reference'].gun, t['digest']) for t in targets)
        for target in targets:
            reference, digest = target['reference'], target['digest']
            key = (reference.gun, digest)
            if key not in images:
                images[key] = _present(local, reference, digest, known)
            target['pulled'] = images[key] is None
        _tagging(local, targets, images, tag_locally)
    finally:
        local.close()
    return images


def apply_pulls(cli, targets, images, tag_locally=True):
    """Pull what ``plan_pulls`` found missing, check each pull, then decide the tags again and move them."""
    local = LocalImages(cli, hint=DAEMON_HINT)
    try:
        missing = []
        for target in targets:
            key = (target['repository'], target['digest'])
            if target['pulled'] and key not in missing:
                missing.append(key)
        run_parallel(lambda key: _pull_alone(cli, key), missing)
        pulled = set(missing)
        mismatched = []
        for key in pulled:
            images[key] = _present(local, parse_reference(key[0], allow_tag=False), key[1])
            if images[key] is None:
                mismatched.append('%s: the pulled image\'s RepoDigests do not hold the signed digest %s'
                                  % (key[0], key[1]))
        if mismatched:
            raise TrustError('nothing was tagged; %s' % '; '.join(mismatched))
        _tagging(local, targets, images, tag_locally)
        for target in targets:
            if target['tagged']:
                image = images[(target['repository'], target['digest'])]
                local.tag(image['Id'], target['reference'].with_tag(target['tag']))
    finally:
        local.close()


def plan_untag(cli, revoked, targets):
    """``(withdrawn, running)``: the local tags of the listed repositories that point at a withdrawn digest
    (``_revoked.withdrawn_tags``; the tags of ``targets``, verified and about to be pulled, are never among them),
    and the running containers of those images (reported, never stopped)."""
    if not revoked:
        return [], []
    local = LocalImages(cli, hint=DAEMON_HINT)
    try:
        tagged = {}
        for gun in sorted(revoked):
            reference = parse_reference(gun, allow_tag=False)
            tagged[gun] = dict((tag, dict(Id=image.get('Id'), digests=repo_digests(image, reference)))
                               for tag, image in local.tagged(reference).items())
        verified = set((t['repository'], t['digest']) for t in targets)
        keep = set((t['repository'], t['tag']) for t in targets)
        withdrawn = [w for w in withdrawn_tags(revoked, tagged, verified) if (w['repository'], w['tag']) not in keep]
        images = set(w['image'] for w in withdrawn)
        running = []
        if images:
            for container in local.running():
                if container.get('ImageID') in images:
                    names = [n.lstrip('/') for n in container.get('Names') or []]
                    running.append(dict(container=container.get('Id'), name=names[0] if names else None,
                                        image=container.get('ImageID'), reference=container.get('Image')))
    finally:
        local.close()
    return withdrawn, running


def apply_untag(cli, withdrawn):
    """Remove the local tags ``plan_untag`` found."""
    if not withdrawn:
        return
    local = LocalImages(cli, hint=DAEMON_HINT)
    try:
        for entry in withdrawn:
            local.untag(parse_reference(entry['repository'], allow_tag=False).with_tag(entry['tag']))
    finally:
        local.close()


def pull_results(targets):
    """One result per target, after ``plan_pulls`` (and ``apply_pulls``)."""
    return [dict([(k, t[k]) for k in ('repository', 'tag', 'digest', 'signers', 'root_key_id', 'pulled', 'tagged')]
                 + [('formats', t.get('formats', ['notary']))])
            for t in targets]
