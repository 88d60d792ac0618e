"""Telling AWS errors that pass (throttling, 5xx, a lost connection) from those that do
not (access denied, invalid or expired credentials), and how long to retry."""

from __future__ import annotations

import time

RETRY_TIMEOUT = 300.0  # seconds transient AWS errors are retried before giving up
MAX_BACKOFF = 60.0  # seconds between retries at most

THROTTLING = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "SlowDown",
    "BandwidthLimitExceeded", "PriorRequestNotComplete", "RequestTimeout",
    "RequestTimeoutException",
})


class AwsGaveUp(RuntimeError):
    """AWS kept refusing the executor's requests: the calls it waited for failed."""


def is_transient(error: BaseException) -> bool:
    """Whether retrying later may succeed: throttling, a 5xx, a connection error."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or error.response.get("Error", {}).get("Code") in THROTTLING
    return False


class Patience:
    """How long to wait after failed requests: transient errors are retried with a
    backoff from ``interval`` for ``timeout`` seconds in all; past that, or on any other
    error, give up."""

    def __init__(self, interval: float, timeout: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self._failing_since: float | None = None
        self._failures = 0

    def succeeded(self) -> None:
        self._failing_since, self._failures = None, 0

    def failed(self, error: BaseException) -> float | None:
        """Seconds to wait before trying again, or None to give up (and start afresh)."""
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        self._failures += 1
        left = self.timeout - (time.monotonic() - self._failing_since)
        if not is_transient(error) or left <= 0:
            self.succeeded()
            return None
        return min(self.interval * 2 ** (self._failures - 1), MAX_BACKOFF, left)

    def gave_up(self, error: BaseException, executor: str, queue: str) -> AwsGaveUp:
        """The error the calls fail with: what AWS said, and what to do about it."""
        if is_transient(error):
            what = (f"AWS kept failing for {self.timeout:g} s ({type(error).__name__}: "
                    f"{error}). Check the network and AWS's health, or give it longer "
                    f"(aws_retry_timeout)")
        else:
            what = (f"AWS refused ({type(error).__name__}: {error}). Check the credentials "
                    f"and the permissions of the machine running bridge "
                    f"(batch:DescribeJobs, batch:ListJobs)")
        return AwsGaveUp(
            f"executor {executor} lost track of its AWS Batch jobs on queue {queue}: "
            f"{what}; then run again: jobs still in flight are re-attached, not submitted "
            f"again.")
