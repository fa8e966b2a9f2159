"""Record consent events and decide consent for batches of records."""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.consent import gpc as gpc_signal
from gateway.consent.events import (
    EVENT_KEYS,
    ConsentEvent,
    ConsentResult,
    EventCommand,
    EventIssue,
    MalformedEvent,
    RecordConsents,
)
from gateway.consent.identifiers import IdentifierKind
from gateway.consent.pseudonyms import resolver
from gateway.consent.rules import Decision, decide
from gateway.consent.stances import (
    EventRejectedError,
    Stance,
    proof_columns,
    purposes_of,
    tcf_warnings,
)
from gateway.context import GatewayContext
from gateway.fields.normalize import FieldInvalid, normalize_datetime, normalize_value
from gateway.policy.models import PolicySet
from gateway.storage import consent_repo, revocations_repo
from gateway.storage.models import ClientRow

__all__ = [
    "EVENT_KEYS",
    "decide_many",
    "record",
    "record_objections",
    "store_events",
]

Pseudonymize = Callable[[str, str], str]


def _identifier_key(
    ctx: GatewayContext,
    client: ClientRow,
    identifier_type: str,
    identifier: str,
    pseudonymize: Pseudonymize,
) -> tuple[IdentifierKind, str]:
    kind = ctx.identifier_kinds.get(identifier_type)
    if kind is None:
        raise EventRejectedError(
            "invalid", "identifier_type", "unknown identifier type"
        )
    try:
        normalized = normalize_value(
            kind.field_type,
            identifier,
            max_length=kind.max_length,
            region=client.default_region,
        )
    except FieldInvalid as exc:
        raise EventRejectedError("invalid", "identifier", exc.message) from exc
    return kind, pseudonymize(kind.namespace(client.id), str(normalized))


def _stamp(event: ConsentEvent) -> str:
    try:
        stamp, _naive = normalize_datetime(event.timestamp)
    except FieldInvalid as exc:
        raise EventRejectedError("invalid", "timestamp", exc.message) from exc
    return stamp


def _audit_of(
    ctx: GatewayContext,
    client: ClientRow,
    key: str,
    stance: Stance,
    details: dict[str, Any],
) -> AuditEvent:
    if stance.refusal is not None:
        details = details | {"tcf_refusal": stance.refusal.rule}
    return AuditEvent(
        actor=client.id,
        action="consent.granted" if stance.granted else "consent.withdrawn",
        subject_id=key,
        purpose=stance.purpose,
        policy_version=ctx.policies.version,
        details=details,
    )


def _parse_event(
    ctx: GatewayContext,
    client: ClientRow,
    event: ConsentEvent,
    pseudonymize: Pseudonymize,
) -> tuple[list[dict[str, Any]], list[AuditEvent], list[Stance]]:
    """The rows and audit events of a well-formed event, or why it is refused."""
    kind, key = _identifier_key(
        ctx, client, event.identifier_type, event.identifier, pseudonymize
    )
    stances, proof = purposes_of(ctx.policies, client, event)
    stamp = _stamp(event)
    base = {
        "identifier_key": key,
        "identifier_type": kind.name,
        "event_time": datetime.fromisoformat(stamp),
        "source": event.source,
        "client_id": client.id,
    } | proof_columns(proof)
    details: dict[str, Any] = {
        "identifier_type": kind.name,
        "source": event.source,
        "at": stamp,
    }
    if proof is not None:
        details["tcf"] = True
    rows = [
        base
        | {
            "purpose": stance.purpose,
            "granted": stance.granted,
            "explicit": event.explicit and stance.granted,
        }
        for stance in stances
    ]
    audits = [_audit_of(ctx, client, key, s, details) for s in stances]
    return rows, audits, stances


def _gpc_subject(
    ctx: GatewayContext,
    client: ClientRow,
    event: EventCommand,
    pseudonymize: Pseudonymize,
) -> tuple[str, str] | None:
    """The (pseudonym, type) of an event's identifier, when it has a valid one."""
    if event.identifier_type is None or event.identifier is None:
        return None
    try:
        kind, key = _identifier_key(
            ctx, client, event.identifier_type, event.identifier, pseudonymize
        )
    except EventRejectedError:
        return None
    return key, kind.name


def _checked(
    ctx: GatewayContext,
    client: ClientRow,
    event: EventCommand,
    pseudonymize: Pseudonymize,
) -> tuple[list[dict[str, Any]], list[AuditEvent], list[Stance]] | EventIssue:
    """What a command records, or the issue that refuses it."""
    if isinstance(event, MalformedEvent):
        return event.issue
    try:
        return _parse_event(ctx, client, event, pseudonymize)
    except EventRejectedError as exc:
        return exc.issue


def _rejection(
    ctx: GatewayContext, client: ClientRow, index: int, issue: EventIssue
) -> AuditEvent:
    details: dict[str, Any] = {"index": index, "field": issue.field}
    if issue.rule is not None:
        details["rule"] = issue.rule
    return AuditEvent(
        actor=client.id,
        action="consent.rejected",
        reason=issue.reason,
        policy_version=ctx.policies.version,
        details=details,
    )


def record(
    session: Session,
    ctx: GatewayContext,
    client: ClientRow,
    command: RecordConsents,
) -> list[ConsentResult]:
    """Validate, pseudonymize and append consent events with their audit events.

    Each event is checked on its own: a malformed or refused one gets its
    issue in its result and a `consent.rejected` audit event, and the others
    are recorded. With `command.gpc` (a `Sec-GPC: 1` request), every valid
    identifier in the batch also gets a withdrawal of the purposes marked sale
    or sharing, timed now: after the batch's own events, so a grant in the
    same request does not undo the objection.
    """
    now = ctx.clock()
    # After a rotation of the pseudonym key, an identifier already known
    # under an older key is recorded under that pseudonym (consent/pseudonyms).
    pseudonymize = resolver(session, ctx.pseudonymizers)
    objected = tuple(
        gpc_signal.objected_purposes(ctx.policies, client.purposes)
        if command.gpc
        else ()
    )
    subjects: list[tuple[str, str]] = []
    rows: list[dict[str, Any]] = []
    audits: list[AuditEvent] = []
    results: list[ConsentResult] = []
    for index, event in enumerate(command.events):
        subject = _gpc_subject(ctx, client, event, pseudonymize) if objected else None
        if subject is not None:
            subjects.append(subject)
        withdrawn = objected if subject is not None else ()
        checked = _checked(ctx, client, event, pseudonymize)
        if isinstance(checked, EventIssue):
            results.append(
                ConsentResult(
                    index,
                    "rejected",
                    reason=checked.reason,
                    errors=(checked,),
                    gpc_withdrawn=withdrawn,
                )
            )
            audits.append(_rejection(ctx, client, index, checked))
            continue
        parsed_rows, parsed_audits, stances = checked
        rows.extend(row | {"recorded_at": now} for row in parsed_rows)
        audits.extend(parsed_audits)
        results.append(
            ConsentResult(
                index,
                "recorded",
                parsed_rows[0]["identifier_key"],
                purposes={
                    s.purpose: "granted" if s.granted else "withdrawn" for s in stances
                },
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
