# -*- coding: utf-8 -*-
"""The release's checks and reports (module_utils/_report.py), as the release_report action writes them, and
the atomic writer they share with the report action and the key store (module_utils/_files.py)."""

import json
import os
import stat

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _report
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import (
    file_mode, file_names_problem, sync_files, write_file_atomic,
)

D1 = 'sha256:' + '1' * 64
D2 = 'sha256:' + '2' * 64
ROOT_ID = 'a' * 64


def _result(tag, digest=D1, problems=()):
    return {'reference': 'reg/app:%s' % tag, 'repository': 'reg/app', 'tag': tag, 'signed_digest': digest,
            'registry_digest': digest, 'signers': ['jeff'], 'pulled': tag == 'v1' or None,
            'verified': not problems, 'problems': list(problems)}


NOTARY = {'results': [_result('v1'), _result('stable')],
          'repositories': [{'repository': 'reg/app', 'exists': True, 'root_key_ids': [ROOT_ID],
                            'repository_key_ids': ['b' * 64], 'signers': [{'name': 'jeff', 'key_ids': ['c' * 64]}],
                            'signed_tags': 'not kept in the report'}],
          'verified_with': {'docker_cli': 'docker', 'docker_version': '28.5.2', 'trust_data': 'docker trust inspect',
                            'pull': 'signed digest'}}


def _build(notary=None, formats=('notary',), cosign=None):
    notary = notary or NOTARY
    checks = _report.signature_checks(notary['results'] if 'notary' in formats else [], formats, cosign)
    report = _report.release_report('v1', 'jeff', formats, 'https://notary:4443', checks, notary)
    return checks, report


def test_the_json_report_keeps_the_fields_a_consumer_reads_and_no_timestamp():
    checks, report = _build()
    assert report['verified'] is True and report['notary_server'] == 'https://notary:4443'
    assert [(i['reference'], i['digest'], i['signatures']) for i in report['images']] == [
        ('reg/app:v1', D1, {'notary': True}), ('reg/app:stable', D1, {'notary': True})]
    assert sorted(report['images'][0]) == sorted(_report.IMAGE_FIELDS)
    assert report['repositories'] == [{'repository': 'reg/app', 'exists': True, 'root_key_ids': [ROOT_ID],
                                       'repository_key_ids': ['b' * 64],
                                       'signers': [{'name': 'jeff', 'key_ids': ['c' * 64]}]}]
    text = _report.report_json(report)
    assert json.loads(text) == report and text.endswith('}\n')
    assert _report.report_json(_build()[1]) == text  # the same bytes for the same release


def test_the_markdown_report_shows_what_docker_trust_inspect_pretty_shows():
    checks, report = _build()
    md = _report.release_markdown(report, checks)
    assert md.startswith('# Release v1\n\n**Verified**: every image tag is signed by `jeff`')
    assert '| reg/app | v1 | %s | jeff | yes | yes |' % ('1' * 64) in md
    assert '| jeff | %s |' % ('c' * 12) in md
    assert '- Root key: %s' % ROOT_ID in md
    assert 'NOT VERIFIED' not in md and '## Problems' not in md


def test_a_release_that_does_not_verify_names_every_tag_and_why():
    notary = dict(NOTARY, results=[_result('v1'), _result('stable', None, ['tag stable is not signed'])])
    checks, report = _build(notary)
    assert report['verified'] is False
    md = _report.release_markdown(report, checks)
    assert '**NOT VERIFIED**: 1 of 2 image tags do not verify' in md
    assert '- `reg/app:stable`: tag stable is not signed' in md
    verified, message = _report.verification_message('v1', checks, ['pushed reg/app:v1'])
    assert verified is False
    assert message.splitlines()[:3] == ['pushed reg/app:v1', 'Release v1 does not verify:',
                                        '- reg/app:stable: tag stable is not signed']
    assert '- reg/app:v1' not in message and 'Every check:' in message


def test_a_verified_release_shows_what_was_published_then_a_line_per_check():
    checks, report = _build()
    verified, lines = _report.verification_message('v1', checks, ['published'])
    assert verified is True
    assert lines == ['published', 'reg/app:v1  %s  notary: ok  verified' % D1,
                     'reg/app:stable  %s  notary: ok  verified' % D1]


