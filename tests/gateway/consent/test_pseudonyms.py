"""Which pseudonym an identifier goes by across pseudonym key rotations."""

from collections.abc import Iterable
from datetime import UTC, datetime

from gateway.consent.pseudonyms import PseudonymResolver, choose
from gateway.crypto.keyring import KeyPurpose, create_keyring
from gateway.crypto.pseudonym import Pseudonymizer

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _pseudonymizers(rotations: int) -> list[Pseudonymizer]:
    keyring = create_keyring(NOW)
    for _ in range(rotations):
        keyring = keyring.rotate(KeyPurpose.PSEUDONYM, NOW)
    keys = sorted(
        (k for k in keyring.keys if k.purpose == KeyPurpose.PSEUDONYM),
        key=lambda k: (not k.active, k.version),
    )
    return [Pseudonymizer(k) for k in keys]  # active first, then oldest first


def test_choose_prefers_the_active_key_when_known_then_the_oldest_known() -> None:
    candidates = ["new.x", "v1.x", "v2.x"]
    assert choose(candidates, set()) == "new.x"
    assert choose(candidates, {"v2.x"}) == "v2.x"
    assert choose(candidates, {"v1.x", "v2.x"}) == "v1.x"
    assert choose(candidates, {"new.x", "v1.x"}) == "new.x"


def test_a_single_key_looks_nothing_up() -> None:
    asked: list[list[str]] = []

    def known(keys: Iterable[str]) -> set[str]:
        asked.append(list(keys))
        return set()

    (active,) = _pseudonymizers(0)
    resolver = PseudonymResolver([active], known)
    assert not resolver.rotated
    assert resolver("email", "a@example.org") == active("email", "a@example.org")
    assert asked == []


def test_an_identifier_known_under_an_older_key_keeps_that_pseudonym() -> None:
    active, oldest, older = _pseudonymizers(2)
    stored = {oldest("email", "known@example.org")}
    asked: list[set[str]] = []

    def known(keys: Iterable[str]) -> set[str]:
        wanted = set(keys)
        asked.append(wanted)
        return wanted & stored

    resolver = PseudonymResolver([active, oldest, older], known)
    resolved = resolver.resolve_many(
        [("email", "known@example.org"), ("email", "new@example.org")] * 2
    )
    assert [r.pseudonym for r in resolved] == [
        oldest("email", "known@example.org"),
        active("email", "new@example.org"),
    ] * 2
    assert resolved[0].known == (oldest("email", "known@example.org"),)
    assert [len(keys) for keys in asked] == [6]  # one lookup, three keys each
    assert resolver("email", "known@example.org") == resolved[0].pseudonym
    assert len(asked) == 1  # answered from the batch's cache
