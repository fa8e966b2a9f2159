"""A small C2SP tlog-witness for the tests: `add-checkpoint` with cosignature/v1.

    python tests/support/witness_server.py --port 0 --name witness.test/w1 \
        --key-file w1.key --state w1.json --log-vkey ORIGIN+KEYID+KEY [...]

Once listening it prints one JSON line, `{"url": ..., "vkey": ...}`, and
serves `POST /add-checkpoint` until it is terminated. It follows the logs
whose vkeys it is given (origin = the key's name) and keeps, per origin, the
size and root it last cosigned in the `--state` JSON file.

Written from the tlog-witness, tlog-cosignature and signed-note texts alone,
apart from the gateway's RFC 9162 consistency verifier (which the tests of
`gateway/audit/merkle.py` hold to the public vectors): the gateway's own note
and cosignature code is not used, so that the client and this witness check
each other rather than share a mistake.
"""

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.audit.merkle import verify_consistency

_OLD = re.compile(r"old (0|[1-9][0-9]*)")
_SIZE = re.compile(r"0|[1-9][0-9]*")
_DASH = "\u2014 "
_MAX_BODY = 1 << 20
_EMPTY_ROOT = hashlib.sha256(b"").digest()


class RefusalError(Exception):
    """An HTTP status to answer with, and its short reason."""

    def __init__(self, status: int, reason: str, body: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.body = status, reason, body


def _key_id(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise RefusalError(400, "not base64") from None


@dataclass(frozen=True)
class LogKey:
    """A log's Ed25519 note key (signature type 0x01)."""

    name: str
    public: bytes

    @classmethod
    def parse(cls, vkey: str) -> "LogKey":
        name, key_id, key = vkey.split("+", 2)
        raw = base64.b64decode(key, validate=True)
        if len(raw) != 33 or raw[0] != 0x01:
            raise ValueError("a log vkey is an Ed25519 (0x01) key")
        if _key_id(name, 0x01, raw[1:]).hex() != key_id:
            raise ValueError("the log vkey's id does not match")
        return cls(name, raw[1:])


class Witness:
    """The add-checkpoint rules, the state file and the witness key."""

    def __init__(self, name: str, seed: bytes, logs: list[LogKey], state: Path) -> None:
        self.name = name
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self._private.public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw
        )
        self._logs: dict[str, list[LogKey]] = {}
        for key in logs:
            self._logs.setdefault(key.name, []).append(key)
        self._state = state
        # Checking `old` and storing the new size is one step (the spec's race).
        self._lock = threading.Lock()

    @property
    def vkey(self) -> str:
        """The cosignature/v1 verifier key: name+hex(id)+base64(0x04 ‖ key)."""
        key_id = _key_id(self.name, 0x04, self.public).hex()
        material = base64.b64encode(b"\x04" + self.public).decode()
        return f"{self.name}+{key_id}+{material}"

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line(s) for a request body, or a RefusalError."""
        old, proof, note = _parse_request(body)
        text, signatures = _split_note(note)
        origin = text.split("\n", 1)[0]
        if origin not in self._logs:
            raise RefusalError(404, "unknown log")
        self._check_log_signature(text, signatures, self._logs[origin])
        size, root = _parse_checkpoint(text)
        if old > size:
            raise RefusalError(400, "old size is larger than the checkpoint")
        with self._lock:
            state = self._load()
            held = state.get(origin, {"size": 0, "root": None})
            if old != held["size"]:
                raise RefusalError(409, "old size mismatch", f"{held['size']}\n")
            if size == 0 and root != _EMPTY_ROOT:
                raise RefusalError(422, "an empty tree has the empty root")
            if old == 0 and proof:
                raise RefusalError(422, "no proof from the empty tree")
            held_root = _b64(held["root"]) if held["root"] else b""
            if old > 0 and not verify_consistency(old, size, held_root, root, proof):
                raise RefusalError(422, "consistency proof does not verify")
            state[origin] = {"size": size, "root": base64.b64encode(root).decode()}
            self._save(state)
        return self._cosign(text) + "\n"

    def _check_log_signature(
        self, text: str, signatures: list[tuple[str, bytes]], keys: list[LogKey]
    ) -> None:
        valid = 0
        for key in keys:
            key_id = _key_id(key.name, 0x01, key.public)
            for name, blob in signatures:
                if name != key.name or blob[:4] != key_id:
                    continue  # unknown keys are ignored
                try:
                    Ed25519PublicKey.from_public_bytes(key.public).verify(
                        blob[4:], text.encode()
                    )
                except InvalidSignature:
                    raise RefusalError(403, "log signature does not verify") from None
                valid += 1
        if not valid:
            raise RefusalError(403, "no signature by the log's key")

    def _cosign(self, text: str) -> str:
        timestamp = int(time.time())
        message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
        payload = (
            _key_id(self.name, 0x04, self.public)
            + timestamp.to_bytes(8, "big")
            + self._private.sign(message)
        )
        return f"{_DASH}{self.name} {base64.b64encode(payload).decode()}"

    def _load(self) -> dict[str, dict[str, object]]:
        if not self._state.exists():
            return {}
        return json.loads(self._state.read_text(encoding="utf-8"))

    def _save(self, state: dict[str, dict[str, object]]) -> None:
        # Persisted before answering, as the spec requires; atomic on rename.
        scratch = self._state.with_suffix(".tmp")
        scratch.write_text(json.dumps(state), encoding="utf-8")
        scratch.replace(self._state)


def _parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RefusalError(400, "not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if not sep or match is None:
        raise RefusalError(400, "the body starts with an old size line")
    if len(lines) - 1 > 63:
        raise RefusalError(400, "more than 63 proof lines")
    proof = [_b64(line) for line in lines[1:]]
    if any(len(h) != 32 for h in proof):
        raise RefusalError(400, "a proof line is not a SHA-256 hash")
    return int(match.group(1)), proof, note


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    text, sep, block = note.rpartition("\n\n")
    if not sep or not block.endswith("\n"):
        raise RefusalError(400, "not a signed note")
    signatures = []
    for line in block[:-1].split("\n"):
        name, space, encoded = line.removeprefix(_DASH).partition(" ")
        if not line.startswith(_DASH) or not space or not name:
            raise RefusalError(400, "malformed signature line")
        signatures.append((name, _b64(encoded)))
    return text + "\n", signatures


def _parse_checkpoint(text: str) -> tuple[int, bytes]:
    lines = text.split("\n")
    if len(lines) < 4 or not _SIZE.fullmatch(lines[1]):
        raise RefusalError(400, "malformed checkpoint")
    root = _b64(lines[2])
    if len(root) != 32:
        raise RefusalError(400, "malformed checkpoint root")
    return int(lines[1]), root


def _handler(witness: Witness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 -- the http.server API
            if not self.path.endswith("/add-checkpoint"):
                self._answer(404, "text/plain", "not found\n")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                self._answer(400, "text/plain", "too large\n")
                return
            try:
                lines = witness.add_checkpoint(self.rfile.read(length))
            except RefusalError as refusal:
                if refusal.status == 409:
                    self._answer(409, "text/x.tlog.size", refusal.body or "")
                else:
                    self._answer(refusal.status, "text/plain", refusal.reason + "\n")
                return
            self._answer(200, "text/plain; charset=utf-8", lines)

        def _answer(self, status: int, media_type: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # quiet: the tests read the answers, not a request log

    return Handler


def _seed(path: Path) -> bytes:
    if not path.exists():
        path.write_text(os.urandom(32).hex(), encoding="utf-8")
        path.chmod(0o600)
    return bytes.fromhex(path.read_text(encoding="utf-8").strip())


def main() -> None:
    """Serve until terminated; print the URL and vkey once listening."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", required=True)
    parser.add_argument("--key-file", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--log-vkey", action="append", required=True)
    args = parser.parse_args()
    logs = [LogKey.parse(vkey) for vkey in args.log_vkey]
    witness = Witness(args.name, _seed(args.key_file), logs, args.state)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(witness))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(json.dumps({"url": url, "vkey": witness.vkey}), flush=True)  # noqa: T201
    server.serve_forever()


if __name__ == "__main__":
    main()
