"""bench/segments.py runs, and variable selection does what its table claims."""

import re
import sys

import pytest

from bench import segments


def _level_one_purity(section: str) -> float:
    found = re.search(r"level 1: \d+ segments, purity ([0-9.]+)", section)
    assert found, section
    return float(found.group(1))


def test_random_demographics_are_dropped_and_behaviour_drives_level_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["segments.py", "--people", "2000"])
    segments.main()
    out = capsys.readouterr().out
    sections = dict(
        re.findall(r"== ([^(]+?) \([0-9.]+ s\)\n(.*?)(?=\n==|\Z)", out, re.S)
    )
    selected = sections["policy levels"]
    assert "policy level profile: skipped: no feature shares structure" in selected
    assert _level_one_purity(selected) >= 0.95
    # Without the selection the random demographics make level 1.
    assert _level_one_purity(sections["policy levels, no variable selection"]) < 0.5
