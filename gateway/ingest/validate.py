"""Validate and normalize one submitted record against its dataset policy (pure)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.ingest.normalize import FieldInvalid, normalize_datetime, normalizer_for
from gateway.policy.models import Dataset, FieldSpec

SOURCE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
FIELD_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
UNNAMED = "<unrecognised key>"
ASSUMED_UTC = "no UTC offset given: read as UTC"


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


Normalizer = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A dataset's fields as ready-made normalizers, built once per dataset."""

    normalizers: dict[str, Normalizer]
    datetimes: frozenset[str]
    required: tuple[str, ...]


def _normalizer(spec: FieldSpec, region: str) -> Normalizer:
    return normalizer_for(
        spec.type, values=spec.values, max_length=spec.max_length, region=region
    )


# Plans by (dataset object, region). A handful of datasets and regions: the
# cache holds policy objects only, never submitted values. Keyed by id() with
# the dataset kept alive in the value, so a reloaded policy gets a new plan.
_PLANS: dict[tuple[int, str], tuple[Dataset, _Plan]] = {}


def _plan(dataset: Dataset, region: str) -> _Plan:
    cached = _PLANS.get((id(dataset), region))
    if cached is not None and cached[0] is dataset:
        return cached[1]
    plan = _Plan(
        normalizers={
            name: _normalizer(spec, region) for name, spec in dataset.fields.items()
        },
        datetimes=frozenset(
            name for name, spec in dataset.fields.items() if spec.type == "datetime"
        ),
        required=tuple(
            name
            for name, spec in dataset.fields.items()
            if spec.required or name == dataset.subject_key
        ),
    )
    _PLANS[(id(dataset), region)] = (dataset, plan)
    return plan


def validate_record(
    dataset: Dataset, raw: Any, region: str
) -> ValidRecord | InvalidRecord:
    """Check a raw JSON record: known fields, types, required fields, subject key."""
    if not isinstance(raw, dict):
        issue = FieldIssue("", "invalid", "a record must be a JSON object")
        return InvalidRecord(None, [issue])
    plan = _plan(dataset, region)
    source_id, issue = _source_id(raw)
    errors: list[FieldIssue] = [issue] if issue else []
    warnings: list[FieldIssue] = []
    values = _normalize_all(plan, raw, errors, warnings)
    for name in plan.required:
        if name not in values and not any(e.field == name for e in errors):
            errors.append(FieldIssue(name, "missing", "required field is missing"))
    if errors or source_id is None:
        return InvalidRecord(source_id, errors)
    return ValidRecord(source_id, values, warnings)


def _normalize_all(
    plan: _Plan,
    raw: dict[str, Any],
    errors: list[FieldIssue],
    warnings: list[FieldIssue],
) -> dict[str, Any]:
    """Normalize every present field; problems go to `errors` and `warnings`."""
    values: dict[str, Any] = {}
    for name, value in raw.items():
        normalize = plan.normalizers.get(name)
        if normalize is None:
            if name != "source_id":
                errors.append(_unknown(name))
            continue
        if value is None:
            continue
        try:
            if name in plan.datetimes:
                values[name], naive = normalize_datetime(value)
                if naive:
                    warnings.append(FieldIssue(name, "assumed_utc", ASSUMED_UTC))
            else:
                values[name] = normalize(value)
        except FieldInvalid as exc:
            errors.append(FieldIssue(name, exc.reason, exc.message))
    return values


def _unknown(name: str) -> FieldIssue:
    return FieldIssue(
        reportable_name(name), "unknown_field", "not a field of this dataset"
    )
