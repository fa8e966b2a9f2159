"""Global Privacy Control: `Sec-GPC: 1` as an objection to sale and sharing (pure).

A request that carries `Sec-GPC: 1` says the person behind it opts out of the
sale and sharing of their personal data (the GPC specification; CCPA
regulations, 11 CCR § 7025, make it a valid opt-out request). The gateway
records it, for every identifier in the request, as a withdrawal of each
purpose the policies mark `sale_or_sharing` and the partner holds: a
withdrawal stops a consent purpose and is an objection to a legitimate-
interest one (`rules.decide`), and it is audited like any other.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from gateway.audit import AuditEvent, format_time
from gateway.policy.models import PolicySet

__all__ = ["GPC_SOURCE", "gpc_enabled", "objected_purposes", "objections"]

GPC_SOURCE = "gpc"


def gpc_enabled(header: str | None) -> bool:
    """Tell whether a `Sec-GPC` header value signals an opt-out.

    The GPC specification defines "1" as the only signal; any other value
    is as if the header were absent.
    """
    return header is not None and header.strip() == "1"


def objected_purposes(policies: PolicySet, granted: Sequence[str]) -> list[str]:
    """The purposes a GPC signal objects to, for a partner granted `granted`."""
    return [
        name
        for name, purpose in policies.purposes.items()
        if purpose.sale_or_sharing and name in granted
    ]


def objections(
    subjects: Iterable[tuple[str, str]],
    purposes: Sequence[str],
    *,
    client_id: str,
    now: datetime,
    policy_version: str,
) -> tuple[list[dict[str, Any]], list[AuditEvent]]:
    """The withdrawal rows and audit events a GPC signal stands for.

    Args:
        subjects: (identifier pseudonym, identifier type) pairs; repeats count once.
        purposes: The purposes objected to (`objected_purposes`).
        client_id: The partner that relayed the signal.
        now: When the signal was received: the withdrawals' event time, so
            that they outrank every earlier grant.
        policy_version: The policies' version, for the audit events.

    Returns:
        Consent event rows for `consent_repo.add_many` and their audit events
        (`consent.withdrawn`, details `gpc: true`, source "gpc").
    """
    rows: list[dict[str, Any]] = []
    audits: list[AuditEvent] = []
    stamp = format_time(now)
    for key, kind in sorted(set(subjects)):
        for purpose in purposes:
            rows.append(
                {
                    "identifier_key": key,
                    "identifier_type": kind,
                    "purpose": purpose,
                    "granted": False,
                    "explicit": False,
                    "event_time": now,
                    "source": GPC_SOURCE,
                    "client_id": client_id,
                    "recorded_at": now,
                }
            )
            audits.append(
                AuditEvent(
                    actor=client_id,
                    action="consent.withdrawn",
                    subject_id=key,
                    purpose=purpose,
                    policy_version=policy_version,
                    details={
                        "identifier_type": kind,
                        "source": GPC_SOURCE,
                        "at": stamp,
                        "gpc": True,
                    },
                )
            )
    return rows, audits
