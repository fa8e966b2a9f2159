"""The record of processing activities (GDPR Art. 30), built from the policies.

A pure function of the `PolicySet`: what the policies state is copied,
what the gateway does with each field class is said once here, and what
the policies do not state (who the controller is, its DPO, transfers
outside the EEA) is marked so, never guessed. `gateway policies register`
renders it as JSON or Markdown (`gateway.policy.register_md`).
"""

from typing import Any

from gateway.policy.audiences import Audience
from gateway.policy.datasets import Dataset, FieldClass, FieldSpec
from gateway.policy.models import PolicySet

REGISTER_FORMAT = "consent-gateway/record-of-processing/1"
NOT_STATED = "not stated in the policies"

LEGAL_BASES = {
    "consent": "consent, GDPR Art. 6(1)(a)",
    "contract": "performance of a contract, GDPR Art. 6(1)(b)",
    "legal_obligation": "legal obligation, GDPR Art. 6(1)(c)",
    "legitimate_interest": "legitimate interests, GDPR Art. 6(1)(f)",
}
# IAB TCF purposes, as the framework's policies name them.
TCF_PURPOSES = {
    1: "Store and/or access information on a device",
    2: "Use limited data to select advertising",
    3: "Create profiles for personalised advertising",
    4: "Use profiles to select personalised advertising",
    5: "Create profiles to personalise content",
    6: "Use profiles to select personalised content",
    7: "Measure advertising performance",
    8: "Measure content performance",
    9: "Understand audiences through statistics or combinations of data "
    "from different sources",
    10: "Develop and improve services",
    11: "Use limited data to select content",
}
# Field class -> (category key in the register, how the gateway stores it).
CATEGORIES: dict[FieldClass, tuple[str, str]] = {
    "identifier": (
        "identifiers",
        "keyed pseudonym (HMAC-SHA256 of the normalised value); the value "
        "itself only in the encrypted vault, for access requests",
    ),
    "direct_pii": (
        "direct_pii",
        "AES-GCM ciphertext in the vault, under the subject's own data key",
    ),
    "quasi_identifier": (
        "quasi_identifiers",
        "generalised on the record; the exact value only in the encrypted vault",
    ),
    "attribute": ("attributes", "as sent, after a PII scan (PII found is redacted)"),
    "free_text": (
        "free_text",
        "personal data detected in the text replaced by typed placeholders",
    ),
    "special_category": (
        "special_category",
        "refused (the record is rejected) unless the purpose rests on consent "
        "and the consent is explicit; then in the encrypted vault only",
    ),
}
GENERALISATIONS = {
    "year": "year only",
    "prefix2": "first 2 characters",
    "prefix3": "first 3 characters",
    "suppress": "not kept on the record",
}


def _field(name: str, spec: FieldSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"field": name, "type": spec.type}
    if spec.description:
        entry["description"] = spec.description
    if spec.scope is not None:
        entry["scope"] = spec.scope
    if spec.generalize is not None:
        entry["generalisation"] = GENERALISATIONS[spec.generalize]
    return entry


def _categories(dataset: Dataset) -> dict[str, Any]:
    categories: dict[str, Any] = {}
    for cls, (key, stored_as) in CATEGORIES.items():
        names = dataset.fields_of(cls)
        if names:
            categories[key] = {
                "stored_as": stored_as,
                "fields": [_field(n, dataset.fields[n]) for n in names],
            }
    return categories


def _purposes(policies: PolicySet) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "description": purpose.description,
            "legal_basis": purpose.basis,
            "legal_basis_text": LEGAL_BASES[purpose.basis],
            "tcf_purposes": [
                {"id": tcf, "name": TCF_PURPOSES[tcf]} for tcf in purpose.tcf_purposes
            ],
            "sale_or_sharing": purpose.sale_or_sharing,
            "retention_days": purpose.retention_days,
            "datasets": sorted(
                d for d, ds in policies.datasets.items() if name in ds.purposes
            ),
            "audiences": sorted(
                a for a, aud in policies.audiences.items() if aud.purpose == name
            ),
        }
        for name, purpose in sorted(policies.purposes.items())
    ]


def _datasets(policies: PolicySet) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "description": dataset.description or NOT_STATED,
            "purposes": list(dataset.purposes),
            "categories": _categories(dataset),
        }
        for name, dataset in sorted(policies.datasets.items())
    ]


