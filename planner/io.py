"""Atomic file output: write to a temporary file beside the target, then rename.

A run that fails midway leaves earlier outputs intact and no partial files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from upath import UPath


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _make_temp(target: Path) -> Path:
    """An empty temporary file beside ``target``, with the permissions a new file would get."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


@contextlib.contextmanager
def _temp_beside(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_temp(target)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` and move ``tmp`` onto ``target`` only if it succeeded."""
    target = Path(target)
    with _temp_beside(target) as tmp:
        write(tmp)
        os.replace(tmp, target)
    return target


def write_csv(frame: pd.DataFrame, target: Path, **kwargs: Any) -> Path:
    """Write ``frame`` as CSV (no index) atomically."""
    kwargs.setdefault("index", False)
    kwargs.setdefault("lineterminator", "\n")
    return atomic_write(Path(target), lambda p: frame.to_csv(p, **kwargs))


def write_json(obj: Mapping[str, Any], target: Path) -> Path:
    """Write ``obj`` as indented JSON atomically (non-finite floats become null)."""
    text = json.dumps(_finite(obj), indent=2, sort_keys=False, default=str)
    return atomic_write(Path(target), lambda p: p.write_text(text + "\n", encoding="utf-8"))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return None
    if isinstance(obj, Mapping):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def file_sha256(path: Path | UPath) -> str:
    """Hex SHA-256 of a file's bytes (a local path or a URL)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class StagedOutputs:
    """Collect several outputs in temporary files and publish them together.

    Nothing appears under ``out_dir`` until :meth:`commit`; if anything fails
    before, the temporaries are removed and earlier outputs stay untouched.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self._staged: list[tuple[Path, Path]] = []

    def __enter__(self) -> StagedOutputs:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self

    def _stage(self, name: str, write: Callable[[Path], None]) -> None:
        target = self.out_dir / name
        tmp = _make_temp(target)
        self._staged.append((tmp, target))
        write(tmp)

    def csv(self, name: str, frame: pd.DataFrame) -> None:
        self._stage(name, lambda p: frame.to_csv(p, index=False, lineterminator="\n"))

    def json(self, name: str, obj: Mapping[str, Any]) -> None:
        text = json.dumps(_finite(obj), indent=2, default=str)
        self._stage(name, lambda p: p.write_text(text + "\n", encoding="utf-8"))

    def text(self, name: str, text: str) -> None:
        """Stage a UTF-8 text file (e.g. an HTML report)."""
        self._stage(name, lambda p: p.write_text(text, encoding="utf-8"))

    def parquet(self, name: str, frame: pd.DataFrame) -> None:
        self._stage(name, lambda p: frame.to_parquet(p, index=False))

    def directory(self, name: str, write: Callable[[Path], None]) -> None:
        """Stage a folder: ``write`` fills an empty temporary folder beside the target."""
        target = self.out_dir / name
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=self.out_dir))
        tmp.chmod(0o777 & ~_umask())
        self._staged.append((tmp, target))
        write(tmp)

    def commit(self) -> list[Path]:
        published = []
        for tmp, target in self._staged:
            if tmp.is_dir():
                _replace_dir(tmp, target)
            else:
                os.replace(tmp, target)
            published.append(target)
        self._staged.clear()
        return published

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        for tmp, _ in self._staged:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
        self._staged.clear()


def _replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``; an existing ``target`` is moved aside first, then removed."""
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.replace(target, old / target.name)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)
