"""Consent events as typed commands, and what became of each (pure).

The HTTP edge checks a batch's envelope (one key, a count within the limit);
each event in it is then read on its own by `parse_event`, into a
`ConsentEvent` (the command the service records) or a `MalformedEvent` (the
issue that refuses it): a bad event never fails its batch. An issue names the
field and the reason, never the value sent.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from gateway.consent.tcf import MAX_TC_STRING_LENGTH
from gateway.fields.names import reportable_name

SOURCE_PATTERN = r"^[A-Za-z0-9._:/-]{1,64}$"
TCF_INVALID = "tcf_invalid"
# Above every identifier the policies allow: the policy's own `max_length`
# is checked when the identifier is normalized.
MAX_IDENTIFIER = 1024
INVALID = "invalid"
Status = Literal["granted", "withdrawn"]
Outcome = Literal["recorded", "rejected"]


IdentifierType = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]
Identifier = Annotated[str, StringConstraints(max_length=MAX_IDENTIFIER)]
Purpose = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)
]
Timestamp = Annotated[str, StringConstraints(max_length=64)]
Source = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=SOURCE_PATTERN)
]
TcString = Annotated[str, StringConstraints(max_length=MAX_TC_STRING_LENGTH)]


class ConsentEvent(BaseModel):
    """One consent event, as sent: the command to record it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    identifier_type: IdentifierType
    identifier: Identifier
    # Optional with a TC string, which then stands for every TCF purpose.
    purpose: Purpose | None = None
    status: Status
    timestamp: Timestamp
    source: Source
    tcf_string: TcString | None = None
    explicit: bool = False


EVENT_KEYS = frozenset(ConsentEvent.model_fields)
# The order fields are reported in when an event has several problems.
_ORDER = {name: rank for rank, name in enumerate(ConsentEvent.model_fields)}
_REQUIRED = "required, as a non-empty string"
_MESSAGES = {
    "identifier_type": _REQUIRED,
    "identifier": "expected a string",
    "purpose": _REQUIRED,
    "status": "expected 'granted' or 'withdrawn'",
    "timestamp": "expected an ISO 8601 date-time string",
    "source": _REQUIRED,
    "tcf_string": "expected a TC string",
    "explicit": "expected a boolean",
}
_PATTERNS = {"source": "expected 1-64 of A-Z a-z 0-9 . _ : / -"}


@dataclass(frozen=True, slots=True)
class EventIssue:
    """Why an event was refused: a field, a reason code, a message; no value."""

    field: str
    reason: str
    message: str
    # The TCF v2.3 rule a refused TC string breaks.
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """An event that does not fit `ConsentEvent`, and the first issue found.

    Its identifier is kept when it reads as one: a `Sec-GPC: 1` request
    objects for every identifier it carries, even beside a broken event.
    """

    issue: EventIssue
    identifier_type: str | None = None
    identifier: str | None = None


EventCommand = ConsentEvent | MalformedEvent


@dataclass(frozen=True, slots=True)
class RecordConsents:
    """A batch of consent events to record, and whether `Sec-GPC: 1` came with it."""

    events: Sequence[EventCommand]
    gpc: bool = False


@dataclass(frozen=True, slots=True)
class TcfWarning:
    """Why a TC string proved no consent for a purpose (recorded as withdrawn)."""

    purpose: str
    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class ConsentResult:
    """What became of one event.

    `purposes` maps each purpose the event spoke for to whether it now grants;
    `gpc_withdrawn` lists the purposes a `Sec-GPC: 1` header withdrew for the
    event's identifier.
    """

    index: int
    outcome: Outcome
    identifier_key: str | None = None
    reason: str | None = None
    errors: tuple[EventIssue, ...] = ()
    purposes: Mapping[str, Status] = field(default_factory=dict)
    warnings: tuple[TcfWarning, ...] = ()
    gpc_withdrawn: tuple[str, ...] = ()


def _issue(error: Mapping[str, Any]) -> EventIssue:
    loc = error.get("loc", ())
    name = loc[0] if loc and isinstance(loc[0], str) else ""
    if error["type"] == "extra_forbidden":
        return EventIssue(reportable_name(name), INVALID, "unknown field")
    if error["type"] == "string_too_long" and name == "tcf_string":
        # As the decoder refuses it: a TC string it cannot read.
        return EventIssue(name, TCF_INVALID, "TC string is too long", "malformed")
    if error["type"] == "string_too_long":
        limit = error.get("ctx", {}).get("max_length")
        return EventIssue(name, INVALID, f"at most {limit} characters")
    if error["type"] == "string_pattern_mismatch" and name in _PATTERNS:
        return EventIssue(name, INVALID, _PATTERNS[name])
    return EventIssue(name, INVALID, _MESSAGES.get(name, "invalid"))


def _rank(error: Mapping[str, Any]) -> tuple[int, str]:
    loc = error.get("loc", ())
    name = str(loc[0]) if loc else ""
    if error["type"] == "extra_forbidden":
        return -1, name  # an unknown key first, as the first in name order
    return _ORDER.get(name, len(_ORDER)), name


def _identifier(raw: Mapping[str, Any]) -> tuple[str | None, str | None]:
    kind, value = raw.get("identifier_type"), raw.get("identifier")
    if not (isinstance(kind, str) and isinstance(value, str)):
        return None, None
    if len(kind) > 64 or len(value) > MAX_IDENTIFIER:
        return None, None
    return kind.strip(), value


def parse_event(raw: object) -> EventCommand:
    """One submitted event as a command, or the issue that refuses it."""
    if not isinstance(raw, dict):
        return MalformedEvent(EventIssue("", INVALID, "an event must be a JSON object"))
    try:
        return ConsentEvent.model_validate(raw)
    except ValidationError as exc:
        # pydantic's own messages may quote the input: only the location and
        # the error type are read.
        first = min(exc.errors(include_input=False, include_url=False), key=_rank)
        return MalformedEvent(_issue(first), *_identifier(raw))


def parse_events(raw: Sequence[object]) -> list[EventCommand]:
    """Each submitted event as a command or its issue, in order."""
    return [parse_event(item) for item in raw]
