# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: root pins, the consumers' anchor of trust in Notary.

Not a public API; it may change without notice.  Standard library only (the filters load it on the controller).

A pin is a repository's root key ID: the ID of its root certificate, as ``docker trust inspect`` and
``trust_info``'s ``root_key_ids`` show it.  The pins are enforced by notary's own trust pinning
(``_trustreader``); this module owns their shape, their checks and where a first pin comes from:

- ``parse_root_pins``: ``{repository: [IDs]}`` (module options) to ``{GUN: [IDs]}``;
- ``pins_from_entries``: the roles' shape, ``[{repository, root_key_ids}]`` (``content_trust_pinned_repositories``
  and the pins file), to the same;
- ``check_pins_cover``: fail closed - every repository read is pinned unless trust on first use is asked for, and
  every pin names one of them (a pin with a typo pins nothing);
- ``pins_file_update``: what ``sync_signers.yml`` writes to the pins file after it reconciled the repositories: a
  pin for each repository that has none yet; a repository whose root no longer matches its pin is a conflict that
  fails the run, never a silent re-pin.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib
import json
import os
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError

ROOT_KEY_ID_RE = re.compile(r'\A[0-9a-f]{64}\Z')
ROTATION_HINT = ('if the repository\'s owner rotated its root key, take the new pin from trust_info\'s root_key_ids '
                 'on a host you trust (docs/consumers.md, "Rotating a pin") and give it in root_key_ids')
PINS_FILE_HEADER = ('# Root pins of the Notary repositories: [{repository, root_key_ids}], the shape of\n'
                    '# content_trust_pinned_repositories. Written by sync_signers.yml for each repository it has no pin\n'
                    '# for yet; read by publish_release, verify_release.yml, trusted_consumer and the bridge.\n'
                    '# Review changes to this file as you would a change of who may sign.\n')


def _check_ids(ids, what, repository):
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, (list, tuple)) or not ids:
        raise InputError('%s[%s] must be a non-empty list of root key IDs (64 lowercase hex characters, as '
                         'docker trust inspect and trust_info show them)' % (what, repository))
    for key_id in ids:
        if not isinstance(key_id, str) or not ROOT_KEY_ID_RE.match(key_id):
            raise InputError('%s[%s]: %r is not a root key ID: expected 64 lowercase hex characters, as docker '
                             'trust inspect and trust_info show them' % (what, repository, key_id))
    return list(ids)


def parse_root_pins(pins, what='root_key_ids'):
    """``{GUN: [root key IDs]}`` from a map of repository to a list of IDs (or one ID)."""
    result = {}
    for repository, ids in (pins or {}).items():
        gun = parse_reference(repository, allow_tag=False, what='%s key %r' % (what, repository)).gun
        ids = _check_ids(ids, what, repository)
        result.setdefault(gun, []).extend(k for k in ids if k not in result.get(gun, []))
    return result


def pins_from_entries(entries, what='content_trust_pinned_repositories'):
    """``{GUN: [IDs]}`` from ``[{repository, root_key_ids}]``."""
    if entries is None:
        return {}
    if not isinstance(entries, (list, tuple)):
        raise InputError('%s must be a list of {repository, root_key_ids}, not %s' % (what, type(entries).__name__))
    result = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get('repository'):
            raise InputError('%s[%d] must be a dict with repository and root_key_ids' % (what, i))
        gun = parse_reference(entry['repository'], allow_tag=False, what='%s[%d].repository' % (what, i)).gun
        ids = _check_ids(entry.get('root_key_ids'), what, entry['repository'])
        result.setdefault(gun, []).extend(k for k in ids if k not in result.get(gun, []))
    return result


def read_pins_file(path):
    """The entries of a pins file (``[]`` when there is none).  The file is YAML; the collection writes it as JSON,
    which YAML reads too, so that the controller needs no YAML library to read it here."""
    if not path:
        return []
    if not os.path.isabs(path):
        raise InputError('content_trust_pins_file must be an absolute path on the controller, not %r (the file is '
                         'read and written there, whatever the current directory)' % path)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read()
    body = '\n'.join(line for line in text.splitlines() if not line.lstrip().startswith('#')).strip()
    if not body:
        return []
    try:
        entries = json.loads(body)
    except ValueError:
        try:
            import yaml  # ansible-core's own dependency, for a file a person edited as YAML
        except ImportError:  # pragma: no cover - ansible-core always has it
            raise InputError('the pins file %s is not JSON and PyYAML is not available to read it' % path)
        try:
            entries = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise InputError('the pins file %s is not valid YAML: %s' % (path, exc))
    return entries or []


def merged_pins(inventory_entries, pins_file=None, images=None):
    """The pins of the inventory (``content_trust_pinned_repositories``) over those of the pins file: an inventory
    entry replaces the file's entry for the same repository (that is how a rotated root is re-pinned by hand).

    ``images`` (``[{repository, ...}]``, what a role is about to read): only their repositories' pins are returned,
    since one inventory pins the repositories of many hosts.  An inventory pin of a repository that is not among them
    but close to one of them is a typo, which would pin nothing: it fails, naming the repository it resembles."""
    result = pins_from_entries(read_pins_file(pins_file), what='the pins file %s' % pins_file)
    inventory = pins_from_entries(inventory_entries)
    result.update(inventory)
    if images is None:
        return result
    guns = []
    for i, image in enumerate(images):
        if not isinstance(image, dict) or not image.get('repository'):
            raise InputError('images[%d] must be a dict with a repository' % i)
        guns.append(parse_reference(image['repository'], allow_tag=False, what='images[%d].repository' % i).gun)
    for gun in sorted(inventory):
        if gun not in guns:
            close = difflib.get_close_matches(gun, guns, n=1, cutoff=0.9)
            if close:
                raise InputError('content_trust_pinned_repositories pins %s, which is not among the images read here; '
                                 'did you mean %s? A pin must name the repository exactly, or it pins nothing'
                                 % (gun, close[0]))
    return dict((gun, ids) for gun, ids in result.items() if gun in guns)


