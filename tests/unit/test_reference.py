# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository references, tags, signer names and Notary URLs, read the way docker reads them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    DOCKER_HUB_NOTARY,
    InvalidReference,
    check_server_url,
    notary_server_for,
    parse_reference,
    parse_tag,
    validate_signer_name,
)


# parse_reference: what docker calls the repository (GUN) and the tag

@pytest.mark.parametrize('text, gun', [
    ('alpine', 'docker.io/library/alpine'),
    ('openbanking/conformance-suite', 'docker.io/openbanking/conformance-suite'),
    ('docker.io/library/alpine', 'docker.io/library/alpine'),
    ('docker.io/alpine', 'docker.io/library/alpine'),
    ('index.docker.io/openbanking/app', 'docker.io/openbanking/app'),
    ('registry-1.docker.io/alpine', 'docker.io/library/alpine'),
    ('localhost:5000/a/b', 'localhost:5000/a/b'),
    ('localhost/app', 'localhost/app'),
    ('127.0.0.1:5000/acme/app', '127.0.0.1:5000/acme/app'),
    ('registry.example.com/team/app', 'registry.example.com/team/app'),
    ('registry.example.com:8443/a/b/c', 'registry.example.com:8443/a/b/c'),
    ('[::1]:5000/acme/app', '[::1]:5000/acme/app'),
    ('docker.io/openbanking/my_app.v2-x', 'docker.io/openbanking/my_app.v2-x'),
])
def test_reference_normalises_to_the_gun_docker_uses(text, gun):
    ref = parse_reference(text)
    assert ref.gun == gun
    assert ref.tag is None
    assert str(ref) == gun
    assert ref.original == text


def test_short_name_means_docker_hub_library():
    ref = parse_reference('alpine:3.19')
    assert (ref.registry, ref.path, ref.tag) == ('docker.io', 'library/alpine', '3.19')
    assert str(ref) == 'docker.io/library/alpine:3.19'


def test_organisation_name_means_docker_hub():
    ref = parse_reference('openbanking/conformance-suite')
    assert (ref.registry, ref.path) == ('docker.io', 'openbanking/conformance-suite')


def test_local_registry_with_port_and_tag():
    ref = parse_reference('127.0.0.1:5000/acme/app:v1')
    assert ref.registry == '127.0.0.1:5000'
    assert ref.path == 'acme/app'
    assert ref.tag == 'v1'
    assert ref.gun == '127.0.0.1:5000/acme/app'
    assert str(ref) == '127.0.0.1:5000/acme/app:v1'
    assert ref.registry_host == '127.0.0.1'


def test_localhost_registry_keeps_nested_path():
    ref = parse_reference('localhost:5000/a/b')
    assert (ref.registry, ref.path, ref.tag) == ('localhost:5000', 'a/b', None)
    assert ref.registry_host == 'localhost'


@pytest.mark.parametrize('text, loopback', [
    ('localhost:5000/a/b', True),
    ('localhost/a', True),
    ('127.0.0.1:5000/acme/app', True),
    ('127.1.2.3:5000/acme/app', True),
    ('[::1]:5000/acme/app', True),
    ('registry.example.com/team/app', False),
    ('10.0.0.5:5000/team/app', False),
    ('alpine', False),
])
def test_loopback_registries_are_recognised(text, loopback):
    # docker skips TLS verification of the Notary only for loopback registries.
    assert parse_reference(text).is_loopback() is loopback


def test_with_tag_keeps_the_repository():
    ref = parse_reference('127.0.0.1:5000/acme/app').with_tag('v2')
    assert str(ref) == '127.0.0.1:5000/acme/app:v2'


@pytest.mark.parametrize('text', [
    'acme/App',
    'Acme',
    '127.0.0.1:5000/Acme/app',
    'localhost:5000/a/B:v1',
])
def test_uppercase_repository_path_is_refused(text):
    with pytest.raises(InvalidReference, match='not a valid repository name'):
        parse_reference(text)


@pytest.mark.parametrize('text', [
    'alpine@sha256:' + 'a' * 64,
    '127.0.0.1:5000/acme/app:v1@sha256:' + 'b' * 64,
    '127.0.0.1:5000/acme/app@sha256',
])
def test_digest_reference_is_refused(text):
    with pytest.raises(InvalidReference, match='digest references are not supported'):
        parse_reference(text)


@pytest.mark.parametrize('text', [
    'alpine:',
    'alpine:-rc1',
    'alpine:.hidden',
    '127.0.0.1:5000/acme/app:v 1',
    'alpine:' + 'x' * 129,
])
def test_bad_tag_is_refused(text):
    with pytest.raises(InvalidReference, match='not a valid tag'):
        parse_reference(text)


@pytest.mark.parametrize('text', [
    'acme//app',
    'acme/app/',
    '/acme/app',
    'acme/-app',
    'acme/app-',
    'acme/a..b',
    '127.0.0.1:5000/acme/app:v1:v2',
])
def test_malformed_repository_path_is_refused(text):
    with pytest.raises(InvalidReference):
        parse_reference(text)


def test_bad_registry_port_is_refused():
    with pytest.raises(InvalidReference, match='not a valid registry host'):
        parse_reference('registry.example.com:port/acme/app')


@pytest.mark.parametrize('text', ['', '   ', None, 42])
def test_empty_or_non_string_reference_is_refused(text):
    with pytest.raises(InvalidReference, match='non-empty repository reference'):
        parse_reference(text)


