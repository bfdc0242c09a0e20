"""The Stripe source: customers, charges, payment intents, refunds and the events log, pulled incrementally by dlt.

Each list is read with `created[gte]` set to the last `created` seen less a look-back window
(objects that became visible late are fetched again; silver merges by id, so a repeat is
harmless), and read to its last page: Stripe lists newest first, so no page is taken as "older
than what we have" and no early stop is made. Objects Stripe cannot list by update time
(updates, deletions, refunds of older charges) arrive through `events`, an append-only log.

Each landed row is `id`, `created` and the whole `object` as Stripe sent it; a row whose id or
`created` is missing or of the wrong type still lands (silver sends it to the error table).
"""

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources import DltResource

from ecom_assets.api_sources.http import ApiFailed, json_answer, retrying_client
from ecom_assets.api_sources.loads import landed_row

SOURCE_NAME = "stripe"
RESOURCES = ("customers", "charges", "payment_intents", "refunds", "events")
"""Stripe's lists this source pulls, by their API path (`/v1/<name>`)."""
PAGE_SIZE = 100
"""Objects asked for per page (Stripe's maximum)."""
MAX_PAGES = 100_000
"""The most pages one list is read to (10 million objects): a server that never stops saying `has_more` fails."""


def list_pages(client, api_base: str, api_key: str, resource: str, created_from: int | None) -> Iterator[list]:
    """Every page of `/v1/<resource>` (created at or after `created_from` when given), in the API's order, to the
    last one: pages follow `starting_after` the last id of the page before, whatever order the API lists in."""
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    if created_from:
        params["created[gte]"] = created_from
    what = f"Stripe GET /v1/{resource}"
    for _ in range(MAX_PAGES):
        response = client.get(f"{api_base.rstrip('/')}/v1/{resource}", params=params, auth=(api_key, ""), stream=True)
        page = json_answer(response, what)
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list):
            raise ApiFailed(f"{what}: the answer has no list of objects")
        yield data
        last_id = data[-1].get("id") if data and isinstance(data[-1], dict) else None
        if not page.get("has_more") or not data:
            return
        if not isinstance(last_id, str) or last_id == params.get("starting_after"):
            raise ApiFailed(f"{what}: has_more is set but the page's last object has no new id to continue after")
        params["starting_after"] = last_id
    raise ApiFailed(f"{what}: more than {MAX_PAGES} pages")


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def stripe_source(
    api_key: str = "", api_base: str = "https://api.stripe.com", lookback_seconds: int = 3600, attempts: int = 6
) -> list[DltResource]:
    """Stripe's customers, charges, payment intents, refunds and events as dlt resources, each incremental on
    `created` with `lookback_seconds` of look-back."""
    client = retrying_client(attempts=attempts)

    def listed(resource: str) -> DltResource:
        def rows(
            created=dlt.sources.incremental(  # noqa: B008 - how dlt declares a cursor it keeps in its state
                "created", initial_value=0, lag=lookback_seconds, on_cursor_value_missing="include"
            ),
        ) -> Iterator[list[dict]]:
            for page in list_pages(client, api_base, api_key, resource, created.start_value):
                yield [landed_row(item, "created", "created", int) for item in page]

        return dlt.resource(
            rows,
            name=resource,
            write_disposition="append",
            columns={"id": {"data_type": "text"}, "created": {"data_type": "bigint"}, "object": {"data_type": "json"}},
        )

    return [listed(resource) for resource in RESOURCES]
