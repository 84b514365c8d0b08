# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hand-written PEM, DER and PBES2 code of _keys, against keys written by docker, notary and OpenSSL.

The fixtures (tests/unit/fixtures/keys) were written by ``docker trust key generate`` (CLI 28),
``notary key generate -o`` and ``openssl pkcs8 -topk8``; their passphrase is a throwaway one.
Where the openssl CLI exists, fresh keys are made here too.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import subprocess
import time

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError, WrongKeyPassphrase
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (  # noqa: F401
    _der, _int, _oid, _seq, KeyProblem, decrypt_pkcs8, encode_pem, encrypt_private_key,
    generate_private_key, load_private_pem, notary_key_pem, parse_public_pem, public_key_id, split_pem,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import unlock_key
from ansible_collections.openbanking.content_trust.plugins.module_utils._pem import MAX_PEM_BYTES
from ansible_collections.openbanking.content_trust.plugins.module_utils._passphrases import (  # noqa: F401
    check_new_passphrase, passphrase_problem, signer_passphrase,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'keys')
PASSPHRASE = 'throwaway-fixture-1'

# (private key file, its public key file): PBES2 with the PRF and cipher each tool uses
PBES2_KEYS = [
    ('docker.key', 'docker.pub'),                          # docker: HMAC-SHA1, AES-256-CBC
    ('notary.key', 'notary.pub'),                          # notary: the same scheme
    ('openssl-ec-sha1.pem', 'openssl-ec.pub'),             # -v2 aes-256-cbc -v2prf hmacWithSHA1
    ('openssl-ec-sha256.pem', 'openssl-ec.pub'),           # -v2 aes-256-cbc -v2prf hmacWithSHA256
    ('openssl-ec-aes128-sha512.pem', 'openssl-ec.pub'),    # -v2 aes-128-cbc -v2prf hmacWithSHA512
    ('openssl-rsa-sha256.pem', 'openssl-rsa.pub'),
]


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def der_of(name):
    return split_pem(fixture(name))[2]


@pytest.mark.parametrize('key_file,pub_file', PBES2_KEYS)
def test_decrypts_what_the_tools_wrote(key_file, pub_file):
    key = load_private_pem(fixture(key_file), PASSPHRASE)
    assert public_key_id(key.public_key()) == parse_public_pem(fixture(pub_file))['key_id']
    # decrypt_pkcs8 itself: a complete PrivateKeyInfo
    plain = decrypt_pkcs8(der_of(key_file), PASSPHRASE)
    assert plain[0] == 0x30


def test_docker_key_id_is_its_file_name():
    # the fixture was <id>.key in docker's trust directory
    key = load_private_pem(fixture('docker.key'), PASSPHRASE)
    assert public_key_id(key.public_key()) == '2498321aed4d546c28d6f132be0c2fb6154b6521433a4ab9dae692dbbbb92325'
    assert split_pem(fixture('docker.key'))[1] == {'role': 'fixture'}
    assert split_pem(fixture('notary.key'))[1] == {'role': 'targets/fixture'}


@pytest.mark.parametrize('key_file,pub_file', PBES2_KEYS)
def test_wrong_passphrase(key_file, pub_file):
    with pytest.raises(KeyProblem, match='passphrase is incorrect'):
        load_private_pem(fixture(key_file), 'not-the-passphrase', 'the key')
    with pytest.raises(KeyProblem, match='its passphrase is required'):
        load_private_pem(fixture(key_file), None, 'the key')


def test_unlock_key_is_the_one_passphrase_check_of_a_local_key(tmp_path):
    # every module checks a local key's passphrase through it: the option and the key are named the same way
    path = tmp_path / 'k.key'
    path.write_text(fixture('docker.key'))
    key = dict(path=str(path), key_id='2498321a')
    assert public_key_id(unlock_key(key, PASSPHRASE, 'signer_passphrase', 'key 2498321a').public_key()).startswith('2498321a')
    with pytest.raises(WrongKeyPassphrase) as exc:
        unlock_key(key, 'not-the-passphrase', 'root_passphrase', 'root key 2498321a')
    assert exc.value.msg == 'root_passphrase is incorrect for the root key 2498321a'
    assert exc.value.kind == 'wrong_passphrase'
    with pytest.raises(InputError) as exc:
        unlock_key(key, '', 'repository_passphrase', 'repository key 2498321a')
    assert exc.value.msg == 'repository_passphrase is required to use the repository key 2498321a'
    with pytest.raises(InputError) as exc:
        unlock_key(dict(path=str(tmp_path / 'gone.key'), key_id='x'), PASSPHRASE, 'passphrase', 'key x')
    assert 'cannot read the key file' in exc.value.msg and not isinstance(exc.value, WrongKeyPassphrase)


def test_other_schemes_are_named():
    with pytest.raises(KeyProblem, match='scheme other than PBES2'):
        load_private_pem(fixture('openssl-ec-pbes1.pem'), PASSPHRASE, 'the key')
    with pytest.raises(KeyProblem, match='unsupported PBES2 hash or cipher'):
        load_private_pem(fixture('openssl-ec-des3.pem'), PASSPHRASE, 'the key')


@pytest.mark.parametrize('key_file', ['docker.key', 'openssl-ec-sha256.pem'])
def test_every_truncation_is_a_key_error(key_file):
    der = der_of(key_file)
    for cut in range(len(der)):
        with pytest.raises(KeyProblem) as info:
            decrypt_pkcs8(der[:cut], PASSPHRASE, 'the key')
        assert 'the key' in str(info.value)


@pytest.mark.parametrize('key_file', ['notary.key', 'openssl-ec-sha1.pem'])
def test_every_corrupted_header_byte_is_a_key_error_or_decrypts(key_file):
    """Flipping any byte of the ASN.1 structure (not the ciphertext) never raises anything but KeyProblem."""
    der = der_of(key_file)
    header = len(der) - 160  # the ciphertext is the last 144-160 bytes
    for i in range(header):
        for value in (0x00, 0xff, der[i] ^ 0x01):
            broken = der[:i] + bytes([value]) + der[i + 1:]
            try:
                decrypt_pkcs8(broken, PASSPHRASE, 'the key')
            except KeyProblem as exc:
                assert 'the key' in str(exc)


@pytest.mark.parametrize('blob', [b'', b'\x30', b'\x30\x80', b'\x30\x85\xff\xff\xff\xff\xff', b'\x04\x01',
                                  b'\x30\x03\x02\x01\x01', b'\x30\x00', b'\x30\x02\x30\x00'])
def test_malformed_der(blob):
    with pytest.raises(KeyProblem):
        decrypt_pkcs8(blob, PASSPHRASE, 'the key')


def _pbes2(iterations, iv=b'\x00' * 16, ciphertext=b'\x00' * 32, prf=None):
    params = [_der(0x04, b'salt-salt-salt!!'), _int(iterations)]
    if prf:
        params.append(_seq(_oid(prf), _der(0x05, b'')))
    pbkdf2 = _seq(_oid('1.2.840.113549.1.5.12'), _seq(*params))
    aes = _seq(_oid('2.16.840.1.101.3.4.1.42'), _der(0x04, iv))
    return _seq(_seq(_oid('1.2.840.113549.1.5.13'), _seq(pbkdf2, aes)), _der(0x04, ciphertext))


def test_absurd_iteration_count_refused_before_deriving():
    start = time.time()
    with pytest.raises(KeyProblem, match='iteration'):
        decrypt_pkcs8(_pbes2(2 ** 31 - 1), PASSPHRASE, 'the key')
    with pytest.raises(KeyProblem, match='iteration'):
        decrypt_pkcs8(_pbes2(0), PASSPHRASE, 'the key')
    assert time.time() - start < 1


@pytest.mark.parametrize('iv,ciphertext', [(b'\x00' * 8, b'\x00' * 32), (b'\x00' * 16, b'\x00' * 31),
                                           (b'\x00' * 16, b'')])
def test_bad_iv_or_ciphertext_length_is_a_key_error(iv, ciphertext):
    with pytest.raises(KeyProblem):
        decrypt_pkcs8(_pbes2(1000, iv, ciphertext, prf='1.2.840.113549.2.9'), PASSPHRASE, 'the key')


def test_round_trip_and_notary_headers():
    key = generate_private_key()
    pem = notary_key_pem(key, PASSPHRASE, 'jeff', gun='reg.example/app')
    pem_type, headers, dummy = split_pem(pem)
    assert pem_type == 'ENCRYPTED PRIVATE KEY' and headers == {'gun': 'reg.example/app', 'role': 'jeff'}
    again = load_private_pem(pem, PASSPHRASE)
    assert public_key_id(again.public_key()) == public_key_id(key.public_key())


@pytest.mark.skipif(not shutil.which('openssl'), reason='no openssl CLI')
@pytest.mark.parametrize('prf', ['hmacWithSHA1', 'hmacWithSHA256'])
def test_fresh_openssl_keys_both_ways(tmp_path, prf):
    """OpenSSL's PKCS#8 (both PRFs) decrypts here, and OpenSSL reads what encrypt_private_key writes."""
    pw = tmp_path / 'pw'
    pw.write_text(PASSPHRASE)
    plain = tmp_path / 'plain.pem'
    key = ec.generate_private_key(ec.SECP256R1())
    plain.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    out = tmp_path / 'enc.pem'
    subprocess.run(['openssl', 'pkcs8', '-topk8', '-in', str(plain), '-v2', 'aes-256-cbc', '-v2prf', prf,
                    '-passout', 'file:' + str(pw), '-out', str(out)], check=True, timeout=30)
    loaded = load_private_pem(out.read_text(), PASSPHRASE)
    assert public_key_id(loaded.public_key()) == public_key_id(key.public_key())

    ours = tmp_path / 'ours.pem'
    # OpenSSL reads PEM headers as legacy encryption: the same DER without notary's role header
    ours.write_text(encode_pem('ENCRYPTED PRIVATE KEY', encrypt_private_key(key, PASSPHRASE)))
    proc = subprocess.run(['openssl', 'pkey', '-in', str(ours), '-passin', 'file:' + str(pw), '-pubout'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert parse_public_pem(proc.stdout.decode())['key_id'] == public_key_id(key.public_key())


# --- PEM parsing is linear and capped ---------------------------------------------------------

@pytest.mark.parametrize('size', [60 * 1024, 360 * 1024])
def test_pem_bomb_fails_in_under_a_second(size):
    line = '-----BEGIN A-----\n'
    bomb = line * (size // len(line))
    for parse in (lambda: split_pem(bomb, 'public_keys[0]'), lambda: parse_public_pem(bomb, 'public_keys[0]'),
                  lambda: load_private_pem(bomb, PASSPHRASE, 'private_key')):
        start = time.time()
        with pytest.raises(KeyProblem) as info:
            parse()
        assert time.time() - start < 1
        if size > MAX_PEM_BYTES:
            assert '64 KiB' in str(info.value)


@pytest.mark.parametrize('text,words', [
    ('no pem here', 'no PEM block'),
    ('-----BEGIN PUBLIC KEY-----\nAAAA\n', 'no "-----END PUBLIC KEY-----" line'),
    ('-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n', 'invalid base64'),
    ('-----BEGIN lower-----\nAAAA\n-----END lower-----\n', 'not a PEM header'),
    ('-----BEGIN PUBLIC KEY-----', 'has no content'),
])
def test_malformed_pem(text, words):
    with pytest.raises(KeyProblem, match=words):
        split_pem(text)


def test_pem_block_after_text_and_crlf():
    pub = fixture('openssl-ec.pub')
    assert parse_public_pem('some text first\r\n' + pub.replace('\n', '\r\n'))['key_id'] == \
        parse_public_pem(pub)['key_id']


# --- passphrase policy --------------------------------------------------------------------------

@pytest.mark.parametrize('value', ['abcd\x15efgh', 'abcd\x17efgh', 'abcdefgh\x7f', '\x03abcdefgh', 'abc\tdefgh',
                                   'abcd\nefgh', 'abcd\x00efgh', 'x' * 4096, u'\u00e9' * 2048])
def test_passphrases_the_pty_cannot_carry(value):
    problem = passphrase_problem(value, 'signer_passphrase')
    assert problem and problem.startswith('signer_passphrase ')
    with pytest.raises(KeyProblem, match='signer_passphrase'):
        check_new_passphrase(value, 'signer_passphrase')


@pytest.mark.parametrize('value', ['abcdefgh', u'p\u00e4ssw\u00f6rd-long', 'x' * 4095, 'with space and $ymbols!'])
def test_passphrases_that_are_fine(value):
    assert passphrase_problem(value, 'passphrase') is None
    assert check_new_passphrase(value, 'passphrase') == value


def test_new_key_passphrase_needs_eight_characters():
    assert passphrase_problem('short', 'passphrase') is None  # fine for an existing key
    with pytest.raises(KeyProblem, match='passphrase must be at least 8 characters'):
        check_new_passphrase('short', 'passphrase')


def test_signer_passphrase_falls_back_to_the_repository_passphrase_and_names_the_option():
    assert signer_passphrase(dict(signer_passphrase='s' * 8, repository_passphrase='r' * 8)) == \
        ('s' * 8, 'signer_passphrase')
    assert signer_passphrase(dict(signer_passphrase=None, repository_passphrase='r' * 8)) == \
        ('r' * 8, 'repository_passphrase')
    assert signer_passphrase(dict(signer_passphrase='', repository_passphrase=None)) == \
        (None, 'repository_passphrase')
