# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Root pins: fail closed, typos, the pins file that sync_signers.yml writes and the roles read."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._pins import (
    check_pins_cover, merged_pins, pins_file_update, read_pins_file, unpinned_warning,
)
from ansible_collections.openbanking.content_trust.plugins.filter.root_pins import root_pins

A, B, C = 'a' * 64, 'b' * 64, 'c' * 64
APP = '127.0.0.1:5000/acme/app'
WEB = '127.0.0.1:5000/acme/web'


def images(*guns):
    return [(parse_reference(g, allow_tag=False), ['v1']) for g in guns]


def test_every_repository_needs_a_pin_unless_trust_on_first_use_is_asked_for():
    assert check_pins_cover(images(APP, WEB), {APP: [A], WEB: [B]}) == []
    with pytest.raises(InputError) as exc:
        check_pins_cover(images(APP, WEB), {APP: [A]})
    assert 'no pinned root for %s' % WEB in str(exc.value) and APP not in str(exc.value).split('no pinned root')[1][:60]
    assert 'allow_unpinned: true' in str(exc.value) and exc.value.kind == 'bad_input'
    assert check_pins_cover(images(APP, WEB), {APP: [A]}, allow_unpinned=True) == [WEB]
    assert WEB in unpinned_warning([WEB]) and 'trusted on first use' in unpinned_warning([WEB])


def test_a_pin_that_names_no_image_is_refused_even_with_trust_on_first_use():
    typo = APP[:-1] + 'q'
    for allow in (False, True):
        with pytest.raises(InputError) as exc:
            check_pins_cover(images(APP), {typo: [A]}, allow_unpinned=allow)
        assert 'did you mean %s?' % APP in str(exc.value)
    with pytest.raises(InputError) as exc:
        check_pins_cover(images(APP), {'registry.example.com/other/thing': [A], APP: [A]})
    assert 'registry.example.com/other/thing' in str(exc.value) and 'did you mean' not in str(exc.value)


def test_the_inventory_replaces_the_pins_file_and_only_the_images_repositories_are_returned(tmp_path):
    pins_file = tmp_path / 'pins.yml'
    pins_file.write_text('# comment\n' + json.dumps([{'repository': APP, 'root_key_ids': [A]},
                                                     {'repository': WEB, 'root_key_ids': [B]}]))
    assert merged_pins([], str(pins_file)) == {APP: [A], WEB: [B]}
    assert merged_pins([{'repository': APP, 'root_key_ids': [C]}], str(pins_file)) == {APP: [C], WEB: [B]}
    assert merged_pins([], str(tmp_path / 'none.yml')) == {}
    only_app = [{'repository': APP, 'tags': ['v1']}]
    assert merged_pins([], str(pins_file), only_app) == {APP: [A]}
    # a pin of another host's repository is left out; one that is a character away from an image's is a typo
    far = [{'repository': 'registry.example.com/team/other', 'root_key_ids': [C]}]
    assert merged_pins(far, str(pins_file), only_app) == {APP: [A]}
    with pytest.raises(InputError) as exc:
        merged_pins([{'repository': APP + 'p', 'root_key_ids': [C]}], None, only_app)
    assert 'did you mean %s?' % APP in str(exc.value)
    # the filter says the same, as a filter error
    assert root_pins([], str(pins_file), only_app) == {APP: [A]}


def test_a_person_may_write_the_pins_file_as_yaml_and_bad_entries_are_named(tmp_path):
    pins_file = tmp_path / 'pins.yml'
    pins_file.write_text('- repository: %s\n  root_key_ids:\n    - %s\n' % (APP, A))
    assert read_pins_file(str(pins_file)) == [{'repository': APP, 'root_key_ids': [A]}]
    for entries, words in [([{'repository': APP, 'root_key_ids': ['ABC']}], 'not a root key ID'),
                           ([{'repository': APP}], 'non-empty list'), ([{'root_key_ids': [A]}], 'repository'),
                           ({'repository': APP}, 'must be a list')]:
        with pytest.raises(InputError) as exc:
            merged_pins(entries)
        assert words in str(exc.value)


def inspected(gun, ids, exists=True):
    return {'repository': gun, 'exists': exists, 'root_key_ids': ids}


def test_sync_signers_pins_new_repositories_once_and_never_re_pins_a_changed_root(tmp_path):
    pins_file = str(tmp_path / 'pins.yml')
    first = pins_file_update([inspected(APP, [A]), inspected(WEB, [], exists=False)], pins_file)
    assert first['changed'] and first['added'] == [APP] and first['conflicts'] == []
    assert first['entries'] == [{'repository': APP, 'root_key_ids': [A]}]
    with open(pins_file, 'w') as f:
        f.write(first['content'])
    assert read_pins_file(pins_file) == first['entries']
    # the same read again: nothing to write
    again = pins_file_update([inspected(APP, [A])], pins_file)
    assert not again['changed'] and again['conflicts'] == [] and again['content'] == first['content']
    # a new repository is added, the pinned one is kept
    more = pins_file_update([inspected(APP, [A]), inspected(WEB, [B])], pins_file)
    assert more['added'] == [WEB] and [e['repository'] for e in more['entries']] == [APP, WEB]
    # a root that no longer has the pinned ID: a conflict, and the pin stays what it was
    changed = pins_file_update([inspected(APP, [C])], pins_file)
    assert not changed['changed'] and changed['entries'] == first['entries']
    assert changed['conflicts'] and APP in changed['conflicts'][0] and A in changed['conflicts'][0]


def test_the_pins_file_is_an_absolute_path_on_the_controller():
    with pytest.raises(InputError) as exc:
        read_pins_file('None/content_trust_pins.yml')
    assert 'content_trust_pins_file must be an absolute path' in str(exc.value)
    with pytest.raises(InputError):
        pins_file_update([inspected(APP, [A])], 'pins.yml')
