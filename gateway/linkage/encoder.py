"""The encodings the gateway stores with a record, under the active linkage key."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.crypto.keyring import Key, KeyPurpose
from gateway.errors import KeyringError
from gateway.linkage.blocking import BlockKeyer
from gateway.linkage.clk import FIELDS, ClkEncoder
from gateway.policy.models import Dataset

# Field classes whose values may feed linkage: the pipelines never see them,
# only their keyed encodings.
_LINKABLE_CLASSES = frozenset({"direct_pii", "quasi_identifier"})


@dataclass(frozen=True, slots=True)
class Encoding:
    """A record's linkage columns: a CLK and block keys, with the key's id."""

    clk: bytes
    block_keys: list[str]
    kid: str

    def columns(self) -> dict[str, Any]:
        """The record row's linkage columns."""
        return {"clk": self.clk, "block_keys": self.block_keys, "linkage_kid": self.kid}


NO_ENCODING: dict[str, Any] = {"clk": None, "block_keys": None, "linkage_kid": None}


def linkage_fields(dataset: Dataset) -> tuple[str, ...]:
    """The fields of a dataset that its linkage encodings are made from."""
    return tuple(
        name
        for name in FIELDS
        if name in dataset.fields
        and dataset.fields[name].field_class in _LINKABLE_CLASSES
    )


class LinkageEncoder:
    """CLKs and block keys under one linkage key, for batches of records."""

    __slots__ = ("_clk", "_blocks", "kid")

    def __init__(self, key: Key) -> None:
        if key.purpose != KeyPurpose.LINKAGE:
            raise KeyringError("linkage encodings need the linkage key")
        self.kid = key.kid
        self._clk = ClkEncoder(key.material)
        self._blocks = BlockKeyer(key.material)

    def __repr__(self) -> str:
        return f"LinkageEncoder(kid={self.kid!r})"

    def encode_many(
        self, records: Sequence[Mapping[str, str | None]]
    ) -> list[Encoding]:
        """The encodings of many records' normalized linkage fields."""
        clks = self._clk.encode_many(records)
        return [
            Encoding(clk, self._blocks(fields), self.kid)
            for clk, fields in zip(clks, records, strict=True)
        ]
