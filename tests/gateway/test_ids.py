import uuid
from datetime import UTC, datetime, timedelta

from gateway.ids import uuid7, uuid7_many


def test_uuid7_is_version_7_and_ordered_by_time() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [uuid7(start + timedelta(milliseconds=i)) for i in range(200)]
    parsed = [uuid.UUID(i) for i in ids]
    assert all(p.version == 7 for p in parsed)
    assert all(p.variant == uuid.RFC_4122 for p in parsed)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_uuid7_carries_the_millisecond() -> None:
    moment = datetime(2026, 11, 23, 12, 0, 0, 123000, tzinfo=UTC)
    assert uuid.UUID(uuid7(moment)).int >> 80 == int(moment.timestamp() * 1000)


def test_uuid7_many_are_valid_distinct_and_of_the_instant() -> None:
    moment = datetime(2026, 12, 3, 8, 0, 0, 456000, tzinfo=UTC)
    ids = uuid7_many(moment, 1000)
    parsed = [uuid.UUID(i) for i in ids]
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 for p in parsed)
    assert {p.int >> 80 for p in parsed} == {int(moment.timestamp() * 1000)}
    assert len(set(ids)) == 1000
    assert all(len(i) == 36 and i == str(p) for i, p in zip(ids, parsed, strict=True))
    assert uuid7_many(moment, 0) == []
