"""The HTML finance report (planner.reporting.report): self-contained, every chart present and drawn.

The comparison is built like tests/test_compare.py (classical policy, baseline forecaster,
6-week horizon). The browser test renders the page in headless Chromium (``make browser``
installs it); it is skipped when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from planner.evaluation.compare import Comparison, compare_scenarios, service_frontier
from planner.reporting.report import FIGURE_IDS, TOP_SKUS, frontier_comparison, render_report

QUICK = {
    "horizon_weeks": 6,
    "policy": "classical",
    "forecast": {"model": "baseline", "n_paths": 40},
}
CHROMIUM = Path("/usr/bin/chromium")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMG_SRC = re.compile(r'<img[^>]*\ssrc="data:image/png;base64,([A-Za-z0-9+/=]*)"')
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _scenario(folder: Path, file: str, **keys: object) -> Path:
    path = folder / file
    path.write_text(yaml.safe_dump({"data": "data", **QUICK, **keys}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory, sample_source: Path) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("report")
    shutil.copytree(sample_source, folder / "data")
    base = _scenario(folder, "base.yaml", name="base", description="as is")
    high = _scenario(folder, "high.yaml", name="high", service_level=0.99)
    return base, high


@pytest.fixture(scope="module")
def comparison(scenarios: tuple[Path, Path]) -> Comparison:
    return compare_scenarios(scenarios)


@pytest.fixture(scope="module")
def report(comparison: Comparison) -> str:
    return render_report(comparison)


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(b64, validate=True) for b64 in IMG_SRC.findall(text)]


def _colours(png: bytes) -> int:
    with Image.open(io.BytesIO(png)) as img:
        pixels = np.asarray(img.convert("RGB")).reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


def test_report_has_every_figure_with_a_drawn_png(report: str) -> None:
    assert report.startswith("<!DOCTYPE html>") and report.rstrip().endswith("</html>")
    for fig_id in FIGURE_IDS:
        assert f'<figure id="{fig_id}">' in report, fig_id
    assert report.count("<figcaption>") == len(FIGURE_IDS)
    images = _images(report)
    assert len(images) == report.count("<img") == len(FIGURE_IDS)
    for png in images:
        assert png.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(png)) as img:
            img.verify()
        assert _colours(png) > 10  # axes, bars and text, not a flat colour


def test_report_is_self_contained(report: str) -> None:
    assert not EXTERNAL.search(report)
    assert "<script" not in report and "<link" not in report and "@import" not in report
    assert "http://" not in report and "https://" not in report


def test_report_tables_show_the_comparison_numbers(comparison: Comparison, report: str) -> None:
    costs = comparison.costs().set_index(["scenario", "category"])
    for name in ("base", "high"):
        for stat in ("expected", "p90"):
            value = costs.loc[(name, "total"), stat]
            assert value >= 1000 and f"{value:,.0f}" in report  # thousands separators
    fill = comparison.service().set_index(["scenario", "kpi"]).loc[("high", "fill_rate"), "mean"]
    assert f"{fill:.1%}" in report
    assert "as is" in report  # the description
    plan_start = comparison.to_dict()["scenarios"][0]["manifest"]["plan_start"]
    assert f"Plan start {plan_start}" in report
    # top SKUs: one table per scenario, TOP_SKUS rows each
    section = report.split(f"Top {TOP_SKUS} SKUs")[1]
    assert section.count("<tbody>") == 2 and section.count("<tr>") == 2 * (TOP_SKUS + 1)


def test_report_is_deterministic(comparison: Comparison, report: str) -> None:
    assert render_report(comparison) == report


def test_frontier_report_has_the_levels(scenarios: tuple[Path, Path]) -> None:
    frontier = service_frontier(scenarios[0], (0.8, 0.95))
    text = render_report(frontier_comparison(frontier), frontier)
    assert "Service frontier: base" in text and "<h2>Service frontier</h2>" in text
    for fig_id in FIGURE_IDS:
        assert f'<figure id="{fig_id}">' in text
    assert "base @ 0.8" in text and "base @ 0.95" in text
    assert len(_images(text)) == len(FIGURE_IDS)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make browser` (root, Debian)")
def test_report_renders_in_headless_chromium(report: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(report, encoding="utf-8")
    shot = tmp_path / "shot.png"
    base = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    for fig_id in FIGURE_IDS:
        assert f'id="{fig_id}"' in dom, fig_id
    assert dom.count("<img") == len(FIGURE_IDS)
    assert len(_images(dom)) == len(FIGURE_IDS)

    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    png = shot.read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    assert _colours(png) > 1
