"""Comparison levels, blocking rules and Splink settings of `pipelines.fs_link`.

What each field's levels are (most to least specific), the same-address
copies of some levels for housemates (`with_home_levels`), and the rules
that make candidate pairs. Pure: dictionaries in Splink's settings format,
SQL over the columns of `pipelines.fs_table`.
"""

import itertools
from typing import Any

from pipelines.fs_table import NEW_FLAG, RARER_FIELDS, count_column, dice_sql

_NAMES = ("first_name", "last_name")


RARER = ", one far rarer"


_RARITY = 10  # how many times rarer one value must be (`_split_by_rarity`)


LOOSE = "dice>=0.5"  # a name's loosest similarity level (`_text_comparison`)
# A street within a typo, in one postcode or city, at the same house number.
SAME_NUMBER = "street~0.7+number+area"


def _level(sql: str, label: str, *, null: bool = False) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    return level


def _else() -> dict[str, Any]:
    return _level("ELSE", "else")


def _text_comparison(
    field: str, *, rarer: bool = False, loose: bool = True, swapped: bool = True
) -> dict[str, Any]:
    bf, h = f"{field}_bf", f"{field}_h"
    differ = [
        _level(f"{dice_sql(bf)} >= 0.9", "dice>=0.9"),
        _level(f"{dice_sql(bf)} >= 0.7", "dice>=0.7"),
    ]
    if field in _NAMES:
        ph = f"{field}_ph_h"
        differ.append(_level(f"{ph}_l = {ph}_r", "phonetic"))
        if loose:
            # One letter changed in a short name ("dazid" / "david") leaves
            # about two thirds of the bigrams: without this level such a
            # typo fell to "else", with the surname of one housemate and
            # the birth date of another.
            differ.append(_level(f"{dice_sql(bf)} >= 0.5", LOOSE))
    differ.append(_else())
    if rarer and field in RARER_FIELDS:
        differ = [lv for level in differ for lv in _split_by_rarity(field, level)]
    return {
        "output_column_name": field,
        "comparison_levels": [
            _level(f"{bf}_l IS NULL OR {bf}_r IS NULL", "null", null=True),
            _exact(h, tf=field in _NAMES),
            *([_swapped()] if swapped and field == "first_name" else []),
            *differ,
        ],
    }


SWAPPED = "swapped with the surname"


def _swapped() -> dict[str, Any]:
    """The first name is the other record's surname and the surname its first name.

    On the first name only: the pair of names agrees once, and counting it
    again on the surname would take one swap for two pieces of evidence (on
    FEBRL 2 a "blake mason" and a "mason blake" of different towns, birth
    dates and identifiers were linked). The surname of such a pair falls to
    its own levels, as any surname that differs. Exact is tested first, so
    this level holds only when the names differ.
    """
    return _level("name_pair_h_l = name_pair_h_r", SWAPPED)


def _split_by_rarity(field: str, level: dict[str, Any]) -> list[dict[str, Any]]:
    """The level for pairs where one value looks like a misspelling, then the level.

    A misspelling scatters: the mistyped value is far rarer in the data
    than the value it misspells ("jhon" against "john"), while two people's
    different names are both established ("jenna" and "jenny", twins). One
    value is taken for a misspelling when it is ten times rarer than the
    other, or seen once against a value seen more often: a typo of a rare
    name ("kirsten", three records, against "kirstin", one) is not ten
    times rarer, but it is unique, which a real name seldom is (on the
    namesake population's pairs of one family at one address born the same
    day, similar names not ten times apart were typos in 117 of 120 pairs
    with a singleton and in 14 of 40 without one: seeds 1, 3 and 4). How
    much rarer is a fact of the data (the records with each keyed hash),
    and EM weighs it: m and u of each half are learned like any level's.
    """
    n = count_column(field)
    rare = (
        f"(least({n}_l, {n}_r) * {_RARITY} < greatest({n}_l, {n}_r) "
        f"OR (least({n}_l, {n}_r) = 1 AND greatest({n}_l, {n}_r) > 1))"
    )
    cond = level["sql_condition"]
    split = _level(
        rare if cond == "ELSE" else f"({cond}) AND {rare}",
        level["label_for_charts"] + RARER,
    )
    return [split, level]


def _exact(column: str, *, tf: bool) -> dict[str, Any]:
    level = _level(f"{column}_l = {column}_r", "exact")
    if tf:
        # Equal keyed hashes mean equal values, so the hash's frequency is
        # the name's: "smith" = "smith" is weaker evidence than a rare name.
        level["tf_adjustment_column"] = column
        level["tf_adjustment_weight"] = 1.0
    return level


