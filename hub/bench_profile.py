"""``hub bench --profile``: py-spy attached to the hub process during the main run (hub.bench).

py-spy (``pip install py-spy``; not a dependency of the hub) samples the process from outside, 100 times a
second, without pausing it (``--nonblocking``: a sample may be slightly inconsistent, the run is not slowed);
idle threads are left out. The raw output (one line per distinct stack with its sample count) is summarised as
the frames that take most samples: ``self`` (the frame running), ``self_by_package`` (the same summed by
top-level package: asyncio, psycopg, aiormq, lxml, hub...) and ``inclusive_hub`` (the hub's own functions
anywhere on the stack), in percent of the samples.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import sysconfig
from collections import Counter
from pathlib import Path
from typing import Any


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


class Profile:
    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None
        self.error: str | None = None
        exe = py_spy()
        if exe is None:
            self.error = "py-spy not installed (pip install py-spy)"
            return
        self.proc = subprocess.Popen([exe, "record", "--pid", str(pid), "--format", "raw", "--nonblocking",
                                      "--rate", "100", "--full-filenames", "--output", str(out)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self, top: int = 15) -> dict[str, Any]:
        if self.proc is None:
            return {"error": self.error}
        self.proc.send_signal(signal.SIGINT)
        try:
            _out, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return {"error": "py-spy did not stop"}
        if not self.out.exists():
            return {"error": f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}"}
        return summarise(self.out.read_text(encoding="utf-8", errors="replace"), top) | {"raw": str(self.out)}


def summarise(raw: str, top: int = 15) -> dict[str, Any]:
    """Top frames of py-spy's raw format (``frame;frame;...;leaf count`` per line)."""
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_function(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += n
        self_counts[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n

    def rows(c: Counter[str]) -> list[dict[str, Any]]:
        return [{"frame": f, "pct": round(100 * n / total, 1), "samples": n} for f, n in c.most_common(top)]

    packages: Counter[str] = Counter()
    for frame, n in self_counts.items():
        packages[package_of(frame)] += n
    hub_frames = Counter({f: n for f, n in inclusive.items() if package_of(f) == "hub" and not f.startswith(
        ("<module>", "run (hub/cli.py"))})
    return {"samples": total, "self": rows(self_counts) if total else [],
            "self_by_package": {p: round(100 * n / total, 1) for p, n in packages.most_common(12)} if total else {},
            "inclusive_hub": rows(hub_frames) if total else []}


def _prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths["purelib"], paths["platlib"], paths["stdlib"], str(Path(__file__).resolve().parent.parent)}
    return tuple(sorted((r.rstrip("/") + "/" for r in roots), key=len, reverse=True))


PREFIXES = _prefixes()


def _function(frame: str) -> str:
    """``f (/abs/site-packages/pkg/mod.py:123)`` -> ``f (pkg/mod.py)``: one entry per function, whatever line
    was running, its file relative to the project, site-packages or the standard library."""
    head, sep, where = frame.rpartition(" (")
    if not sep:
        return frame
    path, colon, line = where.rstrip(")").rpartition(":")
    if not (colon and line.isdigit()):
        path = where.rstrip(")")
    for prefix in PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    return f"{head} ({path})"


def package_of(frame: str) -> str:
    """``function (asyncio/base_events.py)`` -> ``asyncio``; ``f (selectors.py)`` -> ``selectors``."""
    path = frame.rpartition(" (")[2].rstrip(")")
    first = path.split("/", 1)[0]
    return first.removesuffix(".py")
