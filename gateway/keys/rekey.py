"""Pseudonym key rotation: move record identifiers to the new key, from the vault.

A pseudonym cannot be re-keyed without the identifier in clear. Consent
events never hold it, so an identifier they know keeps its older pseudonym
for good (`gateway.consent.pseudonyms`), and so does a subject id, which
binds the subject's data key and vault entries. Every other identifier
pseudonym on a record (an e-mail address no consent event named, say) is
re-keyed here: its value is decrypted from the record's vault entry under
the subject's data key, pseudonymized as the resolver says, and forgotten.
After that, a consent event recorded later under the new key reaches these
records, and the pipelines link old and new records of one identifier again.

The stored runs' entity keys are renamed alike, so that pulls of a run made
before the rotation still see withdrawals recorded after it. Batches commit
one by one and a re-run finds nothing left to do: a crash loses nothing.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gateway.consent.identifiers import IdentifierKind
from gateway.consent.pseudonyms import resolver
from gateway.crypto.keyring import KeyPurpose, Keyring
from gateway.crypto.pseudonym import Pseudonymizer
from gateway.errors import DecryptionError
from gateway.storage import keys_repo, pseudonyms_repo
from gateway.storage.db import transaction
from gateway.storage.keys_repo import RecordKeys
from gateway.vault import open_entry, subject_ciphers

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class RekeyReport:
    """Counts only: what the re-keying moved, and what it could not read."""

    records_rekeyed: int
    entity_keys_rekeyed: int
    without_key: int


@dataclass
class _Tally:
    records: int = 0
    entity_keys: int = 0
    without_key: int = 0


def stale_names(
    row: RecordKeys, active_kid: str, kinds: Mapping[str, IdentifierKind]
) -> list[str]:
    """The record's identifiers under an older key, its subject id aside."""
    return [
        name
        for name, value in row.identifiers.items()
        if name in kinds
        and isinstance(value, str)
        and value != row.subject_id
        and value.partition(".")[0] != active_kid
    ]


def _clear_values(
    session: Session,
    keyring: Keyring,
    rows: Sequence[RecordKeys],
    tally: _Tally,
) -> dict[str, dict[str, str]]:
    """Each record's vault fields, where its subject's key still opens them."""
    blobs = keys_repo.vault_blobs(session, [row.record_id for row in rows])
    ciphers = subject_ciphers(session, keyring, {row.subject_id for row in rows})
    values: dict[str, dict[str, str]] = {}
    for row in rows:
        cipher, blob = ciphers.get(row.subject_id), blobs.get(row.record_id)
        try:
            if cipher is None or blob is None:
                raise DecryptionError("no data key")
            values[row.record_id] = open_entry(
                cipher, row.record_id, row.subject_id, blob
            )
        except DecryptionError:
            tally.without_key += 1  # erased: never linked or decided again anyway
    return values


def _rekey_page(
    session: Session,
    keyring: Keyring,
    pseudonymizers: Sequence[Pseudonymizer],
    kinds: Mapping[str, IdentifierKind],
    page: Sequence[RecordKeys],
    tally: _Tally,
) -> None:
    active = keyring.active(KeyPurpose.PSEUDONYM).kid
    stale = {row.record_id: stale_names(row, active, kinds) for row in page}
    rows = [row for row in page if stale[row.record_id]]
    known = pseudonyms_repo.known(
        session, (row.identifiers[n] for row in rows for n in stale[row.record_id])
    )
    todo = {
        row.record_id: [
            n for n in stale[row.record_id] if row.identifiers[n] not in known
        ]
        for row in rows
    }
    rows = [row for row in rows if todo[row.record_id]]
    values = _clear_values(session, keyring, rows, tally)
    where = [
        (row, name)
        for row in rows
        if row.record_id in values
        for name in todo[row.record_id]
        if name in values[row.record_id]
    ]
    found = resolver(session, pseudonymizers).resolve_many(
        [
            (kinds[name].namespace(row.client_id), values[row.record_id][name])
            for row, name in where
        ]
    )
    changes: dict[str, tuple[RecordKeys, dict[str, Any]]] = {}
    renamed: dict[str, str] = {}
    for (row, name), resolved in zip(where, found, strict=True):
        old = row.identifiers[name]
        if resolved.pseudonym != old:
            _, identifiers = changes.setdefault(
                row.record_id, (row, dict(row.identifiers))
            )
            identifiers[name] = resolved.pseudonym
            renamed[old] = resolved.pseudonym
    tally.records += keys_repo.set_identifiers(session, list(changes.values()))
    tally.entity_keys += keys_repo.rename_entity_keys(session, renamed)


def rekey_records(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    pseudonymizers: Sequence[Pseudonymizer],
    kinds: Mapping[str, IdentifierKind],
    chunk: int = CHUNK,
) -> RekeyReport:
    """Re-key every record identifier that only records know, batch by batch."""
    tally = _Tally()
    after = ""
    while True:
        with transaction(sessions) as session:
            page = keys_repo.records_after(session, after, chunk)
            if not page:
                break
            after = page[-1].record_id
            _rekey_page(session, keyring, pseudonymizers, kinds, page, tally)
    return RekeyReport(tally.records, tally.entity_keys, tally.without_key)
