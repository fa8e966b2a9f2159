"""Known-answer tests for the crypto primitives (RFC 4231 HMAC, RFC 5869 HKDF).

`tests/data/crypto_kat.json` is a copy of the project's shared public test data
(`../shared/data/merkle/crypto_kat.json`), kept in the repository so that a
clone anywhere, CI's included, can run the tests on its own.
"""

from pathlib import Path

CRYPTO_KAT = Path(__file__).resolve().parent / "data" / "crypto_kat.json"
