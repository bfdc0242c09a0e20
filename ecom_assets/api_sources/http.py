"""HTTP for the API sources: retries with backoff that honour `Retry-After`, bounded answers, clear failures.

Every answer is untrusted: its size is capped before it is parsed, and what a failure says of it
is cut and cleaned (`safe_text`), so neither a hostile server nor a key it echoes reaches a log.
"""

import json
from typing import Any

from dlt.sources.helpers.requests import Client, Response

from resources.untrusted import safe_text

RETRY_STATUSES = (429, *range(500, 600))
"""Answers worth asking again: too many requests, and the server's own failures."""
MAX_ANSWER_BYTES = 32 * 1024 * 1024
"""The largest answer read; a longer one fails the request (a page of 100 objects is well under 1 MB)."""


class ApiFailed(RuntimeError):
    """An API kept failing (after its retries) or answered something that is not what it documents."""


def retrying_client(attempts: int = 6, backoff_seconds: float = 1.0, max_wait_seconds: float = 60.0) -> Client:
    """A requests client that retries 429 and 5xx answers and dropped connections `attempts` times in all, waiting
    exponentially longer (or as long as `Retry-After` asks, up to `max_wait_seconds`)."""
    return Client(
        request_timeout=30,
        raise_for_status=False,
        status_codes=RETRY_STATUSES,
        request_max_attempts=attempts,
        request_backoff_factor=backoff_seconds,
        request_max_retry_delay=max_wait_seconds,
        respect_retry_after_header=True,
    )


def json_answer(response: Response, what: str) -> Any:
    """The answer's JSON, read to at most `MAX_ANSWER_BYTES`; `ApiFailed` naming `what` and the API's own message
    when it is not a success or not JSON."""
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body.extend(chunk)
        if len(body) > MAX_ANSWER_BYTES:
            response.close()
            raise ApiFailed(f"{what}: the answer is larger than {MAX_ANSWER_BYTES} bytes")
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ApiFailed(f"{what}: HTTP {response.status_code}, not JSON ({safe_text(error, 200)})") from None
    if response.status_code >= 400:
        raise ApiFailed(f"{what}: HTTP {response.status_code}: {api_message(answer)}")
    return answer


def api_message(answer: Any) -> str:
    """The error message an API put in its answer (`{"error": {"message": ...}}` or `{"errors": [...]}`), cleaned."""
    if isinstance(answer, dict):
        error = answer.get("error") or answer.get("errors")
        if isinstance(error, dict):
            error = error.get("message", error)
        if isinstance(error, list) and error:
            error = error[0].get("message", error[0]) if isinstance(error[0], dict) else error[0]
        if error:
            return safe_text(error, 300)
    return "no message"
