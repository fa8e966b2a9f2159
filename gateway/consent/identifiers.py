"""The kinds of identifier a subject can be known by, and their pseudonym namespaces."""

from dataclasses import dataclass

from gateway.errors import PolicyError
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
    """Every identifier field of every dataset; one name must mean one thing."""
    kinds: dict[str, IdentifierKind] = {}
    for dataset in policies.datasets.values():
        for name, spec in dataset.fields.items():
            if spec.field_class != "identifier":
                continue
            kind = IdentifierKind(
                name, spec.type, spec.scope or "global", spec.max_length
            )
            known = kinds.setdefault(name, kind)
            if (known.field_type, known.scope) != (kind.field_type, kind.scope):
                raise PolicyError(
                    f"datasets/{dataset.name}.yaml: fields.{name}: identifier declared "
                    "with another type or scope in another dataset"
                )
    return kinds
