"""A Databricks SQL warehouse stand-in on 127.0.0.1: the Thrift (TCLIService over HTTPS) protocol that
`databricks-sql-connector` speaks, executing statements with DuckDB over the Delta tables under a root folder.

It answers what the dashboards send a real warehouse: `OpenSession`, `ExecuteStatement` with named parameters
(results as Arrow batches, in the direct results), `DESCRIBE HISTORY <table> LIMIT 1`, three-level table names in
backticks with `VERSION AS OF <n>`, `CloseOperation`, `CloseSession`; a bearer token other than its own is refused
with 403, an unknown table fails as Databricks fails it (`[TABLE_OR_VIEW_NOT_FOUND]`). Everything else is refused.
"""

import ipaddress
import re
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset  # noqa: F401  (pa.dataset)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from databricks.sql.thrift_api.TCLIService import TCLIService
from databricks.sql.thrift_api.TCLIService import ttypes as t
from deltalake import DeltaTable
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.transport.TTransport import TMemoryBuffer

TABLE = re.compile(r"`(\w+)`\.`(\w+)`\.`(\w+)`(?:\s+VERSION\s+AS\s+OF\s+(\d+))?", re.I)
HISTORY = re.compile(rf"^\s*DESCRIBE\s+HISTORY\s+{TABLE.pattern}\s+LIMIT\s+1\s*$", re.I)
PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
SQL_TYPES = {"STRING": "VARCHAR", "TIMESTAMP_NTZ": "TIMESTAMP", "INT": "INTEGER"}
SUCCESS = t.TStatus(statusCode=t.TStatusCode.SUCCESS_STATUS)
ARROW_TYPES = {
    pa.types.is_boolean: t.TTypeId.BOOLEAN_TYPE,
    pa.types.is_int32: t.TTypeId.INT_TYPE,
    pa.types.is_int64: t.TTypeId.BIGINT_TYPE,
    pa.types.is_floating: t.TTypeId.DOUBLE_TYPE,
    pa.types.is_decimal: t.TTypeId.DECIMAL_TYPE,
    pa.types.is_date: t.TTypeId.DATE_TYPE,
    pa.types.is_timestamp: t.TTypeId.TIMESTAMP_TYPE,
}


class WarehouseError(Exception):
    """A statement the warehouse refuses, with Databricks' error class in its message."""


