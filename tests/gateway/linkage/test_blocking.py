import re

import pytest

from gateway.linkage import BlockingSpec, BlockKeyer, block_keys, phonetic
from tests.factories import JEAN

KEY = bytes(range(32))


@pytest.mark.parametrize(
    ("names", "code"),
    [
        (("Dupont", "Dupond", "Dupon"), "D150"),
        (("Renault", "Renaud", "Renaut"), "R500"),
        (("Perrault", "Perraud", "Perrot"), "P600"),
        (("Philippe", "Filip"), "F410"),
        (("Lefèvre", "Lefebvre", "Lefeuvre"), "L116"),
        (("Cathy", "Kathy"), "K300"),
        (("Georges", "Jorge"), "J620"),
        (("Gauthier", "Gautier"), "G360"),
        (("Smith", "Smyth"), "S500"),
        (("Laurent", "Lorent"), "L650"),
        (("Jean-Luc", "jean luc"), "J542"),
    ],
)
def test_phonetic_merges_spellings_of_one_name(
    names: tuple[str, ...], code: str
) -> None:
    assert {phonetic(name) for name in names} == {code}


def test_phonetic_keeps_different_names_apart() -> None:
    assert len({phonetic(n) for n in ("Martin", "Dubois", "Bernard", "Petit")}) == 4
    assert phonetic("") == phonetic("123") == ""


def test_keys_are_short_hex_and_deterministic() -> None:
    keys = block_keys(KEY, JEAN)
    assert len(keys) == 6
    assert all(re.fullmatch(r"[0-9a-f]{16}", key) for key in keys)
    assert BlockKeyer(KEY)(dict(JEAN)) == keys


def test_keys_survive_a_typo_in_the_first_name() -> None:
    typo = JEAN | {"first_name": "Hean"}  # changes the phonetic code too
    shared = set(block_keys(KEY, JEAN)) & set(block_keys(KEY, typo))
    assert 2 <= len(shared) < 6


@pytest.mark.parametrize(
    "change",
    [
        {"last_name": "Nartin"},
        {"birth_date": "1958-03-02"},
        {"postal_code": "57011"},
        {"first_name": "Martin", "last_name": "Jean"},  # swapped
    ],
)
def test_keys_survive_one_damaged_field(change: dict[str, str]) -> None:
    assert set(block_keys(KEY, JEAN)) & set(block_keys(KEY, JEAN | change))


def test_another_key_gives_other_block_keys() -> None:
    assert not set(block_keys(KEY, JEAN)) & set(block_keys(bytes(32), JEAN))


def test_missing_parts_drop_only_their_keys() -> None:
    assert len(block_keys(KEY, JEAN | {"birth_date": None})) == 3
    assert block_keys(KEY, {"city": "Paris"}) == []


def test_postal_prefix_length_is_a_setting() -> None:
    jean = JEAN | {"birth_date": None}
    near = jean | {"postal_code": "75120"}

    def shared(spec: BlockingSpec) -> int:
        return len(set(block_keys(KEY, jean, spec)) & set(block_keys(KEY, near, spec)))

    # Both names with the postal prefix, and the pair of names.
    assert shared(BlockingSpec(postal_prefix=2)) == 3
    assert shared(BlockingSpec(postal_prefix=3)) == 1


def test_rejects_a_short_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        block_keys(b"short", JEAN)
