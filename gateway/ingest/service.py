"""Ingest a batch of records: validate, pseudonymize, check consent, store, audit.

The accepted records of a request, their vault entries and every audit event
are written in one transaction; the caller answers only after it committed.
"""

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.consent.pseudonyms import resolver
from gateway.consent.service import decide_many, record_objections
from gateway.context import GatewayContext
from gateway.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from gateway.ids import uuid7_many
from gateway.ingest.pseudonyms import settle
from gateway.ingest.receipt import Receipt, RecordResult
from gateway.ingest.transform import StoredForm, redact_texts, transform
from gateway.ingest.validate import (
    FieldIssue,
    InvalidRecord,
    ValidRecord,
    validate_record,
)
from gateway.linkage.encoder import NO_ENCODING, linkage_fields, linkage_values
from gateway.linkage.pool import EncodingPool, Pending
from gateway.policy.models import Dataset, Purpose
from gateway.storage import consent_repo, idempotency_repo, records_repo
from gateway.storage.db import transaction
from gateway.storage.models import ClientRow
from gateway.vault import VaultWriter

# The shape of a policy purpose name; anything else cannot name one.
PURPOSE_NAME = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
PURPOSE_MAX = 64
# Concurrent requests for the same source_id race on its unique key; the loser
# retries and then sees the winner's row (duplicate or update, never twice).
MAX_ATTEMPTS = 4


# Idempotent replies are stored with the HTTP status they were sent with:
# a receipt always goes out as 200 (a refused request stores no reply).
_RECEIPT_STATUS = 200


@dataclass(frozen=True, slots=True)
class SubmitRecords:
    """A partner's batch for one dataset and declared purpose.

    Records are kept as sent: each is judged on its own (`validate_record`),
    so one that is not even an object is rejected in its result and never
    fails its batch. `idempotency_key`: the request's Idempotency-Key; `gpc`:
    it came with `Sec-GPC: 1`.
    """

    dataset: str
    purpose: str
    records: Sequence[Any]
    idempotency_key: str | None = None
    gpc: bool = False

    def body(self) -> dict[str, Any]:
        """The request body the batch was sent as (the idempotency digest's input)."""
        return {"purpose": self.purpose, "records": list(self.records)}


@dataclass
class _Batch:
    """The writes of one request, gathered before they go to the database."""

    inserts: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    vault: dict[str, dict[str, Any]] = field(default_factory=dict)
    audits: list[AuditEvent] = field(default_factory=list)


def _check_batch(ctx: GatewayContext, batch: SubmitRecords) -> None:
    """The batch's own rules (the HTTP edge checks the same on the body's shape)."""
    if len(batch.purpose) > PURPOSE_MAX or not PURPOSE_NAME.fullmatch(batch.purpose):
        raise InvalidRequestError("purpose: required, a purpose name (a-z 0-9 _ .)")
    if not batch.records:
        raise InvalidRequestError("records: required, as a non-empty list")
    limit = ctx.settings.max_batch_records
    if len(batch.records) > limit:
        raise InvalidRequestError(f"records: at most {limit} per request")


def dataset_for(ctx: GatewayContext, client: ClientRow, name: str) -> Dataset:
    """The dataset, if it exists and this client may submit it.

    Raises:
        NotFoundError: No such dataset.
        PermissionDeniedError: The client may not submit it.
    """
    dataset = ctx.policies.datasets.get(name)
    if dataset is None:
        raise NotFoundError("no such dataset")
    if name not in client.datasets:
        raise PermissionDeniedError("this client may not submit this dataset")
    return dataset


def _allowed_purpose(
    ctx: GatewayContext, client: ClientRow, dataset: Dataset, purpose: str
) -> Purpose | None:
    if purpose not in dataset.purposes or purpose not in client.purposes:
        return None
    return ctx.policies.purposes.get(purpose)


def request_hash(ctx: GatewayContext, body: Any) -> str:
    """A keyed digest of the body, so a replay can be told from a reuse."""
    return request_hashes(ctx, body)[0]


