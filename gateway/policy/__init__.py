"""Policies as code: load `policies/*.yaml` into strict, frozen models."""

from gateway.policy.audiences import Audience
from gateway.policy.constraints import PolicyConstraintError
from gateway.policy.datasets import (
    Dataset,
    FieldClass,
    FieldSpec,
    FieldType,
    Generalization,
)
from gateway.policy.loader import load_policies
from gateway.policy.models import PolicySet, UnknownPolicyName
from gateway.policy.purposes import Purpose, TcfPolicy

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
