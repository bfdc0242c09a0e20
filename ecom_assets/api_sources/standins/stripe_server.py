"""A Stripe stand-in for tests and the demo: localstripe, bound to 127.0.0.1, with lists as Stripe serves them.

localstripe speaks Stripe's REST API to the official client, but lists oldest first, filters
only events by `created[gte]`, and rejects `created` on customers, payment intents and refunds.
Here its lists of customers, charges, payment intents, refunds and events are served as Stripe
documents them: newest first, `created[gt|gte|lt|lte]`, `limit` up to 100 and `starting_after`.
It keeps its objects in memory only (localstripe also pickles its whole store to /tmp on every
write). `POST /_config/faults` with `{"status": 429, "count": 3, "retry_after": 1}` makes the next
`count` API requests fail that way, to test retries; `GET /_config/faults` says how many are left.

    python -m ecom_assets.api_sources.standins.stripe_server --port 8420
"""

import argparse
import json
import re
from contextlib import AbstractContextManager

from aiohttp import web
from localstripe import resources as stripe_objects
from localstripe import server

from ecom_assets.api_sources.standins import running_server

LISTED = {
    "customers": "customer",
    "charges": "charge",
    "payment_intents": "payment_intent",
    "refunds": "refund",
    "events": "event",
}
_CREATED = re.compile(r"^created\[(gt|gte|lt|lte)\]$")
_faults = {"status": 0, "count": 0, "retry_after": None}


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": {"type": "invalid_request_error", "message": message}}, status=400)


def _listed(request: web.Request, object_name: str) -> web.Response:
    """One page of a list as Stripe serves it: newest first, filtered by `created`, after `starting_after`."""
    bounds = {}
    for name, value in request.query.items():
        match = _CREATED.match(name)
        if match:
            if not value.lstrip("-").isdigit():
                return _bad_request(f"Invalid integer: {value}")
            bounds[match.group(1)] = int(value)
        elif name not in ("limit", "starting_after"):
            return _bad_request(f"Received unknown parameter: {name}")
    limit = request.query.get("limit", "10")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        return _bad_request("Invalid limit: must be between 1 and 100.")
    tests = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
    objects = [
        value
        for key, value in list(stripe_objects.store.items())
        if key.startswith(object_name + ":")
        and all(tests[bound](value.created, limit_value) for bound, limit_value in bounds.items())
    ]
    objects.sort(key=lambda item: (item.created, item.id), reverse=True)
    start = 0
    after = request.query.get("starting_after")
    if after:
        ids = [item.id for item in objects]
        if after not in ids:
            return _bad_request(f"No such object: '{after}'")
        start = ids.index(after) + 1
    page = objects[start : start + int(limit)]
    return web.json_response(
        {
            "object": "list",
            "url": request.path,
            "has_more": start + int(limit) < len(objects),
            "data": [item._export() for item in page],
        }
    )


@web.middleware
async def stripe_lists(request: web.Request, handler):
    """Serve the five lists as Stripe does (see the module); anything else is localstripe's."""
    name = request.path.removeprefix("/v1/")
    if request.method == "GET" and name in LISTED:
        return _listed(request, LISTED[name])
    return await handler(request)


@web.middleware
async def injected_faults(request: web.Request, handler):
    """Fail the next requests as `POST /_config/faults` asked."""
    if request.path.startswith("/v1/") and _faults["count"] > 0:
        _faults["count"] -= 1
        headers = {"Retry-After": str(_faults["retry_after"])} if _faults["retry_after"] is not None else {}
        body = {"error": {"type": "api_error", "message": f"injected fault {_faults['status']}"}}
        return web.json_response(body, status=_faults["status"], headers=headers)
    return await handler(request)


async def configure_faults(request: web.Request) -> web.Response:
    """`POST /_config/faults` `{"status": 503, "count": 2, "retry_after": 1}`: the next `count` API requests fail."""
    asked = json.loads(await request.read())
    _faults.update(status=int(asked["status"]), count=int(asked["count"]), retry_after=asked.get("retry_after"))
    return web.Response()


async def faults_left(request: web.Request) -> web.Response:
    """`GET /_config/faults`: how many injected failures are still to come."""
    return web.json_response({"count": _faults["count"]})


def stand_in_app() -> web.Application:
    """localstripe's app with Stripe's lists and fault injection added, its store kept in memory."""
    stripe_objects.Store.dump_to_disk = lambda self: None
    app = server.app
    app.middlewares.insert(0, injected_faults)
    app.middlewares.append(stripe_lists)
    app.router.add_post("/_config/faults", configure_faults)
    app.router.add_get("/_config/faults", faults_left)
    return app


def running_standin() -> AbstractContextManager[str]:
    """The stand-in in its own process on a free loopback port; yields its base URL and stops it afterwards."""
    return running_server(__name__)


def main() -> None:
    """Serve the stand-in on 127.0.0.1 at `--port` until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8420)
    arguments = parser.parse_args()
    web.run_app(stand_in_app(), host="127.0.0.1", port=arguments.port, print=lambda text: print(text, flush=True))


if __name__ == "__main__":
    main()