def request_hashes(ctx: GatewayContext, body: Any) -> tuple[str, ...]:
    """The body's digest under every pseudonym key, the active key's first.

    A request first sent before a rotation of the pseudonym key and replayed
    after it is still the same request.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return tuple(key("idempotency", digest)[-64:] for key in ctx.pseudonymizers)


def ingest(ctx: GatewayContext, client: ClientRow, batch: SubmitRecords) -> Receipt:
    """Process one batch; retries whole when a concurrent twin won a race.

    With `batch.gpc` (a `Sec-GPC: 1` request) the valid records' identifiers
    first get a withdrawal of the purposes marked sale or sharing (GPC
    opt-out). The same Idempotency-Key and body again give the stored
    receipt, marked replayed.

    Raises:
        NotFoundError: No such dataset.
        PermissionDeniedError: The client may not submit it.
        InvalidRequestError: The batch breaks its own rules (purpose name,
            record count).
        ConflictError: The Idempotency-Key was used with another body.
    """
    dataset = dataset_for(ctx, client, batch.dataset)
    _check_batch(ctx, batch)
    purpose_name, records = batch.purpose, list(batch.records)
    idempotency_key, gpc, body = batch.idempotency_key, batch.gpc, batch.body()
    # A GPC request writes withdrawals: not the same request as its bare body.
    hashed = {"body": body, "sec_gpc": "1"} if gpc else body
    # The dataset is part of the request: one key and body sent to another
    # dataset must not replay the first dataset's receipt (records said
    # accepted, nothing stored there). Digests of the body alone, as stored
    # before the dataset counted, are still recognised as the same request.
    digests = (
        request_hashes(ctx, {"dataset": dataset.name, "request": hashed})
        + request_hashes(ctx, hashed)
        if idempotency_key
        else ("",)
    )
    digest = digests[0]
    for attempt in range(MAX_ATTEMPTS):
        try:
            with transaction(ctx.sessions) as session:
                if idempotency_key:
                    stored = idempotency_repo.find(session, client.id, idempotency_key)
                    if stored is not None:
                        if stored.request_hash not in digests:
                            raise ConflictError(
                                "this Idempotency-Key was used with another body"
                            )
                        return Receipt.replay_of(json.loads(stored.response))
                result = _process(
                    session, ctx, client, dataset, purpose_name, records, gpc
                )
                done = Receipt.of(result)
                if idempotency_key:
                    idempotency_repo.save(
                        session,
                        client.id,
                        idempotency_key,
                        digest,
                        _RECEIPT_STATUS,
                        json.dumps(done.as_dict()).encode(),
                        ctx.clock(),
                    )
            return done
        except (IntegrityError, OperationalError):
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _reject(
    ctx: GatewayContext,
    batch: _Batch,
    client: ClientRow,
    dataset: Dataset,
    purpose: str,
    result: RecordResult,
) -> RecordResult:
    batch.audits.append(
        AuditEvent(
            actor=client.id,
            action="record.rejected",
            subject_id=result.subject_id,
            purpose=purpose,
            dataset=dataset.name,
            reason=result.reason,
            policy_version=ctx.policies.version,
            details={"index": result.index, "fields": [e.field for e in result.errors]},
        )
    )
    result.status = "rejected"
    return result


def _validated(
    ctx: GatewayContext,
    client: ClientRow,
    dataset: Dataset,
    purpose: str,
    allowed: bool,
    records: list[Any],
) -> tuple[
    list[RecordResult], list[tuple[RecordResult, StoredForm]], _Batch, "_Encodings"
]:
    batch = _Batch()
    done: list[RecordResult] = []
    valid: list[tuple[int, ValidRecord]] = []
    # Fields typed email, phone or iban are confirmed by their PII recognizer
    # alone (a regular expression and a checksum, no spaCy).
    check = ctx.pii.check_structured
    for index, raw in enumerate(records):
        checked = validate_record(dataset, raw, client.default_region, check=check)
        if isinstance(checked, InvalidRecord):
            result = RecordResult(
                index,
                checked.source_id,
                "rejected",
                reason="invalid",
                errors=checked.errors,
            )
            done.append(_reject(ctx, batch, client, dataset, purpose, result))
        elif not allowed:
            issue = FieldIssue("purpose", "purpose_not_allowed", "purpose not allowed")
            result = RecordResult(
                index,
                checked.source_id,
                "rejected",
                reason="purpose_not_allowed",
                errors=[issue],
            )
            done.append(_reject(ctx, batch, client, dataset, purpose, result))
        else:
            valid.append((index, checked))
    # Started before the PII scan and the pseudonyms: the helper process
    # then has the whole of the request's remaining work to encode beside.
    encodings = _start_linkage(ctx, dataset, valid)
    texts = redact_texts(ctx.pii, dataset, [record for _, record in valid])
    forms: list[tuple[RecordResult, StoredForm]] = []
    for (index, checked), redacted in zip(valid, texts, strict=True):
        form = transform(
            checked,
            dataset,
            ctx.identifier_kinds,
            client.id,
            purpose,
            ctx.pseudonymizer,
            redacted,
            older=ctx.pseudonymizers[1:],
        )
        result = RecordResult(
            index,
            checked.source_id,
            "accepted",
            subject_id=form.subject_id,
            warnings=form.warnings,
        )
        forms.append((result, form))
    return done, forms, batch, encodings


def _process(
    session: Session,
    ctx: GatewayContext,
    client: ClientRow,
    dataset: Dataset,
    purpose_name: str,
    records: list[Any],
    gpc: bool = False,
) -> list[RecordResult]:
    purpose = _allowed_purpose(ctx, client, dataset, purpose_name)
    done, forms, batch, encodings = _validated(
        ctx, client, dataset, purpose_name, purpose is not None, records
    )
    forms, aliases = _settled(session, ctx, client, dataset, forms)
    if gpc:
        # Written before consent is decided, in the same transaction, so a
        # record for a sale or sharing purpose is refused consent_missing.
        subjects = [(k, t) for _, f in forms for t, k in f.identifiers.items()]
        # Every identifier the decision will read, held exclusively in one
        # ascending pass: two GPC requests then never hold stripes the other
        # waits for (the shared pass below finds them all held already).
        consent_repo.hold_identifiers(
            session,
            [*(k for k, _ in subjects), *(k for also in aliases for k in also)],
            exclusive=True,
        )
        batch.audits += record_objections(
            session, ctx.policies, client, subjects, ctx.clock()
        )
    if purpose is not None and forms:
        decisions = decide_many(
            session,
            [
                [*form.identifiers.values(), *also]
                for (_, form), also in zip(forms, aliases, strict=True)
            ],
            purpose.name,
            purpose.basis,
        )
        kept: list[tuple[RecordResult, StoredForm]] = []
        for (result, form), decision in zip(forms, decisions, strict=True):
            if not decision.allowed:
                issue = FieldIssue("purpose", "consent_missing", decision.detail or "")
                result.reason, result.errors = "consent_missing", [issue]
                done.append(_reject(ctx, batch, client, dataset, purpose.name, result))
            elif form.special_fields and not (
                purpose.basis == "consent" and decision.explicit
            ):
                result.reason = "special_category"
                result.errors = [
                    FieldIssue(name, "special_category", "needs explicit consent")
                    for name in form.special_fields
                ]
                done.append(_reject(ctx, batch, client, dataset, purpose.name, result))
            else:
                kept.append((result, form))
        _store(session, ctx, client, dataset, purpose.name, kept, batch, encodings)
        done.extend(result for result, _ in kept)
    append_events(session, batch.audits, ctx.clock(), ctx.checkpoint_signer)
    return done


def _settled(
    session: Session,
    ctx: GatewayContext,
    client: ClientRow,
    dataset: Dataset,
    forms: list[tuple[RecordResult, StoredForm]],
) -> tuple[list[tuple[RecordResult, StoredForm]], list[tuple[str, ...]]]:
    """The forms under the pseudonyms their identifiers already go by.

    Only differs after a rotation of the pseudonym key: an identifier known
    under an older key keeps that pseudonym (`gateway.ingest.pseudonyms`).
    """
    settled, aliases = settle(
        resolver(session, ctx.pseudonymizers),
        ctx.identifier_kinds,
        client.id,
        dataset.subject_key,
        [form for _, form in forms],
    )
    for (result, _), form in zip(forms, settled, strict=True):
        result.subject_id = form.subject_id
    return [(r, f) for (r, _), f in zip(forms, settled, strict=True)], aliases


def _store(
    session: Session,
    ctx: GatewayContext,
    client: ClientRow,
    dataset: Dataset,
    purpose: str,
    kept: list[tuple[RecordResult, StoredForm]],
    batch: _Batch,
    encodings: "_Encodings",
) -> None:
    now = ctx.clock()
    known = records_repo.existing_by_source(
        session, client.id, dataset.name, (r.source_id or "" for r, _ in kept)
    )
    vault = VaultWriter(session, ctx.keyring, now)
    vault.load(form.subject_id for _, form in kept if form.vault)
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
            row["created_at"] = row["updated_at"] = now
            record_id = row["id"]
            if previous is None:
                batch.inserts[record_id] = row  # version 1 already
            elif record_id in batch.inserts:
                # Sent twice in one request: still the one insert.
                batch.inserts[record_id] = row | {"version": 1}
            else:
                batch.updates[record_id] = row
            if form.vault:
                batch.vault[record_id] = vault.entry(
                    record_id, form.subject_id, form.vault
                )
            else:
                batch.vault.pop(record_id, None)
            known[source_id] = (record_id, form.content_hash, row["version"])
            result.record_id = record_id
            result.status = "updated" if previous else "accepted"
            written[record_id] = result.index
        batch.audits.append(
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
    _add_linkage(batch, written, encodings)
    _write(session, batch)


def _record_details(result: RecordResult, form: StoredForm) -> dict[str, Any]:
    details: dict[str, Any] = {"index": result.index}
    if form.pii_found:
        # Which fields held which kinds of personal data: types, never values.
        details["pii_redacted"] = {
            k: list(v) for k, v in sorted(form.pii_found.items())
        }
    return details


class _Encodings:
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


def _start_linkage(
    ctx: GatewayContext, dataset: Dataset, valid: list[tuple[int, ValidRecord]]
) -> _Encodings:
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
        return _Encodings(None, [], None)
    values = [linkage_values(roles, record.values) for _, record in valid]
    indexes = [index for index, _ in valid]
    return _Encodings(ctx.linkage, indexes, ctx.linkage.start(values))


def _add_linkage(batch: _Batch, written: dict[str, int], encodings: _Encodings) -> None:
    """Give every record written its linkage columns."""
    for record_id, index in written.items():
        row = batch.inserts.get(record_id) or batch.updates[record_id]
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


def _write(session: Session, batch: _Batch) -> None:
    # Inserts in source_id order, so that two requests racing on the same
    # source_ids take their unique-key locks in the same order (no deadlock).
    records_repo.insert_records(
        session, sorted(batch.inserts.values(), key=lambda r: r["source_id"])
    )
    records_repo.replace_records(session, list(batch.updates.values()))
    records_repo.insert_vault_entries(session, list(batch.vault.values()))
