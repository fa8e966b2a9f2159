"""Households in the linkage model: same-address levels fitted to the data.

People at one address share a surname, sometimes a birth date (twins) or
a first name (father and son), far more often than two random people. The
u of the same-address levels (`pipelines.fs_comparisons.with_home_levels`)
is fitted by EM on the pairs at one street and postcode, every m held at
the population model's (`with_household`); without an identifier the
namesakes' share is taken out of the birth date's "else"
(`birth_else_without_namesakes`).
"""

from typing import Any

import duckdb
import numpy as np

from gateway.linkage.fields import HASH_COLUMNS
from pipelines.fs_comparisons import AT_HOME, level_case
from pipelines.fs_model import FsModel, LevelParams
from pipelines.fs_table import INPUT_TABLE, RARER_FIELDS, count_column, filter_columns

# Refitted at home: the surname (shared by a household) and the birth date
# (shared by twins). The first name is evidence in that fit but keeps its
# population-wide u: housemates' first names are as unrelated as
# strangers' (bar a father and son), and refitting it let heavily
# mistyped duplicates (FEBRL 3) pass for housemates.
_HOME = ("last_name", "birth_date")


_HOME_EVIDENCE = ("first_name", *_HOME)


_HOME_EM_ITERATIONS = 100


_HOME_PSEUDO_PAIRS = 10.0  # prior weight of the population-wide u


_HOUSEHOLD_MAX = 50  # records at one address, at most, to count as a household


def _two_part_errors(model: FsModel) -> float | None:
    """The birth date's "else" m that independent clerical errors explain.

    A clerical error changes one part (year, month or day; two swapped
    digits have a level of their own), so for a duplicate each part goes
    wrong on its own: the one-part levels give each part's error rate, and
    a date wrong in the year and in the month or day, which "else" needs,
    happens at the product. None when the model lacks a level it needs.
    """
    m = {p.level: p.m for p in model.levels if p.comparison == "birth_date"}
    needed = ("exact", "year+month", "month+day", "year")
    # A level EM saw no duplicate reach has no m (Splink leaves it out): 0.
    if any(level not in m for level in needed):
        return None
    exact, ym, md, year = (m[lv] or 0.0 for lv in needed)
    if exact + md <= 0.0 or exact + ym <= 0.0:
        return None
    p_year = md / (exact + md)
    p_day = ym / (exact + ym)
    p_month = min(year / (1.0 - p_year), 1.0)
    return p_year * (1.0 - (1.0 - p_month) * (1.0 - p_day))


def birth_else_without_namesakes(model: FsModel, namesakes: float) -> FsModel:
    """Take out of m of the birth date's "else" what namesakes at home put in.

    Without an identifier, EM learns the birth date's m on pairs agreeing on names and
    street (`pipelines.fs_link._EM_SESSIONS`), and a father and son of one name at one
    address are such a pair, with unrelated birth dates: a share `namesakes` of that
    block (estimated by `with_household` from the housemates it finds) makes "else" look
    that much likelier for a duplicate. That share is removed from "else", down to no
    less than what independent clerical errors explain (`_two_part_errors`): a
    population whose duplicates' dates are often wholly wrong (FEBRL 3: 5 % of its true
    pairs) and that has no housemates keeps what EM learned. The other levels are
    rescaled to sum to one.
    """
    floor = _two_part_errors(model)
    old = next(
        (
            p.m
            for p in model.levels
            if (p.comparison, p.level) == ("birth_date", "else")
        ),
        None,
    )
    if floor is None or old is None or namesakes <= 0.0 or old <= floor:
        return model
    new = max(floor, (old - namesakes) / (1.0 - namesakes))
    if new >= old:
        return model
    scale = 1.0 / (1.0 - old + new)
    levels = tuple(
        p
        if p.comparison != "birth_date" or p.m is None
        else LevelParams(
            p.comparison, p.level, (new if p.level == "else" else p.m) * scale, p.u
        )
        for p in model.levels
    )
    return FsModel(prior=model.prior, levels=levels)


