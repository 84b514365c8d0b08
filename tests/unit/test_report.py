# -*- coding: utf-8 -*-
"""The release's checks and reports (module_utils/_report.py), as the release_report action writes them, and
the atomic writer they share with the report action and the key store (module_utils/_files.py)."""

import json
import os
import stat

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _report
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import (
    LockTimeout, file_mode, file_names_problem, locked, read_regular, sync_files, write_file_atomic,
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
    assert sorted(report['images'][0]) == sorted(_report.IMAGE_FIELDS + ('checked_by',))
    assert report['checked_by'] == ['jeff'] and report['images'][0]['checked_by'] == ['jeff'] and 'signer' not in report
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


# --- one report, several signers (merge_report) ------------------------------------------------------------------

REPOS = ('reg/one', 'reg/two', 'reg/three')


def _run(signer, repos, signers=None, digest=D1, formats=('notary',), problems=None, how='docker'):
    """One run's report: ``signer`` checks tag v1 of each of ``repos``; Notary names ``signers`` (or
    ``signers[repository]``) as its signers."""
    def signed_by(repository):
        names = signers.get(repository) if isinstance(signers, dict) else signers
        return list(names or [signer])

    results = [{'reference': '%s:v1' % r, 'repository': r, 'tag': 'v1', 'signed_digest': digest,
                'registry_digest': digest, 'signers': signed_by(r), 'pulled': True,
                'verified': not (problems or {}).get(r), 'problems': list((problems or {}).get(r) or [])}
               for r in repos]
    notary = {'results': results, 'verified_with': {'docker_cli': how, 'pull': 'signed digest'},
              'repositories': [{'repository': r, 'exists': True, 'root_key_ids': [ROOT_ID], 'repository_key_ids': [],
                                'signers': [{'name': s, 'key_ids': [s[0] * 64]} for s in signed_by(r)]}
                               for r in repos]}
    cosign = [{'item': {'repository': r}, 'results': [{'tag': 'v1', 'digest': digest, 'verified': True}]}
              for r in repos]
    checks = _report.signature_checks(results, formats, cosign)
    return _report.release_report('v1', signer, formats, 'https://notary:4443', checks, notary)


def _write(existing, run, name='reports/release-v1.json'):
    """What release_report writes after ``run`` over the file ``existing`` holds (None: no file)."""
    return _report.report_json(_report.merge_report(existing, run, name))


def test_a_second_signer_on_two_repositories_keeps_the_third_and_both_signers_are_listed():
    alice = _write(None, _run('alice', REPOS))
    both = _write(alice, _run('bob', REPOS[:2], signers=['alice', 'bob']))
    report = json.loads(both)
    assert [(i['repository'], i['signers'], i['checked_by']) for i in report['images']] == [
        ('reg/one', ['alice', 'bob'], ['alice', 'bob']), ('reg/two', ['alice', 'bob'], ['alice', 'bob']),
        ('reg/three', ['alice'], ['alice'])]
    assert report['checked_by'] == ['alice', 'bob'] and report['verified'] is True
    assert [(r['repository'], [s['name'] for s in r['signers']]) for r in report['repositories']] == [
        ('reg/one', ['alice', 'bob']), ('reg/two', ['alice', 'bob']), ('reg/three', ['alice'])]
    md = _report.release_markdown(report, report['images'])
    assert '- Signers: `alice`, `bob`' in md
    assert 'every image tag is signed by the signers that checked it (`alice`, `bob`, see *Checked by*)' in md
    assert '| Repository | Signed tag | Digest | Signers | notary | Verified | Checked by |' in md
    assert '| reg/one | v1 | %s | alice, bob | yes | yes | alice, bob |' % ('1' * 64) in md
    assert '| reg/three | v1 | %s | alice | yes | yes | alice |' % ('1' * 64) in md
    # The other order (bob first) gives the same rows, in the order they were first checked.
    other = json.loads(_write(_write(None, _run('bob', REPOS[:2], signers=['alice', 'bob'])), _run('alice', REPOS)))
    assert sorted((i['repository'], i['checked_by']) for i in other['images']) == \
        sorted((i['repository'], i['checked_by']) for i in report['images'])


def test_the_same_runs_again_write_the_same_bytes():
    run = _run('alice', REPOS)
    first = _write(None, run)
    assert _write(first, run) == first == _write(None, _run('alice', REPOS))
    both = _write(first, _run('bob', REPOS[:2], signers=['alice', 'bob']))
    # Each signer's re-run with nothing changed: nothing to write (the report has no timestamp).
    assert _write(both, _run('bob', REPOS[:2], signers=['alice', 'bob'])) == both
    signers = {'reg/one': ['alice', 'bob'], 'reg/two': ['alice', 'bob']}
    assert _write(both, _run('alice', REPOS, signers=signers)) == both
    assert not [k for k in json.loads(both) if 'time' in k or 'date' in k]


def test_a_row_checked_again_is_replaced_by_the_new_check():
    both = _write(_write(None, _run('alice', REPOS)), _run('bob', REPOS[:2], signers=['alice', 'bob']))
    # alice checks reg/one again and it no longer verifies (bob's signature revoked): her check replaces the row,
    # and the signers of that digest stay.
    later = json.loads(_write(both, _run('alice', ['reg/one'], problems={'reg/one': ['not signed by bob']})))
    row = later['images'][0]
    assert (row['repository'], row['verified'], row['problems'], row['checked_by']) == \
        ('reg/one', False, ['not signed by bob'], ['alice', 'bob'])
    assert later['verified'] is False and [i['verified'] for i in later['images'][1:]] == [True, True]
    md = _report.release_markdown(later, later['images'])
    assert '**NOT VERIFIED**: 1 of 3 image tags do not verify' in md and '- `reg/one:v1`: not signed by bob' in md
    # A new digest: bob checked the old one, so only the run that checked the new one is named.
    moved = json.loads(_write(both, _run('alice', ['reg/two'], digest=D2)))
    assert [(i['digest'], i['checked_by']) for i in moved['images']] == [
        (D1, ['alice', 'bob']), (D2, ['alice']), (D1, ['alice'])]
    assert moved['checked_by'] == ['alice', 'bob']
    # How the last run that checked Notary verified.
    assert json.loads(_write(both, _run('alice', ['reg/two'], how='docker-29')))['verified_with']['docker_cli'] == \
        'docker-29'


def test_formats_are_those_of_the_rows_and_a_format_a_row_was_not_checked_in_shows_as_such():
    three = _write(None, _run('alice', REPOS[:1], formats=('notary', 'cosign')))
    # A consumer that left Notary verifies the same tag with cosign: the row is its check now.
    moved = json.loads(_write(three, _run('alice', REPOS[:1], formats=('cosign',))))
    assert moved['signature_formats'] == ['cosign'] and moved['images'][0]['signatures'] == {'cosign': True}
    mixed = json.loads(_write(three, _run('bob', REPOS[1:2], formats=('notary',))))
    assert mixed['signature_formats'] == ['notary', 'cosign']
    md = _report.release_markdown(mixed, mixed['images'])
    assert '| reg/two | v1 | %s | bob | yes | - | yes | bob |' % ('1' * 64) in md


def test_a_report_of_an_older_collection_is_read_as_checked_by_its_signer():
    old = json.loads(_write(None, _run('jeff', REPOS[:1])))
    for row in old['images']:
        del row['checked_by']
    del old['checked_by']
    old['signer'] = 'jeff'
    report = json.loads(_write(_report.report_json(old), _run('bob', REPOS[1:2])))
    assert [i['checked_by'] for i in report['images']] == [['jeff'], ['bob']] and 'signer' not in report


@pytest.mark.parametrize('text, why', [
    ('{"release": "v1", "images": [', 'it is not JSON'),
    (b'\xff\xfe', 'it is not UTF-8 text'),
    ('[]', 'it is not a release report'),
    ('{"name": "something else"}', 'it is not a release report'),
    ('{"release": "v2", "images": []}', "it is the report of release 'v2', not of 'v1'"),
    ('{"release": "v1", "images": [{"repository": "reg/one", "signatures": {}}]}', 'images[0].tag must be'),
    ('{"release": "v1", "images": [{"repository": "r", "tag": "v1", "signatures": {"gpg": true}}]}',
     'images[0].signatures must map formats'),
    ('{"release": "v1", "images": [{"repository": "r", "tag": "v1", "signatures": {}, "checked_by": "bob"}]}',
     'images[0].checked_by must be a list of strings'),
    ('{"release": "v1", "images": [], "repositories": {}}', 'repositories must be a list'),
])
def test_a_corrupt_or_foreign_report_fails_naming_the_file_and_is_not_replaced(text, why):
    with pytest.raises(ValueError) as exc:
        _write(text, _run('bob', REPOS[:1]), name='/srv/reports/release-v1.json')
    message = str(exc.value)
    assert message.startswith('/srv/reports/release-v1.json cannot be updated: ') and why in message, message
    assert 'Nothing was written; move it away' in message


def test_the_lock_is_exclusive_and_refuses_what_is_not_a_regular_file(tmp_path):
    dest = tmp_path / 'reports'
    with locked(str(dest), '.release-v1.lock', 0o644) as path:
        assert path == str(dest / '.release-v1.lock') and stat.S_IMODE(os.stat(path).st_mode) == 0o644
        # A second holder (another open file, as another process has) waits, then gives up naming the lock.
        with pytest.raises(LockTimeout, match=r'another run held the lock .*release-v1.lock for more than 0.2 seconds'):
            with locked(str(dest), '.release-v1.lock', 0o644, timeout=0.2):
                pass
    with locked(str(dest), '.release-v1.lock', 0o644, timeout=0.2):
        pass  # released when the block ended
    target = tmp_path / 'elsewhere'
    (dest / '.release-v2.lock').symlink_to(target)
    with pytest.raises(ValueError, match='release-v2.lock exists and is a symbolic link, not a regular file'):
        with locked(str(dest), '.release-v2.lock', 0o644):
            pass
    assert not target.exists()
    (dest / '.release-v3.lock').mkdir()
    with pytest.raises(ValueError, match='release-v3.lock exists and is a directory'):
        with locked(str(dest), '.release-v3.lock', 0o644):
            pass
    (dest / 'file').write_text('x')
    with pytest.raises(ValueError, match='is not a directory'):
        with locked(str(dest / 'file'), '.lock', 0o644):
            pass


def test_read_regular_reads_a_file_and_refuses_a_symlink(tmp_path):
    assert read_regular(str(tmp_path / 'none')) is None
    (tmp_path / 'a').write_bytes(b'{}')
    assert read_regular(str(tmp_path / 'a')) == b'{}'
    (tmp_path / 'b').symlink_to(tmp_path / 'a')
    with pytest.raises(ValueError, match='is a symbolic link'):
        read_regular(str(tmp_path / 'b'))
