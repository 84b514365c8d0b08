# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: pulling what was signed, and nothing else.

Not a public API; it may change without notice.

docker CLI 29 verifies nothing on pull, and older CLIs trust whatever root the Notary server
hands out the first time.  A consumer here does it in two steps that do not need the docker CLI:

1. ``verify_images``: read each repository's verified trust data (``_trustreader``: docker trust or
   the notary CLI), check the root against the pins and every tag against the signer policy, and
   resolve the tag to its signed digest.
   Nothing is pulled unless every image verifies.  cosign and Notation signatures, where asked for,
   must verify on that same digest too (``verify_oci_signatures``).
2. ``_pulls.pull_verified``: pull ``repository@<signed digest>`` through the daemon (Docker SDK), check
   that the image's ``RepoDigests`` holds that digest, then tag.  Nothing is tagged unless every
   pull checked out.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import DaemonUnreachable, TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    FORMATS, parse_reference, parse_tags,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    InputError, Unverified,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import ROTATION_HINT
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import run_parallel
from ansible_collections.openbanking.content_trust.plugins.module_utils._pulls import pull_verified
from ansible_collections.openbanking.content_trust.plugins.module_utils._registry import RegistryClient
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import refusal, refused_tags
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerkeys import (
    check_encoding, describe, key_verdict,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import tag_signatures
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import tag_entry
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustreader import TrustReader


# --- input -----------------------------------------------------------------------------------

def parse_images(images, what='images'):
    """``[(Reference, [tags])]`` from ``[{repository, tags}]``; fails naming the bad entry."""
    if not images:
        raise InputError('%s must list at least one image (repository and tags)' % what)
    parsed = []
    for i, image in enumerate(images):
        ref = parse_reference(image.get('repository'), allow_tag=False, what='%s[%d].repository' % (what, i))
        parsed.append((ref, parse_tags(image.get('tags'), '%s[%d].tags' % (what, i))))
    return parsed


# --- decisions (no I/O) ----------------------------------------------------------------------

def check_root(root_key_ids, pins):
    """The repository's root key ID, checked against ``pins`` (a list; empty or None: not pinned)."""
    ids = sorted(root_key_ids or [])
    if not pins:
        return ids[0] if ids else None
    if not ids:
        raise Unverified('its root key ID could not be read from the trust data, so the pinned root %s cannot be '
                         'checked' % ', '.join(pins))
    matched = [k for k in ids if k in pins]
    if not matched:
        raise Unverified('its root key ID %s is not the pinned root key ID %s (the repository was re-initialized '
                         'with a new root, or the Notary server hands out another root); %s'
                         % (', '.join(ids), ', '.join(pins), ROTATION_HINT))
    return matched[0]


def _as_signer(signer):
    return signer if isinstance(signer, dict) else dict(name=signer, key_ids=None)


def signer_verdict(entry, signer, documents, tag):
    """``(problem, key_problem)``: both None when ``signer`` (``_as_signer``'s ``{name, key_ids}``) signs ``entry`` (one
    digest of ``tag`` and its signers, as the trust data lists it), else why not (``key_problem``: the keys' verdict
    alone, when the name is there but its keys did not sign).  The one signer check of a tag: ``check_tag`` (trust_pull,
    the bridge) and ``check_release`` (trust_verify, trust_push's verify) both decide with it.  A name counts as
    docker lists it; with keys, only where ``_signerkeys.key_verdict`` finds a valid signature by one of them in
    ``documents`` (the verified TUF metadata)."""
    if signer['name'] not in entry['signers']:
        return 'not signed by %s (signers: %s)' % (describe(signer), ', '.join(entry['signers']) or 'none'), None
    if signer['key_ids']:
        verdict = key_verdict(documents, signer, tag, entry['digest'])
        if verdict:
            return 'not signed by %s with its keys: %s' % (describe(signer), verdict), verdict
    return None, None


def single_digest_problem(entries, tag):
    """The refusal of a tag signed for more than one digest (which one a pull gets is not decided by a
    signature), or None."""
    digests = sorted(set(e['digest'] for e in entries))
    if len(digests) > 1:
        return 'tag %s is signed for more than one digest (%s); re-sign it for one' % (tag, ', '.join(digests))
    return None


def check_tag(parsed, tag, signers=None, require_all=False, documents=None):
    """``(digest, signers)`` of ``tag`` if the signer policy accepts it; raises Unverified otherwise.

    ``signers``: each tag must be signed by at least one of them (all of them with ``require_all``);
    none means any valid signature in ``targets`` or ``targets/releases``.  A signer is a name (matched by
    name, as docker shows the signers) or ``{name, key_ids}`` (``_signerkeys.parse_signers``; ``key_ids`` None:
    by name): with keys, it counts only where ``_signerkeys.key_verdict`` finds its keys' signature in
    ``documents``, the repository's verified TUF metadata (``TrustReader.documents``)."""
    entries = tag_signatures(parsed, tag)
    if not entries:
        raise Unverified('tag %s is not signed' % tag)
    if signers:
        signers = [_as_signer(s) for s in signers]
        if any(s['key_ids'] for s in signers) and documents is None:
            raise TrustError('internal error: signers with keys need the verified TUF metadata of %s'
                             % parsed.get('repository'))
        verdicts = {}  # (digest, signer) -> why that signer's keys did not sign that digest

        def signs(entry, signer):
            problem, key_problem = signer_verdict(entry, signer, documents, tag)
            if key_problem:
                verdicts[(entry['digest'], signer['name'])] = key_problem
            return problem is None

        if require_all:
            accepted = [e for e in entries if all(signs(e, s) for s in signers)]
        else:
            accepted = [e for e in entries if any(signs(e, s) for s in signers)]
        if not accepted:
            by = sorted(set(s for e in entries for s in e['signers']))
            names = [s['name'] for s in signers]
            # a signer whose name is there but whose keys did not sign: say why, never just "signed by jeff"
            by_name = dict((s['name'], s) for s in signers)
            keyless = ['%s: %s' % (describe(by_name[name]), verdict)
                       for (digest, name), verdict in sorted(verdicts.items()) if verdict]
            why = ('; not by the given keys: %s' % '; '.join(keyless)) if keyless else ''
            if require_all:
                missing = sorted(set(s['name'] for s in signers if not any(signs(e, s) for e in entries)) or names)
                raise Unverified('tag %s is not signed by every one of %s: no signature of %s (signed by %s)%s'
                                 % (tag, ', '.join(names), ', '.join(missing), ', '.join(by) or 'nobody', why))
            raise Unverified('tag %s is signed only by %s, none of the accepted signers %s%s'
                             % (tag, ', '.join(by) or 'nobody', ', '.join(describe(s) for s in signers), why))
        entries = accepted
    problem = single_digest_problem(entries, tag)
    if problem:
        raise Unverified(problem)
    return entries[0]['digest'], sorted(set(s for e in entries for s in e['signers']))


# --- step 1: verification ----------------------------------------------------------------------

def verify_notary(cli, images, policy):
    """Docker Content Trust (Notary v1): ``([target], [failure])`` for ``[(reference, tags)]``.

    The trust data of every repository comes from one read (one ``docker trust inspect`` call
    where docker has it); a Notary server that cannot be reached fails the whole read, naming it."""
    reader = TrustReader(cli, pins=policy['root_key_ids'])
    read = reader.read([reference for reference, tags in images])
    keyed = any(isinstance(s, dict) and s.get('key_ids') for s in policy['signers'] or [])
    targets, failures = [], []
    for reference, tags in images:
        parsed = read[str(reference)]
        if parsed.get('refused'):
            failures.append('%s: %s' % (reference.gun, parsed['refused']))
            continue
        if not parsed['exists']:
            failures.append('%s: not signed: the Notary server %s has no trust data for this repository'
                            % (reference.gun, cli.server_for(reference)))
            continue
        try:
            root = check_root(parsed['root_key_ids'], policy['root_key_ids'].get(reference.gun))
        except Unverified as exc:
            failures.append('%s: %s' % (reference.gun, exc))
            continue
        documents = reader.documents.get(reference.gun, {})
        if keyed:
            check_encoding(documents, reference.gun)
        for tag in tags:
            try:
                digest, signers = check_tag(parsed, tag, policy['signers'], policy['require_all_signers'],
                                            documents=documents)
            except Unverified as exc:
                failures.append('%s: %s' % (reference.with_tag(tag), exc))
                continue
            targets.append(dict(reference=reference, repository=reference.gun, tag=tag, digest=digest,
                                signers=signers, root_key_id=root))
    return targets, failures


# One function per signature format: ``(cli, [(reference, tags)], policy) -> ([target], [failure])``,
# a target being ``{reference, repository, tag, digest, signers, root_key_id}``.
def registry_targets(cli, images):
    """Without Notary: each tag at the digest the registry serves now, for the other formats to verify."""
    # _ocisig (cosign, Notation, pexpect) is loaded only by a run that checks those formats.
    from ansible_collections.openbanking.content_trust.plugins.module_utils._ocisig import resolve_digests
    targets, failures = [], []
    for reference, tags in images:
        digests = resolve_digests(cli, reference, tags, missing_ok=True)
        for tag in tags:
            if not digests[tag]:
                failures.append('%s: the registry has no such tag' % reference.with_tag(tag))
                continue
            targets.append(dict(reference=reference, repository=reference.gun, tag=tag, digest=digests[tag],
                                signers=[], root_key_id=None))
    return targets, failures


def verify_oci_signatures(cli, targets, fmt, policy):
    """``(verified targets, failures)``: the cosign or Notation signature of each target's digest, bound to the
    target's repository and tag unless ``policy['require_tag_binding']`` is false."""
    from ansible_collections.openbanking.content_trust.plugins.module_utils._ociverify import verify_cosign, verify_notation
    by_reference = {}
    for target in targets:
        by_reference.setdefault(target['repository'], []).append(target)
    kept, failures = [], []

    def verify(group):
        reference = group[0]['reference']
        tags = [t['tag'] for t in group]
        digests = dict((t['tag'], t['digest']) for t in group)
        if fmt == 'cosign':
            return verify_cosign(cli, reference, tags, policy['cosign_public_keys'],
                                 cosign_cli=policy['cosign_cli'], digests=digests,
                                 require_tag_binding=policy.get('require_tag_binding', True))
        return verify_notation(cli, reference, tags, policy['notation_ca_certificates'],
                               trusted_identities=policy.get('notation_trusted_identities'),
                               notation_cli=policy['notation_cli'], digests=digests,
                               require_tag_binding=policy.get('require_tag_binding', True))
    groups = list(by_reference.values())
    # Repositories side by side, each its own tools' run (the tags of one are verified a few at a time too).
    for group, results in zip(groups, run_parallel(verify, groups)):
        verdicts = dict((r['tag'], r) for r in results)
        for target in group:
            verdict = verdicts[target['tag']]
            if verdict['verified']:
                target.setdefault('formats', []).append(fmt)
                kept.append(target)
            else:
                failures.append('%s: no valid %s signature on %s (%s)' % (
                    target['reference'].with_tag(target['tag']), 'cosign' if fmt == 'cosign' else 'Notation',
                    target['digest'], '; '.join(verdict['problems'])))
    return kept, failures


VERIFIERS = {'notary': verify_notary}


def refuse_revoked(images, revoked):
    """``([(reference, tags)] without the listed tags, [failure])``: a tag of the revocation list (``revoked``,
    ``_revoked.parse_revoked``'s) is refused before any signature is read, in every format, whatever the registry
    and Notary serve (whoever controls the registry can push a deleted signature again)."""
    kept, failures = [], []
    for reference, tags in images:
        listed = refused_tags(revoked or {}, reference.gun, tags)
        failures.extend('%s: %s' % (reference.with_tag(tag), refusal(listed[tag])) for tag in tags if tag in listed)
        rest = [tag for tag in tags if tag not in listed]
        if rest:
            kept.append((reference, rest))
    return kept, failures


def verify_images(cli, images, policy, formats=('notary',)):
    """Every tag of every image resolved to the digest to pull, or TrustError naming each image that
    does not verify and why.  ``policy``: ``signers``, ``require_all_signers``, ``root_key_ids`` (Notary),
    ``cosign_public_keys``, ``cosign_cli``, ``notation_ca_certificates``, ``notation_cli`` (the others).

    EVERY format in ``formats`` must verify, on the same digest: the Notary-signed digest where Notary
    is one of them, otherwise the digest the registry serves for the tag now.  A tag of ``policy['revoked']`` (the
    revocation list) fails in every format."""
    images, refused = refuse_revoked(images, policy.get('revoked'))
    if not images:
        targets, failures = [], []
    elif 'notary' in formats:
        targets, failures = VERIFIERS['notary'](cli, images, policy)
    else:
        targets, failures = registry_targets(cli, images)
    failures = refused + failures
    for target in targets:
        target['formats'] = ['notary'] if 'notary' in formats else []
    for fmt in [f for f in FORMATS if f in formats and f != 'notary']:
        targets, more = verify_oci_signatures(cli, targets, fmt, policy)
        failures.extend(more)
    if failures:
        raise Unverified('nothing was pulled or tagged; %d image(s) do not verify: %s'
                         % (len(failures), '; '.join(failures)))
    return targets


# --- trust_verify's checks of a release (also trust_push verify) -------------------------------

def _pull_signed(cli, reference, tag, signed_digest):
    """The consumer's pull of ``_verified_pull``: the signed digest, through the daemon, checked in RepoDigests."""
    target = dict(reference=reference, repository=reference.gun, tag=tag, digest=signed_digest, signers=[],
                  root_key_id=None)
    try:
        fetched = pull_verified(cli, [target], tag_locally=False)[0]['pulled']
    except DaemonUnreachable:
        # This host cannot use its docker daemon (no socket, no permission): a local failure, not a verdict about
        # the release - the task fails, and no report says the tag does not verify.
        raise
    except TrustError as exc:
        return False, exc.msg, False
    return True, '', fetched


def check_release(cli, images, signer=None, pins=None, pull='first', read=None, revoked=None):
    """trust_verify's checks of a release: each tag signed, for the digest the registry serves (and the one expected),
    by ``signer`` (a name, or ``{name, key_ids}``: then by its keys, ``_signerkeys.key_verdict``), under a root
    pinned in ``pins``, and (``pull``: ``first``, ``all`` or ``none``) pullable by that digest.

    ``images``: ``[(Reference, [tag, ...], {tag: expected digest})]``.  Returns ``results`` (one per tag),
    ``repositories``, ``verified``, ``unverified``, ``verified_with`` and ``changed`` (a pull fetched an image); a tag that does not verify is reported, not
    raised.  ``read``: ``{str(reference): trust data}`` this run has just read with ``TrustReader`` (trust_push, after
    publishing), instead of reading it again.  ``revoked`` (``_revoked.parse_revoked``'s): a listed tag does not
    verify, whatever its signatures, and is not pulled."""
    pins = pins or {}
    signer = _as_signer(signer) if signer else None
    if signer and signer['key_ids']:
        read = None  # the signer's keys are judged on TUF metadata this reader verified
    reader = TrustReader(cli, pins=pins)
    registries = [RegistryClient(ref, cli.docker_config, timeout=min(cli.timeout, 60)) for ref, tags, d in images]
    # What the registry serves is asked while the trust data is read: neither waits for the other.
    with ThreadPoolExecutor(max_workers=1) as pool:
        serving = pool.submit(lambda: [registry.manifests(tags) for registry, (ref, tags, d) in zip(registries, images)])
        if read is None:
            read = reader.read([ref for ref, tags, digests in images])
        elif any(ref.gun in pins for ref, tags, digests in images):
            # what the caller read was not read under the pins: those repositories are read again, pinned
            read = dict(read)
            read.update(reader.read([ref for ref, tags, digests in images if ref.gun in pins]))
        served_all = serving.result()
    results = []
    repositories = []
    changed = False  # a pull fetched an image the daemon did not have
    for (ref, tags, expected), registry, served_tags in zip(images, registries, served_all):
        parsed = read[str(ref)]
        repositories.append(parsed)
        documents = reader.documents.get(ref.gun, {})
        if signer and signer['key_ids'] and parsed['exists'] and not parsed.get('refused'):
            check_encoding(documents, ref.gun)
        for index, tag in enumerate(tags):
            problems = []
            entry = tag_entry(parsed, tag)
            signed = entry['digest'] if entry else None
            signers = entry['signers'] if entry else []
            served = served_tags[tag]
            served_digest = served[0] if served else None
            if parsed.get('refused'):
                problems.append(parsed['refused'])
            elif not parsed['exists']:
                problems.append('no trust data on the Notary server %s' % cli.server_for(ref))
            elif not entry:
                problems.append('tag %s is not signed' % tag)
            if served is None:
                problems.append('the registry %s has no tag %s' % (registry.base, tag))
            elif signed and signed != served_digest:
                problems.append('signed digest %s is not the digest %s the registry serves' % (signed, served_digest))
            if expected.get(tag) and signed and expected[tag] != signed:
                problems.append('signed digest %s is not the expected (pushed) digest %s' % (signed, expected[tag]))
            if entry:
                problems.extend(p for p in (single_digest_problem(tag_signatures(parsed, tag), tag),
                                            signer and signer_verdict(entry, signer, documents, tag)[0]) if p)
            listed = refused_tags(revoked or {}, ref.gun, [tag])
            if listed:
                problems.insert(0, refusal(listed[tag]))
            if parsed['exists']:
                try:
                    check_root(parsed['root_key_ids'], pins.get(ref.gun))
                except Unverified as exc:
                    problems.append('the repository\'s root is not pinned: %s' % exc)
            pulled = None
            if signed and not problems and (pull == 'all' or (pull == 'first' and index == 0)):
                pulled, detail, fetched = _pull_signed(cli, ref, tag, signed)
                changed = changed or fetched
                if not pulled:
                    problems.append('pulling the signed digest failed: %s' % detail)
            results.append(dict(reference=str(ref.with_tag(tag)), repository=ref.gun, tag=tag, signed_digest=signed,
                                registry_digest=served_digest, signers=signers, pulled=pulled,
                                verified=not problems, problems=problems))
    unverified = [r['reference'] for r in results if not r['verified']]
    try:
        docker_version = cli.docker_capabilities()['version']
    except TrustError:  # no docker CLI on this host: the notary CLI read the trust data
        docker_version = None
    verified_with = dict(docker_cli=cli.docker_cli if docker_version else None, docker_version=docker_version,
                         trust_data=reader.via, pull='none' if pull == 'none' else 'signed digest')
    return dict(results=results, repositories=repositories, verified=not unverified, unverified=unverified,
                verified_with=verified_with, changed=changed)
