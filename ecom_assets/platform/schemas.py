"""What every table's pandera schema shares (pandera's PySpark backend).

The models are the tables' contracts, versioned with the code; they live in their areas
(`sales/schemas.py`, `clickstream/schemas.py`). Each asset's `schema` check validates what it
stores against its model, and `schema_version` fingerprints the model so a check result says
which contract it was judged by.
"""

import hashlib

import pandera.pyspark as pa
from pyspark.sql import types as T


def decimal_type(type_name: str) -> T.DecimalType:
    """The Spark decimal type of a `decimal(p,s)` type name, for a model's column annotation."""
    precision, scale = type_name.removeprefix("decimal(").removesuffix(")").split(",")
    return T.DecimalType(int(precision), int(scale))


STRICT = {"strict": True}


def schema_version(model: type[pa.DataFrameModel]) -> str:
    """A short fingerprint of a model's columns, types and checks; changes whenever the contract does."""
    schema = model.to_schema()
    described = sorted(
        f"{name}:{column.dtype}:{column.nullable}:{[str(check) for check in column.checks]}"
        for name, column in schema.columns.items()
    )
    return hashlib.sha256("|".join(described).encode()).hexdigest()[:12]
