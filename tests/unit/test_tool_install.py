# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the roles install a tool (_toolinstall.py, the tool_install_plan and package_manager filters): which method
the variables select, which settings go together, what kind of file a source is, and the supported OS families."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.filter.package_manager import package_manager
from ansible_collections.openbanking.content_trust.plugins.filter.tool_install_plan import tool_install_plan
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._toolinstall import install_plan, source_kind

SUM = 'ab' * 32
URL = 'https://github.com/sigstore/cosign/releases/download/v2.5.0/cosign-linux-amd64'


def plan(tool='cosign', os_family='Debian', install_packages=True, **settings):
    return install_plan(tool, settings, os_family, install_packages, '/usr/local/bin')


def test_url_with_checksum_downloads_the_binary_into_the_bin_dir():
    p = plan(url=URL, sha256='sha256:' + SUM.upper())
    assert p == {'tool': 'cosign', 'binary': 'cosign', 'method': 'url', 'source': URL, 'sha256': SUM,
                 'kind': 'binary', 'member': '', 'package_manager': 'apt', 'path': '/usr/local/bin/cosign'}


@pytest.mark.parametrize('name, member, expected', [
    ('notation_1.3.2_linux_amd64.tar.gz', None, 'notation'),
    ('notation_1.3.2_linux_amd64.zip', 'bin/notation', 'bin/notation'),
    ('notation.tgz?download=1', '', 'notation'),
])
def test_an_archive_names_the_member_to_take(name, member, expected):
    p = plan('notation', url='http://127.0.0.1:8000/' + name, sha256=SUM, archive_member=member)
    assert (p['kind'], p['member'], p['path']) == ('archive', expected, '/usr/local/bin/notation')


def test_notary_client_is_the_notary_binary_and_its_package_is_notary():
    assert plan('notary_client', url='https://example.com/notary-Linux-amd64', sha256=SUM)['path'] == \
        '/usr/local/bin/notary'
    p = plan('notary_client')
    assert (p['method'], p['source'], p['path']) == ('package', 'notary', '/usr/bin/notary')


@pytest.mark.parametrize('settings, message', [
    ({'url': URL}, 'content_trust_cosign_url needs content_trust_cosign_sha256'),
    ({'sha256': SUM}, 'content_trust_cosign_sha256 is set but neither'),
    ({'url': URL, 'package': '/tmp/cosign', 'sha256': SUM}, 'are both set; give one'),
    ({'url': URL, 'sha256': 'abc'}, 'content_trust_cosign_sha256 must be the SHA-256'),
    ({'url': 'ftp://example.com/cosign', 'sha256': SUM}, 'must be an http(s) URL'),
    ({'url': 'https://example.com/cosign_2.5.0_amd64.deb', 'sha256': SUM}, 'points at a .deb package'),
    ({'url': URL + '.tar.gz', 'sha256': SUM, 'archive_member': '../../etc/passwd'}, 'as a relative path'),
    ({'url': URL + '.tar.gz', 'sha256': SUM, 'archive_member': '/usr/bin/cosign'}, 'as a relative path'),
])
def test_settings_that_do_not_go_together_are_refused_naming_them(settings, message):
    with pytest.raises(InputError, match=None) as exc:
        plan(**settings)
    assert message in str(exc.value)


def test_a_file_from_the_controller_takes_its_checksum_optionally():
    assert plan(package='/srv/cosign')['sha256'] == ''
    p = plan(package='/srv/cosign', sha256=SUM)
    assert (p['method'], p['kind'], p['sha256'], p['path']) == ('file', 'binary', SUM, '/usr/local/bin/cosign')


@pytest.mark.parametrize('package, os_family, kind, path', [
    ('/srv/cosign_2.5.0-2_amd64.deb', 'Debian', 'deb', '/usr/bin/cosign'),
    ('/srv/cosign-2.5.0.x86_64.rpm', 'RedHat', 'rpm', '/usr/bin/cosign'),
    ('/srv/cosign_2.5.0_linux_amd64.tar.xz', 'RedHat', 'archive', '/usr/local/bin/cosign'),
])
def test_a_package_file_suits_the_package_manager(package, os_family, kind, path):
    p = plan(package=package, os_family=os_family)
    assert (p['kind'], p['path']) == (kind, path)


@pytest.mark.parametrize('package, os_family', [('/srv/cosign.deb', 'RedHat'), ('/srv/cosign.rpm', 'Debian')])
def test_a_package_file_of_the_other_family_is_refused(package, os_family):
    with pytest.raises(InputError, match='cannot install on a host of the %s family' % os_family):
        plan(package=package, os_family=os_family)


def test_without_url_or_file_the_distribution_package_or_nothing():
    assert plan(os_family='RedHat')['package_manager'] == 'dnf'
    assert plan(os_family='RedHat')['method'] == 'package'
    p = plan(install_packages=False)
    assert (p['method'], p['path']) == ('none', '')


def test_notary_server_and_signer_come_from_a_package_or_a_file_not_a_url():
    with pytest.raises(InputError, match='not from a URL'):
        plan('notary_server', url='https://example.com/notary-server', sha256=SUM)
    assert plan('notary_signer', package='/srv/notary-signer')['path'] == '/usr/local/bin/notary-signer'
    assert plan('notary_server')['source'] == 'notary'


@pytest.mark.parametrize('os_family', ['Suse', 'Alpine', '', None])
def test_other_os_families_are_refused_naming_the_supported_ones(os_family):
    with pytest.raises(AnsibleFilterError) as exc:
        package_manager(os_family, 'signing_host')
    assert 'signing_host supports the Debian family' in str(exc.value) and 'RHEL family' in str(exc.value)
    with pytest.raises(AnsibleFilterError, match='the RHEL family'):
        tool_install_plan({}, 'cosign', os_family, True, '/usr/local/bin', 'trusted_consumer')


def test_the_filters_answer_for_supported_families_and_name_unknown_tools():
    assert package_manager('Debian') == 'apt' and package_manager('RedHat') == 'dnf'
    with pytest.raises(AnsibleFilterError, match='unknown tool'):
        tool_install_plan({}, 'docker', 'Debian', True, '/usr/local/bin')


@pytest.mark.parametrize('source, kind', [
    ('https://x/cosign-linux-amd64', 'binary'), ('https://x/a.TAR.GZ', 'archive'), ('/srv/a.zip', 'archive'),
    ('https://x/a.deb#frag', 'deb'), ('a.rpm', 'rpm'), ('https://x/dir.tar.gz/cosign', 'binary'),
])
def test_source_kind(source, kind):
    assert source_kind(source) == kind


@pytest.mark.parametrize('tool, message', [
    ('notary_client', 'set content_trust_notary_client_package to the binary (a file on the controller), or '
                      'content_trust_notary_client_url and content_trust_notary_client_sha256'),
    ('notary_server', 'set content_trust_notary_server_package to the binary (a file on the controller).'),
])
def test_no_rhel_package_has_notary(tool, message):
    with pytest.raises(InputError) as exc:
        plan(tool, os_family='RedHat')
    assert 'No package of the RedHat family has notary' in str(exc.value) and message in str(exc.value)
    assert plan(tool, os_family='RedHat', install_packages=False)['method'] == 'none'
