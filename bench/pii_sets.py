"""Public labelled PII sets other than ours, read into `LabelledText`.

eds-pseudo (AP-HP, BSD-3-Clause): two small public sets of synthetic French
clinical-style snippets, `public_small_train_data.jsonl` (80 snippets: tune on
it) and `public_small_dev_data.jsonl` (86: never tune on it). The directory is
outside the repository: `EDS_DIR`, or the environment variable PII_EDS_DIR.

Their labels become our entity types (`EDS_TYPES`); IPP and NDA, a hospital's
patient and stay numbers, become PATIENT_ID.

`parse_eds` is pure (lines in, texts out); `load_eds` reads a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from bench.pii_metrics import GoldSpan, LabelledText

# shared/ lies beside the repository (as on CI), unless told otherwise.
_BESIDE = Path(__file__).resolve().parents[2] / "shared" / "data" / "pii" / "eds-pseudo"
EDS_DIR = Path(os.environ.get("PII_EDS_DIR", str(_BESIDE)))
# Our split names: "tune" is the split we may tune on, "holdout" the other.
EDS_FILES = {
    "tune": "public_small_train_data.jsonl",
    "holdout": "public_small_dev_data.jsonl",
}
PATIENT_ID = "PATIENT_ID"
EDS_TYPES: dict[str, str] = {
    "NOM": "PERSON",
    "PRENOM": "PERSON",
    "DATE": "DATE_TIME",
    "DATE_NAISSANCE": "DATE_OF_BIRTH",
    "TEL": "PHONE_NUMBER",
    "MAIL": "EMAIL_ADDRESS",
    "ADRESSE": "STREET_ADDRESS",
    "ZIP": "POSTAL_CODE",
    "VILLE": "LOCATION",
    "HOPITAL": "ORGANIZATION",
    "SECU": "FR_NIR",
    "IPP": PATIENT_ID,
    "NDA": PATIENT_ID,
}


def parse_eds(lines: Iterable[str], template: str = "eds-pseudo") -> list[LabelledText]:
    """eds-pseudo JSON Lines (`note_id`, `note_text`, `entities`) as French texts.

    Args:
        lines: The file's lines; blank lines are skipped.
        template: Stored as every text's `template` (the set's name).

    Returns:
        One text per line, its spans mapped to our types and sorted.

    Raises:
        ValueError: On a label not in `EDS_TYPES` or a span outside its text
            or empty.
    """
    texts = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row = json.loads(line)
        text = row["note_text"]
        spans = []
        for entity in row["entities"]:
            start, end, label = entity["start"], entity["end"], entity["label"]
            if label not in EDS_TYPES:
                msg = f"line {number}: unknown eds-pseudo label {label!r}"
                raise ValueError(msg)
            if not 0 <= start < end <= len(text):
                msg = f"line {number}: span {start}-{end} outside the text"
                raise ValueError(msg)
            spans.append(GoldSpan(EDS_TYPES[label], start, end))
        spans.sort(key=lambda s: (s.start, s.end))
        texts.append(
            LabelledText(str(row["note_id"]), "fr", template, text, tuple(spans))
        )
    return texts


def load_eds(split: str, directory: Path = EDS_DIR) -> list[LabelledText]:
    """Read one eds-pseudo split: "tune" (train) or "holdout" (dev)."""
    path = directory / EDS_FILES[split]
    with path.open(encoding="utf-8") as lines:
        return parse_eds(lines, template=f"eds-pseudo-{path.stem}")
