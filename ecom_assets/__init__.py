"""E-commerce sales lakehouse: Dagster assets over PySpark transforms and Delta tables."""

from ecom_assets.platform.framework_warnings import silence_known_framework_warnings

silence_known_framework_warnings()