def test_every_listed_format_is_a_column_and_must_verify():
    cosign = [{'item': {'repository': 'reg/app'}, 'results': [{'tag': 'v1', 'digest': D1, 'verified': True},
                                                              {'tag': 'stable', 'digest': D2, 'verified': True}]}]
    checks, report = _build(formats=('notary', 'cosign'), cosign=cosign)
    assert [i['signatures'] for i in report['images']] == [
        {'notary': True, 'cosign': True}, {'notary': True, 'cosign': False}]
    md = _report.release_markdown(report, checks)
    assert '| Repository | Signed tag | Digest | Signers | notary | cosign | Verified |' in md
    assert '| --- | --- | --- | --- | --- | --- | --- |' in md


def test_unknown_formats_are_refused_naming_what_is_expected():
    with pytest.raises(ValueError, match='notary, cosign, notation'):
        _report.signature_checks([], ['gpg'])


def test_write_file_atomic_replaces_a_symlink_and_sets_the_mode_first(tmp_path):
    target = tmp_path / 'elsewhere'
    target.write_text('keep')
    link = tmp_path / 'file'
    link.symlink_to(target)
    write_file_atomic(str(link), b'new', 0o600)
    assert not link.is_symlink() and link.read_bytes() == b'new' and target.read_text() == 'keep'
    assert stat.S_IMODE(os.stat(str(link)).st_mode) == 0o600
    write_file_atomic(str(link), u'text \u2713', 0o644)
    assert link.read_text(encoding='utf-8') == u'text \u2713'
    assert sorted(os.listdir(str(tmp_path))) == ['elsewhere', 'file']


def test_sync_files_writes_only_what_differs_and_nothing_in_check_mode(tmp_path):
    dest = str(tmp_path / 'reports')
    assert sync_files(dest, [('a', 'one\n')], 0o644, check_mode=True)[0] is True
    assert not os.path.exists(dest)
    changed, paths, diffs = sync_files(dest, [('a', 'one\n'), ('b', b'two\n')], 0o644)
    assert changed and paths == [os.path.join(dest, 'a'), os.path.join(dest, 'b')]
    assert [d['after'] for d in diffs] == ['one\n', 'two\n']
    assert sync_files(dest, [('a', 'one\n'), ('b', b'two\n')], 0o644) == (False, paths, [])
    os.chmod(paths[0], 0o600)
    assert sync_files(dest, [('a', 'one\n')], 0o644)[:3:2] == (True, [])
    assert stat.S_IMODE(os.stat(paths[0]).st_mode) == 0o644
    with pytest.raises(ValueError, match='is not a directory'):
        sync_files(paths[0], [('a', 'x')], 0o644)


def test_modes_and_names_are_checked_before_anything_is_written():
    assert file_mode('0644') == 0o644 and file_mode(0o600) == 0o600 and file_mode(420) == 420
    assert file_mode('rw') is None and file_mode(True) is None and file_mode('17777') is None
    assert file_names_problem(['a.json', 'a.md']) is None
    assert "got '../x'" in file_names_problem(['../x'])
    assert 'must be unique' in file_names_problem(['a', 'a'])


@pytest.mark.parametrize('kind', ['symlink', 'dangling symlink', 'directory', 'fifo'])
@pytest.mark.parametrize('check_mode', [False, True])
def test_sync_files_refuses_an_entry_that_is_not_a_regular_file(tmp_path, kind, check_mode):
    dest = tmp_path / 'reports'
    dest.mkdir()
    secret = tmp_path / 'secret'
    secret.write_text('not for the diff\n')
    os.chmod(str(secret), 0o600)
    entry = dest / 'release-1.0.json'
    if kind == 'symlink':
        entry.symlink_to(secret)
    elif kind == 'dangling symlink':
        entry.symlink_to(tmp_path / 'nowhere')
    elif kind == 'directory':
        entry.mkdir()
    else:
        os.mkfifo(str(entry))
    (dest / 'release-1.0.md').write_text('old\n')
    with pytest.raises(ValueError) as exc:
        sync_files(str(dest), [('release-1.0.md', 'new\n'), ('release-1.0.json', 'not for the secret\n')], 0o644,
                   check_mode=check_mode)
    assert str(entry) in str(exc.value) and 'not a regular file' in str(exc.value)
    assert 'not for the diff' not in str(exc.value)
    # Nothing was read into a diff, written, or chmodded: the target and the other file are as they were.
    assert secret.read_text() == 'not for the diff\n' and (os.stat(str(secret)).st_mode & 0o777) == 0o600
    assert (dest / 'release-1.0.md').read_text() == 'old\n'
    assert os.path.lexists(str(entry)) and not (kind == 'symlink' and not entry.is_symlink())
    assert not (tmp_path / 'nowhere').exists()
