"""Reading untrusted text files: how they are reached, how large they are, how they are encoded.

Every file a run reads (scenario YAML, dataset CSV) goes through :func:`decode_text`, which
accepts UTF-8 (with or without a byte-order mark) and turns anything else into a located
problem: UTF-16 and other encodings, binary files, files too large to be what they claim.
:func:`local_problem` says why a local path cannot be read (missing, a folder, a symbolic link
that loops, no permission) instead of calling every failure "not found".
"""

from __future__ import annotations

import codecs
import errno
import os
from pathlib import Path

from planner.base.errors import Problem

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
SAVE_AS_UTF8 = "save it as UTF-8 text (in Excel: 'CSV UTF-8'; in an editor: encoding UTF-8)"


class TextError(Exception):
    """A file that cannot be read as text; ``problem`` locates it."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def decode_text(data: bytes, label: str) -> str:
    """``data`` as text: UTF-8 with an optional byte-order mark; :class:`TextError` otherwise."""
    if data.startswith(UTF16_BOMS):
        raise TextError(Problem(label, "is UTF-16 or UTF-32 encoded, not UTF-8", SAVE_AS_UTF8))
    if b"\x00" in data[:65536]:
        raise TextError(
            Problem(label, "is a binary file, not text", "give the text file this key or column refers to")
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TextError(
            Problem(
                label,
                f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}; "
                "probably saved as Latin-1 or Windows-1252)",
                SAVE_AS_UTF8,
            )
        ) from None


def local_problem(
    path: Path, label: str, what: str, max_bytes: int | None = None, note: str = ""
) -> Problem | None:
    """Why the local file ``path`` cannot be read (None when it can): missing, a folder, a looping
    symbolic link, refused permission, or larger than ``max_bytes``. ``what`` names the file's role;
    ``note`` is added to the message (e.g. which file named it)."""
    problem = _local_problem(path, label, what, max_bytes)
    if problem is None or not note:
        return problem
    return Problem(problem.file, f"{problem.message} ({note})", problem.fix)


def _local_problem(path: Path, label: str, what: str, max_bytes: int | None) -> Problem | None:
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Problem(
                label, f"{what} is a symbolic link that loops back on itself", "point it at a real file"
            )
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return Problem(label, f"{what} not found", "check the file name and the folder it is relative to")
        if exc.errno == errno.EACCES:
            return Problem(
                label, f"{what} cannot be read (permission denied)", "check the file's permissions"
            )
        return Problem(label, f"{what} cannot be read ({os.strerror(exc.errno or 0)})", "check the path")
    if Path(path).is_dir():
        return Problem(label, f"{what} is a folder, not a file", "name the file inside it")
    if max_bytes is not None and info.st_size > max_bytes:
        return Problem(
            label,
            f"{what} is {info.st_size / 2**20:.1f} MiB, larger than any such file "
            f"({max_bytes / 2**20:g} MiB)",
            "check that the path names the right file",
        )
    if not os.access(path, os.R_OK):
        return Problem(label, f"{what} cannot be read (permission denied)", "check the file's permissions")
    return None
