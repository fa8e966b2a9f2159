"""Micro-measurements of the ingest write path as it is now (one vault row per record).

    .venv/bin/python bench/micro.py [--postgres URL]

1. Inserting one 500-record batch's vault rows (500 rows shaped like
   vault_entries: UUIDv7 record_id, subject pseudonym, one AES-GCM blob of the
   record's nine personal fields) on SQLite and PostgreSQL: Core executemany
   (what records_repo does), one multi-row INSERT ... VALUES, and (PostgreSQL)
   COPY FROM STDIN.
2. Per-call cost of the hot pure functions on the same seeded records:
   normalize_phone (and its parts), the Pseudonymizer (HMAC-SHA256),
   VaultWriter.entry (orjson + one AES-GCM per record) and uuid7.
Throwaway tables and databases (gateway_micro_*) only; nothing of the gateway's
is touched.
"""

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import (
    Column,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
)
from sqlalchemy.orm import Session

from gateway.crypto.envelope import FieldCipher, new_data_key
from gateway.crypto.keyring import KeyPurpose, ensure_keyring
from gateway.crypto.pseudonym import Pseudonymizer
from gateway.fields.normalize import normalize_phone
from gateway.ids import uuid7
from gateway.storage.db import make_engine
from gateway.vault import VaultWriter

# bench/ is not a package: its modules import once the path has it.
sys.path[:0] = [
    str(Path(__file__).resolve().parent),
    str(Path(__file__).resolve().parents[1]),
]
from benchdata import people  # noqa: E402

from tests.databases import scratch_postgres  # noqa: E402

Row = dict[str, Any]
METADATA = MetaData()
VAULT = Table(
    "bench_vault_like",
    METADATA,
    Column("record_id", String(36), primary_key=True),
    Column("subject_id", String(80), index=True),
    Column("ciphertext", LargeBinary, nullable=False),
)
FIELDS = [
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "street",
    "birth_date",
    "postal_code",
    "city",
]
BATCH = 500


def vault_writer() -> VaultWriter:
    """A VaultWriter whose subjects' keys are made on demand (no database)."""
    writer = VaultWriter(None, None, datetime.now(UTC))  # type: ignore[arg-type]
    # A bench shortcut past load(), which needs the subject_keys table.
    writer._ciphers = _Ciphers()
    return writer


class _Ciphers(dict[str, FieldCipher]):
    def __missing__(self, subject_id: str) -> FieldCipher:
        cipher = self[subject_id] = FieldCipher(new_data_key())
        return cipher


def vault_rows(records: list[Row]) -> list[Row]:
    """Real-sized vault rows: one sealed blob of a record's personal fields."""
    writer = vault_writer()
    now = datetime.now(UTC)
    return [
        writer.entry(
            uuid7(now),
            "k1." + secrets.token_hex(32),
            {f: str(r[f]) for f in FIELDS},
        )
        for r in records
    ]


def best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def insert_variants(url: str, records: list[Row]) -> None:
    engine = make_engine(url)
    METADATA.create_all(engine)
    pg = url.startswith("postgresql")

    def run(label: str, body: Callable[[Session, list[Row]], None]) -> None:
        timings = []
        for _ in range(3):
            with engine.begin() as conn:
                conn.execute(VAULT.delete())
            data = vault_rows(records)
            with Session(engine) as session, session.begin():
                start = time.perf_counter()
                body(session, data)
                session.flush()
                timings.append(time.perf_counter() - start)
        best_ms = min(timings) * 1000
        print(f"  {label:<44} {best_ms:7.1f} ms (best of 3, before commit)")

    def executemany(session: Session, data: list[Row]) -> None:
        session.execute(insert(VAULT), data)

    def multi_values(session: Session, data: list[Row]) -> None:
        session.execute(insert(VAULT).values(data))

    def copy(session: Session, data: list[Row]) -> None:
        cursor = session.connection().connection.dbapi_connection.cursor()
        sql = f"COPY {VAULT.name} (record_id, subject_id, ciphertext) FROM STDIN"
        with cursor.copy(sql) as cp:
            for r in data:
                cp.write_row((r["record_id"], r["subject_id"], r["ciphertext"]))

    backend = engine.url.get_backend_name()
    print(f"[{backend}] {len(records)} vault rows (one per record)")
    run("Core executemany (records_repo today)", executemany)
    run("Core multi-row INSERT ... VALUES", multi_values)
    if pg:
        run("COPY FROM STDIN (psycopg)", copy)
    with engine.begin() as conn:
        METADATA.drop_all(conn)
    engine.dispose()


def pure_costs() -> None:
    recs = people(7, 0, 5000, tag="m")
    phones = [r["phone"] for r in recs]
    n = len(recs)

    def per_call(fn: Callable[[], object]) -> float:
        return best(fn) / n * 1e6

    def line(label: str, fn: Callable[[], object]) -> None:
        print(f"  {label:<44} {per_call(fn):6.1f} us")

    parsed = [phonenumbers.parse(p, "FR") for p in phones]
    e164 = phonenumbers.PhoneNumberFormat.E164
    print(f"\npure costs per call ({n} seeded values, best of 3):")
    line("normalize_phone", lambda: [normalize_phone(p, "FR") for p in phones])
    line("  phonenumbers.parse", lambda: [phonenumbers.parse(p, "FR") for p in phones])
    line(
        "  is_possible_number",
        lambda: [phonenumbers.is_possible_number(x) for x in parsed],
    )
    line("  is_valid_number", lambda: [phonenumbers.is_valid_number(x) for x in parsed])
    line(
        "  format_number E164",
        lambda: [phonenumbers.format_number(x, e164) for x in parsed],
    )
    with tempfile.TemporaryDirectory() as tmp:
        ring, _ = ensure_keyring(Path(tmp) / "k.json", datetime.now(UTC))
    pseudo = Pseudonymizer(ring.active(KeyPurpose.PSEUDONYM))
    line(
        "Pseudonymizer call (HMAC-SHA256)", lambda: [pseudo("email", x) for x in phones]
    )
    writer = vault_writer()
    subject = "k1." + secrets.token_hex(32)
    writer.entry(uuid7(datetime.now(UTC)), subject, {})  # make the subject's key
    now = datetime.now(UTC)
    fields = [{f: str(r[f]) for f in FIELDS} for r in recs]
    line(
        "VaultWriter.entry (orjson+AES-GCM, 9 fields)",
        lambda: [writer.entry("rid", subject, f) for f in fields],
    )
    line("uuid7", lambda: [uuid7(now) for _ in range(n)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    records = people(7, 0, BATCH, tag="v")
    with tempfile.TemporaryDirectory(prefix="gw-micro-") as tmp:
        insert_variants(f"sqlite:///{tmp}/micro.db", records)
    with scratch_postgres(args.postgres, "gateway_micro") as url:
        insert_variants(url, records)
    pure_costs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
