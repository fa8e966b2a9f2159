"""Domain errors; `api/problems.py` renders them as RFC 9457 problem+json.

A `detail` names fields, records and reasons, never a submitted value.
"""


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class AuthenticationError(GatewayError):
    """No valid credentials."""

    status, slug, title = 401, "unauthorized", "Missing or invalid credentials"


class PermissionDeniedError(GatewayError):
    """Valid credentials, outside the client's role or grants."""

    status, slug, title = 403, "forbidden", "Outside the client's grants"


class NotFoundError(GatewayError):
    """The named resource does not exist."""

    status, slug, title = 404, "not-found", "Not found"


class ConflictError(GatewayError):
    """The request conflicts with stored state (e.g. an Idempotency-Key reused)."""

    status, slug, title = 409, "conflict", "Conflict"


class ConcurrentChangeError(ConflictError):
    """Rows this request read were changed by a concurrent one before it wrote.

    Raised inside a unit of work that its caller retries whole; seen by a
    client only when every attempt lost the race.
    """

    title = "Changed by a concurrent request; retry"


class PayloadTooLargeError(GatewayError):
    """The body is over the configured limit."""

    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaTypeError(GatewayError):
    """The body is not JSON (or form data where a form is expected)."""

    status, slug, title = 415, "unsupported-media-type", "Unsupported content type"


class InvalidRequestError(GatewayError):
    """The body cannot be processed (malformed JSON, wrong shape, batch too large)."""

    status, slug, title = 422, "invalid-request", "Invalid request"


class RateLimitedError(GatewayError):
    """The client is over its rate limit."""

    status, slug, title = 429, "rate-limited", "Too many requests"


class PolicyError(GatewayError):
    """A policy file is invalid; the message names file, line and field."""

    status, slug, title = 500, "policy-error", "Invalid policy"


class KeyringError(GatewayError):
    """The keyring is missing, unreadable, unsafe or lacks a key."""

    status, slug, title = 500, "keyring-error", "Keyring error"


class DecryptionError(GatewayError):
    """A ciphertext failed authentication or its key is gone (crypto-shredded)."""

    status, slug, title = 500, "decryption-error", "Decryption failed"
