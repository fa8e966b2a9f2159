"""Turn a request's accepted records into the rows it writes, gathered first.

The records, their vault entries and their linkage encodings are written in
a few bulk statements in a fixed order (inserts in source_id order), not one
record at a time: concurrent requests on the same source_ids then take their
locks in the same order, and a batch's cost does not grow by a statement
per record. Which record is new, an update or a duplicate is decided here,
against the rows already stored.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit import AuditEvent
from gateway.context import GatewayContext
from gateway.ids import uuid7_many
from gateway.ingest.receipt import RecordResult
from gateway.ingest.transform import StoredForm
from gateway.ingest.validate import ValidRecord
from gateway.linkage.encoder import NO_ENCODING, linkage_fields, linkage_values
from gateway.linkage.pool import EncodingPool, Pending
from gateway.policy.datasets import Dataset
from gateway.storage import records_repo, subject_numbers
from gateway.storage.models import ClientRow
from gateway.vault import VaultWriter


@dataclass
class Writes:
    """The writes of one request, gathered before they go to the database."""

    inserts: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    vault: dict[str, dict[str, Any]] = field(default_factory=dict)
    audits: list[AuditEvent] = field(default_factory=list)


class Encodings:
    """A batch's linkage encodings, being made while the request goes on."""

    def __init__(
        self,
        linkage: EncodingPool | None,
        indexes: list[int],
        pending: Pending | None,
    ) -> None:
        self._linkage = linkage
        # A record's index in the request -> its place in the encodings.
        self._place = {index: n for n, index in enumerate(indexes)}
        self._pending = pending
        self._made: list[bytes | None] | None = None

    def columns(self, record_id: str, index: int) -> dict[str, Any]:
        """The record row's linkage columns for the request's record `index`."""
        if self._pending is None or self._linkage is None:
            return NO_ENCODING
        if self._made is None:
            self._made = self._pending()
        packed = self._made[self._place[index]]
        return self._linkage.columns(record_id, packed)


def start_linkage(
    ctx: GatewayContext, dataset: Dataset, valid: list[tuple[int, ValidRecord]]
) -> Encodings:
    """Start encoding the valid records of a batch for linkage.

    Made from the clear values only the gateway holds, by a helper process
    while the request scans, pseudonymizes, checks consent and builds rows;
    the pipelines link people through these and never see the fields. The
    values are the record's normalized ones as the vault keeps them (as
    text: `transform` stores `str(value)`). A record that turns out rejected
    or duplicate just leaves its encoding unused.
    """
    roles = linkage_fields(dataset)
    if not roles or not valid:
        return Encodings(None, [], None)
    values = [linkage_values(roles, record.values) for _, record in valid]
    indexes = [index for index, _ in valid]
    return Encodings(ctx.linkage, indexes, ctx.linkage.start(values))


def store(
    session: Session,
    ctx: GatewayContext,
    client: ClientRow,
    dataset: Dataset,
    purpose: str,
    kept: list[tuple[RecordResult, StoredForm]],
    writes: Writes,
    encodings: Encodings,
) -> None:
    """Write the kept records (new, updated or duplicate) with their vault entries.

    Each kept record's result gets its status and record id, and `writes`
    its audit event; `writes.audits` is left for the caller to append.
    """
    now = ctx.clock()
    known = records_repo.existing_by_source(
        session, client.id, dataset.name, (r.source_id or "" for r, _ in kept)
    )
    vault = VaultWriter(session, ctx.keyring, now)
    vault.load(form.subject_id for _, form in kept if form.vault)
    # After the keys: a new subject's key row is its registry row, numbered.
    numbers = subject_numbers.register(
        session, (form.subject_id for _, form in kept), now
    )
    # Record id -> the record's index in the request, for its encodings.
    written: dict[str, int] = {}
    # Ids for the records that turn out new: one random read for the batch.
    new_ids = iter(uuid7_many(now, len(kept)))
    for result, form in kept:
        source_id = result.source_id or ""
        previous = known.get(source_id)
        if previous is not None and previous[1] in (
            form.content_hash,
            *form.older_hashes,
        ):
            result.status, result.record_id = "duplicate", previous[0]
        else:
            row = _record_row(
                ctx, client, dataset, purpose, form, source_id, previous, new_ids
            )
            row["subject_no"] = numbers[form.subject_id]
            row["created_at"] = row["updated_at"] = now
            record_id = row["id"]
            if previous is None:
                writes.inserts[record_id] = row  # version 1 already
            elif record_id in writes.inserts:
                # Sent twice in one request: still the one insert.
                writes.inserts[record_id] = row | {"version": 1}
            else:
                writes.updates[record_id] = row
            if form.vault:
                writes.vault[record_id] = vault.entry(
                    record_id, form.subject_id, form.vault
                )
            else:
                writes.vault.pop(record_id, None)
            known[source_id] = (record_id, form.content_hash, row["version"])
            result.record_id = record_id
            result.status = "updated" if previous else "accepted"
            written[record_id] = result.index
        writes.audits.append(
            AuditEvent(
                actor=client.id,
                action=f"record.{result.status}",
                subject_id=form.subject_id,
                purpose=purpose,
                dataset=dataset.name,
                record_id=result.record_id,
                policy_version=ctx.policies.version,
                details=_record_details(result, form),
            )
        )
    _add_linkage(writes, written, encodings)
    _write(session, writes)


def _record_details(result: RecordResult, form: StoredForm) -> dict[str, Any]:
    details: dict[str, Any] = {"index": result.index}
    if form.pii_found:
        # Which fields held which kinds of personal data: types, never values.
        details["pii_redacted"] = {
            k: list(v) for k, v in sorted(form.pii_found.items())
        }
    return details


def _add_linkage(writes: Writes, written: dict[str, int], encodings: Encodings) -> None:
    """Give every record written its linkage columns."""
    for record_id, index in written.items():
        row = writes.inserts.get(record_id) or writes.updates[record_id]
        row.update(encodings.columns(record_id, index))


def _record_row(
    ctx: GatewayContext,
    client: ClientRow,
    dataset: Dataset,
    purpose: str,
    form: StoredForm,
    source_id: str,
    previous: tuple[str, str, int] | None,
    new_ids: Iterator[str],
) -> dict[str, Any]:
    """The new version of a record, replacing `previous` when there is one."""
    return {
        "id": previous[0] if previous else next(new_ids),
        "client_id": client.id,
        "dataset": dataset.name,
        "source_id": source_id,
        "subject_id": form.subject_id,
        "purpose": purpose,
        "content_hash": form.content_hash,
        "identifiers": form.identifiers,
        "data": form.data,
        "policy_version": ctx.policies.version,
        "version": previous[2] + 1 if previous else 1,
    }


def _write(session: Session, writes: Writes) -> None:
    # Inserts in source_id order, so that two requests racing on the same
    # source_ids take their unique-key locks in the same order (no deadlock).
    records_repo.insert_records(
        session, sorted(writes.inserts.values(), key=lambda r: r["source_id"])
    )
    records_repo.replace_records(session, list(writes.updates.values()))
    records_repo.insert_vault_entries(session, list(writes.vault.values()))
