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
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from upath import UPath

from planner.errors import DataError, Problem

PathOrURL = str | os.PathLike[str]


def is_url(text: PathOrURL) -> bool:
    """Whether ``text`` names a location by URL (``protocol://...``) rather than a local path."""
    return isinstance(text, str | UPath) and "://" in str(text)


def as_location(where: PathOrURL) -> UPath:
    """``where`` as a :class:`UPath`: a URL as given, a local path as it is (not resolved)."""
    return where if isinstance(where, UPath) else UPath(where)


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


def parse_location(value: Any) -> UPath:
    """``value`` as a :class:`UPath`; ValueError saying what to write when it is neither a path nor a
    URL of a known protocol."""
    if not isinstance(value, str | os.PathLike) or not str(value).strip():
        raise ValueError("must be a path or a URL (e.g. data/ or s3://bucket/data)")
    try:
        return as_location(value)
    except ValueError:
        protocol = str(value).split("://", 1)[0]
        raise ValueError(
            f"'{protocol}://' is not a storage protocol fsspec knows: give a local path or a URL "
            "such as s3://bucket/data, gs://bucket/data or abfs://container/data"
        ) from None


Location = Annotated[
    UPath,
    PlainValidator(parse_location),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "a local path or an fsspec URL"}),
]
"""A pydantic field type: a path or URL, kept as a :class:`UPath`, written back as its string."""
