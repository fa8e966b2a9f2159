"""Frequency-alignment and bigram attacks on the linkage encodings, measured.

    .venv/bin/python bench/linkage_attack.py                  # 100,000 people, ~3 min
    .venv/bin/python bench/linkage_attack.py --people 20000 --seed 7

A synthetic population is drawn from Faker's ``en_US`` census-derived name
frequencies (``first_names_female`` / ``first_names_male`` by gender,
``last_names``) with `random.choices` and a fixed seed, plus street, city, ZIP
code and birth date. Every person is encoded under one random linkage key by
`gateway.linkage.fields.FieldEncoder` (per-field filters and keyed hashes) and
`bench/clk_before.py` (the record-level CLK the gateway stored before).

The attacker holds the encodings, not the key, and a public frequency list:

* ``true list``: Faker's own weights (worst case: the attacker knows the
  distribution the population was drawn from);
* ``sample list``: the counts of another sample of as many people drawn with
  another seed (the attacker knows only a sample of the distribution).

Attacks (a record is re-identified when the value guessed for its encoding is
its true value; "distinct" is the share of distinct encodings guessed right):

1-4. frequency alignment: distinct encodings sorted by count, public values
     sorted by frequency, matched by rank; on the full-value hash and filter
     columns of both names, and on the name prefix and phonetic-code hashes
     (there the prefix or code is what is re-identified);
5.   pattern mining on the surname filters (after Christen, Ranbaduge,
     Vatsalan and Schnell 2017): bit positions that are set together in a
     share of the filters equal to a bigram's share of the public list are
     taken as that bigram's positions; the filters and the public list are
     split on each bigram found and the search recurses; a pattern is named
     after the public bigram whose frequency and co-occurrence with the
     bigrams already found fit it best; every filter is then decoded as the
     public name whose predicted bits are closest (Dice);
6.   frequency alignment of whole CLKs against the surname list;
7.   the stored form: each record's encodings sealed by
     `gateway.linkage.sealed` (`stored_form`), exactly as ingestion stores
     them, ciphertexts aligned by frequency;
8.   for scale, a holder of the linkage key: every listed surname encoded
     under it and looked up (a dictionary attack, no frequencies needed).

Hardening study (same run): the full-value hash columns removed and every
surname filter given per-record random bit flips (BLIP, each bit flipped with
probability f); then exact-equality alignment, the bigram attack (told f), and
an insider who first groups near-identical filters (leader clustering within
a ``last_name_p3_h`` block, the prefix column being still there, at a Dice
threshold the attacker sets by simulating BLIP on random filters of the
observed density) and aligns the groups by size. It also prints the Dice of
two BLIP copies of one name's filter (what linkage keeps). The surname
filters are attacked as stored (with the keyed diffusion layer of
`gateway.linkage.fields`) and, to show what that layer is for, without it
(``FieldSpec(diffusion=1)``); the BLIP study starts from the latter.
"""

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ runs as a script, outside the package
sys.path.insert(0, str(ROOT / "bench"))

from clk_before import ClkEncoder  # noqa: E402

from gateway.linkage.fields import FieldEncoder, FieldSpec, derived_parts  # noqa: E402
from gateway.linkage.sealed import Sealer, pack  # noqa: E402
from gateway.linkage.text import bigrams, fold_text  # noqa: E402

SEED = 20261203
PEOPLE = 100_000
BLIP_RATES = (0.02, 0.05)
# The module the lead engineer is writing; the hook below uses it once it exists.

Public = list[tuple[str, float]]  # (value, frequency), any order


# --- population and public lists ----------------------------------------------


def _faker_weights() -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    from faker.providers.person.en_US import Provider  # bench extra

    return (
        dict(Provider.first_names_female),
        dict(Provider.first_names_male),
        dict(Provider.last_names),
    )


