"""A record's per-field linkage encodings, packed into one blob and sealed at rest.

The encodings of `gateway.linkage.fields` are deterministic: one surname
always gives the same filter and the same hash. Stored as they are, a copy of
the records table (a dump, a backup, a replica) would let its holder count
how often each encoding occurs and align those counts with a public list of
name frequencies (`bench/linkage_attack.py` measures how well that works).
So they are stored sealed: packed into one blob and encrypted with AES-256-GCM
under a key derived from the linkage key, with a random nonce, the record id
bound as associated data. Equal encodings give unrelated ciphertexts; a blob
moved to another record does not open. Only a process holding the keyring
(ingestion, the backfill, the pipeline run) can open them, and the pipeline
keeps what it opens in memory for the length of the linkage stage.

Packed layout, version 4 (``WIDTH`` bytes): the version byte; a 24-bit
big-endian bitmap saying which of `COLUMNS` are present (bit 23 - i for
column i); each filter of `FILTER_COLUMNS` (``FieldSpec().bits // 8`` bytes,
zero when absent); each hash of `HASH_COLUMNS` (8 bytes, big-endian, zero
when absent). Sealed: a 12-byte nonce, then the ciphertext and its 16-byte
tag. Each earlier version is this one without the hashes added after it:
version 3 lacks the house number (`street_number_h`), version 2 also the two
names taken as a pair (`name_pair_h`), version 1 also the birth date's
sorted digits. Blobs stored before are still read, those parts missing, so
records keep linking as they did until a key rotation re-encodes them.
"""

import os
import struct
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from numpy.typing import NDArray

from gateway.errors import DecryptionError
from gateway.linkage.fields import (
    COLUMNS,
    FILTER_COLUMNS,
    HASH_COLUMNS,
    FieldSpec,
    field_key,
)

VERSION = 4
FILTER_BYTES = FieldSpec().bits // 8
_HEADER = 4
WIDTH = _HEADER + FILTER_BYTES * len(FILTER_COLUMNS) + 8 * len(HASH_COLUMNS)
# Each earlier layout: its width (it lacks the hashes added after it, which
# are appended to `HASH_COLUMNS`, so every other offset and bit is the same).
_WIDTHS = {1: WIDTH - 24, 2: WIDTH - 16, 3: WIDTH - 8, VERSION: WIDTH}
NONCE_BYTES = 12
SEALED_WIDTH = NONCE_BYTES + WIDTH + 16
_AAD = b"gateway.linkage.sealed/v1\x1f"
_HASHES = struct.Struct(f">{len(HASH_COLUMNS)}Q")
_BIT = {column: 1 << (23 - i) for i, column in enumerate(COLUMNS)}
_EMPTY = bytes(WIDTH)


def pack(encoded: Mapping[str, bytes | int | None]) -> bytes | None:
    """Pack one record's encodings; None when no column has a value.

    Raises:
        ValueError: A filter of the wrong length.
    """
    present = 0
    filters: list[bytes] = []
    for column in FILTER_COLUMNS:
        value = encoded.get(column)
        if value is None:
            filters.append(bytes(FILTER_BYTES))
            continue
        if not isinstance(value, bytes) or len(value) != FILTER_BYTES:
            raise ValueError(f"{column} must be {FILTER_BYTES} bytes")
        present |= _BIT[column]
        filters.append(value)
    hashes: list[int] = []
    for column in HASH_COLUMNS:
        value = encoded.get(column)
        if value is None:
            hashes.append(0)
            continue
        present |= _BIT[column]
        hashes.append(int(value))
    if not present:
        return None
    header = bytes((VERSION,)) + present.to_bytes(3, "big")
    return header + b"".join(filters) + _HASHES.pack(*hashes)


def _column_arrays(
    matrix: NDArray[np.uint8], present: NDArray[np.uint32]
) -> dict[str, pa.Array]:
    n = matrix.shape[0]
    arrays: dict[str, pa.Array] = {}
    offset = _HEADER
    for column in FILTER_COLUMNS:
        valid = (present & _BIT[column]) != 0
        block = np.ascontiguousarray(matrix[:, offset : offset + FILTER_BYTES])
        arrays[column] = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(FILTER_BYTES),
            n,
            [
                pa.py_buffer(np.packbits(valid, bitorder="little")),
                pa.py_buffer(block),
            ],
        )
        offset += FILTER_BYTES
    for column in HASH_COLUMNS:
        valid = (present & _BIT[column]) != 0
        block = np.ascontiguousarray(matrix[:, offset : offset + 8])
        values = block.view(">u8").ravel().astype(np.uint64)
        arrays[column] = pa.array(values, mask=~valid)
        offset += 8
    return arrays


def unpack_frame(
    record_ids: Sequence[str], packed: Sequence[bytes | None]
) -> pl.DataFrame:
    """``record_id`` and every column of `COLUMNS` from packed blobs (None: all null).

    Filters come out as Binary, hashes as UInt64, with nulls where a record
    had no value; the work is column-wise, not per record.

    Raises:
        ValueError: A blob of another length or layout version.
    """
    if len(record_ids) != len(packed):
        raise ValueError("one packed blob per record id")
    for blob in packed:
        if blob is not None and (not blob or _WIDTHS.get(blob[0]) != len(blob)):
            raise ValueError(f"packed encodings must be of version 1 to {VERSION}")
    # An older blob is padded to this layout: what it lacks reads as absent
    # (its bitmap never marks it).
    joined = b"".join(
        _EMPTY if blob is None else blob.ljust(WIDTH, b"\0") for blob in packed
    )
    matrix = np.frombuffer(joined, dtype=np.uint8).reshape(len(packed), WIDTH)
    head = matrix[:, 1:4].astype(np.uint32)
    present = (head[:, 0] << 16) | (head[:, 1] << 8) | head[:, 2]
    arrays = _column_arrays(matrix, present)
    frame = pl.DataFrame({"record_id": pl.Series(list(record_ids), dtype=pl.String)})
    return frame.with_columns(
        [
            pl.Series(column, pl.from_arrow(array)).cast(
                pl.Binary if column in FILTER_COLUMNS else pl.UInt64
            )
            for column, array in arrays.items()
        ]
    )


class Sealer:
    """Seals and opens packed encodings under one linkage key."""

    __slots__ = ("_aead", "kid")

    def __init__(self, kid: str, linkage_key: bytes) -> None:
        self.kid = kid
        self._aead = AESGCM(field_key(linkage_key, "seal"))

    def __repr__(self) -> str:
        return f"Sealer(kid={self.kid!r})"

    def seal(self, record_id: str, packed: bytes) -> bytes:
        """Encrypt one record's packed encodings, bound to its id."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, packed, _AAD + record_id.encode())

    def open(self, record_id: str, sealed: bytes) -> bytes:
        """Decrypt what `seal` made for this record.

        Raises:
            DecryptionError: Another key, another record, or altered bytes.
        """
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, _AAD + record_id.encode())
        except (InvalidTag, ValueError) as err:
            raise DecryptionError(
                "linkage encodings do not open under this key for this record"
            ) from err
