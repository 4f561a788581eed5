"""Pure business rules: no I/O, no Dagster, no SQLAlchemy. Everything here is deterministic."""
