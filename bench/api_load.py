"""The HTTP API under load: the latest plan of 10,000 SKUs x 52 weeks, and 50 concurrent readers.

A run store (SQLite) holds one plan of ``--skus`` SKUs over 52 weeks with an order line every
``--every`` weeks per SKU (staggered), recorded as ``planner plan`` records it. ``planner serve``'s
app runs in uvicorn on 127.0.0.1 (one process). Measured: the wall time of ``GET
/scenarios/bench/plan`` (JSON) and ``.csv`` over ``--repeats`` sequential requests (min / median /
max), then ``--readers`` concurrent clients each reading the JSON plan ``--rounds`` times: errors,
and the latency's median / 95th percentile / max. Targets (issue 25): a latest-plan request in at
most 1 s; 50 concurrent readers without errors.

    python bench/api_load.py [--skus 10000] [--every 1,4] [--repeats 5] [--readers 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.app.api import create_app  # noqa: E402
from planner.history.store import RunRecord, RunStore  # noqa: E402

WEEKS = 52
TARGET_S = 1.0


def plan_lines(skus: int, every: int) -> pd.DataFrame:
    weeks = pd.date_range("2027-01-04", periods=WEEKS, freq="7D")
    s, t = np.meshgrid(np.arange(skus), np.arange(WEEKS), indexing="ij")
    keep = (t + s) % every == 0
    s, t = s[keep], t[keep]
    units = (1 + (s * 7 + t * 3) % 50).astype(float)
    return pd.DataFrame(
        {
            "order_week": weeks[t].date.astype(str),
            "sku": [f"SKU{i:05d}" for i in s],
            "supplier": [f"SUP{i % 20:02d}" for i in s],
            "units": units,
            "packs": units,
            "arrival_week": (weeks[t] + pd.Timedelta(weeks=8)).date.astype(str),
            "unit_cost": 2.5,
            "order_value": units * 2.5,
        }
    )


def serve(app: object) -> tuple[uvicorn.Server, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def mmm(xs: list[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in (min(xs), statistics.median(xs), max(xs)))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--every", default="1,4")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    failed = False
    for every in (int(v) for v in args.every.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'runs.db'}"
            lines = plan_lines(args.skus, every)
            store = RunStore(url)
            blank = dict.fromkeys(
                ("scenario_path", "scenario_sha256", "data_sha256", "code_version", "out_dir"), "-"
            )
            rec = RunRecord(
                command="plan",
                scenario_name="bench",
                scenario_yaml="",
                inputs={},
                versions={},
                outputs=[],
                created_at=dt.datetime.now(dt.UTC),
                lines=lines,
                **blank,
            )
            t0 = time.perf_counter()
            store.record(rec)
            record_s = time.perf_counter() - t0
            store.close()
            server, base = serve(create_app(url, Path(tmp), Path(tmp) / "out"))
            with httpx.Client(timeout=120) as client:
                timing = {}
                for suffix in ("", ".csv"):
                    walls = []
                    for _ in range(args.repeats):
                        t0 = time.perf_counter()
                        got = client.get(f"{base}/scenarios/bench/plan{suffix}")
                        walls.append(time.perf_counter() - t0)
                        assert got.status_code == 200
                    timing[suffix or ".json"] = walls
                size = len(got.content)

            def read(_: int, base: str = base) -> tuple[bool, float]:
                with httpx.Client(timeout=300) as c:
                    t0 = time.perf_counter()
                    ok = c.get(f"{base}/scenarios/bench/plan").status_code == 200
                    return ok, time.perf_counter() - t0

            with ThreadPoolExecutor(max_workers=args.readers) as pool:
                t0 = time.perf_counter()
                results = list(pool.map(read, range(args.readers * args.rounds)))
                load_s = time.perf_counter() - t0
            server.should_exit = True
            errors = sum(not ok for ok, _ in results)
            lat = sorted(s for _, s in results)
            p95 = lat[int(0.95 * (len(lat) - 1))]
            print(f"{args.skus} SKUs x {WEEKS} weeks, a line every {every} week(s): {len(lines):,} lines "
                  f"(recording them: {record_s:.2f} s)")  # fmt: skip
            print(
                f"  latest plan JSON, {args.repeats} requests: {mmm(timing['.json'])} s (min / median / max)"
            )
            print(f"  latest plan CSV ({size / 1e6:.1f} MB): {mmm(timing['.csv'])} s")
            print(
                f"  {args.readers} concurrent readers x {args.rounds}: {errors} errors in {len(results)} "
                f"requests, latency median {statistics.median(lat):.2f} s, p95 {p95:.2f} s, "
                f"max {lat[-1]:.2f} s, {load_s:.1f} s in all"
            )
            ok = max(timing[".json"]) <= TARGET_S and errors == 0
            failed |= not ok
            print(
                f"  target: latest plan <= {TARGET_S:g} s and no errors under load: "
                f"{'met' if ok else 'NOT met'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
