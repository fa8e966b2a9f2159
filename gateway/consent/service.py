"""Record consent events and decide consent for batches of records."""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.consent import gpc as gpc_signal
from gateway.consent.identifiers import IdentifierKind
from gateway.consent.pseudonyms import resolver
from gateway.consent.rules import Decision, decide
from gateway.consent.stances import (
    EventRejectedError,
    Stance,
    proof_columns,
    purposes_of,
    require_str,
    tcf_warnings,
)
from gateway.context import GatewayContext
from gateway.ingest.normalize import FieldInvalid, normalize_datetime, normalize_value
from gateway.ingest.validate import reportable_name
from gateway.policy.models import PolicySet
from gateway.storage import consent_repo, revocations_repo
from gateway.storage.models import ClientRow

SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")
EVENT_KEYS = {
    "identifier_type",
    "identifier",
    "purpose",
    "status",
    "timestamp",
    "source",
    "tcf_string",
    "explicit",
}


@dataclass(frozen=True, slots=True)
class ConsentResult:
    """The outcome for one submitted consent event.

    `warnings` say, per purpose, why a TC string did not prove consent (the
    purpose is then recorded as withdrawn); `gpc_withdrawn` lists the purposes
    a `Sec-GPC: 1` header withdrew for the event's identifier.
    """

    index: int
    status: str
    identifier_key: str | None = None
    reason: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    purposes: dict[str, str] = field(default_factory=dict)
    warnings: list[dict[str, str]] = field(default_factory=list)
    gpc_withdrawn: list[str] = field(default_factory=list)


def _identifier_key(
    ctx: GatewayContext,
    client: ClientRow,
    event: Mapping[str, Any],
    pseudonymize: Callable[[str, str], str],
) -> tuple[IdentifierKind, str]:
    kind = ctx.identifier_kinds.get(require_str(event, "identifier_type"))
    if kind is None:
        raise EventRejectedError(
            "invalid", "identifier_type", "unknown identifier type"
        )
    try:
        normalized = normalize_value(
            kind.field_type,
            event.get("identifier"),
            max_length=kind.max_length,
            region=client.default_region,
        )
    except FieldInvalid as exc:
        raise EventRejectedError("invalid", "identifier", exc.message) from exc
    return kind, pseudonymize(kind.namespace(client.id), str(normalized))


def _event_fields(event: Mapping[str, Any]) -> tuple[str, str, bool]:
    try:
        stamp, _naive = normalize_datetime(event.get("timestamp"))
    except FieldInvalid as exc:
        raise EventRejectedError("invalid", "timestamp", exc.message) from exc
    source = require_str(event, "source")
    if not SOURCE_PATTERN.match(source):
        raise EventRejectedError(
            "invalid", "source", "expected 1-64 of A-Z a-z 0-9 . _ : / -"
        )
    explicit = event.get("explicit", False)
    if not isinstance(explicit, bool):
        raise EventRejectedError("invalid", "explicit", "expected a boolean")
    return stamp, source, explicit


def _parse_event(
    ctx: GatewayContext,
    client: ClientRow,
    event: Any,
    pseudonymize: Callable[[str, str], str],
) -> tuple[list[dict[str, Any]], list[AuditEvent], list[Stance]]:
    if not isinstance(event, dict):
        raise EventRejectedError("invalid", "", "an event must be a JSON object")
    unknown = sorted(set(event) - EVENT_KEYS)
    if unknown:
        raise EventRejectedError(
            "invalid", reportable_name(unknown[0]), "unknown field"
        )
    kind, key = _identifier_key(ctx, client, event, pseudonymize)
    status = event.get("status")
    if status not in ("granted", "withdrawn"):
        raise EventRejectedError(
            "invalid", "status", "expected 'granted' or 'withdrawn'"
        )
    stances, proof = purposes_of(ctx.policies, client, event, status)
    stamp, source, explicit = _event_fields(event)
    rows: list[dict[str, Any]] = []
    audits: list[AuditEvent] = []
    for stance in stances:
        rows.append(
            {
                "identifier_key": key,
                "identifier_type": kind.name,
                "purpose": stance.purpose,
                "granted": stance.granted,
                "explicit": explicit and stance.granted,
                "event_time": datetime.fromisoformat(stamp),
                "source": source,
                "client_id": client.id,
            }
            | proof_columns(proof)
        )
        details: dict[str, Any] = {
            "identifier_type": kind.name,
            "source": source,
            "at": stamp,
        }
        if proof is not None:
            details["tcf"] = True
        if stance.refusal is not None:
            details["tcf_refusal"] = stance.refusal.rule
        audits.append(
            AuditEvent(
                actor=client.id,
                action="consent.granted" if stance.granted else "consent.withdrawn",
                subject_id=key,
                purpose=stance.purpose,
                policy_version=ctx.policies.version,
                details=details,
            )
        )
    return rows, audits, stances


def _gpc_subject(
    ctx: GatewayContext,
    client: ClientRow,
    event: Any,
    pseudonymize: Callable[[str, str], str],
) -> tuple[str, str] | None:
    """The (pseudonym, type) of an event's identifier, when it has a valid one."""
    if not isinstance(event, dict):
        return None
    try:
        kind, key = _identifier_key(ctx, client, event, pseudonymize)
    except EventRejectedError:
        return None
    return key, kind.name


