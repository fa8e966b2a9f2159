"""Ask C2SP tlog-witness witnesses to cosign this log's checkpoints.

`POST <prefix>/add-checkpoint` carries an `old <size>` line, the RFC 6962
consistency proof from that size to the checkpoint's (one base64 hash per
line), an empty line and the signed checkpoint note. The witness answers 200
with its cosignature lines, or 409 (`text/x.tlog.size`) with the size it last
cosigned for this log when `old` is not that size: the client then proves
consistency from there and asks once more. 404 means the witness does not
follow this log, 403 that it refused the log's signature, 422 that the proof
does not hold (the log is not an extension of what the witness saw), 400 a
malformed request.

The client starts from `old 0` (no proof) unless told a size, so the first
answer from a witness that already follows the log is a 409: one round trip
more, and no state to keep here. A witness reporting a larger tree than the
checkpoint sent was shown a longer history: this log was rolled back, or
someone else signs under its key. Either way it is reported, never retried.

Errors name the witness by host only (never credentials, paths or whatever a
witness answered) and say what the status means.
"""

import base64
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from gateway.audit.cosignature import with_cosignatures
from gateway.audit.note import NoteError, parse_signature_line
from gateway.audit.proofs import consistency_proof
from gateway.errors import GatewayError
from gateway.storage.db import transaction

SIZE_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63  # tlog-witness: a client sends no more
_MAX_REPLY = 64 * 1024  # cosignature lines are short; a witness saying more is wrong


class WitnessError(GatewayError):
    """A witness did not cosign the checkpoint."""

    status, slug, title = 502, "witness-error", "The witness did not cosign"


class WitnessUnreachableError(WitnessError):
    """No usable answer: network error, timeout, 5xx or an unreadable reply."""


class WitnessUnknownLogError(WitnessError):
    """404: the witness does not follow this log (origin or key unknown to it)."""


class WitnessSignatureRefusedError(WitnessError):
    """403: the witness does not trust the log's signature on the checkpoint."""


class WitnessProofRefusedError(WitnessError):
    """422: the checkpoint does not extend the tree the witness cosigned before."""


class WitnessConflictError(WitnessError):
    """409 again, or the witness cosigned a larger tree than this checkpoint."""


class WitnessBadRequestError(WitnessError):
    """400: the witness found the request malformed."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A witness's answer: status, media type (no parameters) and body."""

    status: int
    media_type: str
    body: bytes


# post(url, body) -> Reply; raises WitnessUnreachableError when there is none.
Post = Callable[[str, bytes], Reply]
# prove(old_size) -> the consistency proof from old_size to the checkpoint's size.
Prove = Callable[[int], Sequence[bytes]]

_REFUSALS: dict[int, tuple[type[WitnessError], str]] = {
    400: (WitnessBadRequestError, "found the request malformed (400)"),
    403: (WitnessSignatureRefusedError, "refused the log's signature (403)"),
    404: (WitnessUnknownLogError, "does not follow this log (404)"),
    409: (WitnessConflictError, "still holds another tree size (409)"),
    422: (
        WitnessProofRefusedError,
        "refused the consistency proof (422): the log does not extend the "
        "tree it cosigned before",
    ),
}


