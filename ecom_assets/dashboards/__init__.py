"""Dashboards: Streamlit pages over the gold tables for the people who read the numbers, declared to Dagster as
assets downstream of the tables they read."""