def _address_comparison(*, number: bool = True) -> dict[str, Any]:
    """Street, city and postcode as one comparison.

    Two records at one street and postcode almost always share the city,
    and street agreement mostly implies postcode agreement: as three
    comparisons the model would count one fact (same address) up to three
    times, which merges members of one household.
    """
    street, pc, city = "street_h", "postal_code_h", "city_h"
    s_ex, pc_ex = f"{street}_l = {street}_r", f"{pc}_l = {pc}_r"
    c_ex = f"{city}_l = {city}_r"
    area = f"({pc_ex} OR {c_ex})"
    null = " AND ".join(
        f"({c}_l IS NULL OR {c}_r IS NULL)" for c in ("street_bf", pc, "city_bf")
    )
    # A mistyped street name at the same house number, before the levels a
    # neighbour's address on the same street reaches too.
    typo_at_number = _level(
        f"{dice_sql('street_bf')} >= 0.7 AND {area} AND "
        "street_number_h_l = street_number_h_r",
        SAME_NUMBER,
    )
    return {
        "output_column_name": "address",
        "comparison_levels": [
            _level(null, "null", null=True),
            _level(f"{s_ex} AND {pc_ex}", "street+postcode"),
            _level(s_ex, "street"),
            *([typo_at_number] if number else []),
            _level(f"{dice_sql('street_bf')} >= 0.9 AND {area}", "street~0.9+area"),
            _level(f"{dice_sql('street_bf')} >= 0.7 AND {area}", "street~0.7+area"),
            _level(f"{dice_sql('street_bf')} >= 0.9", "street~0.9"),
            _level(pc_ex, "postcode"),
            _level(f"{c_ex} OR {dice_sql('city_bf')} >= 0.85", "city"),
            _level("postal_code_p3_h_l = postal_code_p3_h_r", "postcode prefix"),
            _else(),
        ],
    }


def _birth_comparison() -> dict[str, Any]:
    def same(*parts: str) -> str:
        return " AND ".join(f"birth_{p}_h_l = birth_{p}_h_r" for p in parts)

    return {
        "output_column_name": "birth_date",
        "comparison_levels": [
            _level(
                "birth_date_h_l IS NULL OR birth_date_h_r IS NULL", "null", null=True
            ),
            _level("birth_date_h_l = birth_date_h_r", "exact"),
            _level(same("year", "month"), "year+month"),
            _level(same("month", "day"), "month+day"),
            _level(same("digits"), "same digits"),
            _level(same("year"), "year"),
            _level(same("decade"), "decade"),
            _else(),
        ],
    }


def _identifier_comparison(column: str) -> dict[str, Any]:
    return {
        "output_column_name": column,
        "comparison_levels": [
            _level(f"{column}_l IS NULL OR {column}_r IS NULL", "null", null=True),
            _level(f"{column}_l = {column}_r", "exact"),
            _else(),
        ],
    }


# Candidate pairs. A true pair nearly always agrees on two of five things:
# the first name's first three letters, the surname's, the birth date, the
# postcode, the street; so each pair of these is a rule (each small at a
# million records: a few hundred thousand pairs), the two names together
# only within a birth decade, a phonetic code or a town (the commonest names
# would otherwise make tens of millions of pairs). A few cheap rules on
# coarser parts catch pairs with errors in three of the five. At 1.2 million
# records with US name frequencies they give about 17 million candidate
# pairs (the rules before, one per name prefix and birth year, gave 280
# million); on FEBRL 2 and 3 they hold 97.6 % and 96.1 % of the true pairs,
# 99.5 % with the e-mail rule (bench/dedupe.py's data; measured with a
# throwaway count, figures in the README).
_TWO_OF = (
    "first_name_p3_h",
    "last_name_p3_h",
    "birth_date_h",
    "postal_code_h",
    "street_h",
)


BLOCKING_ON_PARTS: tuple[tuple[str, ...], ...] = (
    *(
        pair
        for pair in itertools.combinations(_TWO_OF, 2)
        if pair != ("first_name_p3_h", "last_name_p3_h")
    ),
    ("first_name_p3_h", "last_name_p3_h", "birth_decade_h"),
    ("first_name_ph_h", "last_name_ph_h", "birth_decade_h"),
    ("first_name_p3_h", "last_name_p3_h", "birth_digits_h"),
    ("first_name_p3_h", "last_name_p3_h", "city_h"),
    ("birth_date_h", "postal_code_p3_h"),
    ("last_name_ph_h", "postal_code_h"),
    ("first_name_ph_h", "postal_code_h"),
    ("street_h", "birth_month_h"),
    ("birth_year_h", "postal_code_h"),
    ("street_h", "city_h"),
    ("birth_year_h", "birth_month_h", "postal_code_p3_h"),
    ("last_name_h", "postal_code_p3_h"),
    # Swapped first and last names, which no rule on one name's parts meets.
    ("name_pair_h", "birth_decade_h"),
)


