"""The functions with the most samples in py-spy's raw (collapsed-stack) files.

    python bench/profile_summary.py DIR/sync-now.txt [DIR/gateway.txt …] [--top 25] [--rate 250]

Each line of a raw file is one stack, `thread;outer (file:line);…;inner (file:line) COUNT`.
"Total" counts the samples whose stack holds the function (once per sample, recursion or not),
"self" those where it is the innermost frame; at `--rate` samples a second both read as seconds
of one thread busy (idle threads are not sampled).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """`send (trio/_core/_run.py:123)` → `send (trio/_core/_run.py)`: one name per function."""
    match = FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    return f"{match['function']} ({match['file']})"


def summarise(lines: list[str]) -> tuple[Counter[str], Counter[str], int]:
    total: Counter[str] = Counter()
    own: Counter[str] = Counter()
    samples = 0
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        samples += count
        for name in set(frames):
            total[name] += count
        own[frames[-1]] += count
    return total, own, samples


def report(path: Path, top: int, rate: float) -> str:
    total, own, samples = summarise(path.read_text(encoding="utf-8", errors="replace").splitlines())
    out = [f"== {path.name}: {samples} samples = {samples / rate:.1f} s of busy threads"]
    out.append(f"  {'total s':>8} {'self s':>7}  function")
    for name, count in total.most_common(top):
        out.append(f"  {count / rate:8.2f} {own[name] / rate:7.2f}  {name}")
    out.append("  -- most self time --")
    for name, count in own.most_common(top):
        out.append(f"  {total[name] / rate:8.2f} {count / rate:7.2f}  {name}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=float, default=250, help="py-spy's --rate (samples per second)")
    options = parser.parse_args()
    for path in options.files:
        print(report(path, options.top, options.rate))


if __name__ == "__main__":
    main()
