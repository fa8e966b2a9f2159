"""The Fellegi-Sunter linkage model and run settings of `pipelines.fs_link`.

The model is the prior and m/u per comparison level: no data in it, so it
is stored with a run (`FsModel.to_json`) for the next run to link new
records incrementally.
"""

import json
from dataclasses import dataclass

MODEL_FORMAT = "gateway.fs_link.model/1"


@dataclass(frozen=True, slots=True)
class FsConfig:
    """Knobs of one linkage run.

    Attributes:
        match_threshold: Match probability at or above which a pair is linked.
        u_pairs: Random pairs drawn to estimate u.
        seed: Seed of that random draw (runs are repeatable).
        prior_recall: Assumed recall of the deterministic rules used to
            estimate the prior probability that two random records match.
        households: Model households (same-address levels, and without an
            identifier the namesakes' share taken out of the birth date's
            "else"): keeps namesakes, twins and families apart; fitted to
            the data, so it adds next to nothing where there are no
            households (FEBRL). A model given to `pipelines.fs_link.fs_edges`
            decides for itself.
        train_records: The model is learned on a random sample of at most
            this many records (EM needs tens of thousands of pairs, not
            hundreds of millions; the sample keeps pairs of duplicates in
            the same proportion as the whole), then scores every record.
        memory_limit: DuckDB's memory limit; beyond it, it spills to a
            private temporary directory removed afterwards. DuckDB's
            process memory runs about 0.8 GB past it. At a million records,
            3 GB / 2 GB / 1.5 GB took 53 / 56 / 63 s and peaked 3.7 / 2.8 /
            2.4 GB over the frame (measured): 1.5 GB keeps the whole
            pipeline at a million customers well under 6 GiB.
    """

    match_threshold: float = 0.9
    u_pairs: float = 1e6
    seed: int = 20240611
    prior_recall: float = 0.7
    households: bool = True
    train_records: int = 250_000
    memory_limit: str = "1500MB"


@dataclass(frozen=True, slots=True)
class LevelParams:
    """One comparison level's learned parameters (no data in it)."""

    comparison: str
    level: str
    m: float | None
    u: float | None


@dataclass(frozen=True, slots=True)
class FsModel:
    """The learned model: the prior and m/u per level."""

    prior: float
    levels: tuple[LevelParams, ...]

    def level(self, comparison: str, level: str) -> LevelParams:
        """Return one level's parameters by comparison and level label."""
        for params in self.levels:
            if params.comparison == comparison and params.level == level:
                return params
        raise KeyError(f"{comparison}/{level}")

    def to_json(self) -> str:
        """The prior and m/u per level as JSON (no data): `from_json` reads it back.

        Floats are written as Python's shortest round-trip repr, so a loaded
        model scores exactly as the saved one.
        """
        return json.dumps(
            {
                "format": MODEL_FORMAT,
                "prior": self.prior,
                "levels": [
                    {"comparison": p.comparison, "level": p.level, "m": p.m, "u": p.u}
                    for p in self.levels
                ],
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> "FsModel":
        """Read a model written by `to_json`.

        Raises:
            ValueError: Not such a model, or a value of the wrong type.
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} document")
        levels = []
        for level in data["levels"]:
            m, u = level["m"], level["u"]
            if not all(v is None or isinstance(v, float) for v in (m, u)):
                raise ValueError("m and u must be floats or null")
            levels.append(
                LevelParams(str(level["comparison"]), str(level["level"]), m, u)
            )
        prior = data["prior"]
        if not isinstance(prior, float) or not 0.0 <= prior <= 1.0:
            raise ValueError("prior must be a float in [0, 1]")
        return cls(prior=prior, levels=tuple(levels))
