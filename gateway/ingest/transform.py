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
from gateway.pii import Redacted
from gateway.policy.models import Dataset, FieldSpec

Pseudonymize = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class TextPii:
    """What PII detection made of one record's texts, done before `transform`.

    Free text is redacted for the whole request in one batch through NLP, so
    it arrives here done; attribute values go through the cheaper pattern path
    one at a time.
    """

    free_text: Mapping[str, Redacted]
    scan_attribute: Callable[[str], Redacted]


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
    # Field name -> entity types redacted from it (types only, for the audit).
    pii_found: dict[str, tuple[str, ...]] = field(default_factory=dict)


def content_hash(
    pseudonymize: Pseudonymize, dataset: str, purpose: str, values: Any
) -> str:
    """A keyed hash of the normalized content: equal content, equal hash.

    Keyed, so that the hash of a low-entropy record cannot be guessed offline.
    """
    body = orjson.dumps([purpose, values], option=orjson.OPT_SORT_KEYS).decode()
    return pseudonymize(f"content:{dataset}", body)


# Field classes whose exact value goes to the vault (for access requests).
_TO_VAULT = frozenset(
    {"identifier", "direct_pii", "special_category", "quasi_identifier"}
)


def _put_redacted(form: StoredForm, name: str, redacted: Redacted) -> None:
    form.data[name] = redacted.text
    if redacted.entity_types:
        form.pii_found[name] = redacted.entity_types
        message = "personal data found and redacted: " + ", ".join(
            redacted.entity_types
        )
        form.warnings.append(FieldIssue(name, "pii_redacted", message))


def _apply_class(
    form: StoredForm, name: str, spec: FieldSpec, value: Any, pii: TextPii
) -> None:
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
            _put_redacted(form, name, pii.scan_attribute(value))
        else:
            form.data[name] = value
    elif field_class == "free_text":
        _put_redacted(form, name, pii.free_text[name])


def transform(
    record: ValidRecord,
    dataset: Dataset,
    kinds: Mapping[str, IdentifierKind],
    client_id: str,
    purpose: str,
    pseudonymize: Pseudonymize,
    pii: TextPii,
) -> StoredForm:
    """Apply each field's class to a validated record.

    Args:
        record: The validated record.
        dataset: Its dataset policy.
        kinds: Identifier kinds by field name.
        client_id: The partner, for partner-scoped identifier namespaces.
        purpose: The declared purpose (part of the content hash).
        pseudonymize: Keyed pseudonyms by namespace.
        pii: The record's free text already redacted, and the attribute scan.
    """
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
        _apply_class(form, name, spec, value, pii)
    return StoredForm(
        subject_id=form.identifiers[dataset.subject_key],
        identifiers=form.identifiers,
        data=form.data,
        vault=form.vault,
        special_fields=tuple(special),
        content_hash=content_hash(pseudonymize, dataset.name, purpose, record.values),
        warnings=form.warnings,
        pii_found=form.pii_found,
    )
