import uuid
from datetime import UTC, datetime, timedelta

from gateway.ids import uuid7


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
