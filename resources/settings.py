"""The one settings object: where the steps run (local or Databricks) and where data lives.

Read from the environment in one place (`Settings.from_environment`); every resource set, the
steward report and `show` are built from it. Secrets are not settings: the Databricks token,
AWS keys and the SMTP password reach the resources as Dagster `EnvVar`s (or boto3's and
hadoop's own credential chains), never as values held here.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

DATABRICKS_RUNTIME = "17.3.x-scala2.13"
"""Databricks Runtime 17.3 LTS, the default cluster runtime: Apache Spark 4.0.0, Scala 2.13, Python 3.12."""
DATABRICKS_RUNTIME_SPARK = "4.0.0"
"""The Apache Spark of that runtime; the transforms' tests run on it too (test_runtime_parity.py)."""
DEFAULT_DATA_ROOT = Path("data")
"""Relative to the working directory: `data/raw/ecommerce_sales/...` and `data/warehouse/...`."""
DEFAULT_OUTPUT_ROOT = Path("output")
"""Relative to the working directory (git-ignored in the project): the report, run logs, alert email previews."""
DEPLOYMENTS = ("local", "databricks")
DEFAULT_CATALOG = "ecommerce_catalog"
"""The catalog of the tables' three-level names: their asset keys always, their Unity Catalog names unless
`ECOM_CATALOG` names another."""


@dataclass(frozen=True)
class DatabricksSettings:
    """How steps are launched on Databricks (see the README's production section)."""

    cluster_id: str | None = None
    """An existing cluster every step runs on; unset: one cluster is started for each run."""
    spark_version: str = DATABRICKS_RUNTIME
    node_type: str = "m5.large"
    min_workers: int = 2
    max_workers: int = 8
    instance_pool_id: str | None = None
    autotermination_minutes: int = 20
    secret_scope: str = "ecom"
    staging_prefix: str = "/dagster_staging"
    poll_seconds: float = 5.0
    install_libraries: bool = True


@dataclass(frozen=True)
class EmailSettings:
    """The alert mailer: server, login, sender, recipients and the base of links to the UI."""

    host: str = ""
    port: int = 25
    security: str = "none"
    user: str | None = None
    password_set: bool = False
    """Whether `ECOM_SMTP_PASSWORD` is set; the value itself reaches the mailer as a Dagster `EnvVar`, never here."""
    sender: str = "ecom-alerts@localhost"
    recipients: str = ""
    ui_base_url: str = "http://127.0.0.1:3000"


PASSWORD_VARIABLE = "ECOM_SMTP_PASSWORD"
STRIPE_KEY_VARIABLE = "ECOM_STRIPE_API_KEY"
"""Stripe's secret key: reaches the Stripe resource as a Dagster `EnvVar`, never a setting."""
SHOPIFY_SECRET_VARIABLE = "ECOM_SHOPIFY_CLIENT_SECRET"
"""The Shopify app's client secret: reaches the Shopify resource as a Dagster `EnvVar`, never a setting."""


SHOPIFY_API_VERSION = "2026-10"
"""The one place the Shopify Admin API version is pinned: the source asks for it (unless `ECOM_SHOPIFY_API_VERSION`
names another), the stand-in serves it from Shopify's schema of that version."""


@dataclass(frozen=True)
class ApiSettings:
    """Where the API sources are (their keys are `EnvVar`s, see `STRIPE_KEY_VARIABLE`)."""

    stripe_api_base: str = "https://api.stripe.com"
    stripe_lookback_seconds: int = 3600
    shopify_shop_url: str = ""
    """`https://<shop>.myshopify.com` (a stand-in's address in tests)."""
    shopify_client_id: str = ""
    shopify_api_version: str = SHOPIFY_API_VERSION


@dataclass(frozen=True)
class DashboardSettings:
    """Where the dashboards read the tables when they are addressed by catalog name: a Databricks SQL warehouse."""

    databricks_host: str = ""
    """`DATABRICKS_HOST`: the workspace, `https://<workspace>.cloud.databricks.com`."""
    sql_warehouse_http_path: str = ""
    """`ECOM_SQL_WAREHOUSE_HTTP_PATH`: the warehouse's HTTP path, `/sql/1.0/warehouses/<id>`."""
    ui_base_url: str = "http://127.0.0.1:3000"
    """`ECOM_UI_BASE_URL`: the Dagster UI the data-health page links runs to."""
    app_url: str = "http://127.0.0.1:8501"
    """`ECOM_DASHBOARDS_URL`: where the dashboards are served (the Dagster UI links each page's asset to it)."""


