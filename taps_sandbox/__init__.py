"""Local stand-in for the Segment Public API and the Fivetran REST API.

Serves both APIs on 127.0.0.1 only, with deterministic data generated from the vendored specs
in ``specs/``. Tests, the demo and the benchmarks all run against it.
"""
