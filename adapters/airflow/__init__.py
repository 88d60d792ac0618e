"""Airflow adapter: write an Airflow 3 DAG file from a workflow's recorded call tree
(:mod:`.export`), and the runtime its tasks call (:mod:`.runtime`). Airflow itself is
imported by the generated DAG file only, never by this package."""
