"""Datasets partners submit: each field's type, class and role, checked at load.

A field's class decides how ingestion stores it (DESIGN.md); its role, what
segmentation reads it as (`gateway.policy.segmentation`). Rules that span
fields are checked here, where the field is declared, so a wrong one fails
at load with its YAML line.
"""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.policy.constraints import (
    STRICT,
    FieldName,
    Loc,
    PolicyName,
    PositiveInt,
    Problems,
    StrictBool,
    duplicates,
    raise_if,
)
from gateway.policy.segmentation import (
    LINKAGE_ONLY_ROLES,
    PURCHASE,
    ROLE_TYPES,
    ROLES_OF,
    UNKNOWN,
    DatasetRole,
    FieldRole,
)

FieldType = Literal[
    "string",
    "email",
    "phone",
    "date",
    "datetime",
    "integer",
    "number",
    "boolean",
    "enum",
    "currency",
    "postal_code",
    "iban",
]
FieldClass = Literal[
    "identifier",
    "direct_pii",
    "quasi_identifier",
    "attribute",
    "free_text",
    "special_category",
]
Generalization = Literal["year", "prefix2", "prefix3", "suppress"]

# Every record carries the partner's source_id as a top-level key.
RESERVED_FIELDS = frozenset({"source_id"})


class FieldSpec(BaseModel):
    """One field of a dataset: its type, its class and how it is handled."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: FieldType
    field_class: FieldClass = Field(alias="class")
    required: StrictBool = False
    values: tuple[str, ...] | None = None
    max_length: PositiveInt = 256
    generalize: Generalization | None = None
    scope: Literal["partner", "global"] | None = None
    # What segmentation reads this field as (e.g. "occurred_at", "channel");
    # see gateway.policy.segmentation. Without one, segmentation ignores it.
    role: FieldRole | None = None
    description: str = ""

    @model_validator(mode="after")
    def _check_dependent_keys(self) -> Self:
        problems: Problems = []
        if self.type == "enum" and not self.values:
            problems.append((("values",), "required (non-empty) for type enum"))
        elif self.type != "enum" and self.values is not None:
            problems.append((("values",), "only allowed for type enum"))
        elif self.values:
            problems += duplicates(self.values, ("values",))
        quasi = self.field_class == "quasi_identifier"
        if quasi and self.generalize is None:
            problems.append((("generalize",), "required for class quasi_identifier"))
        elif not quasi and self.generalize is not None:
            only = "only allowed for class quasi_identifier"
            problems.append((("generalize",), only))
        identifier = self.field_class == "identifier"
        if identifier and self.scope is None:
            problems.append((("scope",), "required for class identifier"))
        elif not identifier and self.scope is not None:
            problems.append((("scope",), "only allowed for class identifier"))
        # A bank account number is never stored raw: only the vault (encrypted
        # under the subject's data key, so erasure destroys it) may hold one.
        # Not as an identifier either: an IBAN names an account, not a person
        # (a joint account has several holders, a person several accounts),
        # while consent and exact deduplication treat each identifier
        # pseudonym as one data subject: one holder's withdrawal would bind
        # the other, and their records would merge into one person.
        if self.type == "iban" and self.field_class != "direct_pii":
            problems.append((("class",), "type iban is only allowed for direct_pii"))
        if self.role is not None:
            problems += self._role_problems(self.role)
        raise_if(problems)
        return self

    def _role_problems(self, role: str) -> Problems:
        # Segmentation reads only what is stored pseudonymous or generalized:
        # never a direct identifier, free text or an Art. 9 field. Linkage
        # roles are the exception that proves it: their clear values reach
        # only the gateway's keyed encoder, which is why they must be
        # direct_pii or quasi_identifier (kept out of the records' data).
        problems: Problems = []
        allowed = (
            ("direct_pii", "quasi_identifier")
            if role in LINKAGE_ONLY_ROLES
            else ("attribute", "quasi_identifier")
        )
        if self.field_class not in allowed:
            only = f"only allowed for class {' or '.join(allowed)}"
            problems.append((("role",), only))
        types = ROLE_TYPES[role]
        if self.type not in types:
            need = " or ".join(types)
            problems.append((("role",), f"role '{role}' needs type {need}"))
        if role in ("channel", "device") and UNKNOWN in (self.values or ()):
            # Its share counts the events that did not say: a level of that
            # name would be a second column of the same name.
            problems.append((("values",), f"'{UNKNOWN}' is reserved for role {role}"))
        if role == "event_type" and self.values and PURCHASE not in self.values:
            problems.append((("values",), f"role event_type needs a '{PURCHASE}'"))
        return problems


class Dataset(BaseModel):
    """A dataset partners submit: its subject key, fields and allowed purposes."""

    model_config = STRICT

    name: PolicyName
    description: str = ""
    subject_key: str
    # What segmentation reads this dataset as: people's profiles or their
    # behavioural events. Without one, segmentation ignores the dataset.
    role: DatasetRole | None = None
    purposes: tuple[str, ...] = Field(min_length=1)
    fields: dict[FieldName, FieldSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_fields(self) -> Self:
        problems = duplicates(self.purposes, ("purposes",))
        problems += self._role_problems()
        for name in sorted(RESERVED_FIELDS & self.fields.keys()):
            problems.append(
                (("fields", name), "reserved (every record carries it); remove it")
            )
        subject = self.fields.get(self.subject_key)
        if subject is None:
            problems.append((("subject_key",), f"no field named '{self.subject_key}'"))
        elif subject.field_class != "identifier":
            problems.append((("subject_key",), "must name a field of class identifier"))
        raise_if(problems)
        return self

    def _role_problems(self) -> Problems:
        problems: Problems = []
        allowed = ROLES_OF[self.role] if self.role is not None else ()
        taken: dict[str, str] = {}
        for name, spec in self.fields.items():
            if spec.role is None:
                continue
            loc: Loc = ("fields", name, "role")
            if spec.role not in allowed:
                where = f"role {self.role}" if self.role else "no role"
                problems.append(
                    (loc, f"'{spec.role}' not allowed in a dataset of {where}")
                )
            elif spec.role in taken:
                problems.append(
                    (loc, f"'{spec.role}' already played by '{taken[spec.role]}'")
                )
            taken.setdefault(spec.role, name)
        if self.role == "events" and "occurred_at" not in taken:
            problems.append(
                (("role",), "an events dataset needs a field of role occurred_at")
            )
        if self.role == "events" and "event_type" not in taken:
            problems.append(
                (("role",), "an events dataset needs a field of role event_type")
            )
        return problems

    def fields_of(self, cls: FieldClass) -> tuple[str, ...]:
        """Return the names of the fields of one class, in declaration order.

        Args:
            cls: The field class, e.g. "identifier".

        Returns:
            The field names of that class.
        """
        return tuple(n for n, spec in self.fields.items() if spec.field_class == cls)
