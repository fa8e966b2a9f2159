"""Consent events read one by one into typed commands (pure)."""

import pytest

from gateway.consent.events import (
    EVENT_KEYS,
    ConsentEvent,
    MalformedEvent,
    parse_event,
    parse_events,
)
from gateway.consent.tcf import MAX_TC_STRING_LENGTH
from gateway.fields.names import UNNAMED
from tests.factories import consent


def test_parse_event_keeps_a_malformed_events_identifier_for_gpc() -> None:
    event = consent("email", "a@example.com") | {"status": "maybe"}
    parsed = parse_event(event)
    assert isinstance(parsed, MalformedEvent)
    assert (parsed.identifier_type, parsed.identifier) == ("email", "a@example.com")
    assert parsed.issue.field == "status"
    assert "maybe" not in repr(parsed.issue)
    assert isinstance(parse_event(consent("email", "a@example.com")), ConsentEvent)


def test_an_over_long_tc_string_is_refused_as_the_decoder_would() -> None:
    event = consent("email", "a@example.com") | {
        "tcf_string": "C" * (MAX_TC_STRING_LENGTH + 1)
    }
    parsed = parse_event(event)
    assert isinstance(parsed, MalformedEvent)
    issue = parsed.issue
    assert (issue.field, issue.reason, issue.rule) == (
        "tcf_string",
        "tcf_invalid",
        "malformed",
    )


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        (
            {"identifier_type": "  "},
            "identifier_type",
            "required, as a non-empty string",
        ),
        ({"status": None}, "status", "expected 'granted' or 'withdrawn'"),
        ({"timestamp": 20260101}, "timestamp", "expected an ISO 8601 date-time string"),
        ({"source": "a b"}, "source", "expected 1-64 of A-Z a-z 0-9 . _ : / -"),
        ({"explicit": 1}, "explicit", "expected a boolean"),
        ({"purpose": ""}, "purpose", "required, as a non-empty string"),
        ({"tcf_string": 7}, "tcf_string", "expected a TC string"),
        ({"identifier": "x" * 1025}, "identifier", "at most 1024 characters"),
    ],
)
def test_each_field_names_its_issue_without_its_value(
    over: dict[str, object], field: str, message: str
) -> None:
    parsed = parse_event(consent("email", "a@example.com") | over)
    assert isinstance(parsed, MalformedEvent)
    assert (parsed.issue.field, parsed.issue.reason) == (field, "invalid")
    assert parsed.issue.message == message


def test_unknown_keys_come_first_and_unnamed_when_shaped_like_values() -> None:
    event = consent("email", "a@example.com") | {"zeta": 1, "b@x.fr": 2}
    event["status"] = "maybe"
    parsed = parse_event(event)
    assert isinstance(parsed, MalformedEvent)
    assert parsed.issue.message == "unknown field"
    # The first in name order, "b@x.fr", which looks like a value: unnamed.
    assert parsed.issue.field == UNNAMED


def test_every_event_of_a_batch_is_read_on_its_own() -> None:
    good = consent("email", "a@example.com")
    parsed = parse_events([good, [], good | {"status": "x"}, good])
    assert [type(p).__name__ for p in parsed] == [
        "ConsentEvent",
        "MalformedEvent",
        "MalformedEvent",
        "ConsentEvent",
    ]
    assert set(good) <= EVENT_KEYS