def witness_label(url: str) -> str:
    """The witness's host[:port], as errors and reports name it."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def add_checkpoint_url(prefix: str) -> str:
    """`<submission prefix>/add-checkpoint`, for an http(s) prefix.

    Raises:
        WitnessBadRequestError: If the prefix is not an http or https URL.
    """
    parts = urlsplit(prefix)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WitnessBadRequestError("a witness URL is an http or https URL")
    return prefix.rstrip("/") + "/add-checkpoint"


def add_checkpoint_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The add-checkpoint request body.

    Raises:
        ValueError: If the size is negative or the proof too long for the spec.
    """
    if old_size < 0 or len(proof) > MAX_PROOF_LINES:
        raise ValueError("old size must be >= 0 and the proof at most 63 hashes")
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def urllib_post(timeout: float) -> Post:
    """POST with the standard library (no extra dependency), `timeout` seconds."""

    def post(url: str, body: bytes) -> Reply:
        request = urllib.request.Request(  # noqa: S310 -- scheme checked above
            url, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return Reply(
                    response.status,
                    response.headers.get_content_type(),
                    response.read(_MAX_REPLY),
                )
        except urllib.error.HTTPError as exc:
            with exc:
                return Reply(
                    exc.code, exc.headers.get_content_type(), exc.read(_MAX_REPLY)
                )
        except (urllib.error.URLError, OSError) as exc:
            raise WitnessUnreachableError(
                f"witness {witness_label(url)} unreachable: {exc.__class__.__name__}"
            ) from None

    return post


def request_cosignatures(
    url: str,
    note: str,
    tree_size: int,
    prove: Prove,
    post: Post,
    known_size: int = 0,
) -> list[str]:
    """Ask one witness to cosign the checkpoint `note` of `tree_size` events.

    Args:
        url: The witness's submission prefix.
        note: The signed checkpoint note.
        tree_size: The checkpoint's size.
        prove: Consistency proofs of this log, from an older size to tree_size.
        post: How to send the request.
        known_size: The size the witness is believed to hold (0: unknown).

    Returns:
        The witness's signature lines, without newlines.

    Raises:
        WitnessError: A subclass naming why the witness did not cosign.
    """
    label, endpoint = witness_label(url), add_checkpoint_url(url)
    old = known_size
    for attempt in range(2):
        if old > tree_size:
            raise WitnessConflictError(
                f"witness {label} cosigned {old} events of this log, more than "
                f"the {tree_size} in this checkpoint: the log was rolled back "
                "or another history is signed under its key"
            )
        proof = list(prove(old)) if 0 < old < tree_size else []
        reply = post(endpoint, add_checkpoint_body(old, proof, note))
        if reply.status == 200:
            return _cosignature_lines(label, reply)
        if reply.status == 409 and attempt == 0:
            old = _witness_size(label, reply)
            continue
        break
    error, meaning = _REFUSALS.get(
        reply.status, (WitnessUnreachableError, f"answered {reply.status}")
    )
    raise error(f"witness {label} {meaning}")


def _witness_size(label: str, reply: Reply) -> int:
    text = reply.body.decode("ascii", errors="replace")
    size = text[:-1] if text.endswith("\n") else ""
    if reply.media_type != SIZE_TYPE or not size.isdigit():
        raise WitnessUnreachableError(f"witness {label} sent an unreadable 409")
    return int(size)


def _cosignature_lines(label: str, reply: Reply) -> list[str]:
    try:
        text = reply.body.decode("utf-8")
        if not text.endswith("\n"):
            raise NoteError("each line ends with a newline")
        lines = text[:-1].split("\n")
        for line in lines:
            parse_signature_line(line)
    except (UnicodeDecodeError, NoteError):
        raise WitnessUnreachableError(
            f"witness {label} answered 200 without signature lines"
        ) from None
    return lines


def stored_proofs(sessions: sessionmaker[Session], tree_size: int) -> Prove:
    """Consistency proofs read from the log, each in a short read transaction."""

    def prove(old_size: int) -> list[bytes]:
        with transaction(sessions) as session:
            return consistency_proof(session, old_size, tree_size).proof

    return prove


@dataclass(frozen=True, slots=True)
class WitnessOutcome:
    """What one witness did: its cosignature lines, or why it gave none."""

    witness: str
    lines: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Witnessed:
    """A checkpoint with every cosignature the witnesses gave."""

    note: str
    outcomes: tuple[WitnessOutcome, ...] = field(default=())

    @property
    def failures(self) -> list[WitnessOutcome]:
        """The witnesses that did not cosign."""
        return [o for o in self.outcomes if o.error is not None]


def gather_cosignatures(
    urls: Sequence[str], note: str, tree_size: int, prove: Prove, post: Post
) -> Witnessed:
    """Ask every witness in turn; one refusing does not stop the others.

    Whether enough of them cosigned is for the verifier's quorum to say.
    """
    outcomes = []
    for url in urls:
        try:
            lines = request_cosignatures(url, note, tree_size, prove, post)
        except WitnessError as exc:
            outcomes.append(WitnessOutcome(witness_label(url), error=exc.detail))
        else:
            outcomes.append(WitnessOutcome(witness_label(url), tuple(lines)))
    every = [line for outcome in outcomes for line in outcome.lines]
    return Witnessed(with_cosignatures(note, every), tuple(outcomes))
