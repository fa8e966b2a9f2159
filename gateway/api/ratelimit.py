"""A per-client request limit over a sliding minute, per process."""

import threading
from collections import deque
from datetime import datetime


class RateLimiter:
    """Allow at most `per_minute` requests per client in any 60-second window."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client_id: str, now: datetime) -> bool:
        """Count one request; False when the client is over its limit."""
        moment = now.timestamp()
        with self._lock:
            window = self._seen.setdefault(client_id, deque())
            while window and window[0] <= moment - 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return False
            window.append(moment)
            return True
