# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: ONE reader of trust data for many repositories.

Not a public API; it may change without notice.

The reader returns, for each reference, the plain data of ``_trustdata.parse_inspect_entry``
(signers and key IDs, released tags with digests and signers, root and repository key IDs),
whichever CLI is underneath, and adds the repository's TUF state (``_trustdata.add_tuf_state``:
``versions``, ``expires`` and ``thresholds`` per role, ``length`` per released tag), read from the
metadata the CLI has just verified and cached (``cached_documents``), under the same lock.  The CLI is chosen once per run from what docker really offers
(``TrustCLI.docker_capabilities``): ``docker trust inspect`` (one call for every reference)
where ``docker trust`` exists, which is docker 28.x and older or 29 with the docker-trust
plugin; the notary CLI where it does not (docker 29 without the plugin, or no docker at all).
Both verify the TUF metadata against the cached root before answering, and both report the
same data for the same repository; ``docker trust`` is never run on a CLI that lacks it.
Reading refreshes each repository's TUF cache, so it holds that repository's lock while it reads:
``_locks.lock_batches`` splits the repositories into batches (whole repositories, a few hundred at
most, as many as this process has files left for), and each batch is locked (``repository_locks``),
read and released before the next.  Both CLIs run on one ``TrustCLI.read_view`` per read: the real
TUF cache without the private keys, which they would open, every one, for each repository.

On the notary path ``notary delegation list`` refreshes and verifies root, targets and the
delegation keys (read from the cache it has just written), and ``notary list -r ROLE`` reads
each of ``targets/releases`` and the signer roles, verified as docker verifies them.