def with_household(
    con: duckdb.DuckDBPyConnection,
    model: FsModel,
    comparisons: list[dict[str, Any]],
    *,
    birth_from_names: bool,
) -> FsModel:
    """Add the same-address levels: m as elsewhere, u fitted on same-address pairs.

    The pairs at one street and postcode (small blocks: households) mix
    duplicates and housemates; with every m held at the model's value, EM
    separates them in two stages (`_home_em`):

    1. How many housemates there are, and how often they share a surname:
       only the surname's u is fitted, the birth date's is the population's
       (housemates born independently). Housemates are then told from
       duplicates by birth dates that differ beyond a typo, which a
       duplicate's seldom do: the share is the data's, near 0 in a
       population without households (FEBRL: 1 % and 0.1 % of its pairs
       at one address) and most of them in one of families (namesakes
       bench: 83 %).
    2. With that share held, the birth date's u among housemates sharing a
       surname (`pipelines.fs_comparisons._same_family`: twins, parents
       of an age) and the surname's again. With the share free, the housemate class of a
       population without households took in its duplicates the model fits
       worst (swapped names, a date wholly wrong), and the household levels
       then discounted any duplicate at one address.

    Each u is shrunk towards the population-wide u by `_HOME_PSEUDO_PAIRS`
    pairs: with few housemates the levels stay the population's, so the
    household levels add nothing where there are no households.
    `birth_from_names`: the birth date's m was learned on pairs of one name
    at one street (no identifier); the namesakes at home that stage 1
    expects are taken out of its "else" (`birth_else_without_namesakes`).
    """
    home = [c for c in comparisons if c["output_column_name"] in _HOME_EVIDENCE]
    columns = [
        *filter_columns(),
        *HASH_COLUMNS,
        *(count_column(f) for f in RARER_FIELDS),
    ]
    select = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
    cases = ", ".join(f"{level_case(c)} AS g{i}" for i, c in enumerate(home))
    group = ", ".join(f"g{i}" for i in range(len(home)))
    # Addresses held by more than `_HOUSEHOLD_MAX` records (a placeholder, a
    # care home) are left out: they are not households, and their pairs
    # grow with the square of their size.
    counts = con.sql(
        f"WITH homes AS (SELECT street_h, postal_code_h FROM {INPUT_TABLE} "  # noqa: S608 - fixed column names, no data
        "WHERE street_h IS NOT NULL AND postal_code_h IS NOT NULL "
        f"GROUP BY ALL HAVING count(*) <= {_HOUSEHOLD_MAX}), "
        f"home AS (SELECT t.* FROM {INPUT_TABLE} t JOIN homes h "
        "ON t.street_h = h.street_h AND t.postal_code_h = h.postal_code_h) "
        f"SELECT {group}, count(*) AS n FROM (SELECT {cases} FROM ("
        f"SELECT {select} FROM home l JOIN home r "
        "ON l.street_h = r.street_h AND l.postal_code_h = r.postal_code_h "
        f"AND l.unique_id < r.unique_id)) GROUP BY {group}"
    ).fetchnumpy()
    n = np.asarray(counts["n"], dtype=float) if len(counts["n"]) else np.zeros(0)
    names = [c["output_column_name"] for c in home]
    g = [np.asarray(counts[f"g{i}"], dtype=int) for i in range(len(home))]

    def params_of(model: FsModel) -> tuple[list[np.ndarray], list[np.ndarray]]:
        levels = [[p for p in model.levels if p.comparison == nm] for nm in names]
        return (
            [np.array([p.m or 1e-6 for p in ps]) for ps in levels],
            [np.array([p.u or 1e-6 for p in ps]) for ps in levels],
        )

    m_of, u0_of = params_of(model)
    u_of = u0_of
    if n.sum() >= 1:
        first, last, birth = (names.index(nm) for nm in _HOME_EVIDENCE)
        everywhere = np.ones(n.shape, dtype=bool)
        # Pairs sharing a surname: any level of it but null and "else".
        family = (g[last] >= 0) & (g[last] < len(u0_of[last]) - 1)
        share, u_of = _home_em(n, g, m_of, u0_of, {last: everywhere}, None)
        if birth_from_names:
            # Housemates of one name: as many as chance gives housemates
            # sharing a surname (the population's u for the first name),
            # against duplicates of one name at home.
            namesakes = (1.0 - share) * u0_of[first][0] * u_of[last][0]
            duplicates = share * m_of[first][0] * m_of[last][0]
            model = birth_else_without_namesakes(
                model, namesakes / (namesakes + duplicates)
            )
            m_of, _ = params_of(model)
        refit = {last: everywhere, birth: family}
        _, u_of = _home_em(n, g, m_of, u0_of, refit, share)
    extra = [
        LevelParams(name, p.level + AT_HOME, p.m, float(u_home))
        for i, name in enumerate(names)
        if name in _HOME
        for p, u_home in zip(
            [p for p in model.levels if p.comparison == name], u_of[i], strict=True
        )
    ]
    return FsModel(prior=model.prior, levels=(*model.levels, *extra))


def _home_em(
    n: np.ndarray,
    g: list[np.ndarray],
    m_of: list[np.ndarray],
    u0_of: list[np.ndarray],
    refit: dict[int, np.ndarray],
    fixed_share: float | None,
) -> tuple[float, list[np.ndarray]]:
    """EM on the pairs at one address: the share of duplicates and housemates' u.

    `n` counts the pairs of each pattern, `g[i]` its level index in the
    i-th comparison (-1: null). Every m is held; u of comparison i is
    fitted where `refit[i]` holds (the population's `u0_of[i]` elsewhere
    and for the other comparisons); the share of duplicates too, unless
    `fixed_share` holds it. Returns the share and the u of every comparison.
    """
    share = 0.5 if fixed_share is None else fixed_share
    u_of = [u0.copy() for u0 in u0_of]
    for _ in range(_HOME_EM_ITERATIONS):
        pm = np.full(n.shape, share)
        pu = np.full(n.shape, 1.0 - share)
        for i, levels in enumerate(g):
            known = levels >= 0
            index = np.maximum(levels, 0)
            u_pair = u0_of[i][index]
            if i in refit:
                u_pair = np.where(refit[i], u_of[i][index], u_pair)
            pm[known] *= m_of[i][levels[known]]
            pu[known] *= u_pair[known]
        match = pm / (pm + pu)
        if fixed_share is None:
            share = float((n * match).sum() / n.sum())
        other = n * (1.0 - match)
        for i, where in refit.items():
            use = (g[i] >= 0) & where
            seen = np.bincount(g[i][use], other[use], minlength=len(u0_of[i]))
            u_of[i] = (seen + _HOME_PSEUDO_PAIRS * u0_of[i]) / (
                seen.sum() + _HOME_PSEUDO_PAIRS
            )
    return share, u_of
