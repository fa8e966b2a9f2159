"""Validate and normalize one submitted record against its dataset policy (pure).

Field types that name a kind of personal data (e-mail, phone, IBAN) are also
confirmed by that entity's PII recognizer, through a check the caller passes
in: the caller (ingestion) holds the process's analyzer, this module holds none.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from gateway.fields.names import reportable_name
from gateway.fields.normalize import FieldInvalid, normalize_datetime, normalizer_for
from gateway.policy.datasets import Dataset, FieldSpec, FieldType

SOURCE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
ASSUMED_UTC = "no UTC offset given: read as UTC"


class Structured(NamedTuple):
    """The PII entity a field type must be, and the issue when it is not."""

    entity: str
    reason: str
    message: str


# Field types whose normalized value must be, whole, one entity of the PII
# detector: what the gateway stores as an e-mail address is what its e-mail
# recognizer finds in text (and redacts), and so on. The reason codes are the
# normalizers' own, so a partner sees one code per kind of mistake whichever
# check caught it; the message tells the two checks apart.
STRUCTURED_TYPES: Mapping[FieldType, Structured] = {
    "email": Structured(
        "EMAIL_ADDRESS", "not_an_email", "not recognised as an e-mail address"
    ),
    "phone": Structured(
        "PHONE_NUMBER", "not_a_phone", "not recognised as a phone number"
    ),
    "iban": Structured("IBAN_CODE", "not_an_iban", "not recognised as an IBAN"),
}

# Whether a whole value is one entity, e.g. `PiiAnalyzer.check_structured`:
# called as check(entity, value).
StructuredCheck = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """A problem (error) or a note (warning) about one field; never its value."""

    field: str
    reason: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form used in receipts."""
        return {"field": self.field, "reason": self.reason, "message": self.message}


class ValidRecord(NamedTuple):
    """A record whose every field is known, typed and normalized.

    A NamedTuple (immutable, built in C): one is made per submitted record.
    """

    source_id: str
    values: dict[str, Any]
    warnings: list[FieldIssue]


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """A record that cannot be stored, with every reason found."""

    source_id: str | None
    errors: list[FieldIssue]


def _source_id(raw: dict[str, Any]) -> tuple[str | None, FieldIssue | None]:
    value = raw.get("source_id")
    if not isinstance(value, str) or not SOURCE_ID_PATTERN.fullmatch(value):
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
    # The fields to confirm by a PII recognizer, by name.
    structured: dict[str, Structured]


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
        structured={
            name: STRUCTURED_TYPES[spec.type]
            for name, spec in dataset.fields.items()
            if spec.type in STRUCTURED_TYPES
        },
    )
    _PLANS[(id(dataset), region)] = (dataset, plan)
    return plan


def validate_record(
    dataset: Dataset,
    raw: Any,
    region: str,
    *,
    check: StructuredCheck | None = None,
) -> ValidRecord | InvalidRecord:
    """Check a raw JSON record: known fields, types, required fields, subject key.

    Args:
        dataset: The dataset policy the record is submitted under.
        raw: The decoded JSON record.
        region: The partner's default region, for national phone numbers.
        check: Confirms the normalized value of every field typed email,
            phone or iban as one entity of the PII detector (ingestion passes
            its analyzer's `check_structured`); a value it does not confirm is
            invalid. None: normalization only.

    Returns:
        The normalized record, or every problem found; never a value.
    """
    if not isinstance(raw, dict):
        issue = FieldIssue("", "invalid", "a record must be a JSON object")
        return InvalidRecord(None, [issue])
    plan = _plan(dataset, region)
    source_id, issue = _source_id(raw)
    errors: list[FieldIssue] = [issue] if issue else []
    warnings: list[FieldIssue] = []
    values = _normalize_all(plan, raw, errors, warnings)
    if check is not None:
        _confirm_structured(plan, values, errors, check)
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


def _confirm_structured(
    plan: _Plan,
    values: dict[str, Any],
    errors: list[FieldIssue],
    check: StructuredCheck,
) -> None:
    """Drop, as invalid, the typed values the PII recognizer does not confirm.

    After normalization, so the recognizer judges the form that would be
    stored (a phone number in E.164, so the analyzer's default language and
    its regions do not matter). The value goes to `check` only: the issue
    names the field.
    """
    for name, structured in plan.structured.items():
        value = values.get(name)
        if value is not None and not check(structured.entity, value):
            del values[name]
            errors.append(FieldIssue(name, structured.reason, structured.message))


def _unknown(name: str) -> FieldIssue:
    return FieldIssue(
        reportable_name(name), "unknown_field", "not a field of this dataset"
    )
