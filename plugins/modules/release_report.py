#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is implemented as an action plugin (plugins/action/release_report.py) and runs on the controller.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: release_report
short_description: Check a release in every signature format, write its reports and show the verification
version_added: 0.1.0
description:
  - Merges the Notary verification of a release (the result of M(openbanking.content_trust.trust_verify), or the
    C(verification) of M(openbanking.content_trust.trust_push) with O(openbanking.content_trust.trust_push#module:verify))
    with the registered results of M(openbanking.content_trust.cosign_verify) and
    M(openbanking.content_trust.notation_verify) loops into one check per image tag, as the
    P(openbanking.content_trust.signature_checks#filter) filter does. A tag verifies only when every format of
    O(signature_formats) verified it on the same digest.
  - Writes two reports into O(dest) on the Ansible controller, C(release-<release>.json) for machines and
    C(release-<release>.md) for people (what C(docker trust inspect --pretty) shows, for every image). They hold
    no timestamps, so a report that did not change reports no change. Each file is written to a temporary file
    beside it and renamed into place.
  - An existing entry of O(dest) with the name of a file to write must be a regular file; a symbolic link, directory,
    fifo or other special file there fails the task, naming it, before any file is read or written.
  - Then shows O(published) and a line per check, or fails naming every image tag that does not verify, after
    writing the reports.
  - Runs on the controller itself, without sending a module to any host; the
    P(openbanking.content_trust.publish_release#role) role ends every release and every verification with it.
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  dest:
    description: The directory on the controller to write the reports in; created when missing.
    type: path
    required: true
  release:
    description: The version of the release; it names the report files.
    type: str
    required: true
  signer:
    description: The signer of the release, as the reports name it.
    type: str
  signature_formats:
    description: The formats every tag must verify in.
    type: list
    elements: str
    choices: [notary, cosign, notation]
    default: [notary]
  notary_server:
    description: The Notary server, as the reports name it; unset when docker's default for the registry is used.
    type: str
  notary:
    description:
      - The registered result of M(openbanking.content_trust.trust_verify), or the C(verification) of
        M(openbanking.content_trust.trust_push). Its C(results) are the Notary checks, its C(repositories) the
        trust data the reports list and its C(verified_with) how it was verified.
      - Required in effect when V(notary) is among O(signature_formats).
    type: dict
    default: {}
  cosign:
    description: The C(results) of a registered M(openbanking.content_trust.cosign_verify) loop.
    type: list
    elements: raw
    default: []
  notation:
    description: The C(results) of a registered M(openbanking.content_trust.notation_verify) loop.
    type: list
    elements: raw
    default: []
  published:
    description: Lines shown before the checks, for example what this run published.
    type: list
    elements: str
    default: []
  revoked:
    description:
      - The revocation list, C(content_trust_revoked_images) (C([{repository, tags, reason}])). A check of a listed
        tag is turned around - it passes when the tag verifies in no format (withdrawn), and fails as
        C(revoked (<reason>\) but still verifies in <formats>) otherwise.
    type: list
    elements: raw
    default: []
  mode:
    description: The mode of each report file, in octal, for example V('0644').
    type: raw
    default: '0644'
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Reports what it would write; the verification is shown, or fails, as without check mode.
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.trust_verify
  - module: openbanking.content_trust.report
'''

EXAMPLES = r'''
- name: Verify a release as a consumer would
  openbanking.content_trust.trust_verify:
    images:
      - repository: registry.example.com/openbanking/conformance-suite
        tags: [v1.2.0, stable]
    signer: jeff
  register: verification

- name: Write the release reports and show the verification, failing for every image that does not verify
  openbanking.content_trust.release_report:
    dest: "{{ playbook_dir }}/release-reports"
    release: v1.2.0
    signer: jeff
    notary_server: https://notary.example.com:4443
    notary: "{{ verification }}"
'''

RETURN = r'''
paths:
  description: The two report files, JSON first.
  returned: always
  type: list
  elements: str
  sample: [/home/ci/release-reports/release-v1.2.0.json, /home/ci/release-reports/release-v1.2.0.md]
verified:
  description: Whether every image tag verified in every format.
  returned: always
  type: bool
unverified:
  description: The references of the image tags that do not verify.
  returned: always
  type: list
  elements: str
  sample: [registry.example.com/openbanking/conformance-suite:stable]
msg:
  description:
    - When every tag verifies, O(published) then one line per check (reference, digest, each format, verified).
    - Otherwise a text naming every image tag that does not verify and why, then every check.
  returned: always
  type: raw
  sample:
    - "registry.example.com/openbanking/conformance-suite:v1.2.0  sha256:4f6c...  notary: ok  verified"
'''
