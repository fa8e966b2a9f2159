"""Policies as code: load `policies/*.yaml` into strict, frozen models."""

from gateway.policy.loader import load_policies
from gateway.policy.models import (
    Audience,
    Dataset,
    FieldClass,
    FieldSpec,
    FieldType,
    Generalization,
    PolicyConstraintError,
    PolicySet,
    Purpose,
    TcfPolicy,
    UnknownPolicyName,
)

__all__ = [
    "Audience",
    "Dataset",
    "FieldClass",
    "FieldSpec",
    "FieldType",
    "Generalization",
    "PolicyConstraintError",
    "PolicySet",
    "Purpose",
    "TcfPolicy",
    "UnknownPolicyName",
    "load_policies",
]
