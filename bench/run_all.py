"""Run the benchmark scripts in bench/ and write their figures to docs/benchmarks.md (``make bench``).

Each script's output is shown as it runs and kept verbatim in the page as one section, stamped
with the date, the commit and the machine it was measured on. With script names, only those
scripts run and only their sections are replaced; the other sections keep their own stamps.
The page is replaced in one step after the scripts have run.

    python bench/run_all.py [SCRIPT.py ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = ROOT / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Written by `make bench` (`bench/run_all.py`; `python bench/run_all.py SCRIPT.py` refreshes one "
    "section). Each section is one script's output, verbatim, under the date, commit and machine it "
    "was measured on; the scripts' docstrings say what they measure and which targets they check.\n"
)
SECTION = re.compile(r"^## (\S+\.py)\n", re.MULTILINE)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def _commit() -> str:
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    changed = _git("status", "--porcelain", "--untracked-files=no", "--", ".", f":!{PAGE.relative_to(ROOT)}")
    return head + (" (with uncommitted changes)" if changed else "")


def _machine() -> str:
    memory = "unknown memory"
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            kib = int(next(line for line in fh if line.startswith("MemTotal:")).split()[1])
        memory = f"{kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    system = f"{platform.system()} {platform.machine()}"
    return f"{system}, {os.cpu_count()} cores, {memory}, Python {platform.python_version()}"


def _run(script: Path) -> tuple[str, int]:
    """Run one script; return its section of the page and its exit code."""
    print(f"\n== {script.name}", flush=True)
    started, t0 = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-u", str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    code = proc.wait()
    status = "" if code == 0 else f" (exit code {code})"
    section = (
        f"## {script.name}\n\n"
        f"Started {started}, commit {_commit()}, {_machine()}; {time.perf_counter() - t0:.0f} s{status}.\n\n"
        f"```\n{''.join(lines).rstrip()}\n```\n"
    )
    return section, code


def _sections(text: str) -> dict[str, str]:
    """The page's sections by script name, in page order."""
    marks = list(SECTION.finditer(text))
    return {
        m.group(1): text[m.start() : marks[i + 1].start() if i + 1 < len(marks) else len(text)].rstrip()
        + "\n"
        for i, m in enumerate(marks)
    }


def main() -> int:
    every = sorted(p.name for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scripts", nargs="*", choices=[[], *every], metavar="SCRIPT.py", help=", ".join(every)
    )
    names = parser.parse_args().scripts or every
    sections = _sections(PAGE.read_text(encoding="utf-8")) if PAGE.exists() else {}
    runs = {name: _run(HERE / name) for name in names}
    failed = [name for name, (_, code) in runs.items() if code != 0]
    sections.update({name: section for name, (section, _) in runs.items()})
    body = "\n".join(sections[name] for name in every if name in sections)
    tmp = PAGE.with_name(PAGE.name + ".tmp")
    tmp.write_text(f"{HEADER}\n{body}", encoding="utf-8")
    os.replace(tmp, PAGE)
    print(f"\nwrote {PAGE.relative_to(ROOT)}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
