"""Packed per-field encodings: the layout, the column-wise unpacking, the sealing."""

import polars as pl
import pytest

from gateway.errors import DecryptionError
from gateway.linkage.fields import COLUMNS, FILTER_COLUMNS, HASH_COLUMNS, FieldEncoder
from gateway.linkage.sealed import (
    SEALED_WIDTH,
    VERSION,
    WIDTH,
    Sealer,
    pack,
    unpack_frame,
)

KEY = bytes(range(32))
ALICE = {
    "first_name": "alice",
    "last_name": "montgomery",
    "street": "12 rue des lilas",
    "city": "lyon",
    "postal_code": "69003",
    "birth_date": "1984-03-07",
}


def test_pack_then_unpack_gives_every_column_back() -> None:
    encoded = FieldEncoder(KEY)(ALICE)
    packed = pack(encoded)
    assert packed is not None
    assert len(packed) == WIDTH
    assert packed[0] == VERSION
    row = unpack_frame(["r1"], [packed]).row(0, named=True)
    assert row == {"record_id": "r1", **encoded}


def test_missing_values_come_back_null_and_nothing_packs_to_none() -> None:
    encoded = FieldEncoder(KEY)({"last_name": "martin"})
    frame = unpack_frame(["r1", "r2"], [pack(encoded), None])
    first, second = frame.iter_rows(named=True)
    assert first["last_name_bf"] == encoded["last_name_bf"]
    assert first["last_name_h"] == encoded["last_name_h"]
    assert first["first_name_bf"] is None
    assert first["birth_year_h"] is None
    assert all(second[c] is None for c in COLUMNS)
    assert pack(FieldEncoder(KEY)({})) is None


def test_unpacked_types_are_binary_filters_and_integer_hashes() -> None:
    frame = unpack_frame(["r1"], [pack(FieldEncoder(KEY)(ALICE))])
    assert all(frame.schema[c] == pl.Binary for c in FILTER_COLUMNS)
    assert all(frame.schema[c] == pl.UInt64 for c in HASH_COLUMNS)


def test_a_hash_with_the_top_bit_set_survives() -> None:
    encoded = dict(FieldEncoder(KEY)(ALICE))
    encoded["city_h"] = 2**64 - 1
    row = unpack_frame(["r"], [pack(encoded)]).row(0, named=True)
    assert row["city_h"] == 2**64 - 1


def test_unpack_refuses_another_layout() -> None:
    packed = pack(FieldEncoder(KEY)(ALICE))
    assert packed is not None
    with pytest.raises(ValueError, match="version"):
        unpack_frame(["r"], [packed[:-1]])
    with pytest.raises(ValueError, match="version"):
        unpack_frame(["r"], [bytes((VERSION + 1,)) + packed[1:]])
    with pytest.raises(ValueError, match="one packed"):
        unpack_frame(["r", "s"], [packed])


@pytest.mark.parametrize(
    ("version", "later"),
    [
        (1, ("birth_digits_h", "name_pair_h", "street_number_h")),
        (2, ("name_pair_h", "street_number_h")),
        (3, ("street_number_h",)),
    ],
)
def test_a_blob_of_an_earlier_layout_is_still_read(
    version: int, later: tuple[str, ...]
) -> None:
    """Blobs stored before a hash was added read without it, the rest unchanged."""
    encoded = FieldEncoder(KEY)(ALICE)
    packed = pack(encoded)
    assert packed is not None
    bitmap = int.from_bytes(packed[1:4], "big")
    for column in later:
        bitmap &= ~(1 << (23 - COLUMNS.index(column)))
    width = len(packed) - 8 * len(later)
    older = bytes((version,)) + bitmap.to_bytes(3, "big") + packed[4:width]
    row = unpack_frame(["r"], [older]).row(0, named=True)
    assert all(row[c] is None for c in later)
    assert {c: row[c] for c in COLUMNS if c not in later} == {
        c: encoded[c] for c in COLUMNS if c not in later
    }
    with pytest.raises(ValueError, match="version"):
        unpack_frame(["r"], [bytes((version,)) + packed[1:]])  # old version, new width


def test_pack_refuses_a_filter_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="first_name_bf"):
        pack({"first_name_bf": b"\x01"})


def test_sealing_hides_equality_and_binds_the_record() -> None:
    packed = pack(FieldEncoder(KEY)(ALICE))
    assert packed is not None
    sealer = Sealer("0a0b0c0d", KEY)
    one, two = sealer.seal("r1", packed), sealer.seal("r2", packed)
    assert len(one) == SEALED_WIDTH
    # The same encodings sealed twice share nothing a holder could count.
    assert one != sealer.seal("r1", packed)
    assert one[12:] != two[12:]
    assert sealer.open("r1", one) == packed
    with pytest.raises(DecryptionError):
        sealer.open("r2", one)  # moved to another record
    with pytest.raises(DecryptionError):
        Sealer("0a0b0c0d", bytes(32)).open("r1", one)  # another key
    altered = one[:-1] + bytes((one[-1] ^ 1,))
    with pytest.raises(DecryptionError):
        sealer.open("r1", altered)
    assert "0a0b0c0d" in repr(sealer)
    assert KEY.hex() not in repr(sealer)