def splink_settings(
    ids: tuple[str, ...],
    new: str | None = None,
    *,
    homes: frozenset[str] = frozenset(),
    rarer: bool = True,
    loose: bool = True,
    swapped: bool = True,
    number: bool = True,
) -> dict[str, Any]:
    """Splink settings: comparisons and blocking rules, no m or u yet.

    `ids`: identifier columns present; `new`: only pairs with a new record;
    `homes`: comparisons that get same-address levels; `rarer`, `loose`,
    `swapped` and `number`: whether the name levels split by rarity, have a
    "dice>=0.5" level and a level for swapped names, and whether the
    address has a level for a mistyped street at the same house number (a
    stored model decides, so it scores as it did).
    """
    blocking = [*(list(rule) for rule in BLOCKING_ON_PARTS), *([c] for c in ids)]
    # Incremental: only pairs with a new record on at least one side.
    only_new = f" AND (l.{NEW_FLAG} OR r.{NEW_FLAG})" if new is not None else ""
    comparisons = [
        _text_comparison("first_name", rarer=rarer, loose=loose, swapped=swapped),
        _text_comparison("last_name", rarer=rarer, loose=loose),
        _address_comparison(number=number),
        _birth_comparison(),
        *(_identifier_comparison(c) for c in ids),
    ]
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": [
            with_home_levels(c, loose=loose) if c["output_column_name"] in homes else c
            for c in comparisons
        ],
        "blocking_rules_to_generate_predictions": [
            _rule(cols) + only_new for cols in blocking
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def _rule(columns: list[str]) -> str:
    return " AND ".join(f"l.{c} = r.{c}" for c in columns)


# Same household: one street (or a typo away: Dice at least 0.7, as the address
# comparison's "street~0.7+area" level) in one postcode or city (the postcode may be
# missing on one side). Within it, people share a surname, sometimes a birth date
# (twins) or a first name (father and son), far more often than two random people: the u
# of those comparisons is re-estimated on pairs at one street and postcode
# (`pipelines.fs_household.with_household`) and used for all such pairs. Bigram Dice
# cannot always tell a typo from another house number ("217 daniel summit" / "87 daniel
# summit": 0.89), so neighbours on one street count as housemates; with Dice at least
# 0.9 instead, twins one of whose records has a mistyped street ("76 kaern ridge") were
# scored as strangers sharing a birth date and a rare surname, and linked at 0.9996
# (`bench/namesakes.py`, seed 1: 33 false twin pairs against 15).
_SAME_ADDRESS = (
    f"((street_h_l = street_h_r OR {dice_sql('street_bf')} >= 0.7) AND "
    "(postal_code_h_l = postal_code_h_r OR city_h_l = city_h_r))"
)


# Birth dates are refitted at home only for pairs sharing a surname (any
# level of it but "else", as `pipelines.fs_household.with_household` fits
# them): twins share one, and two people at one address with unrelated
# surnames (lodgers, a couple) are as unrelated in birth date as strangers.
# Fitted on every pair at one address, the housemates' birth date absorbed
# FEBRL 3's duplicates whose first and last names are both wrong (swapped),
# as if people at one address usually shared a birthday. The surname's
# loosest level decides: a model saved without the "dice>=0.5" level was
# fitted, and scores, with "dice>=0.7".
def _same_family(*, loose: bool) -> str:
    loosest = 0.5 if loose else 0.7
    return (
        f"({_SAME_ADDRESS} AND (last_name_h_l = last_name_h_r OR "
        f"{dice_sql('last_name_bf')} >= {loosest} OR "
        "last_name_ph_h_l = last_name_ph_h_r))"
    )


AT_HOME = " (same address)"


def with_home_levels(
    comparison: dict[str, Any], *, loose: bool = True
) -> dict[str, Any]:
    """The comparison with a copy of its levels for pairs at one address first.

    By the chain rule, P(agreements | non-match) = P(same address) x
    P(the rest | same address): the address comparison counts the first
    factor, these levels the second, with their own u. The birth date's
    copy holds for pairs at one address sharing a surname (`_same_family`;
    `loose`: whether the surname has the "dice>=0.5" level).
    """
    where = {
        "last_name": _SAME_ADDRESS,
        "birth_date": _same_family(loose=loose),
    }[comparison["output_column_name"]]
    levels = comparison["comparison_levels"]
    null = [lv for lv in levels if lv.get("is_null_level")]
    rest = [lv for lv in levels if not lv.get("is_null_level")]
    home = [
        {
            **lv,
            "sql_condition": where
            if lv["sql_condition"] == "ELSE"
            else f"({where}) AND ({lv['sql_condition']})",
            "label_for_charts": lv["label_for_charts"] + AT_HOME,
        }
        for lv in rest
    ]
    # Only the population-wide levels carry term frequencies.
    for lv in home:
        lv.pop("tf_adjustment_column", None)
        lv.pop("tf_adjustment_weight", None)
    return {**comparison, "comparison_levels": [*null, *home, *rest]}


def level_case(comparison: dict[str, Any]) -> str:
    """SQL giving a pair's level index (-1 for null) in one comparison."""
    whens = []
    index = 0
    for lv in comparison["comparison_levels"]:
        if lv.get("is_null_level"):
            whens.append(f"WHEN {lv['sql_condition']} THEN -1")
        elif lv["sql_condition"] == "ELSE":
            whens.append(f"ELSE {index}")
            index += 1
        else:
            whens.append(f"WHEN {lv['sql_condition']} THEN {index}")
            index += 1
    return "CASE " + " ".join(whens) + " END"
