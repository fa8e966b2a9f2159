"""C2SP tlog-cosignature/v1 (Ed25519) cosignatures of checkpoints: pure functions.

A witness that checked a checkpoint is consistent with every earlier one it
saw adds its own signature line to the checkpoint note. The line is a
signed-note signature of type 0x04: its key id is the first four bytes of
SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key), and its payload is the key id, the
signing time (8 bytes, big-endian POSIX seconds) and an Ed25519 signature
over

    cosignature/v1
    time <seconds>
    <the whole checkpoint text, extension lines included>

A witness's verifier key is written `name+hex(key id)+base64(0x04 ‖ key)`.

One log signature proves who made a checkpoint; a quorum of cosignatures by
independent witnesses proves that nobody was shown another history of the
same log (a split view), since each witness cosigns only trees consistent
with the last one it cosigned.
"""

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.audit.note import (
    NoteError,
    parse_signature_line,
    signature_line,
    split_note,
    split_vkey,
    valid_key_name,
)

COSIGNATURE_V1 = 0x04
_HEADER = "cosignature/v1\n"
_MAX_TIME = 2**63 - 1  # tlog-cosignature: the timestamp must not exceed it
_PAYLOAD = 4 + 8 + 64  # key id, timestamp, Ed25519 signature


class QuorumError(NoteError):
    """Fewer distinct witnesses validly cosigned a checkpoint than required."""


@dataclass(frozen=True, slots=True)
class WitnessKey:
    """A witness's name and Ed25519 public key, for cosignature/v1."""

    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        """The first four bytes of SHA-256(name ‖ LF ‖ 0x04 ‖ public key)."""
        data = self.name.encode() + b"\n" + bytes([COSIGNATURE_V1]) + self.public
        return hashlib.sha256(data).digest()[:4]

    def encoded(self) -> str:
        """The vkey string: `name+hex(key id)+base64(0x04 ‖ key)`."""
        key = base64.b64encode(bytes([COSIGNATURE_V1]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{key}"

    @classmethod
    def parse(cls, text: str) -> "WitnessKey":
        """Read a witness vkey; its key id must match its name and key.

        Raises:
            NoteError: If it is malformed or not a cosignature/v1 key.
        """
        name, key_id, raw = split_vkey(text)
        if len(raw) != 33 or raw[0] != COSIGNATURE_V1:
            raise NoteError("a witness key is a cosignature/v1 (0x04) Ed25519 key")
        key = cls(name, raw[1:])
        if key.key_id != key_id:
            raise NoteError("the witness key's id does not match its name and key")
        return key


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A valid cosignature: which witness signed, and when (POSIX seconds)."""

    witness: WitnessKey
    timestamp: int


@dataclass(frozen=True, slots=True)
class Cosigner:
    """A witness's signing half (its 32-byte Ed25519 seed) and name."""

    name: str
    seed: bytes = field(repr=False)

    def key(self) -> WitnessKey:
        """The public half, as verifiers pin it."""
        public = (
            Ed25519PrivateKey.from_private_bytes(self.seed)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return WitnessKey(self.name, public)

    def cosign(self, text: str, timestamp: int) -> str:
        """The signature line (no newline) cosigning checkpoint `text` at `timestamp`.

        Raises:
            NoteError: If the name cannot be in a note or the time is out of range.
        """
        if not valid_key_name(self.name):
            raise NoteError("a key name is printable, without spaces or '+'")
        if not 0 <= timestamp <= _MAX_TIME:
            raise NoteError("a cosignature's time is 0..2^63-1 seconds")
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(
            signed_message(text, timestamp)
        )
        payload = self.key().key_id + timestamp.to_bytes(8, "big") + signature
        return signature_line(self.name, payload)


def signed_message(text: str, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: header, time line, checkpoint text."""
    return f"{_HEADER}time {timestamp}\n{text}".encode()


def verify_cosignature(key: WitnessKey, text: str, payload: bytes) -> int | None:
    """The cosignature's time if `payload` (key id ‖ time ‖ signature) is valid.

    Returns:
        None if the payload is not by `key` or does not verify over `text`.
    """
    if len(payload) != _PAYLOAD or payload[:4] != key.key_id:
        return None
    timestamp = int.from_bytes(payload[4:12], "big")
    if timestamp > _MAX_TIME:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(key.public).verify(
            payload[12:], signed_message(text, timestamp)
        )
    except InvalidSignature:
        return None
    return timestamp


def cosignatures(note: str, witnesses: Iterable[WitnessKey]) -> list[Cosignature]:
    """The valid cosignatures in a note by the given witnesses, one per witness.

    Lines by keys not given are skipped (the log's own signature, witnesses
    not trusted, other signature types), as signed-note says. A line whose
    name and key id are a given witness's but whose signature does not verify
    (a cosignature copied from another checkpoint, a changed note) refuses the
    whole note, as signed-note recommends.

    Raises:
        NoteError: If the note is malformed or a known witness's line is bad.
    """
    text, lines = split_note(note)
    known = {(w.name, w.key_id): w for w in witnesses}
    found: dict[WitnessKey, Cosignature] = {}
    for name, payload in lines:
        witness = known.get((name, payload[:4]))
        if witness is None:
            continue
        timestamp = verify_cosignature(witness, text, payload)
        if timestamp is None:
            raise NoteError(f"the cosignature by {name} does not verify")
        # A witness that signed twice still counts once: keep its latest.
        if witness not in found or found[witness].timestamp < timestamp:
            found[witness] = Cosignature(witness, timestamp)
    return list(found.values())


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """Which witnesses are trusted, and how many of them must cosign."""

    witnesses: tuple[WitnessKey, ...]
    quorum: int

    def __post_init__(self) -> None:
        if len(set(self.witnesses)) != len(self.witnesses):
            raise ValueError("a witness is listed twice")
        if not 1 <= self.quorum <= len(self.witnesses):
            raise ValueError(
                f"the quorum must be 1..{len(self.witnesses)} (the witnesses given)"
            )

    def check(self, note: str) -> list[Cosignature]:
        """The quorum's cosignatures on a note.

        Raises:
            QuorumError: If fewer than `quorum` distinct witnesses validly cosigned.
            NoteError: If the note is malformed or a known witness's line is bad.
        """
        valid = cosignatures(note, self.witnesses)
        if len(valid) < self.quorum:
            raise QuorumError(
                f"{len(valid)} of {len(self.witnesses)} trusted witnesses "
                f"cosigned it, {self.quorum} required"
            )
        return valid


def has_quorum(note: str, witnesses: Iterable[WitnessKey], quorum: int) -> bool:
    """Whether at least `quorum` distinct given witnesses validly cosigned `note`.

    False as well for a malformed note or a bad line by a given witness.
    """
    try:
        return len(cosignatures(note, witnesses)) >= quorum
    except NoteError:
        return False


def with_cosignatures(note: str, lines: Iterable[str]) -> str:
    """The signed note with extra signature lines appended, each once.

    Raises:
        NoteError: If the note or a line is malformed.
    """
    split_note(note)  # refuse a malformed note before adding to it
    present = set(note.rpartition("\n\n")[2].split("\n"))
    added: list[str] = []
    for line in lines:
        if "\n" in line:
            raise NoteError("a signature line is one line")
        parse_signature_line(line)
        if line not in present:
            present.add(line)
            added.append(line)
    return note + "".join(f"{line}\n" for line in added)
