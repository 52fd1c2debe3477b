"""Threshold and filter (docs/koala36m-paper.md §2.6): the VTSS threshold, the manual baseline, the release CSV, Tables 1 and 8."""

from koala.filter.release import RELEASE_COLUMNS, format_clock, format_timestamp, release_table
from koala.filter.stage import FilterResult, filter_clips, join_tables, run_filter
from koala.filter.threshold import Threshold, choose_threshold, manual_decisions, manual_rules, valley_threshold

__all__ = [
    "RELEASE_COLUMNS", "FilterResult", "Threshold", "choose_threshold", "filter_clips", "format_clock",
    "format_timestamp", "join_tables", "manual_decisions", "manual_rules", "release_table", "run_filter",
    "valley_threshold",
]
