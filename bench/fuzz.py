"""A long schemathesis run over the gateway's own OpenAPI schema.

    .venv/bin/python bench/fuzz.py                    # 500 examples a mode, SQLite
    .venv/bin/python bench/fuzz.py --examples 50      # shorter
    .venv/bin/python bench/fuzz.py --database postgres  # GATEWAY_TEST_POSTGRES_URL
    .venv/bin/python bench/fuzz.py --random           # a new seed (default: fixed)

The same checks as the bounded run of `make test` (tests/gateway/api/test_fuzz.py,
machinery in tests/support/fuzzing.py), with more examples: for every operation,
a few valid requests, then up to N positive and N negative generated examples,
each sent by the role the operation serves (as generated, then with a canary
in every string) and by another caller in turn (another role, nobody, a bogus
token). Checks: no 5xx, documented status, content type, body and headers,
every error an RFC 9457 problem document, no canary in any error.

Prints one row per operation: examples tried, requests sent, the statuses
seen, and the failures per check (never a value that was sent); exits 1 when
any check failed. Runs in-process against a fresh database (an SQLite file in
a temporary directory, or a PostgreSQL database it creates and drops).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from fastapi.testclient import TestClient  # noqa: E402

from gateway.main import create_app  # noqa: E402
from tests.databases import gateway_context, throwaway_database  # noqa: E402
from tests.support.fuzzing import OperationReport, make_world, run_fuzz  # noqa: E402


def table(reports: list[OperationReport]) -> str:
    """The per-operation table, in Markdown."""
    lines = [
        "| operation | examples | requests | statuses seen | failures (check: count) |",
        "|---|---:|---:|---|---|",
    ]
    for r in reports:
        statuses = " ".join(f"{s}×{n}" for s, n in sorted(r.statuses.items()))
        failed = r.failed_checks()
        failures = ", ".join(f"{c}: {n}" for c, n in sorted(failed.items())) or "0"
        lines.append(
            f"| `{r.operation}` | {r.examples} | {r.calls} | {statuses} | {failures} |"
        )
    total_examples = sum(r.examples for r in reports)
    total_calls = sum(r.calls for r in reports)
    total_failures = sum(len(r.failures) for r in reports)
    lines.append(
        f"| **all {len(reports)}** | {total_examples} | {total_calls} | | "
        f"{total_failures} |"
    )
    return "\n".join(lines)


def details(reports: list[OperationReport]) -> str:
    """Each distinct failure once: operation, caller, check, status, title."""
    seen: dict[tuple[str, str, str, int | None, str], int] = {}
    for r in reports:
        for f in r.failures:
            key = (f.operation, f.caller, f.check, f.status, f.title)
            seen[key] = seen.get(key, 0) + 1
    return "\n".join(
        f"- `{op}` as {caller}: {check} on {status}: {title} (×{n})"
        for (op, caller, check, status, title), n in sorted(
            seen.items(), key=lambda item: str(item[0])
        )
    )


def main() -> int:
    """Run, print the table, exit 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=500,
        help="generated examples per operation and mode (positive, negative)",
    )
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--random", action="store_true", help="a new random seed (default: fixed)"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="gateway-fuzz-") as tmp,
        throwaway_database(args.database, Path(tmp) / "db") as database,
        gateway_context(database, Path(tmp) / "home", log_level="WARNING") as ctx,
        TestClient(create_app(ctx)) as http,
    ):
        reports = run_fuzz(
            make_world(ctx, http),
            args.examples,
            derandomize=not args.random,
            progress=lambda what: print(f"fuzzing {what}", file=sys.stderr),
        )
    elapsed = time.perf_counter() - started
    print(
        f"schemathesis over the gateway's OpenAPI schema, {args.database}, "
        f"up to {args.examples} examples per operation and mode, "
        f"{'random' if args.random else 'fixed'} seed, {elapsed:.0f} s"
    )
    print()
    print(table(reports))
    failures = details(reports)
    if failures:
        print()
        print("Failures:")
        print(failures)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
