"""Data-quality rules: pandera schemas, per-day checks and the anomaly rule, free of Dagster."""
