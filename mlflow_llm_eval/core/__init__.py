"""Metric types, per-row text checks, aggregation, the scoring engine and the metric registry."""
