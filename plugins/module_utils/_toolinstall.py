# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to openbanking.content_trust: how the roles install a tool on a host (cosign, notation, the notary
CLI, notary-server, notary-signer), decided from the role variables before anything is downloaded or copied.

The one owner of: which install method a tool's variables select (a URL with its checksum, a file on the
controller, the distribution's package, or nothing), which settings go together, what kind of file a source is
(binary, archive, .deb, .rpm), which archive member is the tool, and which operating system families the roles
support (with the package manager of each). Standard library only: the ``tool_install_plan`` filter runs it on the
controller, and the ``host_setup`` role's shared tasks carry out the plan it returns.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import posixpath
import re

from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError

# The tools the roles install, by the prefix of their variables: the binary's name, and whether a URL may
# be given (notary-server and notary-signer come from the distribution's package or a file: upstream ships
# them as container images, not as release binaries).
# The package that has the tool, by OS family (None: no package there; Debian's notary package has the client,
# the server and the signer; cosign and notation are packaged by Debian 13 / unstable and by Fedora/EPEL).
TOOLS = {
    'cosign': {'binary': 'cosign', 'url': True, 'packages': {'Debian': 'cosign', 'RedHat': 'cosign'}},
    'notation': {'binary': 'notation', 'url': True, 'packages': {'Debian': 'notation', 'RedHat': 'notation'}},
    'notary_client': {'binary': 'notary', 'url': True, 'packages': {'Debian': 'notary', 'RedHat': None}},
    'notary_server': {'binary': 'notary-server', 'url': False, 'packages': {'Debian': 'notary', 'RedHat': None}},
    'notary_signer': {'binary': 'notary-signer', 'url': False, 'packages': {'Debian': 'notary', 'RedHat': None}},
}

# Ansible's os_family -> the package manager the roles use there. Only apt runs in the tests; the dnf
# package names are documented as untested.
OS_FAMILIES = {'Debian': 'apt', 'RedHat': 'dnf'}
SUPPORTED = 'the Debian family (Debian, Ubuntu) and the RHEL family (RHEL, Rocky Linux, AlmaLinux, CentOS Stream)'

ARCHIVES = ('.tar.gz', '.tgz', '.tar.xz', '.txz', '.tar.bz2', '.tar', '.zip')
PACKAGES = {'.deb': 'Debian', '.rpm': 'RedHat'}
SHA256 = re.compile(r'^(?:sha256:)?([0-9a-fA-F]{64})$')


def package_manager(os_family, role='this role'):
    """apt or dnf for ``os_family`` (Ansible's fact), or InputError naming what is supported."""
    manager = OS_FAMILIES.get(os_family or '')
    if manager is None:
        raise InputError('%s supports %s; this host is of the %s family. Install the tools yourself and use the '
                         'modules directly, or run the role on a supported system.'
                         % (role, SUPPORTED, os_family or 'unknown'))
    return manager


def source_kind(source):
    """binary, archive, deb or rpm, from the name a URL or a file ends with (query and fragment ignored)."""
    name = posixpath.basename(re.split(r'[?#]', source or '', maxsplit=1)[0]).lower()
    for ext in PACKAGES:
        if name.endswith(ext):
            return ext[1:]
    if any(name.endswith(ext) for ext in ARCHIVES):
        return 'archive'
    return 'binary'


def _text(value):
    return '' if value is None else str(value).strip()


def _checksum(value, variable):
    value = _text(value)
    if not value:
        return ''
    match = SHA256.match(value)
    if not match:
        raise InputError('%s must be the SHA-256 of the file, 64 hexadecimal digits (optionally after "sha256:"); '
                         'it is "%s".' % (variable, value))
    return match.group(1).lower()


def _member(value, binary, variable):
    member = _text(value) or binary
    if member.startswith('/') or '..' in member.split('/'):
        raise InputError('%s names the tool inside the archive, as a relative path (for example "%s" or '
                         '"%s-linux-amd64/%s"); it is "%s".' % (variable, binary, binary, binary, member))
    return member


