"""The kinds of identifier a subject can be known by, and their pseudonym namespaces."""

from dataclasses import dataclass

from gateway.policy.models import PolicySet


@dataclass(frozen=True, slots=True)
class IdentifierKind:
    """An identifier field as the policies declare it (e.g. email, global)."""

    name: str
    field_type: str
    scope: str
    max_length: int

    def namespace(self, client_id: str) -> str:
        """The HMAC namespace: a partner-scoped value means nothing across partners."""
        return f"{self.name}:{client_id}" if self.scope == "partner" else self.name


def identifier_kinds(policies: PolicySet) -> dict[str, IdentifierKind]:
    """Every identifier field of every dataset, by name.

    The policy loader has already checked that a name has one type and one
    scope across datasets, so the first declaration stands for all.
    """
    kinds: dict[str, IdentifierKind] = {}
    for dataset in policies.datasets.values():
        for name, spec in dataset.fields.items():
            if spec.field_class == "identifier" and name not in kinds:
                scope = spec.scope or "global"
                kinds[name] = IdentifierKind(name, spec.type, scope, spec.max_length)
    return kinds