def _normalized(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def true_lists() -> tuple[Public, Public]:
    """Faker's first-name (half female, half male) and surname frequencies, folded."""
    female, male, last = _faker_weights()
    first: Counter[str] = Counter()
    for weights in (female, male):
        for name, share in _normalized(weights).items():
            first[fold_text(name)] += share / 2
    surnames: Counter[str] = Counter()
    for name, share in _normalized(last).items():
        surnames[fold_text(name)] += share
    return list(first.items()), list(surnames.items())


@lru_cache(maxsize=4)
def _address_pools(seed: int) -> tuple[list[str], list[tuple[str, str]]]:
    from faker import Faker  # bench extra

    fake = Faker("en_US")
    fake.seed_instance(seed)
    streets = [fake.street_name() for _ in range(3000)]
    towns = [(fake.city(), fake.postcode()) for _ in range(800)]
    return streets, towns


def _draw_names(draw: random.Random, n: int) -> tuple[list[str], list[str], list[str]]:
    """Genders, first names (by gender) and surnames of `n` people, by census weight."""
    female, male, last = _faker_weights()
    genders = draw.choices(("female", "male"), k=n)
    firsts = {
        g: iter(draw.choices(list(w), weights=list(w.values()), k=n))
        for g, w in (("female", female), ("male", male))
    }
    lasts = draw.choices(list(last), weights=list(last.values()), k=n)
    return genders, [next(firsts[g]) for g in genders], lasts


def population(n: int, seed: int) -> list[dict[str, str]]:
    """Draw `n` people: names by census weight, address and birth date."""
    draw = random.Random(seed)
    genders, first_names, lasts = _draw_names(draw, n)
    streets, towns = _address_pools(seed)
    # Towns differ in size: a Zipf-like weight per town.
    homes = draw.choices(towns, weights=[1 / (r + 1) for r in range(len(towns))], k=n)
    people: list[dict[str, str]] = []
    start = date(1930, 1, 1)
    for i in range(n):
        city, postcode = homes[i]
        born = start + timedelta(days=draw.randrange(365 * 78))
        people.append(
            {
                "record_id": f"r{i:07d}",
                "gender": genders[i],
                "first_name": first_names[i],
                "last_name": lasts[i],
                "street": f"{draw.randint(1, 9999)} {draw.choice(streets)}",
                "city": city,
                "postal_code": postcode,
                "birth_date": born.isoformat(),
            }
        )
    return people


def surname_and_first_name_sample(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Another `n` people's folded surnames and first names, drawn like `population`."""
    _, first_names, lasts = _draw_names(random.Random(seed), n)
    return [fold_text(x) for x in lasts], [fold_text(x) for x in first_names]


def sample_list(values: Iterable[str]) -> Public:
    """The public list of an attacker who knows only a sample: its counts."""
    return [(v, float(c)) for v, c in Counter(values).items()]


def derived_list(public: Public, part: str) -> Public:
    """Aggregate a name list into the list of its prefixes or phonetic codes."""
    out: Counter[str] = Counter()
    for name, freq in public:
        out[name_part(name, part)] += freq
    return list(out.items())


def name_part(name: str, part: str) -> str:
    """A name's first three letters (``p3``) or phonetic code (``ph``).

    Derived exactly as the encoder derives what it hashes.
    """
    return derived_parts({"last_name": name})[f"last_name_{part}_h"] or ""


# --- frequency alignment -------------------------------------------------------


def frequency_alignment(
    encodings: Sequence[Hashable | None], public: Public
) -> list[str | None]:
    """Guess each record's value: the k-th most frequent encoding is the k-th name.

    Ties among encodings are broken by the encodings' own order (sorted bytes
    or strings: keyed, so unrelated to the names); encodings beyond the
    public list's length get no guess.
    """
    counts = Counter(e for e in encodings if e is not None)
    ranked = sorted(counts, key=lambda e: (-counts[e], repr(e)))
    names = [v for v, _ in sorted(public, key=lambda p: (-p[1], p[0]))]
    guess = dict(zip(ranked, names, strict=False))
    return [None if e is None else guess.get(e) for e in encodings]


@dataclass(frozen=True)
class Score:
    records: float  # share of records whose value is guessed right
    distinct: float  # share of distinct encodings guessed right
    n_distinct: int


def score(
    encodings: Sequence[Hashable], guesses: Sequence[str | None], truth: Sequence[str]
) -> Score:
    """Score guesses per record and per distinct encoding (its majority value)."""
    hits = sum(g == t for g, t in zip(guesses, truth, strict=True))
    by_encoding: dict[Hashable, Counter[str]] = {}
    guess_of: dict[Hashable, str | None] = {}
    for e, g, t in zip(encodings, guesses, truth, strict=True):
        by_encoding.setdefault(e, Counter())[t] += 1
        guess_of[e] = g
    right = sum(
        guess_of[e] == values.most_common(1)[0][0] for e, values in by_encoding.items()
    )
    n = len(by_encoding)
    return Score(hits / len(truth), right / n if n else 0.0, n)


# --- bit matrices and BLIP -----------------------------------------------------


def bit_matrix(filters: Sequence[bytes]) -> NDArray[np.bool_]:
    """Unpack equal-length filters into a (records, bits) boolean matrix."""
    width = len(filters[0])
    packed = np.frombuffer(b"".join(filters), dtype=np.uint8).reshape(-1, width)
    return np.unpackbits(packed, axis=1).astype(np.bool_)


def blip(filters: Sequence[bytes], flip: float, seed: int) -> list[bytes]:
    """Flip every bit of every filter independently with probability `flip`.

    A study only (Schnell and Borgs 2016's BLIP); the encoder does not do it.
    """
    bits = bit_matrix(filters)
    noise = np.random.default_rng(seed).random(bits.shape) < flip
    return [row.tobytes() for row in np.packbits(bits ^ noise, axis=1)]


def dice_rows(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> NDArray[np.float64]:
    total = a.sum(axis=1) + b.sum(axis=1)
    return 2.0 * (a & b).sum(axis=1) / np.maximum(total, 1)


# --- attack 5: pattern mining on single-field Bloom filters ---------------------


@dataclass(frozen=True)
class BigramAttack:
    """Parameters of the pattern-mining attack (all known to a careful attacker).

    Attributes:
        hashes: Positions per bigram (public in `FieldSpec`).
        flip: BLIP flip probability the attacker assumes (0 without BLIP).
        starts: Positions an itemset is grown from, best-supported first.
        mine_rows: Distinct filters sampled for mining (decoding uses all).
        restarts: Samples mined; the best-fitting decoding is kept.
        candidates: Most frequent public bigrams a mined pattern may be named after.
        tolerance: Relative shortfall of an itemset's support below the
            bigram's expected share at which mining stops.
        min_records: Partitions lighter than this share of all records are
            not mined further.
    """

    hashes: int = 10
    flip: float = 0.0
    tolerance: float = 0.15
    min_records: float = 0.002
    starts: int = 8
    candidates: int = 12
    mine_rows: int = 10_000
    restarts: int = 3


class _Names:
    """The public names as a bigram incidence matrix."""

    def __init__(self, public: Public) -> None:
        ordered = sorted(public, key=lambda p: (-p[1], p[0]))
        self.names = [n for n, _ in ordered]
        weights = np.array([f for _, f in ordered], dtype=np.float64)
        self.weights = weights / weights.sum()
        grams = sorted({g for n in self.names for g in bigrams(n)})
        self.grams = grams
        index = {g: i for i, g in enumerate(grams)}
        self.has = np.zeros((len(self.names), len(grams)), dtype=np.bool_)
        for i, name in enumerate(self.names):
            for g in bigrams(name):
                self.has[i, index[g]] = True


def _itemset(
    sub: NDArray[np.bool_],
    weight: NDArray[np.float64],
    exclude: NDArray[np.bool_],
    target: float,
    attack: BigramAttack,
) -> list[int]:
    """The longest set of positions set together in about `target` weight.

    Grown greedily (the position keeping the most support next) from each of
    the best-supported positions; the longest set wins, then the one whose
    support is closest to the target. A bigram's positions are all set in
    every filter holding it, so their joint support stays near its share,
    while positions of different bigrams are set together far less often.
    """

    def floor(size: int) -> float:
        return (1 - attack.tolerance) * target * (1 - attack.flip) ** size

    dense = sub.astype(np.float32)
    support = weight @ dense
    support[exclude] = -1.0
    starts = [
        int(p) for p in np.argsort(-support)[: attack.starts] if support[p] >= floor(1)
    ]
    best: list[int] = []
    best_key = (0, -np.inf)
    for start in starts:
        chosen = [start]
        keep = sub[:, start].copy()
        while len(chosen) < attack.hashes:
            rows = np.flatnonzero(keep)
            grown = weight[rows] @ dense[rows]
            grown[exclude] = -1.0
            grown[chosen] = -1.0
            step = int(np.argmax(grown))
            if grown[step] < floor(len(chosen) + 1):
                break
            chosen.append(step)
            keep &= sub[:, step]
        expected = target * (1 - attack.flip) ** len(chosen)
        key = (len(chosen), -abs(weight[keep].sum() - expected))
        if key > best_key:
            best, best_key = chosen, key
    return best


def _holds(sub: NDArray[np.bool_], positions: NDArray[np.intp]) -> NDArray[np.bool_]:
    # Most, not all, of the positions: BLIP clears some of them.
    return sub[:, positions].sum(axis=1) >= np.ceil(0.8 * len(positions))


def _label(
    observed: NDArray[np.float64],
    share: float,
    candidates: NDArray[np.intp],
    names: _Names,
    pub: NDArray[np.bool_],
    found: list[int],
) -> int:
    """The candidate bigram whose public profile best fits a mined pattern.

    A profile is the bigram's share of the partition and the share of its
    holders that hold each bigram found so far; the mined pattern's profile
    is measured the same way on the filters that hold it.
    """
    weights = names.weights * pub
    best, best_cost = int(candidates[0]), np.inf
    for gram in candidates:
        holders = weights * names.has[:, gram]
        mass = holders.sum()
        expected = holders @ names.has[:, found] / mass if found else np.zeros(0)
        cost = (
            abs(share / (mass / weights.sum()) - 1) + np.abs(observed - expected).sum()
        )
        if cost < best_cost:
            best, best_cost = int(gram), cost
    return best


def _mine(
    bits: NDArray[np.bool_],
    weight: NDArray[np.float64],
    names: _Names,
    attack: BigramAttack,
) -> dict[int, NDArray[np.intp]]:
    """Find bigram positions by recursive frequent-itemset splitting.

    Each partition of the filters goes with the public names that agree with
    it (those holding, or not holding, each bigram it was split on). In a
    partition, the most frequent pattern (see `_itemset`) is mined and named
    after the public bigram whose profile fits it best (see `_label`); the
    partition is then split on it.
    """
    width = bits.shape[1]
    total = weight.sum()
    found: dict[int, NDArray[np.intp]] = {}
    order: list[int] = []
    holds = np.zeros((len(bits), 0), dtype=np.bool_)  # filter holds found bigram
    patterns = np.zeros((0, width), dtype=np.bool_)  # positions of each found bigram
    # (filter rows, public-name mask, positions set throughout, bigrams split on)
    todo: list[
        tuple[NDArray[np.intp], NDArray[np.bool_], NDArray[np.bool_], frozenset[int]]
    ] = [
        (
            np.arange(len(bits)),
            np.ones(len(names.names), np.bool_),
            np.zeros(width, np.bool_),
            frozenset(),
        )
    ]
    while todo:
        todo.sort(key=lambda part: weight[part[0]].sum())
        rows, pub, known, used = todo.pop()
        mass = weight[rows].sum()
        if mass < attack.min_records * total or not pub.any():
            continue
        shares = names.weights[pub] @ names.has[pub] / names.weights[pub].sum()
        shares[list(used)] = -1.0
        if shares.max() <= 0.0:
            continue
        sub, w = bits[rows], weight[rows]
        chosen = _itemset(sub, w, known, shares.max() * mass, attack)
        if not chosen:
            continue
        positions = np.array(chosen, dtype=np.intp)
        inside = _holds(sub, positions)
        share = w[inside].sum() / mass
        overlap = patterns[:, positions].sum(axis=1) >= 0.8 * len(positions)
        if overlap.any():
            gram = order[int(np.argmax(overlap))]
        else:
            candidates = np.flatnonzero(shares > 0)
            candidates = candidates[~np.isin(candidates, order)]
            candidates = candidates[np.argsort(-shares[candidates])][
                : attack.candidates
            ]
            if not len(candidates):
                continue
            observed = w[inside] @ holds[rows][inside] / w[inside].sum()
            gram = _label(observed, share, candidates, names, pub, order)
            found[gram] = positions
            order.append(gram)
            holds = np.column_stack((holds, _holds(bits, positions)))
            row = np.zeros((1, width), dtype=np.bool_)
            row[0, positions] = True
            patterns = np.vstack((patterns, row))
        now_known = known.copy()
        now_known[positions] = True
        todo.append((rows[inside], pub & names.has[:, gram], now_known, used | {gram}))
        todo.append((rows[~inside], pub & ~names.has[:, gram], known, used | {gram}))
    return found


def _patterns(
    names: _Names, found: Mapping[int, NDArray[np.intp]], width: int
) -> NDArray[np.float32]:
    pattern = np.zeros((len(names.names), width), dtype=np.float32)
    for gram, positions in found.items():
        rows = names.has[:, gram]
        pattern[np.ix_(rows, positions)] = 1.0
    return pattern


def _decode(
    bits: NDArray[np.bool_], pattern: NDArray[np.float32], names: _Names
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Best public name (Dice to its predicted bits) for each filter."""
    sizes = pattern.sum(axis=1)
    # Ties go to the more frequent name (the list is sorted by frequency).
    bias = -1e-9 * np.arange(len(names.names))
    best = np.empty(len(bits), dtype=np.intp)
    value = np.empty(len(bits), dtype=np.float64)
    for start in range(0, len(bits), 8192):
        chunk = bits[start : start + 8192].astype(np.float32)
        inter = chunk @ pattern.T
        dice = 2 * inter / np.maximum(chunk.sum(axis=1)[:, None] + sizes[None, :], 1)
        dice += bias
        best[start : start + 8192] = np.argmax(dice, axis=1)
        value[start : start + 8192] = dice.max(axis=1)
    return best, value


def bigram_attack(
    filters: Sequence[bytes], public: Public, attack: BigramAttack | None = None
) -> tuple[list[str], int]:
    """Decode every filter as a public name; also return the bigrams mined."""
    attack = attack or BigramAttack()
    counts = Counter(filters)
    distinct = list(counts)
    bits = bit_matrix(distinct)
    weight = np.array([counts[f] for f in distinct], dtype=np.float64)
    names = _Names(public)
    # Supports are shares: a sample of the filters estimates them well enough,
    # and BLIP makes every filter distinct. Mining is greedy, so the attacker
    # mines a few samples and keeps the decoding that explains the filters
    # best (the highest mean Dice), which needs no ground truth.
    best_fit, chosen = -1.0, {}
    # With fewer filters than a sample, every restart would mine the same rows.
    restarts = attack.restarts if len(bits) > attack.mine_rows else 1
    # The fit is measured on one sample of the filters, the same for every restart.
    held = np.random.default_rng(restarts).permutation(len(bits))[: attack.mine_rows]
    for restart in range(restarts):
        sample = np.random.default_rng(restart).permutation(len(bits))[
            : attack.mine_rows
        ]
        found = _mine(bits[sample], weight[sample], names, attack)
        _, fit = _decode(bits[held], _patterns(names, found, bits.shape[1]), names)
        mean_fit = float(weight[held] @ fit / weight[held].sum())
        if mean_fit > best_fit:
            best_fit, chosen = mean_fit, found
    best, _ = _decode(bits, _patterns(names, chosen, bits.shape[1]), names)
    mined = len(chosen)
    guess = {f: names.names[b] for f, b in zip(distinct, best, strict=True)}
    return [guess[f] for f in filters], mined


# --- BLIP-aware insider: group near-identical filters, then align ----------------


def blip_threshold(filters: Sequence[bytes], flip: float, seed: int = 0) -> float:
    """A Dice threshold the attacker derives from f and the filters' density alone.

    The 5th percentile of the Dice of two BLIP copies of random filters as
    dense as the observed ones (BLIP's own flips removed from the density).
    """
    observed = bit_matrix(filters[:5000]).mean()
    density = (observed - flip) / (1 - 2 * flip)
    rng = np.random.default_rng(seed)
    clean = rng.random((2000, len(filters[0]) * 8)) < density
    one = clean ^ (rng.random(clean.shape) < flip)
    two = clean ^ (rng.random(clean.shape) < flip)
    return float(np.percentile(dice_rows(one, two), 5))


def near_groups(
    filters: Sequence[bytes], blocks: Sequence[Hashable], threshold: float
) -> list[int]:
    """Group labels: leader clustering by Dice within each block.

    A filter joins the first-made group whose leader it is closest to, if at
    least `threshold`; otherwise it leads a new group.
    """
    bits = bit_matrix(filters)
    label = np.empty(len(filters), dtype=np.int64)
    by_block: dict[Hashable, list[int]] = {}
    for i, b in enumerate(blocks):
        by_block.setdefault(b, []).append(i)
    next_label = 0
    for members in by_block.values():
        leaders: list[int] = []
        leader_bits = np.zeros((0, bits.shape[1]), dtype=np.bool_)
        for i in members:
            if leaders:
                d = dice_rows(leader_bits, np.broadcast_to(bits[i], leader_bits.shape))
                j = int(np.argmax(d))
                if d[j] >= threshold:
                    label[i] = leaders[j]
                    continue
            leaders.append(next_label)
            leader_bits = np.vstack((leader_bits, bits[i]))
            label[i] = next_label
            next_label += 1
    return [int(x) for x in label]


# --- attack 7: the stored form --------------------------------------------------


def stored_form(
    encodings: Sequence[Mapping[str, Any]], record_ids: Sequence[str], key: bytes
) -> list[bytes]:
    """What a holder of the stored table sees: one sealed blob per record.

    Each record's encodings (the `FieldEncoder` output) packed and sealed by
    `gateway.linkage.sealed`, exactly as ingestion stores them.
    """
    sealer = Sealer("bench000", key)
    out: list[bytes] = []
    for record_id, row in zip(record_ids, encodings, strict=True):
        packed = pack(row)
        out.append(b"" if packed is None else sealer.seal(record_id, packed))
    return out


# --- the run ---------------------------------------------------------------------


@dataclass
class Row:
    attack: str
    cells: list[Score | None]  # true list, sample list
    note: str = ""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(rows: Sequence[Row]) -> str:
    head = (
        "| attack | distinct encodings | records re-identified (true list) | "
        "distinct right (true list) | records re-identified (sample list) | "
        "distinct right (sample list) |\n|---|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for row in rows:
        cells: list[str] = []
        n = ""
        for cell in row.cells:
            if cell is None:
                cells += ["not available", "not available"]
            else:
                cells += [_pct(cell.records), _pct(cell.distinct)]
                n = f"{cell.n_distinct:,}"
        name = f"{row.attack} ({row.note})" if row.note else row.attack
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _log(message: str, started: float) -> None:
    print(
        f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True
    )


class Run:
    """One population, its encodings, the two public lists and the attacks."""

    def __init__(self, people: int, seed: int) -> None:
        self.started = time.monotonic()
        self.seed = seed
        self.people = population(people, seed)
        last_sample, first_sample = surname_and_first_name_sample(people, seed + 1)
        first_true, last_true = true_lists()
        self.lists = {
            "first_name": (first_true, sample_list(first_sample)),
            "last_name": (last_true, sample_list(last_sample)),
        }
        self.truth = {
            field: [fold_text(p[field]) for p in self.people] for field in self.lists
        }
        self.key = random.Random(seed).randbytes(32)
        _log(f"{people:,} people drawn", self.started)
        encode = FieldEncoder(self.key, FieldSpec())
        self.encodings = [encode(p) for p in self.people]
        _log("per-field encodings made", self.started)

    def column(self, name: str) -> list[Any]:
        return [e[name] for e in self.encodings]

    def align(
        self, encodings: Sequence[Hashable], field: str, part: str | None = None
    ) -> list[Score]:
        truth = self.truth[field]
        lists = self.lists[field]
        if part is not None:
            truth = [name_part(t, part) for t in truth]
            lists = tuple(derived_list(pub, part) for pub in lists)
        return [
            score(encodings, frequency_alignment(encodings, pub), truth)
            for pub in lists
        ]

    def bigram(
        self, filters: Sequence[bytes], attack: BigramAttack
    ) -> tuple[list[Score], int]:
        out: list[Score] = []
        mined = 0
        for pub in self.lists["last_name"]:
            guesses, mined_here = bigram_attack(filters, pub, attack)
            out.append(score(filters, guesses, self.truth["last_name"]))
            mined = max(mined, mined_here)
        return out, mined

    def rows(self) -> tuple[list[Row], list[str]]:
        rows: list[Row] = []
        notes: list[str] = []
        for field, label in (("last_name", "surname"), ("first_name", "first name")):
            rows.append(
                Row(
                    f"{label} exact hash `{field}_h`",
                    self.align(self.column(f"{field}_h"), field),
                )
            )
            rows.append(
                Row(
                    f"{label} Bloom filter `{field}_bf`",
                    self.align(self.column(f"{field}_bf"), field),
                )
            )
            for part, what in (("p3", "first 3 letters"), ("ph", "phonetic code")):
                rows.append(
                    Row(
                        f"{label} `{field}_{part}_h`",
                        self.align(self.column(f"{field}_{part}_h"), field, part),
                        note=f"{what} re-identified",
                    )
                )
        _log("frequency alignments done", self.started)
        # The same filters without the diffusion layer (FieldSpec(diffusion=1):
        # the keyed permutation only), to show what the layer is for.
        plain_encoder = FieldEncoder(self.key, FieldSpec(diffusion=1))
        surname_plain = [
            plain_encoder.bloom("last_name", p["last_name"]) or b"" for p in self.people
        ]
        for label, filters in (
            ("as stored (keyed diffusion)", self.column("last_name_bf")),
            ("without diffusion", surname_plain),
        ):
            cells, mined = self.bigram(filters, BigramAttack())
            rows.append(
                Row(
                    f"surname filters {label}, bigram pattern mining",
                    cells,
                    note=f"{mined} bigrams mined",
                )
            )
        _log("bigram attacks done", self.started)
        clks = ClkEncoder(self.key).encode_many(self.people)
        rows.append(
            Row(
                "record-level CLK (before, `bench/clk_before.py`), aligned to surnames",
                self.align(clks, "last_name"),
            )
        )
        _log("CLK done", self.started)
        sealed = stored_form(
            self.encodings, [p["record_id"] for p in self.people], self.key
        )
        rows.append(
            Row(
                "stored form: sealed encodings (AES-GCM), aligned to surnames",
                self.align(sealed, "last_name"),
            )
        )
        _log("stored form done", self.started)
        rows.append(
            Row(
                "holder of the linkage key: dictionary attack on `last_name_h` "
                "(encode every listed surname)",
                self.dictionary(),
            )
        )
        rows += self.hardening(surname_plain, notes)
        return rows, notes

    def dictionary(self) -> list[Score]:
        """With the key, encode each public name and look the hashes up."""
        encode = FieldEncoder(self.key, FieldSpec())
        column = self.column("last_name_h")
        out: list[Score] = []
        for public in self.lists["last_name"]:
            table = {encode({"last_name": n})["last_name_h"]: n for n, _ in public}
            guesses = [table.get(h) for h in column]
            out.append(score(column, guesses, self.truth["last_name"]))
        return out

    def hardening(self, surname_bf: Sequence[bytes], notes: list[str]) -> list[Row]:
        rows: list[Row] = []
        blocks = self.column("last_name_p3_h")
        for flip in BLIP_RATES:
            noisy = blip(surname_bf, flip, self.seed + int(flip * 1000))
            twice = blip(surname_bf, flip, self.seed + int(flip * 1000) + 7)
            same = dice_rows(bit_matrix(noisy), bit_matrix(twice))
            notes.append(
                f"BLIP f={flip}: Dice of two noisy copies of one surname's filter "
                f"mean {same.mean():.3f}, 1st percentile {np.percentile(same, 1):.3f} "
                "(1.000 without BLIP)"
            )
            tag = f"BLIP f={flip}, no `_h` columns"
            rows.append(
                Row(
                    f"{tag}: exact-equality alignment of `last_name_bf`",
                    self.align(noisy, "last_name"),
                )
            )
            cells, mined = self.bigram(noisy, BigramAttack(flip=flip))
            rows.append(
                Row(
                    f"{tag}: bigram pattern mining",
                    cells,
                    note=f"{mined} bigrams mined",
                )
            )
            threshold = blip_threshold(noisy, flip)
            groups = near_groups(noisy, blocks, threshold)
            clusters = [
                score(noisy, frequency_alignment(groups, pub), self.truth["last_name"])
                for pub in self.lists["last_name"]
            ]
            rows.append(
                Row(
                    f"{tag}: group near-identical filters per `last_name_p3_h`, "
                    "align groups",
                    clusters,
                    note=f"Dice >= {threshold:.2f}",
                )
            )
            _log(f"BLIP {flip} done", self.started)
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    run = Run(args.people, args.seed)
    rows, notes = run.rows()
    print(
        "command: .venv/bin/python bench/linkage_attack.py "
        f"--people {args.people} --seed {args.seed}"
    )
    print(
        f"{args.people:,} people (Faker en_US census weights), one random linkage key, "
        f"FieldSpec {FieldSpec()}; sample list = another {args.people:,} people, "
        f"seed {args.seed + 1}\n"
    )
    print(table(rows))
    print()
    for note in notes:
        print(f"- {note}")
    print(f"- wall time {time.monotonic() - run.started:.0f} s")


if __name__ == "__main__":
    main()