def check_pins_cover(images, pins, allow_unpinned=False, what='root_key_ids', allow_option='allow_unpinned'):
    """Fail closed: every repository of ``images`` (``[(Reference, ...)]``) must be pinned in ``pins`` (``{gun:
    [ids]}``) unless ``allow_unpinned``, and every pin must name one of the repositories (a pin with a typo pins
    nothing, silently, otherwise).  Returns the GUNs left unpinned (trusted on first use)."""
    guns = []
    for image in images:
        if image[0].gun not in guns:
            guns.append(image[0].gun)
    stray = sorted(gun for gun in pins if gun not in guns)
    if stray:
        hints = []
        for gun in stray:
            close = difflib.get_close_matches(gun, guns, n=1, cutoff=0.6)
            hints.append('%s (did you mean %s?)' % (gun, close[0]) if close else gun)
        raise InputError('%s pins %s, which is not among the images (%s): a pin must name the repository exactly as '
                         'the images do, or it pins nothing' % (what, ', '.join(hints), ', '.join(guns)))
    unpinned = [gun for gun in guns if gun not in pins]
    if unpinned and not allow_unpinned:
        raise InputError('%s has no pinned root for %s: without a pin the first root the Notary server hands out is '
                         'trusted, so whoever controls the server decides what verifies. Give each repository\'s root '
                         'key ID in %s (trust_info\'s root_key_ids, read on a host you trust; sync_signers.yml writes '
                         'them to content_trust_pins_file), or set %s: true to trust on first use'
                         % (what, ', '.join(unpinned), what, allow_option))
    return unpinned


def unpinned_warning(unpinned):
    """The warning a run that trusts ``unpinned`` repositories on first use shows."""
    return ('not pinned, trusted on first use (allow_unpinned): %s; whoever controls the Notary server decides what '
            'verifies for them. Pin their roots (root_key_ids) to fail closed.' % ', '.join(unpinned))


def pins_file_update(repositories, pins_file):
    """What the pins file should hold after a read of ``repositories`` (``trust_info``'s, the parsed trust data of
    each): ``{entries, added, conflicts, changed, content}``.  A repository with trust data and no pin yet gets one;
    a pinned repository whose root key IDs no longer include its pin is a conflict (an attacker's root, or a rotation
    nobody re-pinned), reported and never re-pinned here."""
    entries = read_pins_file(pins_file)
    current = pins_from_entries(entries, what='the pins file %s' % pins_file)
    added, conflicts = [], []
    new_entries = [dict(repository=gun, root_key_ids=list(ids)) for gun, ids in current.items()]
    for repo in repositories or []:
        gun, ids = repo.get('repository'), sorted(repo.get('root_key_ids') or [])
        if not gun or not repo.get('exists') or not ids:
            continue
        if gun in current:
            if not set(ids) & set(current[gun]):
                conflicts.append('%s: pinned to %s, the Notary server now serves a root with %s'
                                 % (gun, ', '.join(current[gun]), ', '.join(ids)))
            continue
        current[gun] = ids
        new_entries.append(dict(repository=gun, root_key_ids=ids))
        added.append(gun)
    new_entries.sort(key=lambda e: e['repository'])
    content = PINS_FILE_HEADER + json.dumps(new_entries, indent=2, sort_keys=True) + '\n'
    return dict(entries=new_entries, added=added, conflicts=conflicts, changed=bool(added), content=content)


def notary_config_with_pins(text, pins, path):
    """The notary CLI's configuration (``~/.notary/config.json``) with ``pins`` (``{GUN: [IDs]}``) in
    ``trust_pinning.certs``, where the notary CLI enforces them: ``(changed, text)``.  Everything else of the file
    and the pins of other repositories are kept; a repository of ``pins`` gets exactly those IDs.  ``text`` is the
    file's content (None: no file).  An unchanged configuration keeps its text as it is; a changed one is written
    as sorted JSON indented by 2.  InputError naming ``path`` when the file is not a JSON object."""
    try:
        config = json.loads(text) if text is not None and text.strip() else {}
    except ValueError as exc:
        raise InputError('%s is not JSON (%s): the notary CLI could not read it either; fix or remove it, nothing '
                         'was changed' % (path, exc))
    trust_pinning = config.get('trust_pinning', {}) if isinstance(config, dict) else None
    certs = trust_pinning.get('certs', {}) if isinstance(trust_pinning, dict) else None
    if not isinstance(certs, dict):
        raise InputError('%s must be a JSON object whose trust_pinning.certs is an object {GUN: [root key IDs]}, as '
                         'the notary CLI reads it; nothing was changed' % path)
    certs = dict(certs)
    certs.update((gun, list(ids)) for gun, ids in pins.items())
    wanted = dict(config, trust_pinning=dict(trust_pinning, certs=certs))
    if text is not None and wanted == config:
        return False, text
    return True, json.dumps(wanted, indent=2, sort_keys=True) + '\n'
