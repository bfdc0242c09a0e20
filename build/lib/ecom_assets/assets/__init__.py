"""Thin Dagster assets: wire transforms to resources and report metadata."""
