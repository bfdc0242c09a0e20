"""A Databricks REST stand-in on 127.0.0.1: DBFS, clusters and Jobs runs, each run executed in a subprocess.

It speaks the parts of the real API that dagster-databricks' step launcher and the Databricks
SDK use (see ../shared/DATABRICKS_NOTES.md): DBFS create/add-block/close/put/read/get-status/
mkdirs/delete (API 2.0), clusters create/get/delete/list, and jobs runs/submit, runs/get,
runs/cancel (API 2.1 and 2.2). A submitted `spark_python_task` runs as a Databricks cluster
would run it: a Python process with the cluster's Spark session already started (Delta Lake
built in, a persistent Hive metastore standing in for the workspace catalog, session defaults
unlike the pipeline's), `DATABRICKS_RUNTIME_VERSION` set, `dbutils` and `sc` as globals, and its
`/dbfs/...` paths mapped onto the stand-in's DBFS folder. Every request body and uploaded byte
is kept (`received`), so tests can look for what must never be sent.
"""

import base64
import itertools
import json
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

# The cluster's driver: one Spark JVM for the stand-in's life, as a Databricks cluster keeps one
# driver for all the runs submitted to it. It writes how to reach its Py4J gateway, then waits
# until its stdin closes.
_CLUSTER_DRIVER = r"""
import json, os, sys
from pyspark.sql import SparkSession
from resources.spark import DELTA_ENGINE
from resources.spark_jars import DELTA, jar_paths

workspace_root, gateway_file = sys.argv[1:]
os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
builder = (
    SparkSession.builder.master("local[2]")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.pyspark.python", sys.executable)
    .config("spark.driver.extraClassPath", os.pathsep.join(str(path) for path in jar_paths((DELTA,))))
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.databricks.delta.snapshotPartitions", "1")
    # Defaults unlike the pipeline's: the step must set its own session settings (ClusterSparkSession).
    .config("spark.sql.session.timeZone", "America/Los_Angeles")
    .config("spark.sql.ansi.enabled", "false")
    # The workspace catalog: a Hive metastore that outlives each run, tables managed under warehouse/.
    .config("spark.sql.warehouse.dir", os.path.join(workspace_root, "warehouse"))
    .config(
        "spark.hadoop.javax.jdo.option.ConnectionURL",
        "jdbc:derby:;databaseName=" + os.path.join(workspace_root, "metastore_db") + ";create=true",
    )
    .enableHiveSupport()
)
for key, value in DELTA_ENGINE.items():
    builder = builder.config(key, value)
spark = builder.getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
parameters = spark.sparkContext._gateway.gateway_parameters
with open(gateway_file + ".partial", "w") as handle:
    json.dump({"port": parameters.port, "secret": parameters.auth_token}, handle)
os.replace(gateway_file + ".partial", gateway_file)
sys.stdin.read()
"""

