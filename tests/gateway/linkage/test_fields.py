import hashlib
import hmac

import polars as pl
import pytest

from gateway.linkage.fields import (
    COLUMNS,
    FILTER_COLUMNS,
    HASH_COLUMNS,
    FieldEncoder,
    FieldSpec,
    derived_parts,
    dice,
    encoded_frame,
    field_key,
    keyed_permutation,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
ALICE = {
    "first_name": "Christopher",
    "last_name": "Montgomery",
    "street": "42 wattle avenue",
    "city": "Kingston",
    "postal_code": "2604",
    "birth_date": "1984-05-17",
}
PINNED_DIGEST = "c2310404fd0bbba36da84e73261311489ad25db34726e7c1bd6906c2756d4548"


def test_same_value_gives_the_same_encoding() -> None:
    first = FieldEncoder(KEY)(ALICE)
    again = FieldEncoder(KEY)(dict(ALICE))
    assert first == again
    assert set(first) == set(COLUMNS)
    for column in FILTER_COLUMNS:
        assert isinstance(first[column], bytes)
        assert len(first[column]) == FieldSpec().bits // 8
    for column in HASH_COLUMNS:
        assert isinstance(first[column], int)
        assert 0 <= first[column] < 2**64


def test_encoding_is_pinned() -> None:
    # Stored encodings must keep matching new ones: a change to folding,
    # bigrams, key derivation or hashing is a migration, and shows up here.
    # The sorted birth digits (sealed layout 2), the names as a pair
    # (layout 3) and the house number (layout 4) came later: the columns
    # before them are pinned as they were, so stored encodings still match.
    encoded = FieldEncoder(KEY)(ALICE)
    digest = hashlib.sha256()
    for column in COLUMNS:
        if column in ("birth_digits_h", "name_pair_h", "street_number_h"):
            continue
        value = encoded[column]
        digest.update(value if isinstance(value, bytes) else str(value).encode())
    assert digest.hexdigest() == PINNED_DIGEST


def test_the_name_pair_is_the_same_either_way_round() -> None:
    swapped = {
        **ALICE,
        "first_name": ALICE["last_name"],
        "last_name": ALICE["first_name"],
    }
    encode = FieldEncoder(KEY)
    assert encode(swapped)["name_pair_h"] == encode(ALICE)["name_pair_h"]
    assert encode(swapped)["first_name_h"] != encode(ALICE)["first_name_h"]
    # Folded like each name (case and accents do not matter), and absent
    # unless both names are there.
    shouting = {**swapped, "first_name": str(swapped["first_name"]).upper()}
    assert encode(shouting)["name_pair_h"] == encode(ALICE)["name_pair_h"]
    assert encode({**ALICE, "first_name": None})["name_pair_h"] is None
    # Its own key: not the hash any single field would give.
    joined = "\x1f".join(sorted(["christopher", "montgomery"]))
    digest = hmac.digest(
        field_key(KEY, "hash/name_pair_h"), joined.encode(), hashlib.sha256
    )
    assert encode(ALICE)["name_pair_h"] == int.from_bytes(digest[:8], "big")


def test_known_answer_for_a_hashed_part() -> None:
    # The last name's hash is HMAC-SHA256 of the folded value under its own
    # HKDF-derived key, its first 64 bits read big-endian: computed here
    # independently.
    digest = hmac.digest(
        field_key(KEY, "hash/last_name_h"), b"montgomery", hashlib.sha256
    )
    expected = int.from_bytes(digest[:8], "big")
    assert FieldEncoder(KEY)(ALICE)["last_name_h"] == expected


def test_known_answer_for_a_filter() -> None:
    # Computed here bit by bit: bigram positions from HMAC words, then each
    # bit XORed with the bits 1 and 3 places on round the ring, then the
    # field's keyed permutation.
    spec = FieldSpec(bits=64, hashes=2)
    key = field_key(KEY, "bloom/city")
    plain = [0] * 64
    for gram in ("_a", "ab", "b_"):
        digest = hmac.digest(key, gram.encode(), hashlib.sha256)
        for i in range(2):
            plain[int.from_bytes(digest[2 * i : 2 * i + 2], "big") % 64] = 1
    mixed = [plain[p] ^ plain[(p + 1) % 64] ^ plain[(p + 3) % 64] for p in range(64)]
    order = keyed_permutation(field_key(KEY, "diffusion/city"), 64)
    out = [mixed[order[j]] for j in range(64)]
    expected = int("".join(map(str, out)), 2).to_bytes(8, "big")
    assert FieldEncoder(KEY, spec).bloom("city", "AB") == expected


def test_keyed_permutation_is_a_permutation_that_depends_on_the_key() -> None:
    first = keyed_permutation(KEY, 512)
    assert sorted(first.tolist()) == list(range(512))
    assert first.tolist() != keyed_permutation(OTHER_KEY, 512).tolist()
    assert first.tolist() == keyed_permutation(KEY, 512).tolist()


def test_without_diffusion_only_the_permutation_is_left() -> None:
    plain = FieldEncoder(KEY, FieldSpec(diffusion=1)).bloom("last_name", "martin")
    mixed = FieldEncoder(KEY).bloom("last_name", "martin")
    assert plain is not None
    assert mixed is not None
    # Mixing three bits sets more of them: about twice the density.
    ones = int.from_bytes(plain, "big").bit_count()
    assert int.from_bytes(mixed, "big").bit_count() > 1.5 * ones


def test_folding_makes_case_and_accents_equal() -> None:
    encode = FieldEncoder(KEY)
    assert encode({"first_name": "Éloïse"}) == encode({"first_name": "eloise"})


@pytest.mark.parametrize(
    ("field", "value", "typo"),
    [
        ("first_name", "christopher", "christophor"),
        ("last_name", "montgomery", "montgomary"),
        ("street", "42 wattle avenue", "42 wattle avenoe"),
        ("city", "queanbeyan", "queenbeyan"),
    ],
)
def test_a_one_letter_typo_keeps_a_high_dice(field: str, value: str, typo: str) -> None:
    encode = FieldEncoder(KEY)
    a, b = encode.bloom(field, value), encode.bloom(field, typo)
    assert a is not None
    assert b is not None
    assert a != b
    assert dice(a, b) >= 0.75


def test_different_names_have_a_low_dice() -> None:
    encode = FieldEncoder(KEY)
    a, b = encode.bloom("last_name", "montgomery"), encode.bloom("last_name", "nguyen")
    assert a is not None
    assert b is not None
    # About the density of the filters (a third of the bits after mixing).
    assert dice(a, b) < 0.45


def test_another_key_gives_unrelated_filters_and_hashes() -> None:
    mine, theirs = FieldEncoder(KEY)(ALICE), FieldEncoder(OTHER_KEY)(ALICE)
    for column in FILTER_COLUMNS:
        a, b = mine[column], theirs[column]
        assert isinstance(a, bytes)
        assert isinstance(b, bytes)
        # No better than chance: the overlap two random filters of these
        # densities would have, with a wide margin.
        assert dice(a, b) < 0.5
    for column in HASH_COLUMNS:
        assert mine[column] != theirs[column]


def test_the_same_value_in_two_fields_gives_unrelated_bits() -> None:
    encode = FieldEncoder(KEY)
    first = encode.bloom("first_name", "martin")
    last = encode.bloom("last_name", "martin")
    assert first is not None
    assert last is not None
    assert dice(first, last) < 0.5
    # Month and day "05": equal plaintext, unrelated hashes.
    coded = encode({"birth_date": "2001-05-05"})
    assert coded["birth_month_h"] != coded["birth_day_h"]
    swapped = encode({"first_name": "martin", "last_name": "martin"})
    assert swapped["first_name_h"] != swapped["last_name_h"]


def test_derived_parts() -> None:
    parts = derived_parts(ALICE)
    assert parts["first_name_p3_h"] == "chr"
    assert parts["last_name_ph_h"] == "M532"
    assert parts["postal_code_p3_h"] == "260"
    assert (parts["birth_year_h"], parts["birth_month_h"], parts["birth_day_h"]) == (
        "1984",
        "05",
        "17",
    )


def test_a_transposed_date_keeps_its_sorted_digits() -> None:
    def digits(date: str) -> str | None:
        return derived_parts({"birth_date": date})["birth_digits_h"]

    assert digits("1970-11-18") == digits("1971-01-18") == "01111789"
    assert digits("1984-05-17") == digits("1948-05-17")
    assert digits("1984-05-17") != digits("1984-05-18")
    assert digits("17/05/1984") is None


@pytest.mark.parametrize(
    ("street", "number"),
    [
        ("225 smith shoals", "225"),
        ("225 smiht shoals", "225"),  # the street mistyped, the number kept
        ("12 bis rue des lilas", "12"),
        ("Appartement 4, 12 rue des lilas", "4"),  # the first number
        ("007 bond street", "7"),  # leading zeros are no difference
        ("0 rue des lilas", "0"),
        ("9" * 5000 + " rue des lilas", "9" * 5000),  # no int() limit
        ("rue des lilas", None),
        (None, None),
    ],
)
def test_the_house_number_is_the_streets_first_number(
    street: str | None, number: str | None
) -> None:
    assert derived_parts({"street": street})["street_number_h"] == number


def test_the_house_number_has_a_key_of_its_own() -> None:
    digest = hmac.digest(field_key(KEY, "hash/street_number_h"), b"42", hashlib.sha256)
    assert FieldEncoder(KEY)(ALICE)["street_number_h"] == int.from_bytes(
        digest[:8], "big"
    )


def test_missing_or_unusable_values_give_none() -> None:
    coded = FieldEncoder(KEY)({"first_name": "  ", "birth_date": "17/05/1984"})
    assert all(value is None for value in coded.values())


def test_encoded_frame_holds_no_plaintext() -> None:
    frame = encoded_frame([{"record_id": "r1", **ALICE}], KEY)
    assert frame.columns == ["record_id", *COLUMNS]
    assert frame.schema["first_name_bf"] == pl.Binary
    text = " ".join(str(v) for v in frame.row(0)).lower()
    for value in ("christopher", "montgomery", "wattle", "kingston", "2604", "1984"):
        assert value not in text


def test_spec_and_key_are_checked() -> None:
    with pytest.raises(ValueError, match="power of two"):
        FieldSpec(bits=500)
    with pytest.raises(ValueError, match="hashes"):
        FieldSpec(hashes=17)
    with pytest.raises(ValueError, match="32 bytes"):
        FieldEncoder(b"short")
    assert "spec" in repr(FieldEncoder(KEY))
