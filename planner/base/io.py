"""Output files published as one set: staged beside their targets, switched together, manifest last.

A command's outputs are written to temporary files in the output folder first. :meth:`StagedOutputs.commit`
then moves the files they replace into a journal folder, puts the new ones in place, and writes
the command's manifest last, with the SHA-256 of every file of the set; until then no manifest is
there, so a reader never takes a half-switched folder for a finished run. If any step fails the
journal is put back: the folder holds the previous run's files, untouched. A run that is killed
mid-switch leaves its journal behind, and the next run in that folder puts it back first.
Temporary files carry the writing process's id; files of processes that no longer run are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from upath import UPath

from planner.base.errors import PlannerError

PREFIX = ".planner-"
JOURNAL = "journal.json"
OWNED = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")  # .planner-<pid>-...: a temporary of process <pid>


class OutputError(PlannerError):
    """The outputs cannot be written where asked; nothing was changed there."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _prefix(name: str) -> str:
    return f"{PREFIX}{os.getpid()}-{name}."


def _make_temp(target: Path) -> Path:
    """An empty temporary file beside ``target``, with the permissions a new file would get."""
    fd, name = tempfile.mkstemp(prefix=_prefix(target.name), suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


def _os_error(exc: OSError, where: Path) -> OutputError:
    reason = exc.strerror or type(exc).__name__
    return OutputError(
        f"cannot write outputs to {where} ({reason}); nothing was written. "
        "Fix: choose another --out folder, one you can write to"
    )


def output_problem(out_dir: Path) -> str | None:
    """Why ``out_dir`` cannot take outputs (checked before a run starts, creating nothing), or None."""
    path = Path(out_dir).absolute()
    if path.exists() and not path.is_dir():
        return f"--out {out_dir} is a file, not a folder"
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return f"--out {out_dir}: {probe} is a file, so no folder can be made under it"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"--out {out_dir}: {probe} is not writable"
    if Path("/proc") in (path, *path.parents) or Path("/sys") in (path, *path.parents):
        return f"--out {out_dir} is in a system folder"
    return None


def atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` and move ``tmp`` onto ``target`` only if it succeeded."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _make_temp(target)
    except OSError as exc:
        raise _os_error(exc, target.parent) from None
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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


def _checksums(path: Path, name: str) -> dict[str, str]:
    """``{name: sha256}`` of a file, or of every file in a folder (``name/relative``)."""
    if not path.is_dir():
        return {name: file_sha256(path)}
    return {
        f"{name}/{p.relative_to(path).as_posix()}": file_sha256(p)
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(out_dir: Path) -> None:
    """Put back the journal of a commit that was killed midway and remove temporaries left by
    processes that no longer run (this process's own are kept)."""
    for entry in sorted(Path(out_dir).glob(f"{PREFIX}*")):
        owner = OWNED.match(entry.name)
        if owner is None or int(owner.group(1)) == os.getpid() or _alive(int(owner.group(1))):
            continue
        if entry.is_dir() and (entry / JOURNAL).is_file():
            _roll_back(Path(out_dir), entry)
        _remove(entry)


def _roll_back(out_dir: Path, journal: Path) -> None:
    """Undo a partial commit: every target named in the journal gets its old version back (or is
    removed, when it had none)."""
    try:
        record = json.loads((journal / JOURNAL).read_text(encoding="utf-8"))
        names, existed = list(record["targets"]), set(record["existed"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    for name in names:
        if not isinstance(name, str) or Path(name).name != name:
            continue
        old, target = journal / name, out_dir / name
        if old.exists():  # switched (or half-switched): the old version goes back
            _remove(target)
            os.replace(old, target)
        elif name not in existed:  # new in this commit: removed
            _remove(target)
        # else: not reached by the switch, still the old version


class StagedOutputs:
    """Collect a command's outputs in temporary files and publish them as one set.

    Nothing appears under ``out_dir`` until :meth:`commit`; if anything fails before or during
    it, the temporaries are removed and earlier outputs stay as they were. The manifest given
    to :meth:`manifest` is written last, with a ``files`` entry holding the SHA-256 of every
    file of the set.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self._staged: list[tuple[Path, Path]] = []
        self._manifest: tuple[str, Mapping[str, Any]] | None = None

    def __enter__(self) -> StagedOutputs:
        problem = output_problem(self.out_dir)
        if problem is not None:
            raise OutputError(f"{problem}; nothing was written. Fix: choose another --out folder")
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            recover(self.out_dir)
        except OSError as exc:
            raise _os_error(exc, self.out_dir) from None
        return self

    def _stage(self, name: str, write: Callable[[Path], None]) -> None:
        target = self.out_dir / name
        try:
            tmp = _make_temp(target)
        except OSError as exc:
            raise _os_error(exc, self.out_dir) from None
        self._staged.append((tmp, target))
        try:
            write(tmp)
        except OSError as exc:
            raise _os_error(exc, self.out_dir) from None

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
        try:
            tmp = Path(tempfile.mkdtemp(prefix=_prefix(name), suffix=".tmp", dir=self.out_dir))
            tmp.chmod(0o777 & ~_umask())
        except OSError as exc:
            raise _os_error(exc, self.out_dir) from None
        self._staged.append((tmp, target))
        write(tmp)

    def manifest(self, name: str, obj: Mapping[str, Any]) -> None:
        """The set's manifest: written last by :meth:`commit`, with the checksums of the other files."""
        self._manifest = (name, obj)

    def commit(self) -> list[Path]:
        """Publish the staged files and then the manifest; on any failure put the old files back."""
        names = [target.name for _, target in self._staged]
        if self._manifest is not None:
            names.append(self._manifest[0])
        self._check_targets()
        existed = [name for name in names if (self.out_dir / name).exists()]
        try:
            journal = Path(tempfile.mkdtemp(prefix=_prefix("commit"), dir=self.out_dir))
            record = {"targets": names, "existed": existed}
            (journal / JOURNAL).write_text(json.dumps(record), encoding="utf-8")
        except OSError as exc:
            raise _os_error(exc, self.out_dir) from None
        try:
            self._switch(journal)
        except BaseException as exc:
            _roll_back(self.out_dir, journal)
            _remove(journal)
            if isinstance(exc, OSError):
                raise _os_error(exc, self.out_dir) from None
            raise
        (journal / JOURNAL).unlink()  # committed: a leftover journal folder is no longer rolled back
        _remove(journal)
        published = [target for _, target in self._staged]
        self._staged.clear()
        if self._manifest is not None:
            published.append(self.out_dir / self._manifest[0])
        return published

    def _check_targets(self) -> None:
        """A staged file never replaces a folder (or a folder a file): refused before anything moves."""
        for tmp, target in self._staged:
            if target.is_symlink() or (target.exists() and target.is_dir() != tmp.is_dir()):
                kind = "a link" if target.is_symlink() else "a folder" if target.is_dir() else "a file"
                raise OutputError(
                    f"{target} is {kind}, where this run writes a {'folder' if tmp.is_dir() else 'file'}; "
                    "nothing was written. Fix: move it away or choose another --out folder"
                )

    def _switch(self, journal: Path) -> None:
        checksums: dict[str, str] = {}
        if self._manifest is not None:
            old = self.out_dir / self._manifest[0]
            if old.exists():
                os.replace(old, journal / old.name)
        for tmp, target in self._staged:
            checksums.update(_checksums(tmp, target.name))
            if target.exists():
                os.replace(target, journal / target.name)
            os.replace(tmp, target)
        if self._manifest is not None:
            name, obj = self._manifest
            text = json.dumps(_finite({**obj, "files": checksums}), indent=2, default=str)
            atomic_write(self.out_dir / name, lambda p: p.write_text(text + "\n", encoding="utf-8"))

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        for tmp, _ in self._staged:
            _remove(tmp)
        self._staged.clear()