DATABRICKS_TOKEN_VARIABLE = "DATABRICKS_TOKEN"


def databricks_token(environ: Mapping[str, str] | None = None) -> str | None:
    """`DATABRICKS_TOKEN`, read when a connection opens (outside Dagster runs, where it is not an `EnvVar`)."""
    return (os.environ if environ is None else environ).get(DATABRICKS_TOKEN_VARIABLE) or None


@dataclass(frozen=True)
class Settings:
    """Where the pipeline runs and where its data lives.

    | variable | meaning |
    | `ECOM_DEPLOYMENT` | `local` (default) or `databricks` |
    | `ECOM_LANDING_ROOT` | landing folder (default `data`) |
    | `ECOM_LANDING_BUCKET`, `ECOM_LANDING_PREFIX` | landing on S3 instead: `s3://<bucket>/<prefix>raw/...` |
    | `ECOM_WAREHOUSE_ROOT` | tables by path under this folder or `s3a://` URI (local default `data/warehouse`) |
    | `ECOM_CATALOG` | the catalog of three-level table names (default `ecommerce_catalog`) |
    | `ECOM_S3_ENDPOINT_URL`, `AWS_REGION` | an S3-compatible endpoint, the region |
    | `ECOM_DATABRICKS_*` | see `DatabricksSettings` |
    | `ECOM_OUTPUT_ROOT` | where commands write what they generate for people (default `output`) |
    | `ECOM_CHECKPOINT_ROOT` | streaming checkpoints when tables are addressed by name (a volume path) |
    | `ECOM_STRIPE_API_BASE`, `ECOM_STRIPE_LOOKBACK_SECONDS` | Stripe's address and look-back (see `ApiSettings`) |
    | `ECOM_SHOPIFY_SHOP_URL`, `ECOM_SHOPIFY_CLIENT_ID`, `ECOM_SHOPIFY_API_VERSION` | shop, app, API version |
    | `DATABRICKS_HOST`, `ECOM_SQL_WAREHOUSE_HTTP_PATH` | the SQL warehouse the dashboards query (tables by name) |
    | `ECOM_MAX_*`, `ECOM_SENSOR_*` | what one delivered input or one sensor tick may cost (`LANDING_LIMIT_VARIABLES`) |

    On Databricks, tables are addressed by catalog name (Unity Catalog) unless
    `ECOM_WAREHOUSE_ROOT` is set; locally always by path.
    """

    deployment: str = "local"
    landing_root: str = str(DEFAULT_DATA_ROOT)
    landing_bucket: str | None = None
    landing_prefix: str = ""
    warehouse_root: str | None = str(DEFAULT_DATA_ROOT / "warehouse")
    catalog: str = DEFAULT_CATALOG
    checkpoint_root: str | None = None
    s3_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    databricks: DatabricksSettings = field(default_factory=DatabricksSettings)
    output_root: Path = DEFAULT_OUTPUT_ROOT
    landing_limits: Mapping[str, float] = field(default_factory=dict)
    """Limits set in the environment, by `LandingLimits` field name (the others keep their defaults)."""
    email: EmailSettings = field(default_factory=EmailSettings)
    apis: ApiSettings = field(default_factory=ApiSettings)
    dashboards: DashboardSettings = field(default_factory=DashboardSettings)
    on_databricks_cluster: bool = False
    """Whether this process runs on a Databricks cluster (`DATABRICKS_RUNTIME_VERSION` is set there)."""

    def __post_init__(self) -> None:
        if self.deployment not in DEPLOYMENTS:
            raise ValueError(f"ECOM_DEPLOYMENT must be one of {', '.join(DEPLOYMENTS)}, not {self.deployment!r}")
        if self.deployment == "local" and self.warehouse_root is None:
            raise ValueError("local runs address tables by path: set ECOM_WAREHOUSE_ROOT")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The settings the environment gives (`os.environ` by default); unset variables keep their defaults."""
        env = os.environ if environ is None else environ
        deployment = env.get("ECOM_DEPLOYMENT", "local")
        default_warehouse = str(DEFAULT_DATA_ROOT / "warehouse") if deployment == "local" else None
        return cls(
            deployment=deployment,
            landing_root=env.get("ECOM_LANDING_ROOT", str(DEFAULT_DATA_ROOT)),
            landing_bucket=env.get("ECOM_LANDING_BUCKET") or None,
            landing_prefix=env.get("ECOM_LANDING_PREFIX", ""),
            warehouse_root=env.get("ECOM_WAREHOUSE_ROOT") or default_warehouse,
            catalog=env.get("ECOM_CATALOG", DEFAULT_CATALOG),
            checkpoint_root=env.get("ECOM_CHECKPOINT_ROOT") or None,
            s3_endpoint_url=env.get("ECOM_S3_ENDPOINT_URL") or None,
            aws_region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
            databricks=_databricks_settings(env),
            output_root=Path(env.get("ECOM_OUTPUT_ROOT") or DEFAULT_OUTPUT_ROOT),
            email=EmailSettings(
                host=env.get("ECOM_SMTP_HOST", ""),
                port=int(env.get("ECOM_SMTP_PORT", "25")),
                security=env.get("ECOM_SMTP_SECURITY", "none"),
                user=env.get("ECOM_SMTP_USER") or None,
                password_set=bool(env.get(PASSWORD_VARIABLE)),
                sender=env.get("ECOM_ALERT_FROM", "ecom-alerts@localhost"),
                recipients=env.get("ECOM_ALERT_RECIPIENTS", ""),
                ui_base_url=env.get("ECOM_UI_BASE_URL", "http://127.0.0.1:3000"),
            ),
            apis=ApiSettings(
                stripe_api_base=env.get("ECOM_STRIPE_API_BASE") or ApiSettings.stripe_api_base,
                shopify_shop_url=env.get("ECOM_SHOPIFY_SHOP_URL", ""),
                shopify_client_id=env.get("ECOM_SHOPIFY_CLIENT_ID", ""),
                shopify_api_version=env.get("ECOM_SHOPIFY_API_VERSION") or ApiSettings.shopify_api_version,
                stripe_lookback_seconds=int(
                    env.get("ECOM_STRIPE_LOOKBACK_SECONDS") or ApiSettings.stripe_lookback_seconds
                ),
            ),
            dashboards=DashboardSettings(
                databricks_host=env.get("DATABRICKS_HOST", ""),
                sql_warehouse_http_path=env.get("ECOM_SQL_WAREHOUSE_HTTP_PATH", ""),
                ui_base_url=env.get("ECOM_UI_BASE_URL", "http://127.0.0.1:3000"),
                app_url=env.get("ECOM_DASHBOARDS_URL", "http://127.0.0.1:8501"),
            ),
            on_databricks_cluster="DATABRICKS_RUNTIME_VERSION" in env,
            landing_limits={
                name: float(env[variable]) if name == "tick_seconds" else int(env[variable])
                for name, variable in LANDING_LIMIT_VARIABLES.items()
                if env.get(variable)
            },
        )

    @property
    def uses_s3(self) -> bool:
        """Whether landing files or tables live on S3 (local Spark then loads hadoop-aws)."""
        return bool(self.landing_bucket) or (self.warehouse_root or "").startswith(("s3a://", "s3://"))

    def forwarded_environment(self) -> dict[str, str]:
        """The settings as the environment variables that recreate them on a cluster: no secret among them."""
        env = {
            "ECOM_DEPLOYMENT": self.deployment,
            "ECOM_LANDING_ROOT": self.landing_root,
            "ECOM_LANDING_PREFIX": self.landing_prefix,
            "ECOM_CATALOG": self.catalog,
            "AWS_REGION": self.aws_region,
        }
        optional = {
            "ECOM_LANDING_BUCKET": self.landing_bucket,
            "ECOM_WAREHOUSE_ROOT": self.warehouse_root,
            "ECOM_CHECKPOINT_ROOT": self.checkpoint_root,
            "ECOM_S3_ENDPOINT_URL": self.s3_endpoint_url,
        }
        env.update({name: value for name, value in optional.items() if value})
        env.update({LANDING_LIMIT_VARIABLES[name]: str(value) for name, value in self.landing_limits.items()})
        return env


LANDING_LIMIT_VARIABLES = {
    "max_line_chars": "ECOM_MAX_LINE_CHARS",
    "max_columns": "ECOM_MAX_COLUMNS",
    "max_files_per_trigger": "ECOM_MAX_FILES_PER_TRIGGER",
    "max_trigger_bytes": "ECOM_MAX_TRIGGER_BYTES",
    "max_message_chars": "ECOM_MAX_MESSAGE_CHARS",
    "max_files_per_tick": "ECOM_SENSOR_FILES_PER_TICK",
    "tick_seconds": "ECOM_SENSOR_TICK_SECONDS",
}
"""The environment variables of the landing limits (`resources.untrusted.LandingLimits`), by field name."""

_DATABRICKS_VARIABLES = {
    "cluster_id": "ECOM_DATABRICKS_CLUSTER_ID",
    "spark_version": "ECOM_DATABRICKS_SPARK_VERSION",
    "node_type": "ECOM_DATABRICKS_NODE_TYPE",
    "min_workers": "ECOM_DATABRICKS_MIN_WORKERS",
    "max_workers": "ECOM_DATABRICKS_MAX_WORKERS",
    "instance_pool_id": "ECOM_DATABRICKS_INSTANCE_POOL_ID",
    "autotermination_minutes": "ECOM_DATABRICKS_AUTOTERMINATION_MINUTES",
    "secret_scope": "ECOM_DATABRICKS_SECRET_SCOPE",
    "staging_prefix": "ECOM_DATABRICKS_STAGING_PREFIX",
    "poll_seconds": "ECOM_DATABRICKS_POLL_SECONDS",
    "install_libraries": "ECOM_DATABRICKS_INSTALL_LIBRARIES",
}


def _databricks_settings(env: Mapping[str, str]) -> DatabricksSettings:
    values = {}
    for spec in fields(DatabricksSettings):
        raw = env.get(_DATABRICKS_VARIABLES[spec.name])
        if raw is None or raw == "":
            continue
        kind = type(spec.default) if spec.default is not None else str
        values[spec.name] = raw.lower() == "true" if kind is bool else kind(raw)
    return DatabricksSettings(**values)


_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY($|_)|API_?KEY|AUTH", re.I)
"""Environment variable names whose values are secrets (`ECOM_SMTP_PASSWORD`, `DATABRICKS_TOKEN`, ...)."""
_MIN_SECRET_CHARS = 4
"""Shorter values are not searched for (a one-letter secret would mask every text)."""


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the environment variables whose names say they hold a secret, longest first (`safe_text`
    masks them in every text the pipeline stores, logs or sends)."""
    env = os.environ if environ is None else environ
    found = {value for name, value in env.items() if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_CHARS}
    return sorted(found, key=len, reverse=True)


def class_archive_setting(environ: Mapping[str, str] | None = None) -> str | None:
    """`ECOM_SPARK_CLASS_ARCHIVE`: the Spark class archive local sessions map ("" for none); None when unset."""
    return (os.environ if environ is None else environ).get("ECOM_SPARK_CLASS_ARCHIVE")


def java_home(environ: Mapping[str, str] | None = None) -> str | None:
    """`JAVA_HOME`: the Java that Spark launches and `javac` compiles with; None when unset (the PATH's)."""
    return (os.environ if environ is None else environ).get("JAVA_HOME") or None


def jars_dir_setting(environ: Mapping[str, str] | None = None) -> str | None:
    """`ECOM_SPARK_JARS_DIR`: where the Spark jars are kept instead of the virtualenv; None when unset."""
    return (os.environ if environ is None else environ).get("ECOM_SPARK_JARS_DIR") or None


def maven_repository(environ: Mapping[str, str] | None = None, default: str = "") -> str:
    """`ECOM_MAVEN_REPOSITORY`: the Maven repository the jars are fetched from (`default` when unset)."""
    return (os.environ if environ is None else environ).get("ECOM_MAVEN_REPOSITORY", default)