# Runs each task on the cluster: attach to the driver's JVM with a session of its own (as a
# notebook or job gets on a shared cluster), map /dbfs paths, inject dbutils and sc, run the file.
_CLUSTER_RUNNER = r"""
import json, os, runpy, sys, time, traceback, types
from pyspark import SparkContext
from pyspark.java_gateway import launch_gateway
from pyspark.sql import SparkSession

dbfs_root, gateway_file, python_file, *parameters = sys.argv[1:]
for _ in range(3000):  # the driver may still be starting
    if os.path.exists(gateway_file):
        break
    time.sleep(0.1)
with open(gateway_file) as handle:
    gateway = json.load(handle)
os.environ["PYSPARK_GATEWAY_PORT"] = str(gateway["port"])
os.environ["PYSPARK_GATEWAY_SECRET"] = gateway["secret"]
jvm_gateway = launch_gateway()
jvm = jvm_gateway.jvm
sc = SparkContext(
    gateway=jvm_gateway,
    jsc=jvm.org.apache.spark.api.java.JavaSparkContext.fromSparkContext(jvm.org.apache.spark.SparkContext.getOrCreate()),
)
spark = SparkSession(sc, jsparkSession=jvm.org.apache.spark.sql.SparkSession.builder().getOrCreate().newSession())

def local(path):
    for prefix in ("dbfs:", "/dbfs"):
        if path.startswith(prefix):
            return os.path.join(dbfs_root, path[len(prefix):].lstrip("/"))
    return path

secrets = json.loads(os.environ.get("STANDIN_SECRETS", "{}"))

class Secrets:
    def get(self, scope, key):
        return secrets[scope][key]

sys.argv = [local(python_file), *(local(p) for p in parameters)]
try:
    runpy.run_path(
        sys.argv[0],
        init_globals={"dbutils": types.SimpleNamespace(secrets=Secrets()), "sc": sc},
        run_name="__main__",
    )
    code = 0
except BaseException:
    traceback.print_exc()
    code = 1
# Like a cluster's driver, report the task's own outcome: skip interpreter teardown, which
# would only disconnect from the shared JVM.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""


@dataclass
class SubmittedRun:
    """A run the stand-in accepted: what was submitted and how it went."""

    run_id: int
    request: dict
    process: subprocess.Popen | None = None
    life_cycle_state: str = "PENDING"
    result_state: str | None = None
    state_message: str = ""
    log_path: Path | None = None


@dataclass
class Cluster:
    """A cluster created through the stand-in's clusters API."""

    cluster_id: str
    spec: dict
    state: str = "RUNNING"


RUNTIME_VERSION = "17.3"
"""What `DATABRICKS_RUNTIME_VERSION` says on the stand-in's clusters."""