def install_plan(tool, settings, os_family, install_packages, bin_dir, role='this role'):
    """How to install ``tool`` (a key of TOOLS) from its role variables ``settings`` ({url, sha256, package,
    archive_member}: content_trust_<tool>_*), on a host of ``os_family``.

    Returns {tool, binary, method (url, file, package or none), source, sha256, kind (binary, archive, deb, rpm,
    package), member, package_manager, path (where the tool's binary is afterwards, or '' when not installed)}.
    Raises InputError, naming the variables, for settings that do not go together: a URL needs its checksum (the
    roles have no default URL, and nothing else proves what was downloaded), a URL and a file exclude each other,
    a checksum needs something to check, a package file must suit the host's package manager."""
    if tool not in TOOLS:
        raise InputError('tool_install_plan: unknown tool "%s"; expected one of %s' % (tool, ', '.join(sorted(TOOLS))))
    manager = package_manager(os_family, role)
    binary = TOOLS[tool]['binary']
    prefix = 'content_trust_%s_' % tool
    settings = settings or {}
    url, package = _text(settings.get('url')), _text(settings.get('package'))
    sha256 = _checksum(settings.get('sha256'), prefix + 'sha256')
    plan = {'tool': tool, 'binary': binary, 'method': 'none', 'source': '', 'sha256': sha256, 'kind': '',
            'member': '', 'package_manager': manager, 'path': ''}
    if url and package:
        raise InputError('%surl and %spackage are both set; give one: the URL of a release binary or archive (with '
                         '%ssha256), or a file on the controller.' % (prefix, prefix, prefix))
    if url:
        if not TOOLS[tool]['url']:
            raise InputError('%s is installed from the distribution\'s package or a file on the controller '
                             '(%spackage), not from a URL.' % (binary, prefix))
        parts = urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.netloc or re.search(r'\s', url):
            raise InputError('%surl must be an http(s) URL of a release binary or archive; it is "%s".'
                             % (prefix, url))
        if not sha256:
            raise InputError('%surl needs %ssha256: the SHA-256 of the file the URL serves, checked before anything '
                             'is installed (take it from the release\'s checksums file).' % (prefix, prefix))
        kind = source_kind(url)
        if kind in ('deb', 'rpm'):
            raise InputError('%surl points at a .%s package; give the URL of the release binary or archive, or '
                             'the package as a file on the controller (%spackage).' % (prefix, kind, prefix))
        plan.update(method='url', source=url, kind=kind)
    elif package:
        kind = source_kind(package)
        if kind in ('deb', 'rpm') and PACKAGES['.' + kind] != os_family:
            raise InputError('%spackage is a .%s package, which %s cannot install on a host of the %s family; give '
                             'the .%s package, the binary or a release archive.'
                             % (prefix, kind, manager, os_family, 'deb' if manager == 'apt' else 'rpm'))
        plan.update(method='file', source=package, kind=kind)
    elif sha256:
        raise InputError('%ssha256 is set but neither %surl nor %spackage: there is nothing to check it against.'
                         % (prefix, prefix, prefix))
    elif install_packages:
        name = TOOLS[tool]['packages'][os_family]
        if name is None:
            raise InputError('No package of the %s family has %s: set %spackage to the binary (a file on the '
                             'controller)%s.' % (os_family, binary, prefix,
                                                 ', or %surl and %ssha256' % (prefix, prefix) if TOOLS[tool]['url']
                                                 else ''))
        plan.update(method='package', source=name, kind='package')
    if plan['kind'] == 'archive':
        plan['member'] = _member(settings.get('archive_member'), binary, prefix + 'archive_member')
    if plan['kind'] in ('binary', 'archive'):
        plan['path'] = posixpath.join(bin_dir, binary)
    elif plan['method'] != 'none':
        plan['path'] = posixpath.join('/usr/bin', binary)
    return plan
