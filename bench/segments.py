"""Do segments find planted behaviour when demographics are random noise?

    .venv/bin/python bench/segments.py [--people 20000] [--seed 11]
        [--preferred 0.7]

A synthetic population of four behavioural archetypes that differ in RFM,
channel, device, time of day and preferred category, with gender, age band,
region and loyalty tier drawn uniformly at random (they say nothing about
behaviour), goes through the pure stages (features, imputation, encoding,
category shares, segmentation: no database, no HTTP), three ways in one run:

- the policy's levels (the sample audience's `levels`, with variable
  selection),
- the same levels without variable selection, and
- every feature in one space at levels 1 and 2 (the historical way).

For each, it prints the levels that ran (and any skipped, with why), the
variables dropped, and for each output level the number of segments and
their purity against the archetypes (the share of people in their segment's
most common archetype). No threshold is tuned to this population.
"""

import argparse
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
from gateway.policy import load_policies  # noqa: E402
from pipelines.features import (  # noqa: E402
    build_features,
    category_shares,
    numeric_matrix,
)
from pipelines.frames import CUSTOMERS_SCHEMA, EVENTS_SCHEMA, Levels  # noqa: E402
from pipelines.quality import impute  # noqa: E402
from pipelines.segment import (  # noqa: E402
    SegmentationResult,
    SegmentConfig,
    policy_levels,
    segment,
)

ROOT = Path(__file__).resolve().parents[1]
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
AUDIENCE = "retail_default"
# (events per person, basket EUR, days since last visit, channel, device,
#  evening hours?, preferred category)
ARCHETYPES = (
    (14.0, 20.0, 5, "app", "mobile", (18, 23), "shoes"),
    (3.0, 160.0, 40, "store", "other", (10, 17), "home"),
    (6.0, 60.0, 15, "web", "desktop", (9, 13), "books"),
    (1.5, 45.0, 120, "email", "tablet", (12, 20), "beauty"),
)
CATEGORIES = ("shoes", "clothing", "beauty", "home", "sports", "books", "toys")
POSTAL_PREFIXES = ("75", "69", "13", "33", "59", "35", "67", "31")
# Share of an archetype's events on its own channel, device, hours and
# category (the rest drawn uniformly): lower is a weaker behavioural signal.
PREFERRED = 0.7


def population(
    people: int, seed: int, levels: Levels, preferred: float = PREFERRED
) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """Customers and events frames in the pipelines' schemas, and the truth."""
    rng = np.random.default_rng(seed)
    archetype = rng.integers(0, len(ARCHETYPES), people)
    ids = [f"e{i:07d}" for i in range(people)]
    gender_levels = [g for g in levels.gender if g != "unknown"] or ["female", "male"]
    tiers = [t for t in levels.loyalty_tier if t != "unknown"] or ["none"]
    customers = pl.DataFrame(
        {
            "record_id": [f"c{i}" for i in range(people)],
            "entity_id": ids,
            "birth_year": rng.integers(1940, 2006, people).astype(np.int32),
            "postal_prefix": rng.choice(POSTAL_PREFIXES, people),
            "gender": rng.choice(gender_levels, people),
            "loyalty_tier": rng.choice(tiers, people),
        },
        schema=CUSTOMERS_SCHEMA,
    )
    columns: dict[str, list[Any]] = {name: [] for name in EVENTS_SCHEMA}
    for person, kind in enumerate(archetype):
        rate, basket, recency, channel, device, hours, category = ARCHETYPES[kind]
        count = 1 + rng.poisson(rate)
        last = AS_OF - timedelta(days=int(rng.exponential(recency)) + 1)
        for event in range(count):
            at = last - timedelta(days=int(rng.exponential(30.0)) * (event > 0))
            hour = int(rng.integers(*hours)) if rng.random() < preferred else 3
            purchase = rng.random() < 0.6 or event == 0
            columns["entity_id"].append(ids[person])
            columns["event_type"].append("purchase" if purchase else "view")
            columns["amount"].append(
                float(rng.lognormal(np.log(basket), 0.3)) if purchase else None
            )
            columns["currency"].append("EUR")
            columns["occurred_at"].append(at.replace(hour=hour))
            columns["channel"].append(
                channel if rng.random() < preferred else rng.choice(levels.channel)
            )
            columns["device"].append(
                device if rng.random() < preferred else rng.choice(levels.device)
            )
            columns["category"].append(
                category if rng.random() < preferred else rng.choice(CATEGORIES)
            )
    events = pl.DataFrame(columns, schema=EVENTS_SCHEMA)
    return customers, events, archetype


