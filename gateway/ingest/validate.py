"""Validate and normalize one submitted record against its dataset policy (pure)."""

import re
from dataclasses import dataclass, field
from typing import Any

from gateway.ingest.normalize import FieldInvalid, normalize_datetime, normalize_value
from gateway.policy.models import Dataset

SOURCE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
FIELD_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
UNNAMED = "<unrecognised key>"


def reportable_name(key: str) -> str:
    """An unknown key as it may be echoed: only names shaped like field names.

    A partner who puts a value where a key belongs (`{"jean@x.fr": 1}`) must
    not see it come back in an error.
    """
    return key if FIELD_NAME_PATTERN.match(key) else UNNAMED


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """A problem (error) or a note (warning) about one field; never its value."""

    field: str
    reason: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form used in receipts."""
        return {"field": self.field, "reason": self.reason, "message": self.message}


@dataclass(frozen=True, slots=True)
class ValidRecord:
    """A record whose every field is known, typed and normalized."""

    source_id: str
    values: dict[str, Any]
    warnings: list[FieldIssue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """A record that cannot be stored, with every reason found."""

    source_id: str | None
    errors: list[FieldIssue]


def _source_id(raw: dict[str, Any]) -> tuple[str | None, FieldIssue | None]:
    value = raw.get("source_id")
    if not isinstance(value, str) or not SOURCE_ID_PATTERN.match(value):
        return None, FieldIssue(
            "source_id", "invalid", "required: 1-128 of A-Z a-z 0-9 . _ : / -"
        )
    return value, None


def _normalize_field(
    name: str, value: Any, dataset: Dataset, region: str
) -> tuple[Any, FieldIssue | None]:
    spec = dataset.fields[name]
    if spec.type == "datetime":
        stamp, naive = normalize_datetime(value)
        note = FieldIssue(name, "assumed_utc", "no UTC offset given: read as UTC")
        return stamp, note if naive else None
    normalized = normalize_value(
        spec.type, value, values=spec.values, max_length=spec.max_length, region=region
    )
    return normalized, None


def validate_record(
    dataset: Dataset, raw: Any, region: str
) -> ValidRecord | InvalidRecord:
    """Check a raw JSON record: known fields, types, required fields, subject key."""
    if not isinstance(raw, dict):
        issue = FieldIssue("", "invalid", "a record must be a JSON object")
        return InvalidRecord(None, [issue])
    source_id, issue = _source_id(raw)
    errors: list[FieldIssue] = [issue] if issue else []
    values, warnings = _normalize_all(dataset, raw, region, errors)
    for name, spec in dataset.fields.items():
        required = spec.required or name == dataset.subject_key
        missing = required and name not in values
        if missing and not any(e.field == name for e in errors):
            errors.append(FieldIssue(name, "missing", "required field is missing"))
    if errors or source_id is None:
        return InvalidRecord(source_id, errors)
    return ValidRecord(source_id, values, warnings)


def _normalize_all(
    dataset: Dataset, raw: dict[str, Any], region: str, errors: list[FieldIssue]
) -> tuple[dict[str, Any], list[FieldIssue]]:
    """Normalize every present field; problems are added to `errors`."""
    warnings: list[FieldIssue] = []
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "source_id":
            continue
        if name not in dataset.fields:
            message = "not a field of this dataset"
            errors.append(FieldIssue(reportable_name(name), "unknown_field", message))
            continue
        if value is None:
            continue
        try:
            normalized, note = _normalize_field(name, value, dataset, region)
        except FieldInvalid as exc:
            errors.append(FieldIssue(name, exc.reason, exc.message))
            continue
        values[name] = normalized
        if note:
            warnings.append(note)
    return values, warnings
