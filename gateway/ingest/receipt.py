"""What the partner gets back for each record of a request."""

from dataclasses import dataclass, field
from typing import Any

from gateway.ingest.validate import FieldIssue


@dataclass(slots=True)
class RecordResult:
    """The outcome of one record; no field value ever appears here."""

    index: int
    source_id: str | None
    status: str
    record_id: str | None = None
    subject_id: str | None = None
    reason: str | None = None
    errors: list[FieldIssue] = field(default_factory=list)
    warnings: list[FieldIssue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the result."""
        return {
            "index": self.index,
            "source_id": self.source_id,
            "status": self.status,
            "record_id": self.record_id,
            "subject_id": self.subject_id,
            "reason": self.reason,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RecordResult":
        """A result read back from its JSON form (a stored idempotent reply)."""

        def issues(key: str) -> list[FieldIssue]:
            return [FieldIssue(**issue) for issue in data[key]]

        return cls(
            index=data["index"],
            source_id=data["source_id"],
            status=data["status"],
            record_id=data["record_id"],
            subject_id=data["subject_id"],
            reason=data["reason"],
            errors=issues("errors"),
            warnings=issues("warnings"),
        )


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of a batch, record by record, and whether it was replayed.

    A replay is the stored receipt of an earlier request with the same
    Idempotency-Key and body, exactly as it was first given.
    """

    results: tuple[RecordResult, ...]
    replayed: bool = False

    @property
    def rejected(self) -> int:
        """Records refused."""
        return sum(1 for r in self.results if r.status == "rejected")

    @property
    def accepted(self) -> int:
        """Records stored, new, updated or found unchanged."""
        return len(self.results) - self.rejected

    @classmethod
    def of(cls, results: list[RecordResult]) -> "Receipt":
        """The receipt of a batch just processed, in request order."""
        return cls(tuple(sorted(results, key=lambda r: r.index)))

    def as_dict(self) -> dict[str, Any]:
        """The JSON form, as stored for replays."""
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "results": [r.as_dict() for r in self.results],
        }

    @classmethod
    def replay_of(cls, data: dict[str, Any]) -> "Receipt":
        """A stored receipt, read back as the replay of its request."""
        results = tuple(RecordResult.from_dict(r) for r in data["results"])
        return cls(results, replayed=True)
