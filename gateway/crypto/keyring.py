"""The keyring: every secret key the gateway holds, by purpose, id and version.

Keys never leave this module in clear except as `Key.material`, which is kept
out of every `repr`; error messages name fields and entries, never values.
"""

import base64
import binascii
import dataclasses
import json
import os
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.errors import KeyringError

FORMAT = "consent-gateway-keyring/1"
KEY_BYTES = 32
_KID = re.compile(r"[0-9a-f]{8}")
_FIELDS = frozenset({"purpose", "kid", "version", "created", "active", "material"})
_T = TypeVar("_T")


class KeyPurpose(StrEnum):
    """What a key is for; each purpose has exactly one active key."""

    MASTER = "master"  # AES-256-GCM key-encryption key for subjects' data keys
    PSEUDONYM = "pseudonym"  # HMAC-SHA256 key for pseudonyms and blind indexes
    TOKEN = "token"  # noqa: S105 - a purpose name, not a secret; HMAC key for JWTs
    AUDIT_SIGNING = "audit_signing"  # Ed25519 private key, raw 32-byte seed
    LINKAGE = "linkage"  # for privacy-preserving (Bloom filter) linkage encodings


@dataclass(frozen=True, slots=True)
class Key:
    """One key: its purpose, id, version, creation time, state and material."""

    purpose: KeyPurpose
    kid: str
    version: int
    created: str
    active: bool
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KID.fullmatch(self.kid):
            raise KeyringError("kid must be 8 lowercase hex characters")
        if self.version < 1:
            raise KeyringError("version must be 1 or more")
        if len(self.material) != KEY_BYTES:
            raise KeyringError(f"{self.purpose} key material must be {KEY_BYTES} bytes")
        try:
            created = datetime.fromisoformat(self.created)
        except ValueError:
            raise KeyringError("created must be an ISO 8601 timestamp") from None
        if created.tzinfo is None:
            raise KeyringError("created must carry a UTC offset")


@dataclass(frozen=True)
class Keyring:
    """An immutable set of keys; rotation returns a new keyring."""

    keys: tuple[Key, ...]

    def __post_init__(self) -> None:
        if len({key.kid for key in self.keys}) != len(self.keys):
            raise KeyringError("key ids must be unique")
        versions = Counter((key.purpose, key.version) for key in self.keys)
        if any(count > 1 for count in versions.values()):
            raise KeyringError("a purpose has two keys with the same version")
        actives = Counter(key.purpose for key in self.keys if key.active)
        for purpose in KeyPurpose:
            if actives[purpose] != 1:
                raise KeyringError(f"keyring needs exactly one active {purpose} key")

    def active(self, purpose: KeyPurpose) -> Key:
        """Return the active key of a purpose.

        Raises:
            KeyringError: No active key of that purpose.
        """
        for key in self.keys:
            if key.purpose == purpose and key.active:
                return key
        raise KeyringError(f"no active {purpose} key")

    def get(self, purpose: KeyPurpose, kid: str) -> Key:
        """Return the key of a purpose with this id, active or not.

        Raises:
            KeyringError: No such key (unknown id, or it was destroyed).
        """
        for key in self.keys:
            if key.purpose == purpose and key.kid == kid:
                return key
        # The id may come from an untrusted token header: echo it only if well formed.
        shown = kid if isinstance(kid, str) and _KID.fullmatch(kid) else "(malformed)"
        raise KeyringError(f"no {purpose} key with id {shown}")

    def rotate(self, purpose: KeyPurpose, now: datetime) -> "Keyring":
        """Return a keyring with a new active key; older keys stay, inactive."""
        version = max(key.version for key in self.keys if key.purpose == purpose) + 1
        kid = _new_kid({key.kid for key in self.keys})
        new = Key(purpose, kid, version, _iso_utc(now), True, _new_material())
        kept = tuple(
            dataclasses.replace(key, active=False) if key.purpose == purpose else key
            for key in self.keys
        )
        return Keyring((*kept, new))

    def to_json(self) -> str:
        """Serialise to the keyring file format (material in standard base64)."""
        entries = [
            {
                "purpose": str(key.purpose),
                "kid": key.kid,
                "version": key.version,
                "created": key.created,
                "active": key.active,
                "material": base64.b64encode(key.material).decode("ascii"),
            }
            for key in self.keys
        ]
        return json.dumps({"format": FORMAT, "keys": entries}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Keyring":
        """Parse and validate a keyring document.

        Raises:
            KeyringError: Not valid JSON, wrong structure, or an invalid key set.
        """
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            raise KeyringError("keyring is not valid JSON") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise KeyringError(f"keyring format must be {FORMAT}")
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise KeyringError("keyring.keys must be a list")
        return cls(tuple(_key_from_entry(i, entry) for i, entry in enumerate(entries)))


_HOLDOUT_SALT = b"consent-gateway/holdout-draws/v1"


def holdout_key(keyring: Keyring) -> bytes:
    """The secret key of the audiences' A/B holdout draws (`pipelines.holdout`).

    Derived, not a purpose of its own: a new purpose would make every
    existing keyring invalid (each purpose needs an active key) and add a
    key to back up for a draw that holds no data. HKDF-SHA256 of the first
    linkage key the keyring ever held, under a salt of its own, so it is
    independent of the encodings and of the destination keys derived from
    the same root (`gateway.crypto.destination`). The first key, not the
    active one: a person's draw must stay the same across runs, and rotating
    the linkage key must not reshuffle who is held out mid-measurement.
    Derived afresh by each run and never stored or written anywhere.
    """
    root = min(
        (key for key in keyring.keys if key.purpose == KeyPurpose.LINKAGE),
        key=lambda key: key.version,
    )
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_HOLDOUT_SALT, info=b"holdout"
    )
    return hkdf.derive(root.material)


