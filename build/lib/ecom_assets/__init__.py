"""E-commerce sales lakehouse: Dagster assets over PySpark transforms and Delta tables."""
