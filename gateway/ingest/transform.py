"""Turn a validated record into what may be stored, field by field, by class (pure).

identifier → keyed pseudonym (and its value to the vault, for access requests);
direct_pii and special_category → the vault only; quasi_identifier → a
generalized value, the exact one to the vault; attribute → as is after a PII
scan; free_text → PII spans replaced by typed placeholders, never stored raw.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from gateway.consent.identifiers import IdentifierKind
from gateway.ingest.generalize import generalize
from gateway.ingest.validate import FieldIssue, ValidRecord
from gateway.pii import Redacted
from gateway.policy.datasets import Dataset, FieldSpec

if TYPE_CHECKING:  # spaCy and Presidio load only where detection runs
    from gateway.pii.analyzer import PiiAnalyzer

Pseudonymize = Callable[[str, str], str]


def _scanned(spec: FieldSpec) -> bool | None:
    """How a field's text is scanned: True through NLP, False by patterns only.

    None: not scanned. Only free strings can carry personal data; enum,
    number, date, currency... values were normalized to shapes that cannot.
    """
    if spec.field_class == "free_text":
        return True
    if spec.field_class == "attribute" and spec.type == "string":
        return False
    return None


def _scanned_fields(dataset: Dataset) -> tuple[tuple[bool, tuple[str, ...]], ...]:
    """The dataset's fields scanned through NLP, then those scanned by patterns."""
    return tuple(
        (
            with_ner,
            tuple(
                name
                for name, spec in dataset.fields.items()
                if _scanned(spec) is with_ner
            ),
        )
        for with_ner in (True, False)
    )


# The entity type a field's value is redacted as when the record's free text
# repeats it: by the field's type, else by its linkage role.
_ENTITY_OF_TYPE = {
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "iban": "IBAN_CODE",
    "date": "DATE_TIME",
}
_ENTITY_OF_ROLE = {
    "first_name": "PERSON",
    "last_name": "PERSON",
    "street": "STREET_ADDRESS",
    "city": "LOCATION",
    "postal_code": "POSTAL_CODE",
    "birth_date": "DATE_OF_BIRTH",
}
_PERSONAL = frozenset({"identifier", "direct_pii", "quasi_identifier"})


def known_fields(dataset: Dataset) -> tuple[tuple[str, str], ...]:
    """(field, entity type) of the dataset's personal fields a note may repeat.

    A personal field without a type or role that says what it is (a
    customer number) is left to detection.
    """
    known = []
    for name, spec in dataset.fields.items():
        if spec.field_class not in _PERSONAL:
            continue
        entity = _ENTITY_OF_ROLE.get(spec.role or "") or _ENTITY_OF_TYPE.get(spec.type)
        if entity is not None:
            known.append((name, entity))
    return tuple(known)


