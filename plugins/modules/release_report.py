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
  - The report of a release is one file that every signer's run updates. It has one row per repository and tag,
    with each format's result, the signers Notary names for the tag and C(checked_by), the signers
    (O(signer)) whose runs checked it. A tag this run checked replaces its row; its C(checked_by) keeps the
    signers of earlier runs that checked the same digest. Every other row stays as it was, also of a repository
    this run does not list (another signer's, for example when a second signer co-signs some of the
    repositories). The report's C(checked_by) lists the signers of every row, its C(signature_formats) every
    format of a row, and it is C(verified) when every row is. To drop rows of a tag that left the release,
    delete the two files and run the verification of the whole release again.
  - An existing C(release-<release>.json) that is not a report of this release (not JSON, another release,
    rows without a repository and tag) fails the task naming the file, and nothing is written; a report written by
    an earlier version of the collection (one C(signer), no C(checked_by)) is read as checked by that signer.
  - Two runs may update the report at the same time on one controller; each reads, merges and writes it holding
    an exclusive lock (C(flock)) on C(.release-<release>.lock) in O(dest), which is created with O(mode) and left
    there. A run that waits more than 60 seconds for it fails naming the lock file (C(error_kind=timeout)), having
    written nothing. In check mode nothing is locked or written.
  - An existing entry of O(dest) with the name of a file to write, or of the lock file, must be a regular file; a
    symbolic link, directory, fifo or other special file there fails the task, naming it, before any file is read or
    written.
  - Then shows O(published) and a line per check of this run, or fails naming every image tag this run checked that
    does not verify, after writing the reports.
  - Runs on the controller itself, without sending a module to any host; the
    P(openbanking.content_trust.publish_release#role) role ends every release and every verification with it.
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  dest:
    description:
      - The directory on the controller to write the reports in; created when missing. Every signer of a release
        writes into the same directory, so that the release has one report.
    type: path
    required: true
  release:
    description: The version of the release; it names the report files.
    type: str
    required: true
  signer:
    description:
      - The signer whose run this is (the release's signer, or the signer a verification requires); the report
        names it in C(checked_by) of every row this run checks.
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
    description: The mode of each report file (and of the lock file, when this run creates it), in octal, for example V('0644').
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
      - repository: registry.example.com/openbanking/api
        tags: [v1.2.0]
    signer: jeff
  register: verification

- name: Write the release reports and show the verification, failing for every image that does not verify
  openbanking.content_trust.release_report:
    dest: "{{ playbook_dir }}/release-reports"
    release: v1.2.0
    signer: jeff
    notary_server: https://notary.example.com:4443
    notary: "{{ verification }}"

# A second signer, bob, co-signed the release tag of one repository: his run updates the same report, where jeff's
# other rows (the api repository, the stable tag) stay, and the row bob checked names both signers in checked_by.
- name: Verify what bob co-signed
  openbanking.content_trust.trust_verify:
    images:
      - repository: registry.example.com/openbanking/conformance-suite
        tags: [v1.2.0]
    signer: bob
  register: bob_verification

- name: Update the release reports with bob's checks
  openbanking.content_trust.release_report:
    dest: "{{ playbook_dir }}/release-reports"
    release: v1.2.0
    signer: bob
    notary_server: https://notary.example.com:4443
    notary: "{{ bob_verification }}"
'''

RETURN = r'''
error_kind:
  description:
    - When the task failed before the verification was shown, the class of the failure, as every module of the
      collection names it - V(bad_input) (an option, an entry of O(dest) that is not a regular file, or an existing
      report that is not a report of the release, found before anything was written) or V(timeout) (another run held
      the report's lock for 60 seconds).
    - Not set when the task fails because a tag does not verify (see RV(unverified)).
  returned: failure
  type: str
  sample: bad_input
paths:
  description: The two report files, JSON first.
  returned: always
  type: list
  elements: str
  sample: [/home/ci/release-reports/release-v1.2.0.json, /home/ci/release-reports/release-v1.2.0.md]
verified:
  description:
    - Whether every image tag this run checked verified in every format. The report's C(verified) also counts the
      rows of other runs.
  returned: always
  type: bool
unverified:
  description: The references of the image tags this run checked that do not verify.
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