def _subjects(policies: PolicySet) -> list[dict[str, Any]]:
    return [
        {
            "dataset": name,
            "who": "customers of the partners that submit this dataset",
            "identified_by": dataset.subject_key,
            "identifier_description": (
                dataset.fields[dataset.subject_key].description or NOT_STATED
            ),
        }
        for name, dataset in sorted(policies.datasets.items())
    ]


def _recipients(policies: PolicySet) -> dict[str, Any]:
    audiences = [
        {
            "name": name,
            "description": audience.description or NOT_STATED,
            "purpose": audience.purpose,
            "datasets": list(audience.datasets),
            "k_min": audience.k_min,
        }
        for name, audience in sorted(policies.audiences.items())
    ]
    destinations = [
        {
            "name": name,
            "description": destination.description or NOT_STATED,
            "k_min": destination.k_min,
            "id_format": destination.id_format,
        }
        for name, destination in sorted(policies.destinations.items())
    ]
    return {
        "what_they_receive": (
            "segment memberships of an audience, as ids scoped to the "
            "destination; never records, fields or identifiers"
        ),
        "granted_by": (
            "client grants (`gateway clients add NAME --role destination "
            "--audience A`), held in the database, not in the policies"
        ),
        "audiences": audiences,
        "destinations": destinations,
    }


def _retention(policies: PolicySet) -> dict[str, Any]:
    return {
        "records": [
            {"purpose": name, "retention_days": purpose.retention_days}
            for name, purpose in sorted(policies.purposes.items())
        ],
        "rule": (
            "`gateway retention run` deletes a record, its vault entry and its "
            "linkage encodings retention_days after its last update, destroys "
            "the data key of a subject left without records, and deletes "
            "consent events superseded before the cut-off"
        ),
        "operational_data": (
            "stored idempotent responses and past pipeline runs are deleted "
            "after the ages set by GATEWAY_RETENTION_IDEMPOTENCY_DAYS and "
            "GATEWAY_RETENTION_RUN_DAYS (the latest run of each audience stays)"
        ),
    }


def _pii_detail(policies: PolicySet) -> str:
    pii = policies.pii
    default = pii.operator_for("*")
    how = (
        f"replaced by {default.new_value!r}"
        if default.type == "replace" and default.new_value is not None
        else "replaced by a typed placeholder such as `<PERSON>`"
        if default.type == "replace"
        else "removed"
    )
    return (
        f"free text (and string attributes) is scanned in {', '.join(pii.languages)} "
        f"for {len(pii.entities)} entity types ({', '.join(pii.entities)}); what is "
        f"found is {how}, and never stored raw"
    )


def _generalisation_detail(policies: PolicySet) -> str:
    parts = [
        f"{dataset_name}.{name}: {GENERALISATIONS[spec.generalize]}"
        for dataset_name, dataset in sorted(policies.datasets.items())
        for name, spec in dataset.fields.items()
        if spec.generalize is not None
    ]
    return "; ".join(parts)


def _floor_detail(policies: PolicySet) -> str:
    floors = [f"{n}: k >= {a.k_min}" for n, a in sorted(policies.audiences.items())]
    raised = [
        f"{n}: k >= {d.k_min}"
        for n, d in sorted(policies.destinations.items())
        if d.k_min is not None
    ]
    detail = (
        "a segment with fewer members than the floor is merged into its "
        "nearest neighbour or suppressed, never exported (audiences "
        + "; ".join(floors)
        + ")"
    )
    if raised:
        detail += "; destinations raising it: " + "; ".join(raised)
    return detail


# Segments and propensity scores are profiling (Art. 4(4)): the register says
# so per audience, and states where Art. 22 and the right to object stand,
# because a controller must inform people of profiling (Art. 13(2)(f),
# 14(2)(g)) and a DPO is asked about it first.
AUTOMATED_DECISIONS = (
    "segments and propensity scores select who receives marketing; no "
    "decision producing legal effects concerning a person, or similarly "
    "significantly affecting them, is taken by the gateway on them (GDPR Art. "
    "22(1)); a destination basing such a decision on a segment would act "
    "outside the purposes registered here"
)
OBJECTION = (
    "a withdrawal of consent or an objection to direct marketing (Art. 21(2)) "
    "is checked again at every pull: the person is left out of every segment "
    "before any member id leaves, and destinations that already received "
    "them are told through the revocations feed (Art. 19)"
)
MODEL_INPUTS = (
    "pseudonymous behavioural and generalised profile features only; special "
    "categories of data (Art. 9) never enter a model"
)


