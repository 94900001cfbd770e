"""Where inputs live: a local path or a URL of any fsspec file system (s3://, gs://, abfs://, ...).

A scenario's data folder, its forecast file and a saved model folder may be given as URLs, so
that every worker of a cluster reads them itself from storage they all reach. Paths and URLs
become :class:`upath.UPath` objects (a ``pathlib``-like API over fsspec; local paths stay
``pathlib.Path`` subclasses). The file system behind a URL comes from its fsspec package
(``s3fs``, ``gcsfs``, ``adlfs``, ...), which reads credentials from its usual environment
variables and config files; fsspec's ``FSSPEC_<PROTOCOL>_<OPTION>`` variables pass other options.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from upath import UPath

from forecast.spec import Location, PathOrURL, as_location, is_url, parse_location
from planner.base.errors import DataError, Problem


def absolute(where: PathOrURL) -> UPath:
    """``where`` as a :class:`UPath`: a URL as given, a local path made absolute."""
    return as_location(where) if is_url(where) else UPath(Path(where).resolve())


def _reach_error(where: UPath, exc: Exception) -> tuple[str, str] | None:
    """``(what went wrong, how to fix it)`` when ``exc`` means ``where`` cannot be reached at all:
    no fsspec package for its protocol, not found, refused access or unreachable storage. None
    otherwise (unknown protocols are refused earlier, by :func:`parse_location`)."""
    protocol = getattr(where, "protocol", "") or "file"
    if isinstance(exc, ImportError):
        return (
            f"cannot read {protocol}:// locations here ({exc})",
            "install the fsspec package for that storage (e.g. pip install s3fs, gcsfs or adlfs) "
            "on this machine and on every worker",
        )
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return ("is a symbolic link that loops back on itself", "point it at a real file or folder")
    if isinstance(exc, FileNotFoundError):
        return (f"not found ({exc})", "check the path or URL")
    if isinstance(exc, PermissionError):
        return (f"access refused ({exc})", "check the credentials this machine and the workers use")
    if isinstance(exc, OSError) and is_url(where):
        return (f"cannot be reached ({exc})", "check the URL and that this machine reaches the storage")
    return None


@contextmanager
def reaching(where: UPath) -> Iterator[None]:
    """Inside the block, failing to reach ``where`` at all is a :class:`DataError` naming it."""
    try:
        yield
    except Exception as exc:
        unreachable = _reach_error(where, exc)
        if unreachable is None:
            raise
        raise DataError([Problem(str(where), *unreachable)]) from None


def found(where: UPath, folder: bool) -> bool:
    """Whether ``where`` exists as a folder (``folder``) or a file; a :class:`DataError` naming it
    when it cannot be reached at all (a local link that loops included)."""
    with reaching(where):
        if not is_url(where) and os.path.islink(where) and not os.path.exists(where):
            os.stat(where)  # raises: a loop (ELOOP) or a link to nothing (ENOENT)
        return where.is_dir() if folder else where.is_file()


@contextmanager
def local_copy(where: UPath) -> Iterator[Path]:
    """A local folder holding the files of folder ``where``: itself when local, else a temporary
    copy (removed after the block). For readers that need real files (Keras, LightGBM)."""
    if not is_url(where) or getattr(where, "protocol", "") in ("", "file", "local"):
        yield Path(where.path)
        return
    tmp = Path(tempfile.mkdtemp(prefix="planner-model-"))
    try:
        where.fs.get(where.path.rstrip("/") + "/", str(tmp), recursive=True)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = [
    "Location",
    "PathOrURL",
    "absolute",
    "as_location",
    "found",
    "is_url",
    "local_copy",
    "parse_location",
    "reaching",
]
