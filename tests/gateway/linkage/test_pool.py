"""Encodings made in a helper process equal those made in the request's thread."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

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


def test_the_helper_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        "from datetime import UTC, datetime\n"
        "from gateway.crypto.keyring import KeyPurpose, create_keyring\n"
        "from gateway.linkage.pool import EncodingPool\n"
        "if __name__ == '__main__':\n"
        "    key = create_keyring(datetime.now(UTC)).active(KeyPurpose.LINKAGE)\n"
        "    pool = EncodingPool(key, 1)\n"
        "    pool.start([{'first_name': 'Ada'}])()\n"
        "    print(*pool._executor._processes, flush=True)\n"
        "    time.sleep(60)\n"
    )
    parent = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    helper = int(parent.stdout.readline().split()[0])
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(helper):
        time.sleep(0.2)
    assert not _alive(helper)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
