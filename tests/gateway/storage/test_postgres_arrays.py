"""PostgreSQL engines send arrays in binary, and read back what was sent."""

import pytest
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import ARRAY, LargeBinary, String, bindparam, text

from gateway.storage.db import make_engine
from tests.databases import Database

POSTGRES = pytest.mark.parametrize(
    "fresh_database",
    [pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)


@POSTGRES
def test_a_list_parameter_is_dumped_in_binary(fresh_database: Database) -> None:
    engine = make_engine(fresh_database.url)
    try:
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            dumper = driver.adapters.get_dumper(list, "s")  # type: ignore[union-attr]
            assert dumper is ListBinaryDumper
    finally:
        engine.dispose()


@POSTGRES
def test_arrays_of_every_kind_the_gateway_sends_read_back_equal(
    fresh_database: Database,
) -> None:
    # Keys with the characters text arrays must quote or escape: commas,
    # quotes, braces, backslashes, spaces, NULL spelled out, non-ASCII.
    strings = ["a,b", 'q"uote', "{brace}", "back\\slash", " space ", "NULL", "é"]
    blobs = [b"\x00\xff", b"\\x00", b"", b'"{,}']
    numbers = [0, -1, 2**62, None]
    engine = make_engine(fresh_database.url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT :strings, :blobs, CAST(:numbers AS bigint[])").bindparams(
                    bindparam("strings", type_=ARRAY(String)),
                    bindparam("blobs", type_=ARRAY(LargeBinary)),
                ),
                {"strings": strings, "blobs": blobs, "numbers": numbers},
            ).one()
            assert list(row[0]) == strings
            assert [bytes(b) for b in row[1]] == blobs
            assert list(row[2]) == numbers
            found = connection.execute(
                text(
                    "SELECT count(*) FROM unnest(CAST(:keys AS varchar[])) AS k"
                ).bindparams(bindparam("keys", type_=ARRAY(String))),
                {"keys": strings},
            ).scalar_one()
            assert found == len(strings)
    finally:
        engine.dispose()
