"""The holdout key: derived from the first linkage key, stable, independent."""

from datetime import UTC, datetime

from gateway.crypto.destination import destination_key, destination_root
from gateway.crypto.keyring import KEY_BYTES, KeyPurpose, create_keyring, holdout_key
from pipelines.holdout import in_holdout

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_is_a_full_length_key_apart_from_every_stored_one() -> None:
    ring = create_keyring(NOW)
    key = holdout_key(ring)
    assert len(key) == KEY_BYTES
    assert key not in {stored.material for stored in ring.keys}
    assert key != destination_key(destination_root(ring), "holdout")


def test_survives_rotations_and_differs_between_keyrings() -> None:
    ring = create_keyring(NOW)
    rotated = ring.rotate(KeyPurpose.LINKAGE, NOW).rotate(KeyPurpose.PSEUDONYM, NOW)
    assert holdout_key(rotated) == holdout_key(ring)
    assert holdout_key(create_keyring(NOW)) != holdout_key(ring)


def test_draws_the_same_people_after_a_rotation() -> None:
    ring = create_keyring(NOW)
    people = [f"entity-{n}" for n in range(2000)]
    before = in_holdout(holdout_key(ring), "retail_default", people, 0.1)
    rotated = ring.rotate(KeyPurpose.LINKAGE, NOW)
    after = in_holdout(holdout_key(rotated), "retail_default", people, 0.1)
    assert (before == after).all()
    assert 100 < before.sum() < 300
