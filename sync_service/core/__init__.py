"""The pure core of the sync: the model, the plan, the decisions and the merge. Plain dataclasses
in, plain dataclasses out; nothing here does I/O (no database, no network, no trio, no logging)."""