@dataclass
class Warehouse:
    """The state of the stand-in: the tables' root, its token, the statements it ran."""

    root: Path
    token: str
    statements: list[str] = field(default_factory=list)
    results: dict[bytes, pa.Table] = field(default_factory=dict)

    def table(self, catalog: str, schema: str, name: str, version: str | None) -> pa.dataset.Dataset:
        """The Delta table `catalog.schema.name` (at `version`) as an Arrow dataset."""
        path = self.root / catalog / schema / name
        if not DeltaTable.is_deltatable(str(path)):
            raise WarehouseError(
                f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{catalog}`.`{schema}`.`{name}` cannot be found."
            )
        return DeltaTable(str(path), version=int(version) if version else None).to_pyarrow_dataset()

    def execute(self, statement: str, parameters: list) -> pa.Table:
        """The statement's result, run in DuckDB; each backticked table name read from its Delta folder."""
        self.statements.append(statement)
        if history := HISTORY.match(statement):
            catalog, schema, name, _ = history.groups()
            self.table(catalog, schema, name, None)
            (latest,) = DeltaTable(str(self.root / catalog / schema / name)).history(1)
            return pa.table(
                {
                    "version": pa.array([latest["version"]], pa.int64()),
                    "timestamp": pa.array(
                        [datetime.fromtimestamp(latest["timestamp"] / 1000, UTC)], pa.timestamp("us", tz="UTC")
                    ),
                    "operation": [latest.get("operation")],
                }
            )
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            raise WarehouseError("[PARSE_SYNTAX_ERROR] the stand-in runs queries only")
        connection = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        try:
            names: dict[tuple, str] = {}

            def register(match: re.Match) -> str:
                key = match.groups()
                if key not in names:
                    names[key] = f"t{len(names)}"
                    connection.register(names[key], self.table(*key))
                return names[key]

            text = TABLE.sub(register, statement)
            values = {}
            for parameter in parameters:
                values[parameter.name] = parameter.value.stringValue if parameter.value else None
                kind = SQL_TYPES.get(parameter.type, parameter.type)
                text = re.sub(rf"(?<![:\w]):{parameter.name}\b", f"CAST(${parameter.name} AS {kind})", text)
            if PARAMETER.search(text):
                raise WarehouseError("[UNBOUND_SQL_PARAMETER] a parameter marker has no value")
            return connection.sql(text, params=values).to_arrow_table()
        except duckdb.Error as error:
            raise WarehouseError(f"[INTERNAL_ERROR] {error}") from error
        finally:
            connection.close()


class Handler:
    """The TCLIService calls the connector makes."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def OpenSession(self, request):  # noqa: N802 (the Thrift service's names)
        return t.TOpenSessionResp(
            status=SUCCESS,
            serverProtocolVersion=t.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V7,
            sessionHandle=t.TSessionHandle(
                sessionId=t.THandleIdentifier(guid=uuid.uuid4().bytes, secret=uuid.uuid4().bytes)
            ),
            configuration={},
        )

    def CloseSession(self, request):  # noqa: N802
        return t.TCloseSessionResp(status=SUCCESS)

    def ExecuteStatement(self, request):  # noqa: N802
        handle = t.TOperationHandle(
            operationId=t.THandleIdentifier(guid=uuid.uuid4().bytes, secret=uuid.uuid4().bytes),
            operationType=t.TOperationType.EXECUTE_STATEMENT,
            hasResultSet=True,
        )
        try:
            result = self.warehouse.execute(request.statement, request.parameters or [])
        except WarehouseError as error:
            status = t.TGetOperationStatusResp(
                status=SUCCESS,
                operationState=t.TOperationState.ERROR_STATE,
                errorMessage=str(error),
                displayMessage=str(error),
                sqlState="42P01",
            )
            return t.TExecuteStatementResp(
                status=SUCCESS, operationHandle=handle, directResults=t.TSparkDirectResults(operationStatus=status)
            )
        self.warehouse.results[handle.operationId.guid] = result
        return t.TExecuteStatementResp(
            status=SUCCESS,
            operationHandle=handle,
            directResults=t.TSparkDirectResults(
                operationStatus=t.TGetOperationStatusResp(
                    status=SUCCESS, operationState=t.TOperationState.FINISHED_STATE
                ),
                resultSetMetadata=_metadata(result),
                resultSet=t.TFetchResultsResp(status=SUCCESS, hasMoreRows=False, results=_rows(result)),
                closeOperation=t.TCloseOperationResp(status=SUCCESS),
            ),
        )

    def GetOperationStatus(self, request):  # noqa: N802
        return t.TGetOperationStatusResp(status=SUCCESS, operationState=t.TOperationState.FINISHED_STATE)

    def FetchResults(self, request):  # noqa: N802
        result = self.warehouse.results.get(request.operationHandle.operationId.guid, pa.table({}))
        return t.TFetchResultsResp(
            status=SUCCESS, hasMoreRows=False, results=_rows(result.slice(0, 0)), resultSetMetadata=_metadata(result)
        )

    def CloseOperation(self, request):  # noqa: N802
        self.warehouse.results.pop(request.operationHandle.operationId.guid, None)
        return t.TCloseOperationResp(status=SUCCESS)


def _metadata(result: pa.Table) -> t.TGetResultSetMetadataResp:
    columns = []
    for position, column in enumerate(result.schema):
        kind = next((type_id for test, type_id in ARROW_TYPES.items() if test(column.type)), t.TTypeId.STRING_TYPE)
        qualifiers = None
        if kind == t.TTypeId.DECIMAL_TYPE:
            qualifiers = t.TTypeQualifiers(
                qualifiers={
                    "precision": t.TTypeQualifierValue(i32Value=column.type.precision),
                    "scale": t.TTypeQualifierValue(i32Value=column.type.scale),
                }
            )
        entry = t.TTypeEntry(primitiveEntry=t.TPrimitiveTypeEntry(type=kind, typeQualifiers=qualifiers))
        columns.append(t.TColumnDesc(columnName=column.name, typeDesc=t.TTypeDesc(types=[entry]), position=position))
    return t.TGetResultSetMetadataResp(
        status=SUCCESS,
        schema=t.TTableSchema(columns=columns),
        resultFormat=t.TSparkRowSetType.ARROW_BASED_SET,
        lz4Compressed=False,
        arrowSchema=result.schema.serialize().to_pybytes(),
    )


def _rows(result: pa.Table) -> t.TRowSet:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, result.schema) as writer:
        writer.write_table(result)
    stream = sink.getvalue().to_pybytes()
    batches = stream[len(result.schema.serialize().to_pybytes()) :]
    return t.TRowSet(
        startRowOffset=0, rows=[], arrowBatches=[t.TSparkArrowBatch(batch=batches, rowCount=result.num_rows)]
    )


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, which the client is told to trust (`SSL_CERT_FILE`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = folder / "warehouse.pem", folder / "warehouse.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_file, key_file


@contextmanager
def sql_warehouse(root: Path, token: str, folder: Path) -> Iterator[tuple[str, str, Path, Warehouse]]:
    """Serves the stand-in over HTTPS on 127.0.0.1; yields its host URL, HTTP path, certificate and state."""
    warehouse = Warehouse(root, token)
    processor = TCLIService.Processor(Handler(warehouse))
    http_path = "/sql/1.0/warehouses/standin"

    class Request(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            if self.path.split("?")[0] != http_path:
                self.send_error(404)
                return
            if self.headers.get("Authorization") != f"Bearer {warehouse.token}":
                self.send_error(403, "Invalid access token.")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer = TMemoryBuffer()
            processor.process(TBinaryProtocol(TMemoryBuffer(body)), TBinaryProtocol(answer))
            payload = answer.getvalue()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-thrift")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    certificate, key = self_signed_certificate(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Request)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", http_path, certificate, warehouse
    finally:
        server.shutdown()
        server.server_close()