def purity(labels: list[str], truth: np.ndarray) -> float:
    """Share of people in their segment's most common archetype."""
    frame = pl.DataFrame({"segment": labels, "truth": truth})
    best = (
        frame.group_by("segment", "truth")
        .len()
        .group_by("segment")
        .agg(pl.col("len").max())
    )
    return float(best["len"].sum()) / len(labels)


def per_level(
    result: SegmentationResult, entity_ids: pl.Series, truth: np.ndarray
) -> list[tuple[int, int, float, int]]:
    """(level, segments, purity, people covered) for each output level."""
    rows = []
    order = pl.DataFrame({"entity_id": entity_ids, "truth": truth})
    for level in sorted(set(result.memberships["level"])):
        members = result.memberships.filter(pl.col("level") == level).join(
            order, on="entity_id"
        )
        rows.append(
            (
                level,
                members["segment_id"].n_unique(),
                purity(members["segment_id"].to_list(), members["truth"].to_numpy()),
                members.height,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--preferred", type=float, default=PREFERRED)
    args = parser.parse_args()
    policies = load_policies(ROOT / "policies")
    audience = policies.audiences[AUDIENCE]
    levels = Levels.of(policies, audience)
    start = time.perf_counter()
    customers, events, truth_by_person = population(
        args.people, args.seed, levels, args.preferred
    )
    features = build_features(customers, events, AS_OF, levels)
    features, _ = impute(features)
    matrix, columns = numeric_matrix(features, levels)
    shares, names = category_shares(
        events, features["entity_id"], min_entities=audience.k_min
    )
    matrix, columns = np.hstack([matrix, shares]), [*columns, *names]
    # build_features sorts by entity id, which is the person's index here.
    truth = truth_by_person[[int(e[1:]) for e in features["entity_id"]]]
    print(
        f"population: {features.height} people, {events.height} events, "
        f"{len(columns)} feature columns, preferred share {args.preferred} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    base = SegmentConfig(min_size=audience.k_min, n_bootstrap=0, n_threads=1)
    specs = policy_levels(audience.levels, audience.level_rules, columns)
    configs = {
        "policy levels": replace(base, levels=specs),
        # What variable selection buys: the same levels, every variable kept.
        "policy levels, no variable selection": replace(
            base, levels=tuple(replace(spec, select=False) for spec in specs)
        ),
        "all features in one space": base,
    }
    for title, config in configs.items():
        start = time.perf_counter()
        result = segment(features["entity_id"], matrix, columns, args.seed, config)
        took = time.perf_counter() - start
        print(f"\n== {title} ({took:.1f} s)")
        for report in result.metrics["levels"]:
            dropped = ", ".join(
                f"{d['feature']} (score {d['score']}, p {d['p_value']})"
                if d["score"] is not None
                else f"{d['feature']} ({d['reason']})"
                for d in report.get("dropped", [])
            )
            state = (
                f"skipped: {report['skipped']}"
                if "skipped" in report
                else f"output level {report['level']}"
            )
            print(f"  policy level {report['name']}: {state}")
            if dropped:
                print(f"    dropped: {dropped}")
        for level, k, score, covered in per_level(result, features["entity_id"], truth):
            print(
                f"  level {level}: {k} segments, purity {score:.3f} ({covered} people)"
            )


if __name__ == "__main__":
    main()