def record(
    session: Session,
    ctx: GatewayContext,
    client: ClientRow,
    events: Sequence[Any],
    *,
    gpc: bool = False,
) -> list[ConsentResult]:
    """Validate, pseudonymize and append consent events with their audit events.

    With `gpc` (a `Sec-GPC: 1` request), every valid identifier in the batch
    also gets a withdrawal of the purposes marked sale or sharing, timed now:
    after the batch's own events, so a grant in the same request does not
    undo the objection.
    """
    now = ctx.clock()
    # After a rotation of the pseudonym key, an identifier already known
    # under an older key is recorded under that pseudonym (consent/pseudonyms).
    pseudonymize = resolver(session, ctx.pseudonymizers)
    objected = (
        gpc_signal.objected_purposes(ctx.policies, client.purposes) if gpc else []
    )
    subjects: list[tuple[str, str]] = []
    rows: list[dict[str, Any]] = []
    audits: list[AuditEvent] = []
    results: list[ConsentResult] = []
    for index, event in enumerate(events):
        subject = _gpc_subject(ctx, client, event, pseudonymize) if objected else None
        if subject is not None:
            subjects.append(subject)
        withdrawn = list(objected) if subject is not None else []
        try:
            parsed_rows, parsed_audits, stances = _parse_event(
                ctx, client, event, pseudonymize
            )
        except EventRejectedError as exc:
            results.append(
                ConsentResult(
                    index,
                    "rejected",
                    None,
                    exc.reason,
                    [exc.error],
                    gpc_withdrawn=withdrawn,
                )
            )
            details = {"index": index, "field": exc.error["field"]}
            if "rule" in exc.error:
                details["rule"] = exc.error["rule"]
            audits.append(
                AuditEvent(
                    actor=client.id,
                    action="consent.rejected",
                    reason=exc.reason,
                    policy_version=ctx.policies.version,
                    details=details,
                )
            )
            continue
        rows.extend(row | {"recorded_at": now} for row in parsed_rows)
        audits.extend(parsed_audits)
        outcome = {s.purpose: "granted" if s.granted else "withdrawn" for s in stances}
        key = parsed_rows[0]["identifier_key"]
        results.append(
            ConsentResult(
                index,
                "recorded",
                key,
                purposes=outcome,
                warnings=tcf_warnings(stances),
                gpc_withdrawn=withdrawn,
            )
        )
    # Every identifier this request writes for, locked in one pass before the
    # first write (store_events locks again: already held, granted at once).
    consent_repo.hold_identifiers(
        session,
        [*(row["identifier_key"] for row in rows), *(key for key, _ in subjects)],
        exclusive=True,
    )
    gpc_audits = record_objections(session, ctx.policies, client, subjects, now)
    store_events(session, rows, now)
    append_events(session, [*audits, *gpc_audits], now, ctx.checkpoint_signer)
    return results


def record_objections(
    session: Session,
    policies: PolicySet,
    client: ClientRow,
    subjects: Iterable[tuple[str, str]],
    now: datetime,
) -> list[AuditEvent]:
    """Record a GPC opt-out for these (pseudonym, type) identifiers.

    Writes a withdrawal, timed `now`, of every purpose the policies mark sale
    or sharing that the partner holds; returns the audit events for the
    caller to append with the rest of its batch (one transaction).
    """
    purposes = gpc_signal.objected_purposes(policies, client.purposes)
    rows, audits = gpc_signal.objections(
        subjects,
        purposes,
        client_id=client.id,
        now=now,
        policy_version=policies.version,
    )
    store_events(session, rows, now)
    return audits


def store_events(
    session: Session, rows: Sequence[dict[str, Any]], now: datetime
) -> None:
    """Append consent events; a withdrawal also revokes what was exported.

    Destinations that were sent a person who now withdrew learn it from
    their revocations feed (GDPR Art. 19), for the purpose withdrawn.
    """
    consent_repo.hold_identifiers(
        session, (str(row["identifier_key"]) for row in rows), exclusive=True
    )
    consent_repo.add_many(session, rows)
    withdrawn: dict[str, set[str]] = {}
    for row in rows:
        if not row["granted"]:
            withdrawn.setdefault(row["purpose"], set()).add(row["identifier_key"])
    for purpose, keys in sorted(withdrawn.items()):
        revocations_repo.revoke_withdrawn(session, purpose, keys, now)


def decide_many(
    session: Session,
    identifier_sets: Sequence[Sequence[str]],
    purpose: str,
    basis: str,
) -> list[Decision]:
    """Decide a purpose for many records at once, one query for the whole batch.

    The identifiers' consent stays locked (shared) until the caller's
    transaction ends: no consent request commits between this decision and
    what the caller writes and logs on it (`consent_repo.hold_identifiers`).
    """
    consent_repo.hold_identifiers(
        session, (key for keys in identifier_sets for key in keys), exclusive=False
    )
    facts = consent_repo.facts_for(
        session, (key for keys in identifier_sets for key in keys), purpose
    )
    return [
        decide((fact for key in keys for fact in facts.get(key, ())), basis)
        for keys in identifier_sets
    ]
