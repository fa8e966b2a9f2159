"""Start the test witness (`witness_server.py`) as a real process on a free port."""

import json
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.cosignature import WitnessKey

SERVER = Path(__file__).resolve().with_name("witness_server.py")
_START_SECONDS = 30


@dataclass(frozen=True)
class RunningWitness:
    """A witness process: its URL, its vkey and where it keeps its state."""

    name: str
    url: str
    vkey: str
    state: Path

    @property
    def key(self) -> WitnessKey:
        """The witness's verifier key, as a verifier pins it."""
        return WitnessKey.parse(self.vkey)

    def held(self) -> dict[str, dict[str, object]]:
        """The (size, root) per origin the witness last cosigned."""
        return json.loads(self.state.read_text(encoding="utf-8"))


@contextmanager
def running_witness(
    directory: Path,
    name: str,
    log_vkeys: Sequence[str],
    state: dict[str, dict[str, object]] | None = None,
) -> Iterator[RunningWitness]:
    """A witness following the given logs, listening once this yields.

    `state` seeds what it holds per origin (`{"size", "root" (base64)}`), as a
    witness that saw another history of the log would.
    """
    directory.mkdir(parents=True, exist_ok=True)
    slug = name.replace("/", "_")
    state_file = directory / f"{slug}.json"
    if state is not None:
        state_file.write_text(json.dumps(state), encoding="utf-8")
    command = [
        sys.executable,
        str(SERVER),
        "--port=0",
        f"--name={name}",
        f"--key-file={directory / f'{slug}.key'}",
        f"--state={state_file}",
        *(f"--log-vkey={vkey}" for vkey in log_vkeys),
    ]
    with (directory / f"{slug}.log").open("wb") as errors:
        process = subprocess.Popen(  # noqa: S603 -- our own script, fixed arguments
            command,
            stdout=subprocess.PIPE,
            stderr=errors,
            start_new_session=True,
        )
    try:
        started = json.loads(_first_line(process))
        _wait_until_answering(started["url"])
        yield RunningWitness(name, started["url"], started["vkey"], state_file)
    finally:
        _stop(process)


def _first_line(process: subprocess.Popen[bytes]) -> bytes:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=_START_SECONDS):
            raise AssertionError("the witness did not start")
    line = process.stdout.readline()
    assert line, f"the witness exited ({process.poll()})"
    return line


def _wait_until_answering(url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + _START_SECONDS
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, "the witness does not answer"
            time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
