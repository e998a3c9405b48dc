"""Experiments at scale: sweep specs, the result store, statistics, execution and reports."""

from initlab.experiments.spec import RunConfig, Spec, SpecError, load_spec, parse_spec

__all__ = ["RunConfig", "Spec", "SpecError", "load_spec", "parse_spec"]
