"""`make demo`: a synthetic population through the real gateway, end to end.

    .venv/bin/python -m gateway.demo [--people N] [--home DIR]

Creates two partners and a destination with the `gateway` CLI, starts
`gateway serve`, sends consent, customers and events over HTTP, runs the
segmentation pipeline, pulls a segment as the destination and prints where
the report is. Uses its own data directory (wiped first), so it can be run
again and never touches the main one.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from gateway.demo.population import population

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GATEWAY = BIN / "gateway"
PARTNERS = ("shop_a", "shop_b")
DESTINATION = "demo_platform"  # has its own floor in policies/destinations.yaml
BATCH = 500


def _say(text: str) -> None:
    print(text, flush=True)


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(GATEWAY), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"gateway {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(GATEWAY), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            else:
                raise SystemExit(f"the gateway did not start; see {log}")
            yield base
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def _post(http: httpx.Client, url: str, key: str, body: dict[str, Any]) -> Any:
    response = http.post(url, json=body, headers={"Authorization": f"Bearer {key}"})
    if response.status_code != 200:
        raise SystemExit(f"POST {url}: {response.status_code} {response.text[:200]}")
    return response.json()


def _send(http: httpx.Client, base: str, keys: dict[str, str], people: int) -> None:
    world = population(people, PARTNERS)
    _say(
        f"population: {people} people, {world.duplicated} of them at both "
        "partners (some with typos), "
        f"{sum(len(e) for e in world.events.values())} events"
    )
    for partner in PARTNERS:
        key = keys[partner]
        for start in range(0, len(world.consents[partner]), BATCH):
            chunk = world.consents[partner][start : start + BATCH]
            _post(http, f"{base}/v1/consents", key, {"events": chunk})
        for dataset, records in (
            ("customers", world.customers[partner]),
            ("events", world.events[partner]),
        ):
            accepted = rejected = 0
            for start in range(0, len(records), BATCH):
                body = _post(
                    http,
                    f"{base}/v1/datasets/{dataset}/records",
                    key,
                    {
                        "purpose": "segmentation",
                        "records": records[start : start + BATCH],
                    },
                )
                accepted += body["accepted"]
                rejected += body["rejected"]
            _say(
                f"  {partner} {dataset}: {accepted} accepted, {rejected} rejected "
                "(no consent on record)"
            )


def _pull(http: httpx.Client, base: str, key: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    segments = http.get(f"{base}/v1/audiences/retail_default/segments", headers=auth)
    segments.raise_for_status()
    listed = segments.json()
    _say(f"{DESTINATION} sees {len(listed)} segments:")
    for segment in listed:
        indent = "    " * segment["level"]
        _say(f"{indent}{segment['size']:>6}  {segment['description']}")
    if listed:
        first = listed[0]["segment_id"]
        page = http.get(
            f"{base}/v1/segments/{first}/members", params={"limit": 3}, headers=auth
        )
        page.raise_for_status()
        _say(f"first members of the first segment: {page.json()['members']}")


def main() -> int:
    """Run the demo; exit 0 when every step worked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2500)
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "demo")
    args = parser.parse_args()
    home: Path = args.home.resolve()
    shutil.rmtree(home, ignore_errors=True)
    env = os.environ | {
        "GATEWAY_HOME": str(home),
        "GATEWAY_POLICIES": str(ROOT / "policies"),
    }
    env.pop("GATEWAY_DATABASE_URL", None)
    env.pop("GATEWAY_KEYRING", None)
    _cli(["init", "--json"], env)
    keys = {}
    for partner in PARTNERS:
        made = _cli(
            ["clients", "add", partner, "--role", "partner", "--dataset", "customers",
             "--dataset", "events", "--purpose", "segmentation", "--json"],
            env,
        )  # fmt: skip
        keys[partner] = json.loads(made)["api_key"]
    made = _cli(
        ["clients", "add", DESTINATION, "--role", "destination",
         "--audience", "retail_default", "--json"],
        env,
    )  # fmt: skip
    destination_key = json.loads(made)["api_key"]
    out = home / "runs" / "retail_default"
    log = home / "demo-server.log"
    with _server(env, _free_port(), log) as base, httpx.Client(timeout=120) as http:
        _send(http, base, keys, args.people)
        _say("running the pipeline...")
        run = ["pipeline", "run", "retail_default", "--out", str(out), "--json"]
        summary = json.loads(_cli(run, env))
        _say(
            f"run {summary['run_id']}: {summary['counts'].get('entities', '?')} "
            f"people in {summary['segments']} segments"
        )
        _pull(http, base, destination_key)
    _say(f"report: {out / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
