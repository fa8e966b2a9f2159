"""cosignature/v1 against the C2SP text, published vectors and a real witness.

Sources:
- C2SP tlog-cosignature.md: the example cosigned checkpoint and the example
  signed message (`cosignature/v1`, `time 1679315147`, the checkpoint).
- transparency-dev/formats note/note_cosigv1_test.go: the timestamp vector of
  TestCosignatureTimestamp and the remora.n621.de witness vkey of
  TestCoSigV1NewVerifier.
- A checkpoint of the arche2025h1.staging.ct.transparency.dev log as it was
  served with its witness cosignatures (kept in a public tlog library's
  tests), one of them by remora.n621.de: a cosignature made by a production
  witness, which this code must accept.
"""

import base64
import hashlib
import os

import pytest

from gateway.audit.cosignature import (
    COSIGNATURE_V1,
    Cosigner,
    QuorumError,
    WitnessKey,
    WitnessPolicy,
    cosignatures,
    has_quorum,
    signed_message,
    with_cosignatures,
)
from gateway.audit.note import Checkpoint, NoteError, sign_note

SPEC_BODY = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_COSIGNATURE = (
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
    "qhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)
FORMATS_TIMESTAMP_VECTOR = (
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gx"
    "EHWWOworDcFiEBYJXORmnFBOBA=="
)
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
ARCHE_NOTE = """\
arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
— witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
— witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
"""  # noqa: E501 -- signature lines are one line each

ORIGIN = "example.com/log"
LOG_SEED = bytes(range(32))


def _note(size: int = 5, root: bytes = b"\x07" * 32) -> str:
    return sign_note(Checkpoint(ORIGIN, size, root).text(), ORIGIN, LOG_SEED)


def _cosigners(count: int) -> list[Cosigner]:
    return [Cosigner(f"witness.test/w{i}", bytes([i]) * 32) for i in range(count)]


def _cosigned(
    note: str, signers: list[Cosigner], timestamp: int = 1_700_000_000
) -> str:
    text = note.rpartition("\n\n")[0] + "\n"
    return with_cosignatures(note, [s.cosign(text, timestamp) for s in signers])


@pytest.mark.parametrize(
    ("published", "timestamp"),
    [(SPEC_COSIGNATURE, 1679315147), (FORMATS_TIMESTAMP_VECTOR, 1727964367)],
)
def test_our_lines_have_the_published_layout(published: str, timestamp: int) -> None:
    theirs = base64.b64decode(published)
    line = Cosigner("witness.example.com/w1", b"\x01" * 32).cosign(SPEC_BODY, timestamp)
    ours = base64.b64decode(line.rpartition(" ")[2])
    # key id (4) ‖ timestamp (8, big-endian) ‖ Ed25519 signature (64)
    assert len(ours) == len(theirs) == 4 + 8 + 64
    assert ours[4:12] == theirs[4:12] == timestamp.to_bytes(8, "big")


def test_the_signed_message_is_the_spec_example() -> None:
    assert signed_message(SPEC_BODY, 1679315147) == (
        b"cosignature/v1\n"
        b"time 1679315147\n"
        b"example.com/behind-the-sofa\n"
        b"20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_a_production_witness_cosignature_verifies() -> None:
    remora = WitnessKey.parse(REMORA_VKEY)
    assert remora.encoded() == REMORA_VKEY
    assert remora.key_id.hex() == "da77ade7"
    # The log's own lines (types 0x01 and 0x05) and the other witnesses'
    # are skipped: only keys given count.
    [found] = cosignatures(ARCHE_NOTE, [remora])
    assert found.witness == remora
    assert found.timestamp == 1779573024
    assert has_quorum(ARCHE_NOTE, [remora], 1)


def test_a_production_cosignature_over_a_changed_checkpoint_is_refused() -> None:
    remora = WitnessKey.parse(REMORA_VKEY)
    changed = ARCHE_NOTE.replace("\n1432088532\n", "\n1432088533\n")
    with pytest.raises(NoteError, match="remora.n621.de does not verify"):
        cosignatures(changed, [remora])
    assert not has_quorum(changed, [remora], 1)


def test_key_id_and_line_layout_follow_the_spec() -> None:
    cosigner = Cosigner("witness.test/w1", b"\x01" * 32)
    key = cosigner.key()
    expected_id = hashlib.sha256(
        b"witness.test/w1\n" + bytes([COSIGNATURE_V1]) + key.public
    ).digest()[:4]
    assert key.key_id == expected_id
    assert WitnessKey.parse(key.encoded()) == key
    line = cosigner.cosign(SPEC_BODY, 1679315147)
    name, encoded = line.removeprefix("\u2014 ").split(" ")
    payload = base64.b64decode(encoded)
    assert name == "witness.test/w1"
    assert payload[:4] == expected_id
    assert payload[4:12] == (1679315147).to_bytes(8, "big")
    assert len(payload[12:]) == 64


@pytest.mark.parametrize(
    "vkey",
    [
        # a log (0x01) key is not a cosignature key
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        REMORA_VKEY.replace("da77ade7", "da77ade8"),
        REMORA_VKEY.replace("+BOvN", "+BOvM"),
        "remora.n621.de+da77ade7",
        "remora.n621.de+zz77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
    ],
)
def test_malformed_or_mismatched_witness_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        WitnessKey.parse(vkey)


def test_two_of_three_witnesses_make_a_quorum_of_two() -> None:
    signers = _cosigners(3)
    keys = tuple(s.key() for s in signers)
    note = _cosigned(_note(), signers[:2])
    policy = WitnessPolicy(keys, 2)
    assert {c.witness for c in policy.check(note)} == set(keys[:2])
    assert has_quorum(note, keys, 2)
    assert not has_quorum(note, keys, 3)


def test_one_of_three_is_refused_for_a_quorum_of_two() -> None:
    signers = _cosigners(3)
    note = _cosigned(_note(), signers[:1])
    policy = WitnessPolicy(tuple(s.key() for s in signers), 2)
    with pytest.raises(QuorumError, match="1 of 3 trusted witnesses cosigned it, 2"):
        policy.check(note)


def test_a_witness_signing_twice_counts_once() -> None:
    signers = _cosigners(2)
    note = _cosigned(_note(), signers[:1], 1_700_000_000)
    note = _cosigned(note, signers[:1], 1_700_000_001)
    [found] = cosignatures(note, [s.key() for s in signers])
    assert found.timestamp == 1_700_000_001
    assert not has_quorum(note, [s.key() for s in signers], 2)


def test_a_cosignature_over_another_checkpoint_is_refused() -> None:
    signers = _cosigners(2)
    keys = [s.key() for s in signers]
    other = _cosigned(_note(size=6), signers[:1])
    stolen = other.rstrip("\n").rpartition("\n")[2]
    note = with_cosignatures(_cosigned(_note(size=5), signers[1:]), [stolen])
    with pytest.raises(NoteError, match="w0 does not verify"):
        cosignatures(note, keys)
    assert not has_quorum(note, keys, 1)


def test_untrusted_witnesses_do_not_count() -> None:
    trusted, stranger = _cosigners(2)
    note = _cosigned(_note(), [stranger])
    assert cosignatures(note, [trusted.key()]) == []
    # A stranger reusing a trusted witness's name but its own key is ignored too.
    impostor = Cosigner(trusted.name, os.urandom(32))
    assert cosignatures(_cosigned(_note(), [impostor]), [trusted.key()]) == []


def test_the_log_signature_is_not_a_cosignature() -> None:
    # Same name and key as the log, but cosignature ids use 0x04: never mixed up.
    as_witness = Cosigner(ORIGIN, LOG_SEED).key()
    assert cosignatures(_note(), [as_witness]) == []


def test_the_cosigned_message_covers_extension_lines() -> None:
    [signer] = _cosigners(1)
    text = Checkpoint(ORIGIN, 5, b"\x07" * 32).text() + "extension\n"
    note = sign_note(text, ORIGIN, LOG_SEED)
    note = with_cosignatures(note, [signer.cosign(text, 1_700_000_000)])
    assert has_quorum(note, [signer.key()], 1)
    assert not has_quorum(note.replace("extension", "extensiom"), [signer.key()], 1)


def test_adding_cosignatures_keeps_the_note_and_adds_each_line_once() -> None:
    signers = _cosigners(2)
    note = _note()
    text = note.rpartition("\n\n")[0] + "\n"
    lines = [s.cosign(text, 1_700_000_000) for s in signers]
    cosigned = with_cosignatures(note, [*lines, lines[0]])
    assert cosigned == note + lines[0] + "\n" + lines[1] + "\n"
    with pytest.raises(NoteError):
        with_cosignatures(note, ["not a signature line"])
    with pytest.raises(NoteError):
        with_cosignatures(note, [lines[0] + "\n" + lines[1]])


@pytest.mark.parametrize("quorum", [0, 4])
def test_a_quorum_outside_the_witnesses_given_is_refused(quorum: int) -> None:
    keys = tuple(s.key() for s in _cosigners(3))
    with pytest.raises(ValueError, match="quorum"):
        WitnessPolicy(keys, quorum)


def test_a_witness_listed_twice_is_refused() -> None:
    key = _cosigners(1)[0].key()
    with pytest.raises(ValueError, match="twice"):
        WitnessPolicy((key, key), 2)
