# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: tool_install_plan
short_description: How a role installs cosign, notation, the notary CLI, notary-server or notary-signer on a host
version_added: 0.1.0
author:
  - Open Banking (@OpenBankingUK)
description:
  - Given a tool's role variables (C(content_trust_<tool>_url), C(content_trust_<tool>_sha256),
    C(content_trust_<tool>_package), C(content_trust_<tool>_archive_member)), returns how the
    P(openbanking.content_trust.host_setup#role) role's shared tasks install it, or fails naming the variables
    that do not go together.
  - A URL (of a release binary or archive) needs its SHA-256; the file is downloaded into a private staging
    directory and checked before anything is installed. A file on the controller (a binary, a release archive,
    a C(.deb) on the Debian family, a C(.rpm) on the RHEL family) is checked against its SHA-256 when one is given.
    Without either, the distribution's package (apt or dnf) when O(install_packages), else nothing.
  - Runs on the controller; standard library only.
positional: _input, tool, os_family, install_packages, bin_dir, role
options:
  _input:
    description: The tool's settings, C({url, sha256, package, archive_member}); empty values are unset.
    type: dict
    required: true
  tool:
    description: The tool, by the prefix of its variables.
    type: str
    choices: [cosign, notation, notary_client, notary_server, notary_signer]
    required: true
  os_family:
    description: The host's C(ansible_facts.os_family); V(Debian) and V(RedHat) are supported.
    type: str
    required: true
  install_packages:
    description: Whether the distribution's package may be installed when no URL or file is given.
    type: bool
    required: true
  bin_dir:
    description: Where a binary (given, downloaded or taken from an archive) is installed.
    type: path
    required: true
  role:
    description: The role asking, named in error messages.
    type: str
    default: this role
'''

EXAMPLES = r'''
- name: Install cosign as the role variables say
  ansible.builtin.include_role:
    name: openbanking.content_trust.host_setup
    tasks_from: tool
  vars:
    host_setup_tool: >-
      {{ {'url': content_trust_cosign_url, 'sha256': content_trust_cosign_sha256, 'package': content_trust_cosign_package}
         | openbanking.content_trust.tool_install_plan('cosign', ansible_facts.os_family,
                                                       content_trust_install_packages, content_trust_tools_bin_dir) }}
'''

RETURN = r'''
_value:
  description:
    - C(method) (V(url), V(file), V(package) or V(none)), C(source) (the URL, the file or the package name),
      C(sha256) (lower-case, or empty), C(kind) (V(binary), V(archive), V(deb), V(rpm) or V(package)), C(member)
      (the tool's path inside an archive), C(package_manager) (V(apt) or V(dnf)), C(binary) and C(path) (where the
      tool's binary is once installed, empty for V(none)).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError
from ansible_collections.openbanking.content_trust.plugins.module_utils._toolinstall import install_plan


def tool_install_plan(settings, tool, os_family, install_packages, bin_dir, role='this role'):
    """See DOCUMENTATION."""
    try:
        return install_plan(tool, settings, os_family, bool(install_packages), bin_dir, role)
    except InputError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {'tool_install_plan': tool_install_plan}
