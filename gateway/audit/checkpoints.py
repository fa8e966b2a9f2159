"""Signed checkpoints of the audit log: sign the tree head, check a saved one.

The log's origin (the checkpoint's first line and the signing key's name) is
derived from the first audit signing key the keyring ever held, so it stays
the same when that key is rotated: old checkpoints keep verifying under the
old key, new ones are signed by the new key, both under one origin.

Before signing, the gateway proves the new tree extends the last tree it
signed (a consistency proof from the stored subtrees, checked by the RFC
9162 verifier): it never signs two trees of which one is not a prefix of the
other, even if the head row or the stored subtrees were rewritten.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.audit import merkle
from gateway.audit.cosignature import WitnessPolicy
from gateway.audit.note import (
    Checkpoint,
    NoteError,
    VerifierKey,
    open_note,
    sign_note,
    verifier_key,
)
from gateway.audit.proofs import consistency_proof, root_at
from gateway.crypto.keyring import KeyPurpose, Keyring
from gateway.errors import ConflictError, InvalidRequestError
from gateway.storage import audit_repo
from gateway.storage.audit_repo import StoredCheckpoint


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """The signed tree head: size, root and the C2SP note text."""

    tree_size: int
    root_hash: bytes
    note: str

    def document(self) -> dict[str, object]:
        """The published shape (CONTRACT.md): root in hex, the note as text."""
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "checkpoint": self.note,
        }


def log_origin(keyring: Keyring) -> str:
    """This log's name: stable across rotations of the audit signing key."""
    first = min(
        (k for k in keyring.keys if k.purpose == KeyPurpose.AUDIT_SIGNING),
        key=lambda k: k.version,
    )
    public = verifier_key("origin", first.material).public
    return f"consent-gateway/audit/{hashlib.sha256(public).hexdigest()[:16]}"


def verifier_keys(keyring: Keyring) -> list[VerifierKey]:
    """Every audit signing key of the keyring, retired ones included."""
    origin = log_origin(keyring)
    return [
        verifier_key(origin, key.material)
        for key in keyring.keys
        if key.purpose == KeyPurpose.AUDIT_SIGNING
    ]


def active_verifier_key(keyring: Keyring) -> VerifierKey:
    """The key new checkpoints are signed with."""
    active = keyring.active(KeyPurpose.AUDIT_SIGNING)
    return verifier_key(log_origin(keyring), active.material)


@dataclass(frozen=True, slots=True)
class CheckpointSigner:
    """Signs this log's tree heads with the active audit key."""

    origin: str
    seed: bytes = field(repr=False)

    @classmethod
    def of(cls, keyring: Keyring) -> "CheckpointSigner":
        """The signer for the keyring's log and active audit key."""
        return cls(
            log_origin(keyring), keyring.active(KeyPurpose.AUDIT_SIGNING).material
        )

    def note(self, size: int, root: bytes) -> str:
        """The signed C2SP checkpoint note of a tree."""
        return sign_note(
            Checkpoint(self.origin, size, root).text(), self.origin, self.seed
        )


def sign_checkpoint(
    session: Session, signer: CheckpointSigner, now: datetime
) -> SignedCheckpoint:
    """Sign the current tree head and keep the checkpoint; call in a write transaction.

    Raises:
        ConflictError: If the tree does not extend the last signed tree.
    """
    head = audit_repo.lock_head(session)
    root = root_at(session, head.size)
    if root != head.root_hash:
        raise ConflictError("the head's root is not the root of the stored tree")
    last = audit_repo.last_checkpoint(session)
    if last is not None and (last.tree_size, last.root_hash) == (head.size, root):
        return SignedCheckpoint(last.tree_size, last.root_hash, last.note)
    if last is not None and not _extends(session, last, head.size, root):
        raise ConflictError("the log does not extend the last signed checkpoint")
    return _keep(session, signer, head.size, root, now)


def checkpoint_appended(
    session: Session,
    signer: CheckpointSigner,
    extended: tuple[int, bytes],
    grown: tuple[int, bytes],
    now: datetime,
) -> bool:
    """Sign the tree an append made of the tree `extended` (size, root).

    Most often the last signed tree is the one extended: nothing to prove.
    Otherwise (appends made without signing in between) the new tree must be
    proven to extend the last signed one.

    Returns:
        False, and nothing signed, when the new tree does not extend the last
        signed one: the caller must not commit.
    """
    last = audit_repo.last_checkpoint(session)
    if last is not None and (last.tree_size, last.root_hash) != extended:
        consistent = _extends(session, last, *grown)
        if not consistent:
            return False
    _keep(session, signer, *grown, now)
    return True


def _keep(
    session: Session, signer: CheckpointSigner, size: int, root: bytes, now: datetime
) -> SignedCheckpoint:
    note = signer.note(size, root)
    audit_repo.add_checkpoint(session, StoredCheckpoint(size, root, note), now)
    return SignedCheckpoint(size, root, note)


def _extends(session: Session, last: StoredCheckpoint, size: int, root: bytes) -> bool:
    if last.tree_size > size:
        return False
    if last.tree_size == 0:
        return last.root_hash == merkle.EMPTY_ROOT
    proof = consistency_proof(session, last.tree_size, size).proof
    return merkle.verify_consistency(last.tree_size, size, last.root_hash, root, proof)


def open_checkpoint(
    note: str, keyring: Keyring, witnesses: WitnessPolicy | None = None
) -> Checkpoint:
    """A saved checkpoint of this log, once its signature is checked.

    With `witnesses`, a quorum of them must also have cosigned it (C2SP
    tlog-cosignature): proof that it is the history they were all shown.

    Raises:
        InvalidRequestError: If it is malformed, of another log, signed by
            no audit key of the keyring, or short of the witness quorum.
    """
    try:
        text, _ = open_note(note, verifier_keys(keyring))
        checkpoint = Checkpoint.parse(text)
        if witnesses is not None:
            witnesses.check(note)
    except NoteError as exc:
        raise InvalidRequestError(f"checkpoint refused: {exc}") from None
    if checkpoint.origin != log_origin(keyring):
        raise InvalidRequestError("checkpoint refused: it names another log")
    return checkpoint
