"""Signed notes and checkpoints: the C2SP specification's own example first."""

import base64
import os
from pathlib import Path

import pytest

from gateway.audit.note import (
    Checkpoint,
    NoteError,
    VerifierKey,
    open_note,
    sign_note,
    verifier_key,
)

# shared/ lies beside the repository (as on CI), as in bench/pii_sets.py.
EXAMPLE = (
    Path(__file__).resolve().parents[4]
    / "shared"
    / "data"
    / "merkle"
    / "c2sp_signed_note_example.txt"
)


def _example() -> tuple[str, str]:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    vkey = next(line for line in lines if line.startswith("vkey: "))[6:]
    start = lines.index("signed_note:") + 1
    return vkey, "\n".join(lines[start:]) + "\n"


def test_the_c2sp_example_verifies() -> None:
    vkey, note = _example()
    key = VerifierKey.parse(vkey)
    assert key.encoded() == vkey
    text, signers = open_note(note, [key])
    assert text == "This is an example message.\n"
    assert signers == [key]


@pytest.mark.parametrize(
    "change",
    [
        lambda n: n.replace("example message", "example massage"),
        lambda n: n.replace("Uw2QOkn8", "Uw2QOkn9"),
        lambda n: n.replace("\u2014 ", "- "),
        lambda n: n.rstrip("\n"),
        lambda n: n.replace("\n\n", "\n"),
    ],
)
def test_a_changed_example_is_refused(change: object) -> None:
    vkey, note = _example()
    with pytest.raises(NoteError):
        open_note(change(note), [VerifierKey.parse(vkey)])  # type: ignore[operator]


def test_a_note_signed_by_an_unknown_key_is_refused() -> None:
    _, note = _example()
    stranger = verifier_key("example.com/foo", os.urandom(32))
    with pytest.raises(NoteError, match="trusted"):
        open_note(note, [stranger])


def test_our_checkpoints_round_trip_and_name_their_signer() -> None:
    seed, other = os.urandom(32), os.urandom(32)
    key = verifier_key("gateway.test/log", seed)
    checkpoint = Checkpoint("gateway.test/log", 12, bytes(range(32)))
    note = sign_note(checkpoint.text(), key.name, seed)
    assert note.startswith(
        "gateway.test/log\n12\n" + base64.b64encode(bytes(range(32))).decode()
    )
    text, signers = open_note(note, [verifier_key("gateway.test/log", other), key])
    assert signers == [key]
    assert Checkpoint.parse(text) == checkpoint
    assert VerifierKey.parse(key.encoded()) == key


@pytest.mark.parametrize(
    "text",
    [
        "origin\n12\n",  # no root
        "origin\n012\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n12\n" + base64.b64encode(bytes(31)).decode() + "\n",
        "origin\n12\nnot base64!\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    "vkey",
    [
        "name+00000000+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong id
        "name",
        "na me+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        VerifierKey.parse(vkey)
