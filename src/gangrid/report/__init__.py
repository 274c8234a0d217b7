"""Aggregation, statistics, tables, figures and the written report (Markdown, HTML, LaTeX paper)."""

from pathlib import Path

TABLES_DIR = Path("reports/tables")
FIGURES_DIR = Path("reports/figures")
REPORT_FILE = Path("reports/report.md")
HTML_FILE = Path("reports/report.html")
PAPER_DIR = Path("reports/paper")
BROWSE_FILE = Path("reports/index.html")
RUN_DATA_DIR = Path("reports/browse")  # one script per run, loaded by index.html on demand
