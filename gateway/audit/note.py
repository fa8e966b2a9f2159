"""C2SP signed notes and tlog checkpoints with Ed25519: pure functions.

A checkpoint (C2SP `tlog-checkpoint`) is a note whose text is three lines:
the log's origin, its tree size in decimal, and its root hash in standard
base64, each ending in a newline. A signed note (C2SP `signed-note`) is that
text, an empty line, and one line per signature: an em dash, a space, the
key's name, a space, and base64 of the 4-byte key id then the signature.
For Ed25519 (signature type 0x01) the key id is the first four bytes of
SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), and the verifier key is written
`name+hex(key id)+base64(0x01 ‖ public key)`.

Verification is strict: a note with any malformed line, or with no valid
signature by one of the keys it is given, is refused.
"""

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
_DASH = "\u2014 "
_MAX_NAME = 256


class NoteError(ValueError):
    """A note, a checkpoint or a verifier key that cannot be read or trusted."""


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A named Ed25519 public key, as `name+hex(key id)+base64(0x01 ‖ key)`."""

    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        """The first four bytes of SHA-256(name ‖ LF ‖ 0x01 ‖ public key)."""
        data = self.name.encode() + b"\n" + bytes([ED25519]) + self.public
        return hashlib.sha256(data).digest()[:4]

    def encoded(self) -> str:
        """The vkey string other tools read."""
        key = base64.b64encode(bytes([ED25519]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{key}"

    @classmethod
    def parse(cls, text: str) -> "VerifierKey":
        """Read a vkey string; its key id must match its name and key.

        Raises:
            NoteError: If it is malformed or not an Ed25519 key.
        """
        name, key_id, raw = split_vkey(text)
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key")
        key = cls(name, raw[1:])
        if key.key_id != key_id:
            raise NoteError("the verifier key's id does not match its name and key")
        return key


@lru_cache(maxsize=8)
def _private_key(seed: bytes) -> Ed25519PrivateKey:
    # Every committed batch signs its checkpoint with the same key or two:
    # keep the key object rather than expand the seed each time.
    return Ed25519PrivateKey.from_private_bytes(seed)


@lru_cache(maxsize=8)
def _public_bytes(seed: bytes) -> bytes:
    return _private_key(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verifier_key(name: str, seed: bytes) -> VerifierKey:
    """The public half of an Ed25519 private key (its 32-byte seed)."""
    return VerifierKey(name, _public_bytes(seed))


def sign_note(text: str, name: str, seed: bytes) -> str:
    """The note `text` (ending in a newline) signed by the key `seed` as `name`.

    Raises:
        NoteError: If the text or the name cannot be in a note.
    """
    _check_text(text)
    if not valid_key_name(name):
        raise NoteError("a key name is printable, without spaces or '+'")
    key = verifier_key(name, seed)
    signature = _private_key(seed).sign(text.encode())
    return f"{text}\n{signature_line(name, key.key_id + signature)}\n"


def open_note(note: str, keys: Iterable[VerifierKey]) -> tuple[str, list[VerifierKey]]:
    """The note's text and the given keys that signed it (at least one).

    Signatures by keys not given are skipped, as the signed-note spec says;
    a signature line that is malformed, or one by a known key that does not
    verify, refuses the note.

    Raises:
        NoteError: If the note is malformed or no given key signed it.
    """
    text, signatures = split_note(note)
    known = {(k.name, k.key_id): k for k in keys}
    signers: list[VerifierKey] = []
    for name, signature in signatures:
        key = known.get((name, signature[:4]))
        if key is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(
                signature[4:], text.encode()
            )
        except InvalidSignature:
            raise NoteError(f"the signature by {name} does not verify") from None
        signers.append(key)
    if not signers:
        raise NoteError("no signature by a trusted key")
    return text, signers


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's origin, tree size and root hash: the body of a checkpoint note."""

    origin: str
    tree_size: int
    root_hash: bytes

    def text(self) -> str:
        """The three lines that are signed."""
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.tree_size}\n{root}\n"

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        """Read a checkpoint's text (extension lines after the third are kept out).

        Raises:
            NoteError: If a line is missing or malformed.
        """
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint is origin, size and root, one per line")
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin or not size.isdigit() or (size != "0" and size[0] == "0"):
            raise NoteError("a checkpoint's size is a decimal number")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("a checkpoint's root is base64") from None
        if len(root_hash) != 32:
            raise NoteError("a checkpoint's root is a SHA-256 hash")
        return cls(origin, int(size), root_hash)


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A signed note's text and its signature lines as (key name, key id ‖ signature).

    Nothing is verified here: the caller decides which keys it trusts.

    Raises:
        NoteError: If the note or one of its signature lines is malformed.
    """
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not note.endswith("\n"):
        raise NoteError("a signed note is text, an empty line, signature lines")
    text += "\n"
    _check_text(text)
    return text, [parse_signature_line(line) for line in signatures[:-1].split("\n")]


def signature_line(name: str, signature: bytes) -> str:
    """One signature line (no newline): em dash, name, base64(key id ‖ signature)."""
    return f"{_DASH}{name} {base64.b64encode(signature).decode()}"


def split_vkey(text: str) -> tuple[str, bytes, bytes]:
    """A vkey's name, key id and key material (signature type byte first).

    Only the form is checked; each signature type checks its own material.

    Raises:
        NoteError: If it does not read name+hex(key id)+base64(type ‖ key).
    """
    name, plus, rest = text.strip().partition("+")
    key_id_hex, plus2, key_b64 = rest.partition("+")
    if not (plus and plus2) or not valid_key_name(name):
        raise NoteError("a verifier key reads name+keyid+key")
    try:
        raw = base64.b64decode(key_b64, validate=True)
        key_id = bytes.fromhex(key_id_hex)
    except (binascii.Error, ValueError):
        raise NoteError("the verifier key is not hex and base64") from None
    if len(key_id) != 4 or not raw:
        raise NoteError("a verifier key has a 4-byte id and a typed key")
    return name, key_id, raw


def valid_key_name(name: str) -> bool:
    """Whether a key name can be in a note: printable, no space, no '+'."""
    return (
        0 < len(name) <= _MAX_NAME
        and name.isprintable()
        and " " not in name
        and "+" not in name
    )


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    if any(not line.isprintable() for line in text[:-1].split("\n")):
        raise NoteError("a note's text is printable lines")


def parse_signature_line(line: str) -> tuple[str, bytes]:
    """A signature line's key name and its key id ‖ signature bytes.

    Raises:
        NoteError: If the line is malformed.
    """
    if not line.startswith(_DASH):
        raise NoteError("a signature line starts with an em dash and a space")
    name, space, encoded = line[len(_DASH) :].partition(" ")
    if not space or not valid_key_name(name):
        raise NoteError("a signature line names its key")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise NoteError("a signature is base64") from None
    if len(signature) < 5:
        raise NoteError("a signature holds a key id and a signature")
    return name, signature
