"""The linkage encodings the gateway stores with a record, under the active linkage key.

Which fields are encoded is the dataset policy's to say: a profile field
declares the linkage role it plays (`LINKAGE_ROLES`), and only fields whose
class keeps their clear value from the pipelines (direct personal data,
quasi-identifiers) may. The encodings are made from the normalized clear
values, packed, and sealed per record (`gateway.linkage.sealed`).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.crypto.keyring import Key, KeyPurpose
from gateway.errors import KeyringError
from gateway.linkage.fields import FieldEncoder
from gateway.linkage.sealed import Sealer, pack
from gateway.policy.datasets import Dataset
from gateway.policy.segmentation import LINKAGE_ROLES, field_roles

# Field classes whose values may feed linkage: the pipelines never see them,
# only their keyed encodings.
_LINKABLE_CLASSES = frozenset({"direct_pii", "quasi_identifier"})

NO_ENCODING: dict[str, Any] = {"link_fields": None, "linkage_kid": None}


def linkage_fields(dataset: Dataset) -> dict[str, str]:
    """Map each linkage role a dataset declares to the field that plays it."""
    return {
        role: name
        for role, name in field_roles(dataset).items()
        if role in LINKAGE_ROLES
        and dataset.fields[name].field_class in _LINKABLE_CLASSES
    }


def linkage_values(
    roles: Mapping[str, str], values: Mapping[str, Any]
) -> dict[str, str | None]:
    """A record's clear linkage values by role, from its values by field name.

    As text, as the vault keeps them (`transform` stores `str(value)`), so
    that a record encoded at ingestion and one re-encoded from its vault
    entry (the backfill) give the same encodings.
    """
    return {
        role: None if (value := values.get(name)) is None else str(value)
        for role, name in roles.items()
    }


class LinkageEncoder:
    """Packed per-field encodings under one linkage key, and their sealing."""

    __slots__ = ("_fields", "_sealer", "kid")

    def __init__(self, key: Key) -> None:
        if key.purpose != KeyPurpose.LINKAGE:
            raise KeyringError("linkage encodings need the linkage key")
        self.kid = key.kid
        self._fields = FieldEncoder(key.material)
        self._sealer = Sealer(key.kid, key.material)

    def __repr__(self) -> str:
        return f"LinkageEncoder(kid={self.kid!r})"

    def encode_many(
        self, records: Sequence[Mapping[str, str | None]]
    ) -> list[bytes | None]:
        """The packed encodings of records' linkage values by role (None: nothing)."""
        return [pack(self._fields(record)) for record in records]

    def columns(self, record_id: str, packed: bytes | None) -> dict[str, Any]:
        """The record row's linkage columns: its sealed encodings and the key id.

        A record with nothing to encode still gets the key id, so that the
        backfill does not look at it again.
        """
        sealed = None if packed is None else self._sealer.seal(record_id, packed)
        return {"link_fields": sealed, "linkage_kid": self.kid}