def known_values(
    fields: Sequence[tuple[str, str]], values: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(entity type, value) of each of `fields` that `values` holds."""
    return [
        (entity, str(values[name]))
        for name, entity in fields
        if values.get(name) not in (None, "")
    ]


def redact_texts(
    analyzer: "PiiAnalyzer", dataset: Dataset, records: Sequence[ValidRecord]
) -> list[dict[str, Redacted]]:
    """The scanned fields of many records, redacted, by record then field name.

    One batch per path for all the records: free text through NLP (one
    `nlp.pipe`), attributes through the pattern recognizers. Each record's
    own personal values (its name, e-mail, street...) are redacted from its
    texts wherever they occur, found by detection or not.
    """
    fields = known_fields(dataset)
    redacted: list[dict[str, Redacted]] = [{} for _ in records]
    for with_ner, names in _scanned_fields(dataset):
        if not names:
            continue
        # The dataset's scanned fields, not every value's spec: most datasets
        # scan a field or two of a dozen.
        where = [
            (n, name)
            for n, record in enumerate(records)
            for name in names
            if name in record.values
        ]
        if not where:
            continue
        texts = [str(records[n].values[name]) for n, name in where]
        known = [known_values(fields, records[n].values) for n, _ in where]
        done = analyzer.redact_batch(texts, with_ner=with_ner, known=known)
        for (n, name), text in zip(where, done, strict=True):
            redacted[n][name] = text
    return redacted


class StoredForm(NamedTuple):
    """A record as the gateway keeps it: pseudonymous data plus vault plaintexts.

    A NamedTuple, immutable like a frozen dataclass and built in C, where a
    frozen dataclass sets each field through a Python call: one is made per
    ingested record.
    """

    subject_id: str
    identifiers: dict[str, str]
    data: dict[str, Any]
    vault: dict[str, str]
    special_fields: tuple[str, ...]
    content_hash: str
    warnings: list[FieldIssue]
    # Field name -> entity types redacted from it (types only, for the audit).
    pii_found: dict[str, tuple[str, ...]]
    # The content hash under each older pseudonym key (after a rotation), so
    # that the same content sent again is still told a duplicate.
    older_hashes: tuple[str, ...] = ()


def content_hash(
    pseudonymize: Pseudonymize, dataset: str, purpose: str, values: Any
) -> str:
    """A keyed hash of the normalized content: equal content, equal hash.

    Keyed, so that the hash of a low-entropy record cannot be guessed offline.
    """
    body = orjson.dumps([purpose, values], option=orjson.OPT_SORT_KEYS).decode()
    return pseudonymize(f"content:{dataset}", body)


# What `transform` does with a field, by class: one small integer per field,
# looked up once per dataset instead of reading the policy model per value.
_IDENTIFIER, _SPECIAL, _VAULT_ONLY, _QUASI, _ATTRIBUTE, _OTHER = range(6)
_CODES = {
    "identifier": _IDENTIFIER,
    "special_category": _SPECIAL,
    "direct_pii": _VAULT_ONLY,
    "quasi_identifier": _QUASI,
    "attribute": _ATTRIBUTE,
}
# By dataset object (kept alive in the value, so a reloaded policy gets a new
# plan): field name -> (class code, generalization rule). Policy only.
_PLANS: dict[int, tuple[Dataset, dict[str, tuple[int, str]]]] = {}


def _plan(dataset: Dataset) -> dict[str, tuple[int, str]]:
    cached = _PLANS.get(id(dataset))
    if cached is not None and cached[0] is dataset:
        return cached[1]
    plan = {
        name: (_CODES.get(spec.field_class, _OTHER), spec.generalize or "suppress")
        for name, spec in dataset.fields.items()
    }
    _PLANS[id(dataset)] = (dataset, plan)
    return plan


def transform(
    record: ValidRecord,
    dataset: Dataset,
    kinds: Mapping[str, IdentifierKind],
    client_id: str,
    purpose: str,
    pseudonymize: Pseudonymize,
    redacted: Mapping[str, Redacted],
    *,
    older: Sequence[Pseudonymize] = (),
) -> StoredForm:
    """Apply each field's class to a validated record.

    Each field goes where its class says: the vault (identifiers, direct
    personal data, special categories, quasi-identifiers), the public data
    (a quasi-identifier generalized, a scanned text redacted, an attribute
    as is), a keyed pseudonym (identifiers).

    Args:
        record: The validated record.
        dataset: Its dataset policy.
        kinds: Identifier kinds by field name.
        client_id: The partner, for partner-scoped identifier namespaces.
        purpose: The declared purpose (part of the content hash).
        pseudonymize: Keyed pseudonyms by namespace.
        redacted: The record's scanned fields, redacted (`redact_texts`).
        older: Pseudonymizers of older keys, for `older_hashes`.
    """
    # Plain locals, one StoredForm at the end: the form is built once per
    # record, and a frozen dataclass costs a call per field it sets.
    identifiers: dict[str, str] = {}
    data: dict[str, Any] = {}
    vault: dict[str, str] = {}
    warnings = list(record.warnings)
    pii_found: dict[str, tuple[str, ...]] = {}
    special: list[str] = []
    plan = _plan(dataset)
    for name, value in record.values.items():
        code, rule = plan[name]
        if code == _IDENTIFIER:
            text = str(value)
            identifiers[name] = pseudonymize(kinds[name].namespace(client_id), text)
            vault[name] = text
        elif code == _QUASI:
            text = str(value)
            vault[name] = text
            general = generalize(rule, text)
            if general is not None:
                data[name] = general
            continue
        elif code == _SPECIAL:
            special.append(name)
            vault[name] = str(value)
        elif code == _VAULT_ONLY:
            vault[name] = str(value)
        # Free text and string attributes were scanned: their redacted form.
        scanned = redacted.get(name)
        if scanned is not None:
            data[name] = scanned.text
            if scanned.entity_types:
                pii_found[name] = scanned.entity_types
                message = "personal data found and redacted: " + ", ".join(
                    scanned.entity_types
                )
                warnings.append(FieldIssue(name, "pii_redacted", message))
        elif code == _ATTRIBUTE:
            data[name] = value
    return StoredForm(
        subject_id=identifiers[dataset.subject_key],
        identifiers=identifiers,
        data=data,
        vault=vault,
        special_fields=tuple(special),
        content_hash=content_hash(pseudonymize, dataset.name, purpose, record.values),
        warnings=warnings,
        pii_found=pii_found,
        older_hashes=tuple(
            content_hash(key, dataset.name, purpose, record.values) for key in older
        ),
    )
