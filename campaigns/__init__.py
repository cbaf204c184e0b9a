"""Reliability campaigns: real processes, faults and kills, an independent oracle (docs/reliability.md)."""
