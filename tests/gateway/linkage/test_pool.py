"""Encodings made in a helper process equal those made in the request's thread."""

import os
import signal
from datetime import UTC, datetime

import pytest

from gateway.crypto.keyring import KeyPurpose, create_keyring
from gateway.linkage.encoder import LinkageEncoder
from gateway.linkage.pool import EncodingPool

KEY = create_keyring(datetime(2026, 1, 1, tzinfo=UTC)).active(KeyPurpose.LINKAGE)
RECORDS = [
    {
        "first_name": f"Camille{n}",
        "last_name": "Martin",
        "street": f"{n} rue Pasteur",
        "city": "Lyon",
        "birth_date": "1984-07-19",
        "postal_code": "69003",
    }
    for n in range(40)
]


@pytest.mark.parametrize("workers", [0, 1])
def test_same_encodings_with_or_without_a_helper(workers: int) -> None:
    expected = LinkageEncoder(KEY).encode_many(RECORDS)
    pool = EncodingPool(KEY, workers)
    try:
        assert pool.start(RECORDS)() == expected
        assert pool.encode_many(RECORDS) == expected
        assert pool.start([])() == []
        assert pool.kid == KEY.kid
    finally:
        pool.close()


def test_a_dead_helper_is_replaced_and_nothing_is_lost() -> None:
    expected = LinkageEncoder(KEY).encode_many(RECORDS)
    pool = EncodingPool(KEY, 1)
    try:
        assert pool.start(RECORDS)() == expected
        executor = pool._executor  # noqa: SLF001 - the test kills its helper
        assert executor is not None
        for pid in list(executor._processes):  # noqa: SLF001
            os.kill(pid, signal.SIGKILL)
        # The request in flight falls back to its own thread...
        assert pool.start(RECORDS)() == expected
        # ...and the next one gets a fresh helper.
        assert pool.start(RECORDS)() == expected
    finally:
        pool.close()