def test_tag_refused_where_only_a_repository_is_expected():
    with pytest.raises(InvalidReference, match='must not contain a tag'):
        parse_reference('127.0.0.1:5000/acme/app:v1', allow_tag=False)
    assert parse_reference('127.0.0.1:5000/acme/app', allow_tag=False).tag is None


def test_reference_longer_than_255_characters_is_refused():
    with pytest.raises(InvalidReference, match='longer than 255'):
        parse_reference('registry.example.com/' + 'a' * 250)


def test_error_names_the_option_and_the_value():
    with pytest.raises(InvalidReference) as info:
        parse_reference('acme/App', what='image')
    assert "image 'acme/App'" in str(info.value)


def test_reference_error_is_a_value_error():
    assert issubclass(InvalidReference, ValueError)


@pytest.mark.parametrize('text', [
    'acme/app\n',
    '127.0.0.1:5000/acme/app:v1\n',
])
def test_trailing_newline_in_reference_is_refused(text):
    with pytest.raises(InvalidReference):
        parse_reference(text)


# parse_tag

@pytest.mark.parametrize('tag', ['v1', 'latest', '1.0.0-rc.1', 'A_b', '_x', '9', 'x' * 128])
def test_valid_tags_are_accepted(tag):
    assert parse_tag(tag) == tag


@pytest.mark.parametrize('tag', ['', '-x', '.x', 'x' * 129, 'a/b', 'a:b', 'a b', 'a@b', None, 1])
def test_invalid_tags_are_refused(tag):
    with pytest.raises(InvalidReference, match='not a valid tag'):
        parse_tag(tag)


@pytest.mark.parametrize('tag', [
    'v1\n',
    u'v\u00e9',
    u'\u0661',
])
def test_tags_outside_dockers_ascii_grammar_are_refused(tag):
    with pytest.raises(InvalidReference):
        parse_tag(tag)


# validate_signer_name: docker trust key generate / signer add accept ^[a-z0-9][a-z0-9_-]*$

@pytest.mark.parametrize('name', ['alice', 'ci-bot', 'release_2026', '0day', 'a'])
def test_valid_signer_names_are_accepted(name):
    assert validate_signer_name(name) == name


@pytest.mark.parametrize('name', ['Alice', '-alice', '_alice', 'al ice', 'alice/bob', 'a.b',
                                  'targets/alice', '', None, 7])
def test_invalid_signer_names_are_refused(name):
    with pytest.raises(ValueError, match='not a valid signer name'):
        validate_signer_name(name)


def test_releases_is_reserved():
    with pytest.raises(ValueError, match='reserved'):
        validate_signer_name('releases')


def test_signer_error_names_the_option():
    with pytest.raises(ValueError, match="^signer 'Bob'"):
        validate_signer_name('Bob', what='signer')


def test_signer_name_with_trailing_newline_is_refused():
    with pytest.raises(ValueError):
        validate_signer_name('alice\n')


# notary_server_for: the server docker would talk to for a repository

def test_docker_hub_repository_uses_docker_hubs_notary():
    assert notary_server_for(parse_reference('openbanking/app')) == DOCKER_HUB_NOTARY == 'https://notary.docker.io'


def test_other_registry_uses_https_on_the_registry_host_and_port():
    assert notary_server_for(parse_reference('127.0.0.1:5000/acme/app')) == 'https://127.0.0.1:5000'
    assert notary_server_for(parse_reference('registry.example.com/a/b')) == 'https://registry.example.com'


def test_explicit_server_wins_and_loses_its_trailing_slash():
    ref = parse_reference('openbanking/app')
    assert notary_server_for(ref, 'https://notary.example.com:4443/') == 'https://notary.example.com:4443'


# check_server_url: docker refuses anything but https:// for content trust

@pytest.mark.parametrize('url, expected', [
    ('https://notary.example.com', 'https://notary.example.com'),
    ('https://127.0.0.1:4443', 'https://127.0.0.1:4443'),
    ('https://127.0.0.1:4443/', 'https://127.0.0.1:4443'),
    (None, None),
])
def test_https_server_url_is_accepted(url, expected):
    assert check_server_url(url) == expected


@pytest.mark.parametrize('url', [
    'http://127.0.0.1:4443',
    'http://notary.example.com',
    'notary.example.com',
    'ftp://notary.example.com',
    'https://',
    'https://notary.example.com/v2',
    'https://notary example.com',
    '',
])
def test_non_https_or_malformed_server_url_is_refused(url):
    with pytest.raises(ValueError, match='not a Notary URL docker accepts'):
        check_server_url(url)


def test_server_url_with_trailing_newline_is_refused():
    with pytest.raises(ValueError):
        check_server_url('https://notary.example.com\n')


def test_a_tag_list_is_checked_once_for_every_module():
    from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_tags
    assert parse_tags(['v1', 'latest', 'v1']) == ['v1', 'latest']
    with pytest.raises(InputError) as exc:
        parse_tags(['v1', '-bad'], 'images[2].tags')
    assert "images[2].tags[1] '-bad' is not a valid tag" in str(exc.value)
    with pytest.raises(InputError) as exc:
        parse_tags([], empty='tags must list at least one tag to push and sign')
    assert str(exc.value) == 'tags must list at least one tag to push and sign'
    with pytest.raises(InputError) as exc:
        parse_tags('v1')
    assert 'must be a list of tags' in str(exc.value)
