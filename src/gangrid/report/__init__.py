"""Aggregation, statistics, tables, figures and the written report."""

from pathlib import Path

TABLES_DIR = Path("reports/tables")
FIGURES_DIR = Path("reports/figures")
REPORT_FILE = Path("reports/report.md")
