"""Record consent events and decide consent for batches of records."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.consent.identifiers import IdentifierKind
from gateway.consent.rules import Decision, decide
from gateway.consent.tcf import TcfError, decode_tc_string, proves_consent
from gateway.context import GatewayContext
from gateway.ingest.normalize import FieldInvalid, normalize_datetime, normalize_value
from gateway.ingest.validate import reportable_name
from gateway.storage import consent_repo
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
    """The outcome for one submitted consent event."""

    index: int
    status: str
    identifier_key: str | None = None
    reason: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    purposes: dict[str, str] = field(default_factory=dict)


class _EventRejectedError(Exception):
    def __init__(self, reason: str, field_name: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.error = {"field": field_name, "reason": reason, "message": message}


def _require_str(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _EventRejectedError("invalid", key, "required, as a non-empty string")
    return value.strip()


def _identifier_key(
    ctx: GatewayContext, client: ClientRow, event: Mapping[str, Any]
) -> tuple[IdentifierKind, str]:
    kind = ctx.identifier_kinds.get(_require_str(event, "identifier_type"))
    if kind is None:
        raise _EventRejectedError(
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
        raise _EventRejectedError("invalid", "identifier", exc.message) from exc
    return kind, ctx.pseudonymizer(kind.namespace(client.id), str(normalized))


def _purposes_of(
    ctx: GatewayContext, client: ClientRow, event: Mapping[str, Any], status: str
) -> list[tuple[str, bool]]:
    """The purposes an event speaks for, each with whether it grants.

    Without a TC string: the named purpose, granted or withdrawn as stated.
    With one: the TC string is the subject's complete choice, so it stands for
    every consent-based purpose it could prove (the named one only, when a
    purpose is named); a purpose whose TCF purposes it does not all grant is
    withdrawn, whatever `status` says.
    """
    raw = event.get("tcf_string")
    named = event.get("purpose")
    if raw is None or named is not None:
        purpose = _require_str(event, "purpose")
        if purpose not in ctx.policies.purposes or purpose not in client.purposes:
            raise _EventRejectedError(
                "purpose_not_allowed", "purpose", "purpose not granted"
            )
        candidates = [purpose]
    else:
        candidates = [
            name
            for name, spec in ctx.policies.purposes.items()
            if spec.basis == "consent" and spec.tcf_purposes and name in client.purposes
        ]
    if raw is None:
        return [(purpose, status == "granted") for purpose in candidates]
    if not isinstance(raw, str):
        raise _EventRejectedError("invalid", "tcf_string", "expected a TC string")
    try:
        tc = decode_tc_string(raw)
    except TcfError as exc:
        raise _EventRejectedError("invalid", "tcf_string", exc.detail) from None
    decided: list[tuple[str, bool]] = []
    for name in candidates:
        wanted = ctx.policies.purposes[name].tcf_purposes
        decided.append((name, status == "granted" and proves_consent(tc, wanted)))
    if not decided:
        raise _EventRejectedError(
            "purpose_not_allowed", "tcf_string", "no granted purpose rests on TCF"
        )
    return decided


def _parse_event(
    ctx: GatewayContext, client: ClientRow, event: Any
) -> tuple[list[dict[str, Any]], list[AuditEvent]]:
    if not isinstance(event, dict):
        raise _EventRejectedError("invalid", "", "an event must be a JSON object")
    unknown = sorted(set(event) - EVENT_KEYS)
    if unknown:
        raise _EventRejectedError(
            "invalid", reportable_name(unknown[0]), "unknown field"
        )
    kind, key = _identifier_key(ctx, client, event)
    status = event.get("status")
    if status not in ("granted", "withdrawn"):
        raise _EventRejectedError(
            "invalid", "status", "expected 'granted' or 'withdrawn'"
        )
    purposes = _purposes_of(ctx, client, event, status)
    try:
        stamp, _naive = normalize_datetime(event.get("timestamp"))
    except FieldInvalid as exc:
        raise _EventRejectedError("invalid", "timestamp", exc.message) from exc
    source = _require_str(event, "source")
    if not SOURCE_PATTERN.match(source):
        raise _EventRejectedError(
            "invalid", "source", "expected 1-64 of A-Z a-z 0-9 . _ : / -"
        )
    explicit = event.get("explicit", False)
    if not isinstance(explicit, bool):
        raise _EventRejectedError("invalid", "explicit", "expected a boolean")
    via_tcf = event.get("tcf_string") is not None
    rows: list[dict[str, Any]] = []
    audits: list[AuditEvent] = []
    for purpose, granted in purposes:
        rows.append(
            {
                "identifier_key": key,
                "identifier_type": kind.name,
                "purpose": purpose,
                "granted": granted,
                "explicit": explicit and granted,
                "event_time": datetime.fromisoformat(stamp),
                "source": source,
                "client_id": client.id,
            }
        )
        details = {"identifier_type": kind.name, "source": source, "at": stamp}
        audits.append(
            AuditEvent(
                actor=client.id,
                action="consent.granted" if granted else "consent.withdrawn",
                subject_id=key,
                purpose=purpose,
                policy_version=ctx.policies.version,
                details=details | ({"tcf": True} if via_tcf else {}),
            )
        )
    return rows, audits


def record(
    session: Session, ctx: GatewayContext, client: ClientRow, events: Sequence[Any]
) -> list[ConsentResult]:
    """Validate, pseudonymize and append consent events with their audit events."""
    now = ctx.clock()
    rows: list[dict[str, Any]] = []
    audits: list[AuditEvent] = []
    results: list[ConsentResult] = []
    for index, event in enumerate(events):
        try:
            parsed_rows, parsed_audits = _parse_event(ctx, client, event)
        except _EventRejectedError as exc:
            results.append(
                ConsentResult(index, "rejected", None, exc.reason, [exc.error])
            )
            audits.append(
                AuditEvent(
                    actor=client.id,
                    action="consent.rejected",
                    reason=exc.reason,
                    policy_version=ctx.policies.version,
                    details={"index": index, "field": exc.error["field"]},
                )
            )
            continue
        rows.extend(row | {"recorded_at": now} for row in parsed_rows)
        audits.extend(parsed_audits)
        outcome = {
            row["purpose"]: "granted" if row["granted"] else "withdrawn"
            for row in parsed_rows
        }
        key = parsed_rows[0]["identifier_key"]
        results.append(ConsentResult(index, "recorded", key, purposes=outcome))
    consent_repo.add_many(session, rows)
    append_events(session, audits, now, ctx.checkpoint_signer)
    return results


def decide_many(
    session: Session,
    identifier_sets: Sequence[Sequence[str]],
    purpose: str,
    basis: str,
) -> list[Decision]:
    """Decide a purpose for many records at once, one query for the whole batch."""
    facts = consent_repo.facts_for(
        session, (key for keys in identifier_sets for key in keys), purpose
    )
    return [
        decide((fact for key in keys for fact in facts.get(key, ())), basis)
        for keys in identifier_sets
    ]