def _typed(entry: dict[str, Any], name: str, kind: type[_T], where: str) -> _T:
    value = entry[name]
    if type(value) is not kind:  # exact type: a bool is not a version number
        raise KeyringError(f"{where}.{name} must be of type {kind.__name__}")
    return value


def _key_from_entry(index: int, entry: object) -> Key:
    where = f"keys[{index}]"
    if not isinstance(entry, dict) or set(entry) != _FIELDS:
        raise KeyringError(f"{where} must have exactly the fields {sorted(_FIELDS)}")
    try:
        purpose = KeyPurpose(_typed(entry, "purpose", str, where))
    except ValueError:
        raise KeyringError(f"{where}.purpose is not a known purpose") from None
    try:
        encoded = _typed(entry, "material", str, where)
        material = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{where}.material is not standard base64") from None
    try:
        return Key(
            purpose=purpose,
            kid=_typed(entry, "kid", str, where),
            version=_typed(entry, "version", int, where),
            created=_typed(entry, "created", str, where),
            active=_typed(entry, "active", bool, where),
            material=material,
        )
    except KeyringError as exc:
        if exc.detail.startswith(where):
            raise
        raise KeyringError(f"{where}: {exc.detail}") from None


def _iso_utc(now: datetime) -> str:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC).isoformat()


def _new_material() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _new_kid(taken: set[str]) -> str:
    while (kid := secrets.token_hex(4)) in taken:
        pass
    return kid


def create_keyring(now: datetime) -> Keyring:
    """Make a keyring with one active version-1 key for every purpose."""
    created = _iso_utc(now)
    kids: set[str] = set()
    keys = []
    for purpose in KeyPurpose:
        kid = _new_kid(kids)
        kids.add(kid)
        keys.append(Key(purpose, kid, 1, created, True, _new_material()))
    return Keyring(tuple(keys))


def _make_private_dirs(directory: Path) -> None:
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write `text` to `path` as 0600, atomically; FileExistsError if not `replace`."""
    _make_private_dirs(path.parent)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    # Created 0600 from the start (umask can only narrow it), so no window of exposure.
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            tmp.replace(path)
        else:
            path.hardlink_to(tmp)  # atomic, and refuses to clobber a concurrent writer
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _write_error(path: Path, exc: OSError) -> KeyringError:
    return KeyringError(f"cannot write keyring file {path}: {exc.strerror}")


def save_keyring(keyring: Keyring, path: Path) -> None:
    """Write the keyring to `path` (mode 0600, parents 0700), atomically.

    Raises:
        KeyringError: The file cannot be written.
    """
    try:
        _write_private(path, keyring.to_json(), replace=True)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _read_private(path: Path) -> str:
    """Read a keyring file; FileNotFoundError passes through for `ensure_keyring`."""
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode  # of the file we read, not a swap
            if mode & 0o077:
                raise KeyringError(
                    f"keyring file {path} is accessible to group or others; "
                    f"run: chmod 600 {path}"
                )
            data = handle.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyringError(f"cannot read keyring file {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyringError(f"keyring file {path} is not UTF-8 text") from None


def load_keyring(path: Path) -> Keyring:
    """Read and validate the keyring file.

    Raises:
        KeyringError: Missing, unreadable, open to group/others, or invalid.
    """
    try:
        text = _read_private(path)
    except FileNotFoundError:
        raise KeyringError(
            f"keyring file {path} not found: run `gateway init`"
        ) from None
    return Keyring.from_json(text)


def ensure_keyring(path: Path, now: datetime) -> tuple[Keyring, bool]:
    """Load the keyring, or create and save one if the file is absent.

    Returns:
        The keyring and whether it was created now.

    Raises:
        KeyringError: The file exists but cannot be loaded, or cannot be written.
    """
    try:
        return Keyring.from_json(_read_private(path)), False
    except FileNotFoundError:
        pass
    keyring = create_keyring(now)
    try:
        _write_private(path, keyring.to_json(), replace=False)
    except FileExistsError:
        # Another process created it first: use theirs, never overwrite live keys.
        return load_keyring(path), False
    except OSError as exc:
        raise _write_error(path, exc) from None
    return keyring, True
