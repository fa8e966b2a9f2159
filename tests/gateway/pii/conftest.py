"""One real analyzer for the PII tests, built from the real policies."""

from pathlib import Path

import pytest

from gateway.pii.analyzer import PiiAnalyzer, load_analyzer
from gateway.policy.loader import load_policies

POLICIES = Path(__file__).resolve().parents[3] / "policies"


@pytest.fixture(scope="session")
def analyzer() -> PiiAnalyzer:
    """The analyzer the gateway builds from policies/pii.yaml (French NER: sm)."""
    return load_analyzer(load_policies(POLICIES).pii)
