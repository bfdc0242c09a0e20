"""Where the API sources are and where their loads land: each API's address and key, and dlt's landing destination.

Keys reach the resources as Dagster `EnvVar`s (`ECOM_STRIPE_API_KEY`), never as settings; the
addresses and look-back windows are settings (`ApiSettings`).
"""

import boto3
from dagster import ConfigurableResource, EnvVar

from resources.landing import LandingZone, LocalLandingZone, S3LandingZone
from resources.settings import SHOPIFY_API_VERSION, SHOPIFY_SECRET_VARIABLE, STRIPE_KEY_VARIABLE, ApiSettings

API_LANDING_FOLDER = "raw/api"
"""Below the landing root: `raw/api/<source>/<resource>/<load id>.<file id>.jsonl.gz`, dlt's state beside."""


class StripeApi(ConfigurableResource):
    """Stripe's API: its base address (a stand-in's in tests), the secret key, and the look-back window."""

    api_key: str
    api_base: str = "https://api.stripe.com"
    lookback_seconds: int = 3600
    """How far before the last `created` seen each incremental list starts again (objects that appeared late)."""
    attempts: int = 6
    """Requests per page before a 429, 5xx or dropped connection fails the load."""


def stripe_for(settings: ApiSettings) -> StripeApi:
    """The Stripe resource the settings describe, its key from `ECOM_STRIPE_API_KEY`."""
    return StripeApi(
        api_key=EnvVar(STRIPE_KEY_VARIABLE),
        api_base=settings.stripe_api_base,
        lookback_seconds=settings.stripe_lookback_seconds,
    )


class ShopifyApi(ConfigurableResource):
    """Shopify's GraphQL Admin API of one shop: its address, the app's client credentials, the pinned API version."""

    shop_url: str
    client_id: str
    client_secret: str
    api_version: str = SHOPIFY_API_VERSION
    attempts: int = 6
    """Requests per call before a 429, 5xx or dropped connection fails the load."""


def shopify_for(settings: ApiSettings) -> ShopifyApi:
    """The Shopify resource the settings describe, its client secret from `ECOM_SHOPIFY_CLIENT_SECRET`."""
    return ShopifyApi(
        shop_url=settings.shopify_shop_url,
        client_id=settings.shopify_client_id,
        client_secret=EnvVar(SHOPIFY_SECRET_VARIABLE),
        api_version=settings.shopify_api_version,
    )


def api_landing_destination(landing: LandingZone):
    """dlt's filesystem destination at the landing zone's `raw/api` folder: a local folder, or the S3 prefix
    (credentials from boto3's chain, the zone's endpoint and region)."""
    from dlt.common.configuration.specs import AwsCredentials  # dlt only where a run lands API loads
    from dlt.destinations import filesystem

    if isinstance(landing, LocalLandingZone):
        return filesystem(bucket_url=landing.full_path(API_LANDING_FOLDER))
    if isinstance(landing, S3LandingZone):
        found = boto3.session.Session().get_credentials()  # boto3's chain: environment, profile, instance role
        frozen = found.get_frozen_credentials() if found else None
        credentials = AwsCredentials(
            aws_access_key_id=frozen.access_key if frozen else None,
            aws_secret_access_key=frozen.secret_key if frozen else None,
            aws_session_token=frozen.token if frozen else None,
            region_name=landing.s3.region_name,
            endpoint_url=landing.s3.endpoint_url,
        )
        return filesystem(bucket_url=landing.full_path(API_LANDING_FOLDER), credentials=credentials)
    raise TypeError(f"no dlt destination for a {type(landing).__name__}")
