"""The pure core of the sync: the model, the plan, the decisions and their table, the merge, and
the content and digest of each kind of item. Plain dataclasses and maps in, plain dataclasses
out; nothing here does I/O (no database, no network, no trio, no logging), and nothing here
imports the service around it but `protocol.text_limits`. `tests/sync_service/core/test_purity.py`
checks both, and mypy checks this package with its strict flags (pyproject.toml)."""
