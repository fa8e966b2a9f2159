import pytest

from gateway.ingest.generalize import generalize


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ("year", "1985-12-31", "1985"),
        ("year", "2024-03-01T10:00:00Z", "2024"),
        ("prefix2", "75011", "75"),
        ("prefix3", "75011", "750"),
        ("prefix2", "20000", "20"),  # Corsica (2A and 2B) as a whole
        ("prefix2", "20600", "20"),
        ("prefix3", "97400", "974"),
        ("prefix2", "SW1A1AA", "SW"),
        ("prefix3", "SW1A1AA", "SW1"),
        ("prefix2", "75", "75"),
        ("suppress", "75011", None),
        ("suppress", "1985-12-31", None),
    ],
)
def test_generalizes_by_rule(rule: str, value: str, expected: str | None) -> None:
    assert generalize(rule, value) == expected


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ("year", "31/12/1985"),
        ("year", "1985"),
        ("prefix3", "75"),
        ("prefix2", "75 011"),
        ("prefix2", ""),
    ],
)
def test_rejects_values_the_rule_cannot_apply_to(rule: str, value: str) -> None:
    with pytest.raises(ValueError, match=rule) as caught:
        generalize(rule, value)
    if value:
        assert value not in str(caught.value)


def test_rejects_unknown_rule() -> None:
    with pytest.raises(ValueError, match="unknown generalization rule"):
        generalize("prefix4", "75011")