Many references are read in parallel: they are split, whole repositories together (two processes
never write one repository's cache), into up to ``MAX_PROCESSES`` chunks of at least
``MIN_PER_PROCESS`` references, read concurrently (one ``docker trust inspect`` per chunk, or the
notary calls of each chunk's repositories), and merged back in the order given.  A failure is
classified as for a single call; when several chunks fail, the first in input order is raised.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import re
import threading

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import https_get
from ansible_collections.openbanking.content_trust.plugins.module_utils._dockerinspect import STALE_CACHE_RE, missing_on_server, missing_on_server_message
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import failure_lines
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import notary_tls_verified
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    RepositoryUnknown, Unverified, explain, notary_unreachable,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import RELEASES_ROLE, delegation_roles, inspect_entry, list_rows, target_hashes
from ansible_collections.openbanking.content_trust.plugins.module_utils._tufcache import cached_metadata
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import list_local_keys
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import ROTATION_HINT
from ansible_collections.openbanking.content_trust.plugins.module_utils._signerkeys import held_root_ids
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import (
    TOP_LEVEL_ROLES, add_tuf_state, delegation_names, parse_inspect_entry,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._locks import lock_batches, repository_locks

DOCKER = 'docker trust inspect'
NOTARY = 'notary'
PINNED = 'notary with trust pinning'
# What notary says when the root it is given does not validate: under the pins (no pinned certificate left,
# or the pinned certificates' signatures do not meet the root role's threshold), or against the root it
# cached under the pins (a rotation not signed by the previous root keys).
_ROOT_REFUSED_RE = re.compile(r'unable to match any certificates to trust_pinning config|'
                              r'could not validate the path to a trusted root|'
                              r'valid signatures did not meet threshold for root|'
                              r'failed to validate data with current trusted certificates|'
                              r'root validation failed|ErrRootRotationFail|'
                              r'does not match a trusted (?:root|certificate)|trust pinning', re.I)
_NO_TRUST_DATA_RE = re.compile(r'does not have trust data for|remote trust data does not exist')

# Measured on the local stack: docker trust inspect of 40 repositories takes 0.64 s as one process
# and 0.47 s over 2-4; below a handful of references a second process costs more than it saves.
MAX_PROCESSES = 4
MIN_PER_PROCESS = 8
# notary reads a repository with processes of its own (delegation list, then a list per role: about 20 ms each), so
# its reads gain from running side by side from the second repository on: 10 pinned repositories took 0.66 s one
# after another.
MIN_PER_NOTARY_CHUNK = 1


def chunk_references(references, parts=MAX_PROCESSES, minimum=MIN_PER_PROCESS):
    """Split references into at most ``parts`` lists of about equal size (none smaller than
    ``minimum`` unless there is only one), keeping the references of one repository (GUN) in one
    list and each list in input order."""
    groups = []
    by_gun = {}
    for ref in references:
        gun = getattr(ref, 'gun', str(ref))
        if gun not in by_gun:
            by_gun[gun] = []
            groups.append(by_gun[gun])
        by_gun[gun].append(ref)
    total = sum(len(g) for g in groups)
    count = max(1, min(parts, total // max(1, minimum), len(groups)))
    if count == 1:
        return [list(references)] if total else []
    target = float(total) / count
    chunks = [[]]
    done = 0
    for group in groups:
        # start a new chunk once this one holds its share of the references
        if chunks[-1] and len(chunks) < count and done >= target * len(chunks):
            chunks.append([])
        chunks[-1].extend(group)
        done += len(group)
    order = dict((id(ref), i) for i, ref in enumerate(references))
    return [sorted(chunk, key=lambda r: order[id(r)]) for chunk in chunks]


def run_concurrently(func, items):
    """``[func(item) for item in items]``, each item in its own thread; results in input order.
    The first exception in input order is raised once every thread has finished."""
    if len(items) <= 1:
        return [func(item) for item in items]
    results = [None] * len(items)
    errors = [None] * len(items)

    def work(i):
        try:
            results[i] = func(items[i])
        except Exception as exc:  # re-raised below in the caller's thread
            errors[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(1, len(items))]
    for t in threads:
        t.daemon = True
        t.start()
    work(0)
    for t in threads:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results


def pinned_trust_dir(trust_dir, gun, pins):
    """notary's trust directory for the pinned reads of ``gun`` under ``pins``: a TUF cache of its own, below
    ``<trust_dir>/pinned``, established under exactly these pins.  notary consults its pins only when it has no
    cached root, so neither a root cached by an unpinned read nor one cached under other pins may stand in."""
    name = hashlib.sha256(json.dumps([gun, sorted(pins)]).encode('utf-8')).hexdigest()[:32]
    return os.path.join(trust_dir, 'pinned', name)


def cached_documents(trust_dir, gun):
    """``{role: metadata}`` of the repository's cached TUF metadata: root, targets, snapshot, timestamp
    and every delegation role reachable from targets that has metadata (a cached file of a role no
    longer delegated is left out)."""
    documents = {}
    for role in TOP_LEVEL_ROLES:
        doc = cached_metadata(trust_dir, gun, role)
        if doc is not None:
            documents[role] = doc
    pending = delegation_names(documents.get('targets'))
    while pending:
        role = pending.pop(0)
        if role in documents:
            continue
        doc = cached_metadata(trust_dir, gun, role)
        if doc is not None:
            documents[role] = doc
            pending.extend(delegation_names(doc))
    return documents


def served_root(cli, reference):
    """The root.json the Notary server serves for ``reference``, parsed but NOT verified: what a message names, and
    where ``held_root_pins`` looks for this host's root keys (notary then verifies it under the pins).  None when the
    server has none or cannot be read."""
    server = cli.server_for(reference)
    try:
        ca = cli.ca_file_for(server)
        body = https_get('%s/v2/%s/_trust/tuf/root.json' % (server, reference.gun), timeout=min(cli.timeout, 30),
                         verify=bool(ca) or notary_tls_verified(reference, server), ca=ca)
        root = json.loads(body.decode('utf-8'))
    except Exception:  # unreadable: no pin from it, and the read itself says why
        return None
    return root if isinstance(root, dict) else None


def held_root_pins(cli, references, pins):
    """``{gun: [root certificate IDs]}`` for the repositories of ``references`` that ``pins`` does not pin and whose
    root key this host holds: a signing host that holds a repository's root key pins the repository to it.  The root
    private keys are those in ``<trust_dir>/private`` with ``role: root``; the certificates are found in the root the
    server serves (``_signerkeys.held_root_ids``), and the read under that pin verifies the root's signature by the
    held key, so a served root that merely lists the certificate, signed by another key, is refused.  Nothing is
    asked of the server on a host without root keys (a consumer)."""
    held = [k['key_id'] for k in list_local_keys(cli.trust_dir) if k['role'] == 'root']
    found = {}
    if not held:
        return found
    for ref in references:
        if ref.gun in pins or ref.gun in found:
            continue
        root = served_root(cli, ref)
        ids = held_root_ids(root, held) if root else []
        if ids:
            found[ref.gun] = ids
    return found


class TrustReader(object):
    """Trust data of many references through ``docker trust inspect`` or the notary CLI."""

    def __init__(self, cli, pins=None):
        self.cli = cli
        # ``{gun: [root certificate IDs]}``: these repositories are read by notary under its trust pinning
        # (``_read_pinned``), whatever the docker CLI; docker trust inspect cannot pin.
        self.pins = dict(pins or {})
        # ``{gun: {role: verified TUF metadata}}`` of the last read, for callers that need more than the model
        self.documents = {}
        self.via = DOCKER if cli.has_docker_trust() else NOTARY

    def read(self, references):
        """``{str(reference): parsed}``; ``parsed['exists']`` is False for a repository without trust
        data.  An unreachable server or an untrusted TLS certificate raises TrustError naming it."""
        references = list(references)
        read = {}
        documents = {}
        views = {}
        # Both CLIs clear and rewrite each repository's TUF cache: never while a writer on this host
        # uses it (``_transaction``).  The locks are taken a batch of repositories at a time (``_locks``:
        # a process may hold only so many files open), each batch read whole under its locks.
        for batch in lock_batches(self.cli, references):
            with repository_locks(self.cli, batch):
                pinned = [ref for ref in batch if ref.gun in self.pins]
                plain = [ref for ref in batch if ref.gun not in self.pins]
                part = self._read(plain, views) if plain else {}
                if pinned:
                    part.update(self._read_pinned(pinned))
                # Both CLIs have just verified and cached the repository's TUF metadata: read it now,
                # before a writer on this host can change the cache.
                for ref in batch:
                    parsed = part[str(ref)]
                    if parsed['exists'] and ref.gun not in documents:
                        documents[ref.gun] = cached_documents(self.cache_dir(ref.gun), ref.gun)
                    add_tuf_state(parsed, documents.get(ref.gun, {}))
                read.update(part)
        if references and all(ref.gun in self.pins for ref in references):
            self.via = PINNED
        self.documents = documents
        return dict((str(ref), read[str(ref)]) for ref in references)

    def cache_dir(self, gun):
        """The trust directory whose TUF cache a read of ``gun`` verified (pinned: ``pinned_trust_dir``)."""
        if gun in self.pins:
            return pinned_trust_dir(self.cli.trust_dir, gun, self.pins[gun])
        return self.cli.trust_dir

    def _read_pinned(self, references):
        """The pinned repositories, read by notary under ``trust_pinning`` (``disable_tofu``) with their own
        caches.  A root that the pins do not validate is not an error of the read but the repository's verdict:
        its entry has ``exists`` False and ``refused`` (why), for the caller to report with the other images."""
        for ref in references:
            self.cli.require_trusted_notary(ref)

        def one(ref):
            trust_dir = self.cache_dir(ref.gun)
            for directory in (os.path.dirname(trust_dir), trust_dir, os.path.join(trust_dir, 'private')):
                os.makedirs(directory, 0o700, exist_ok=True)  # repositories are read side by side: one may be first
            try:
                entry = self._notary_entry(ref, trust_dir, pins=self.pins[ref.gun])
            except Unverified as exc:
                parsed = parse_inspect_entry(ref, None)
                parsed['refused'] = exc.msg
                return parsed
            parsed = parse_inspect_entry(ref, entry)
            parsed['pinned'] = True
            return parsed

        read = {}
        chunks = chunk_references(references, minimum=MIN_PER_NOTARY_CHUNK)
        for part in run_concurrently(lambda chunk: [(str(ref), one(ref)) for ref in chunk], chunks):
            read.update(part)
        return read

    def _read(self, references, views):
        """The unpinned ``references``; ``views`` keeps the one read view (``TrustCLI.read_view``) of a whole read,
        made at the first batch and used by every batch and chunk after it."""
        if 'view' not in views:
            views['view'] = self.cli.read_view()
        chunks = chunk_references(references, minimum=MIN_PER_PROCESS if self.via == DOCKER else MIN_PER_NOTARY_CHUNK)
        if self.via == DOCKER:
            raw = {}
            for part in run_concurrently(lambda chunk: self.cli.inspect(chunk, view=views['view']), chunks):
                raw.update(part)
            return dict((str(ref), parse_inspect_entry(ref, raw.get(str(ref)))) for ref in references)
        os.makedirs(self.cli.trust_dir, 0o700, exist_ok=True)
        # The same preflight as docker trust inspect's: a Notary docker would not verify (loopback
        # registry) but that is not on this host gets nothing until its certificate verifies.
        for ref in references:
            self.cli.require_trusted_notary(ref)
        # notary too opens every private key file for each repository; a read needs none (read_view)
        trust_dir = os.path.join(views['view'], 'trust')
        entries = {}
        for part in run_concurrently(lambda chunk: [(str(ref), self._notary_entry(ref, trust_dir)) for ref in chunk],
                                     chunks):
            entries.update(part)
        return dict((str(ref), parse_inspect_entry(ref, entries[str(ref)])) for ref in references)

    def read_one(self, reference):
        return self.read([reference])[str(reference)]

    def read_documents(self, reference):
        """``(parsed, documents)`` of one repository: the model, and ``{role: TUF metadata}`` as this read verified
        it under the repository's lock ({} when it has no trust data), for callers that need more than the model
        (delegation keys, paths)."""
        parsed = self.read_one(reference)
        return parsed, self.documents.get(reference.gun, {})

    # --- the notary path -----------------------------------------------------------------

    def _notary(self, argv, what, reference, pins=None):
        """Output of a read-only notary call; None when the server has no trust data.  With ``pins``, a root
        that does not validate raises Unverified."""
        server = self.cli.server_for(reference)
        # A timeout names the operation, the repository and the server.
        rc, out = self.cli.run(argv, what='%s (Notary server %s)' % (what, server))
        if pins and rc != 0 and _ROOT_REFUSED_RE.search(out):
            served = self._served_root_ids(reference, server)
            raise Unverified('the root the Notary server %s serves%s is not signed by the pinned root key %s (%s); %s'
                             % (server, ' (root key IDs %s)' % ', '.join(served) if served else '',
                                ', '.join(sorted(pins)), failure_lines(out, 2).strip() or 'refused by notary',
                                ROTATION_HINT))
        if STALE_CACHE_RE.search(out):
            # notary, like docker, answers from its cache when the server is down or no longer has the
            # repository: that may be stale.
            # Only notary's debug log says why it could not use the server (as docker -D does).
            dummy, debug = self.cli.run(argv[:1] + ['-D'] + argv[1:], what=what)
            role = missing_on_server(debug)
            if role:
                raise RepositoryUnknown(missing_on_server_message(what, server, reference.gun, role, os.path.join(
                    self.cli.trust_dir, 'tuf', reference.gun)), output=failure_lines(debug))
            error = explain(out, what, sources=('notary',), server=server, docker_config=self.cli.docker_config,
                            fallback=False)
            if error is None:
                error = notary_unreachable(server, what=what, output=out)
            error.msg += '; notary fell back to trust data cached in %s, which may be stale' % self.cli.trust_dir
            raise error
        if rc != 0:
            if _NO_TRUST_DATA_RE.search(out):
                return None
            raise explain(out, what, sources=('notary', 'docker'), server=server, docker_config=self.cli.docker_config,
                          rc=rc)
        return out

    def _served_root_ids(self, reference, server):
        """The root key IDs of the root the server serves now, for the message of a refusal only: never a decision
        (anyone can copy an ID).  [] when it cannot be read."""
        try:
            return sorted(served_root(self.cli, reference)['signed']['roles']['root']['keyids'])
        except Exception:  # best effort: the refusal stands whatever this says
            return []

    def _notary_entry(self, reference, trust_dir=None, pins=None):
        """The entry of ``reference``, read by notary with ``trust_dir`` (the real one's TUF cache, without
        its private keys; or a pinned cache) in place of the real trust directory, under ``pins`` if given."""
        cli = self.cli
        gun = reference.gun
        os.makedirs(cli.trust_dir, 0o700, exist_ok=True)
        cache = trust_dir if pins else cli.trust_dir
        base = cli.notary_argv(reference, trust_dir=trust_dir, pins=pins)
        if self._notary(base + ['delegation', 'list', gun], 'notary delegation list %s' % gun, reference,
                        pins=pins) is None:
            return None
        # notary has just downloaded and verified these into the cache.
        root = cached_metadata(cache, gun, 'root')
        targets = cached_metadata(cache, gun, 'targets')
        role_targets = {'targets': dict((t, h) for t, (h, dummy) in target_hashes(targets).items())}
        roles = [r for r in sorted(delegation_roles(targets)) if r == RELEASES_ROLE or r.count('/') == 1]
        if RELEASES_ROLE in roles:
            roles.remove(RELEASES_ROLE)
            roles.insert(0, RELEASES_ROLE)
        for role in roles:
            if role != RELEASES_ROLE and not (role_targets['targets'] or role_targets.get(RELEASES_ROLE)):
                break  # nothing released: the signer roles cannot add a signed tag
            out = self._notary(base + ['list', gun, '-r', role], 'notary list %s -r %s' % (gun, role), reference,
                               pins=pins)
            role_targets[role] = list_rows(out, role)
        return inspect_entry(str(reference), root, targets, role_targets, tag=reference.tag)