@dataclass
class DatabricksStandIn:
    """Serve the stand-in on 127.0.0.1.

    `runs` keeps every submitted run, `clusters` every created cluster, `tokens` every bearer
    token seen and `received` every request body and uploaded block, decoded.
    """

    root: Path
    environment: dict[str, str]
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    fail_next_run_with: str | None = None
    runs: dict[int, SubmittedRun] = field(default_factory=dict)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    received: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dbfs = self.root / "dbfs"
        self.dbfs.mkdir(parents=True, exist_ok=True)
        self.workspace = self.root / "workspace"
        self.workspace.mkdir(parents=True, exist_ok=True)
        self._handles: dict[int, Path] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._driver: subprocess.Popen | None = None
        self._gateway_file = self.root / "driver-gateway.json"

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving; returns the base URL."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                return

            def do_GET(self) -> None:  # noqa: N802 (http.server's hook name)
                standin._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                standin._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving, kill runs still going, and stop the cluster's driver."""
        for run in self.runs.values():
            if run.process and run.process.poll() is None:
                run.process.kill()
                run.process.wait()
        if self._driver and self._driver.poll() is None:
            self._driver.stdin.close()
            try:
                self._driver.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._driver.kill()
                self._driver.wait()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # --- HTTP plumbing ---------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(request.path)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        body = {}
        if method == "POST":
            length = int(request.headers.get("Content-Length") or 0)
            raw = request.rfile.read(length) or b"{}"
            self.received.append(raw)
            body = json.loads(raw)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            self.tokens.add(auth.removeprefix("Bearer "))
        route = url.path.split("/api/", 1)[-1]
        version, _, endpoint = route.partition("/")
        handler = getattr(self, "_" + endpoint.replace("/", "_").replace("-", "_"), None)
        if handler is None or version not in ("2.0", "2.1", "2.2"):
            self._reply(request, 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no {method} {url.path}"})
            return
        try:
            status, payload = handler({**query, **body})
        except FileNotFoundError as error:
            status, payload = 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": str(error)}
        except (KeyError, ValueError) as error:
            status, payload = 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": f"bad request: {error!r}"}
        self._reply(request, status, payload)

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def local_path(self, dbfs_path: str) -> Path:
        """Where a DBFS path (`dbfs:/x`, `/x` or `/dbfs/x`) lives in the stand-in's folder."""
        path = dbfs_path.removeprefix("dbfs:").removeprefix("/dbfs/")
        return self.dbfs / path.lstrip("/")

    # --- DBFS ------------------------------------------------------------------------------------

    def _dbfs_create(self, body: dict) -> tuple[int, dict]:
        path = self.local_path(body["path"])
        if path.exists() and not body.get("overwrite"):
            return 400, {"error_code": "RESOURCE_ALREADY_EXISTS", "message": f"{body['path']} exists"}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        with self._lock:
            handle = next(self._ids)
            self._handles[handle] = path
        return 200, {"handle": handle}

    def _dbfs_add_block(self, body: dict) -> tuple[int, dict]:
        data = base64.b64decode(body["data"])
        self.received.append(data)
        with self._handles[int(body["handle"])].open("ab") as handle:
            handle.write(data)
        return 200, {}

    def _dbfs_close(self, body: dict) -> tuple[int, dict]:
        self._handles.pop(int(body["handle"]), None)
        return 200, {}

    def _dbfs_put(self, body: dict) -> tuple[int, dict]:
        path = self.local_path(body["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        data = base64.b64decode(body.get("contents", ""))
        self.received.append(data)
        path.write_bytes(data)
        return 200, {}

    def _dbfs_read(self, query: dict) -> tuple[int, dict]:
        path = self.local_path(query["path"])
        if not path.is_file():
            raise FileNotFoundError(f"No file or directory exists on path {query['path']}.")
        offset, length = int(query.get("offset", 0)), int(query.get("length", 1 << 20))
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        return 200, {"bytes_read": len(data), "data": base64.b64encode(data).decode()}

    def _dbfs_get_status(self, query: dict) -> tuple[int, dict]:
        path = self.local_path(query["path"])
        if not path.exists():
            raise FileNotFoundError(f"No file or directory exists on path {query['path']}.")
        status = path.stat()
        return 200, {
            "path": query["path"],
            "is_dir": path.is_dir(),
            "file_size": 0 if path.is_dir() else status.st_size,
            "modification_time": int(status.st_mtime * 1000),
        }

    def _dbfs_mkdirs(self, body: dict) -> tuple[int, dict]:
        self.local_path(body["path"]).mkdir(parents=True, exist_ok=True)
        return 200, {}

    def _dbfs_delete(self, body: dict) -> tuple[int, dict]:
        path = self.local_path(body["path"])
        if path.is_dir():
            if body.get("recursive"):
                shutil.rmtree(path)
            else:
                path.rmdir()
        elif path.exists():
            path.unlink()
        return 200, {}

    # --- Clusters --------------------------------------------------------------------------------

    def _clusters_create(self, body: dict) -> tuple[int, dict]:
        if not body.get("spark_version"):
            raise ValueError("spark_version is required")
        with self._lock:
            cluster = Cluster(cluster_id=f"standin-{next(self._ids):04d}", spec=body)
            self.clusters[cluster.cluster_id] = cluster
        return 200, {"cluster_id": cluster.cluster_id}

    def _cluster(self, cluster_id: str) -> Cluster:
        if cluster_id not in self.clusters:
            raise FileNotFoundError(f"Cluster {cluster_id} does not exist")
        return self.clusters[cluster_id]

    def _clusters_get(self, query: dict) -> tuple[int, dict]:
        cluster = self._cluster(query["cluster_id"])
        return 200, {
            **cluster.spec,
            "cluster_id": cluster.cluster_id,
            "state": cluster.state,
            "state_message": "",
            "spark_env_vars": cluster.spec.get("spark_env_vars", {}),
        }

    def _clusters_delete(self, body: dict) -> tuple[int, dict]:
        self._cluster(body["cluster_id"]).state = "TERMINATED"
        return 200, {}

    def _clusters_list(self, query: dict) -> tuple[int, dict]:
        return 200, {"clusters": [self._clusters_get({"cluster_id": cluster_id})[1] for cluster_id in self.clusters]}

    # --- Jobs ------------------------------------------------------------------------------------

    def _jobs_runs_submit(self, body: dict) -> tuple[int, dict]:
        tasks = body.get("tasks") or [body]
        task = tasks[0]["spark_python_task"]
        if cluster_id := tasks[0].get("existing_cluster_id"):
            cluster = self._cluster(cluster_id)
            if cluster.state == "TERMINATED":  # Databricks starts a terminated cluster a run is submitted to
                cluster.state = "RUNNING"
        with self._lock:
            run = SubmittedRun(run_id=next(self._ids), request=body)
            self.runs[run.run_id] = run
        if self.fail_next_run_with:
            run.life_cycle_state, run.result_state = "INTERNAL_ERROR", "FAILED"
            run.state_message, self.fail_next_run_with = self.fail_next_run_with, None
            return 200, {"run_id": run.run_id}
        run.log_path = self.root / f"run-{run.run_id}.log"
        self._ensure_driver()
        environment = {
            **self.environment,
            "STANDIN_SECRETS": json.dumps(self.secrets),
            "DATABRICKS_RUNTIME_VERSION": RUNTIME_VERSION,
        }
        with run.log_path.open("wb") as log:
            run.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _CLUSTER_RUNNER,
                    str(self.dbfs),
                    str(self._gateway_file),
                    task["python_file"],
                    *task.get("parameters", []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=self.root,
            )
        run.life_cycle_state = "RUNNING"
        return 200, {"run_id": run.run_id}

    def _ensure_driver(self) -> None:
        """Start the cluster's driver JVM on the first run (its tasks wait until its gateway can be reached)."""
        with self._lock:
            if self._driver is not None:
                return
            log = (self.root / "driver.log").open("wb")
            self._driver = subprocess.Popen(
                [sys.executable, "-c", _CLUSTER_DRIVER, str(self.workspace), str(self._gateway_file)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**self.environment, "DATABRICKS_RUNTIME_VERSION": RUNTIME_VERSION},
                cwd=self.root,
            )

    def _refresh(self, run: SubmittedRun) -> None:
        if run.process is None or run.result_state is not None:
            return
        code = run.process.poll()
        if code is None:
            return
        run.life_cycle_state = "TERMINATED"
        if code == 0:
            run.result_state, run.state_message = "SUCCESS", ""
        else:
            tail = run.log_path.read_text(errors="replace").strip().splitlines()[-5:] if run.log_path else []
            run.result_state = "FAILED"
            run.state_message = f"Task exited with code {code}: " + " | ".join(tail)

    def _jobs_runs_get(self, query: dict) -> tuple[int, dict]:
        run = self.runs.get(int(query["run_id"]))
        if run is None:
            raise FileNotFoundError(f"Run {query['run_id']} does not exist.")
        self._refresh(run)
        state = {"life_cycle_state": run.life_cycle_state, "state_message": run.state_message}
        if run.result_state:
            state["result_state"] = run.result_state
        return 200, {
            "run_id": run.run_id,
            "run_name": run.request.get("run_name", ""),
            "state": state,
            "run_page_url": f"http://127.0.0.1/standin/#job/runs/{run.run_id}",
            "tasks": [{"task_key": t.get("task_key", "task"), "state": state} for t in run.request.get("tasks", [])],
        }

    def _jobs_runs_cancel(self, body: dict) -> tuple[int, dict]:
        run = self.runs[int(body["run_id"])]
        if run.process and run.process.poll() is None:
            run.process.terminate()
            run.process.wait()
        run.life_cycle_state, run.result_state, run.state_message = "TERMINATED", "CANCELED", "canceled by request"
        return 200, {}

    def submitted_tasks(self) -> list[dict]:
        """The first task of every submitted run, as the launcher sent it."""
        return [(run.request.get("tasks") or [run.request])[0] for run in self.runs.values()]

    def managed_table_path(self, schema: str, table: str) -> Path:
        """Where the workspace catalog keeps a managed table's files."""
        return self.workspace / "warehouse" / f"{schema}.db" / table
