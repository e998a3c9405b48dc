"""Experiments at scale: run configs and their builder, sweep specs, the result store,
statistics, execution and reports."""

from initlab.experiments.config import Built, RunConfig, build, to_toml
from initlab.experiments.spec import Spec, SpecError, load_spec, parse_spec

__all__ = ["Built", "RunConfig", "Spec", "SpecError", "build", "load_spec", "parse_spec", "to_toml"]
