"""Turn a validated record into what may be stored, field by field, by class (pure).

identifier → keyed pseudonym (and its value to the vault, for access requests);
direct_pii and special_category → the vault only; quasi_identifier → a
generalized value, the exact one to the vault; attribute → as is after a PII
scan; free_text → PII spans replaced by typed placeholders, never stored raw.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.consent.identifiers import IdentifierKind
from gateway.ingest.generalize import generalize
from gateway.ingest.validate import FieldIssue, ValidRecord
from gateway.pii.patterns import redact_text
from gateway.policy.models import Dataset, FieldSpec

Pseudonymize = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class StoredForm:
    """A record as the gateway keeps it: pseudonymous data plus vault plaintexts."""

    subject_id: str
    identifiers: dict[str, str]
    data: dict[str, Any]
    vault: dict[str, str]
    special_fields: tuple[str, ...]
    content_hash: str
    warnings: list[FieldIssue] = field(default_factory=list)


def content_hash(
    pseudonymize: Pseudonymize, dataset: str, purpose: str, values: Any
) -> str:
    """A keyed hash of the normalized content: equal content, equal hash.

    Keyed, so that the hash of a low-entropy record cannot be guessed offline.
    """
    body = orjson.dumps([purpose, values], option=orjson.OPT_SORT_KEYS).decode()
    return pseudonymize(f"content:{dataset}", body)


def _scan_attribute(name: str, value: str) -> tuple[str, FieldIssue | None]:
    redacted, entities = redact_text(value)
    if not entities:
        return value, None
    message = "personal data found and redacted: " + ", ".join(entities)
    return redacted, FieldIssue(name, "pii_redacted", message)


# Field classes whose exact value goes to the vault (for access requests).
_TO_VAULT = frozenset(
    {"identifier", "direct_pii", "special_category", "quasi_identifier"}
)


def _apply_class(form: StoredForm, name: str, spec: FieldSpec, value: Any) -> None:
    """Put one field where its class says: the vault, the public data, or both."""
    field_class = spec.field_class
    if field_class in _TO_VAULT:
        form.vault[name] = str(value)
    if field_class == "quasi_identifier":
        general = generalize(spec.generalize or "suppress", str(value))
        if general is not None:
            form.data[name] = general
    elif field_class == "attribute":
        # Only free strings can carry personal data: enum, number, date,
        # currency... values were normalized to shapes that cannot.
        if spec.type == "string":
            form.data[name], issue = _scan_attribute(name, value)
            if issue:
                form.warnings.append(issue)
        else:
            form.data[name] = value
    elif field_class == "free_text":
        redacted, entities = redact_text(str(value))
        form.data[name] = redacted
        if entities:
            message = "redacted: " + ", ".join(entities)
            form.warnings.append(FieldIssue(name, "pii_redacted", message))


def transform(
    record: ValidRecord,
    dataset: Dataset,
    kinds: Mapping[str, IdentifierKind],
    client_id: str,
    purpose: str,
    pseudonymize: Pseudonymize,
) -> StoredForm:
    """Apply each field's class to a validated record."""
    form = StoredForm("", {}, {}, {}, (), "", list(record.warnings))
    special: list[str] = []
    fields = dataset.fields
    for name, value in record.values.items():
        spec = fields[name]
        if spec.field_class == "identifier":
            namespace = kinds[name].namespace(client_id)
            form.identifiers[name] = pseudonymize(namespace, str(value))
        elif spec.field_class == "special_category":
            special.append(name)
        _apply_class(form, name, spec, value)
    return StoredForm(
        subject_id=form.identifiers[dataset.subject_key],
        identifiers=form.identifiers,
        data=form.data,
        vault=form.vault,
        special_fields=tuple(special),
        content_hash=content_hash(pseudonymize, dataset.name, purpose, record.values),
        warnings=form.warnings,
    )
