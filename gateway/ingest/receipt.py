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


def receipt(results: list[RecordResult]) -> dict[str, Any]:
    """The response body for a batch."""
    rejected = sum(1 for r in results if r.status == "rejected")
    return {
        "accepted": len(results) - rejected,
        "rejected": rejected,
        "results": [r.as_dict() for r in sorted(results, key=lambda r: r.index)],
    }
