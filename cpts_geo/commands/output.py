"""What the command line gives the user: files (exports, coverage reports), all or nothing, never half-written,
and text printed safe for the terminal."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from cpts_geo.errors import InputError
from cpts_geo.user_text import terminal_text


def show(text: str = "", error: bool = False) -> None:
    """Print ``text`` on standard output (standard error when ``error``) through :func:`terminal_text`: a name read
    in a file or a file name holding a terminal escape (``\\x1b``, ``\\x07``…) is shown with placeholders."""
    print(terminal_text(text), file=sys.stderr if error else sys.stdout)

#: Prefix of the hidden folder, in the output folder, where the files are written before being moved into place.
STAGING_PREFIX = ".cpts_geo_"
#: Age from which a staging folder was left by a run that was killed (a run's own lives well under a second: the
#: files are all made before it is).
STALE_STAGING_SECONDS = 3600


def write_files(folder: Path | str, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` (name → content) into ``folder``, created if needed, and return their paths.

    Every file is first written in a hidden staging folder inside ``folder``, then renamed: a failure
    leaves no truncated file. The staging folders older than an hour, left by a run that was killed
    (SIGKILL, power cut) after writing some files, are removed first. A folder that is a file or
    cannot be written raises :class:`InputError` naming it.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} est un fichier, pas un dossier : donnez un dossier où écrire les fichiers.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(folder)
        with tempfile.TemporaryDirectory(dir=folder, prefix=STAGING_PREFIX) as staging:
            for name, data in files.items():
                Path(staging, name).write_bytes(data)
            for name in files:
                os.replace(Path(staging, name), folder / name)
    except OSError as err:
        raise InputError(f"Impossible d'écrire dans le dossier {folder} ({err.strerror or err}) : "
                         "choisissez un dossier où vous pouvez écrire.") from err
    return [folder / name for name in files]


def remove_stale_staging(folder: Path) -> None:
    """Remove the staging folders of :func:`write_files` older than :data:`STALE_STAGING_SECONDS` in ``folder``
    (those of a run in progress are younger; a link of that name is never followed)."""
    oldest = time.time() - STALE_STAGING_SECONDS
    for staging in folder.glob(f"{STAGING_PREFIX}*"):
        if not staging.is_symlink() and staging.is_dir() and staging.stat().st_mtime < oldest:
            shutil.rmtree(staging, ignore_errors=True)
