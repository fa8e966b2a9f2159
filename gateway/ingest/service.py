"""Ingest a batch of records: the order of the steps, and the one transaction.

A request is checked (`gateway.ingest.batch`), answered from its stored reply
when it is a retry (`gateway.ingest.idempotency`), then its records are
validated, pseudonymized and settled under the pseudonyms they already go by,
a GPC request's withdrawals are recorded, consent is decided, rejections are
audited and the rest is stored (`gateway.ingest.rows`).

The accepted records of a request, their vault entries and every audit event
are written in one transaction; the caller answers only after it committed.
"""

from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.consent.pseudonyms import resolver
from gateway.consent.service import decide_many, record_objections
from gateway.context import GatewayContext
from gateway.errors import ConcurrentChangeError
from gateway.ingest.batch import (
    SubmitRecords,
    allowed_purpose,
    check_batch,
    dataset_for,
)
from gateway.ingest.idempotency import batch_digests, save_reply, stored_reply
from gateway.ingest.pseudonyms import settle
from gateway.ingest.receipt import Receipt, RecordResult
from gateway.ingest.rows import Encodings, Writes, start_linkage, store
from gateway.ingest.transform import StoredForm, redact_texts, transform
from gateway.ingest.validate import (
    FieldIssue,
    InvalidRecord,
    ValidRecord,
    validate_record,
)
from gateway.policy.datasets import Dataset
from gateway.storage import consent_repo
from gateway.storage.db import transaction
from gateway.storage.models import ClientRow

# Concurrent requests for the same source_id race on its unique key; the loser
# retries and then sees the winner's row (duplicate or update, never twice).
MAX_ATTEMPTS = 4


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
    check_batch(ctx, batch)
    purpose_name, records = batch.purpose, list(batch.records)
    idempotency_key, gpc, body = batch.idempotency_key, batch.gpc, batch.body()
    digests = batch_digests(ctx, dataset.name, body, gpc) if idempotency_key else ("",)
    digest = digests[0]
    for attempt in range(MAX_ATTEMPTS):
        try:
            with transaction(ctx.sessions) as session:
                if idempotency_key:
                    stored = stored_reply(session, client.id, idempotency_key, digests)
                    if stored is not None:
                        return stored
                result = _process(
                    session, ctx, client, dataset, purpose_name, records, gpc
                )
                done = Receipt.of(result)
                if idempotency_key:
                    save_reply(
                        session, client.id, idempotency_key, digest, done, ctx.clock()
                    )
            return done
        except (IntegrityError, OperationalError, ConcurrentChangeError):
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _reject(
    ctx: GatewayContext,
    writes: Writes,
    client: ClientRow,
    dataset: Dataset,
    purpose: str,
    result: RecordResult,
) -> RecordResult:
    writes.audits.append(
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
    list[RecordResult], list[tuple[RecordResult, StoredForm]], Writes, Encodings
]:
    writes = Writes()
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
            done.append(_reject(ctx, writes, client, dataset, purpose, result))
        elif not allowed:
            issue = FieldIssue("purpose", "purpose_not_allowed", "purpose not allowed")
            result = RecordResult(
                index,
                checked.source_id,
                "rejected",
                reason="purpose_not_allowed",
                errors=[issue],
            )
            done.append(_reject(ctx, writes, client, dataset, purpose, result))
        else:
            valid.append((index, checked))
    # Started before the PII scan and the pseudonyms: the helper process
    # then has the whole of the request's remaining work to encode beside.
    encodings = start_linkage(ctx, dataset, valid)
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
    return done, forms, writes, encodings


def _process(
    session: Session,
    ctx: GatewayContext,
    client: ClientRow,
    dataset: Dataset,
    purpose_name: str,
    records: list[Any],
    gpc: bool = False,
) -> list[RecordResult]:
    purpose = allowed_purpose(ctx, client, dataset, purpose_name)
    done, forms, writes, encodings = _validated(
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
        writes.audits += record_objections(
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
                done.append(_reject(ctx, writes, client, dataset, purpose.name, result))
            elif form.special_fields and not (
                purpose.basis == "consent" and decision.explicit
            ):
                result.reason = "special_category"
                result.errors = [
                    FieldIssue(name, "special_category", "needs explicit consent")
                    for name in form.special_fields
                ]
                done.append(_reject(ctx, writes, client, dataset, purpose.name, result))
            else:
                kept.append((result, form))
        store(session, ctx, client, dataset, purpose.name, kept, writes, encodings)
        done.extend(result for result, _ in kept)
    append_events(session, writes.audits, ctx.clock(), ctx.checkpoint_signer)
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
