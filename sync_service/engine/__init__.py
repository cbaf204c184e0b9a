"""The sync engine: a pure decision (what to do, from what changed on each side and what was last
agreed) and, apart from it, the code that carries the plan out."""