def _audience_profiling(name: str, audience: Audience) -> dict[str, Any]:
    levels = [
        {"level": lv.name, "method": lv.method, "features": list(lv.features)}
        for lv in audience.levels
    ]
    propensity = audience.propensity
    return {
        "audience": name,
        "purpose": audience.purpose,
        "segmentation": levels,
        "propensity": None
        if propensity is None
        else {
            "target": propensity.target,
            "horizon_days": propensity.horizon_days,
            "what": (
                f"calibrated probability of a {propensity.target} in the "
                f"{propensity.horizon_days} days after the run, learned from "
                "past events (never from a label a partner sends)"
            ),
        },
        "holdout_share": audience.holdout_share,
    }


def _profiling(policies: PolicySet) -> dict[str, Any]:
    return {
        "audiences": [
            _audience_profiling(name, audience)
            for name, audience in sorted(policies.audiences.items())
        ],
        "model_inputs": MODEL_INPUTS,
        "automated_decisions": AUTOMATED_DECISIONS,
        "objection": OBJECTION,
    }


def _safeguards(policies: PolicySet) -> list[dict[str, str]]:
    classes = {
        spec.field_class
        for dataset in policies.datasets.values()
        for spec in dataset.fields.values()
    }
    measures: list[tuple[str, str]] = [
        (
            "Pseudonymisation",
            "identifiers are stored as keyed HMAC-SHA256 pseudonyms (partner-"
            "scoped ones namespaced per partner); records are linked by keyed "
            "Bloom-filter encodings, never by the fields themselves",
        )
    ]
    if classes & {"identifier", "direct_pii", "quasi_identifier", "special_category"}:
        measures.append(
            (
                "Encryption at rest",
                "vault entries are AES-GCM ciphertext under a data key per "
                "subject, itself wrapped by a master key kept in a keyring "
                "outside the database",
            )
        )
        measures.append(
            (
                "Crypto-shredding",
                "erasure and retention destroy the subject's data key: every "
                "copy of its vault entries, backups included, stays unreadable",
            )
        )
    if "quasi_identifier" in classes:
        measures.append(("Generalisation", _generalisation_detail(policies)))
    if classes & {"free_text", "attribute"}:
        measures.append(("PII redaction", _pii_detail(policies)))
    if "special_category" in classes:
        measures.append(("Special categories", CATEGORIES["special_category"][1]))
    measures += [
        ("k-anonymity floor", _floor_detail(policies)),
        (
            "Destination-scoped ids",
            "each destination receives HMAC ids under its own derived key, so "
            "two destinations cannot join their lists",
        ),
        (
            "Consent checks",
            "consent (or the absence of objection) is checked at ingestion, "
            "again when a pipeline runs and again when a destination pulls",
        ),
        (
            "Tamper-evident audit log",
            "every ingestion, rejection, consent change, pull, access, erasure "
            "and retention run is an event in an append-only RFC 6962 Merkle "
            "tree with Ed25519-signed C2SP checkpoints; events hold pseudonyms, "
            "never values",
        ),
        (
            "Access control",
            "API keys or OAuth2 client-credentials tokens; partners, "
            "destinations and the DPO act only within their grants",
        ),
    ]
    return [{"measure": m, "detail": d} for m, d in measures]


def build_register(policies: PolicySet) -> dict[str, Any]:
    """Build the Art. 30 record of processing activities from the policies.

    Args:
        policies: The loaded policies.

    Returns:
        One JSON-ready document: purposes, data subjects, data categories
        per dataset, recipients, retention and safeguards; what the policies
        do not state is marked `NOT_STATED`.
    """
    document: dict[str, Any] = {
        "register": REGISTER_FORMAT,
        "policy_version": policies.version,
        "controller": NOT_STATED,
        "data_protection_officer": NOT_STATED,
    }
    if policies.tcf is not None:
        document["tcf_vendor_id"] = policies.tcf.vendor_id
    document |= {
        "purposes": _purposes(policies),
        "data_subjects": _subjects(policies),
        "data_categories": _datasets(policies),
        "recipients": _recipients(policies),
        "profiling": _profiling(policies),
        "transfers_outside_eea": NOT_STATED,
        "retention": _retention(policies),
        "safeguards": _safeguards(policies),
    }
    return document
