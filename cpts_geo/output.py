"""What the command line gives the user: files (exports, coverage reports), all or nothing, never half-written,
and text printed safe for the terminal."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cpts_geo.errors import InputError
from cpts_geo.user_text import terminal_text


def show(text: str = "", error: bool = False) -> None:
    """Print ``text`` on standard output (standard error when ``error``) through :func:`terminal_text`: a name read
    in a file or a file name holding a terminal escape (``\\x1b``, ``\\x07``…) is shown with placeholders."""
    print(terminal_text(text), file=sys.stderr if error else sys.stdout)


def write_files(folder: Path | str, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` (name → content) into ``folder``, created if needed, and return their paths.

    Every file is first written under a temporary name in the folder, then renamed: a failure
    leaves no truncated file. A folder that is a file or cannot be written raises
    :class:`InputError` naming it.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} est un fichier, pas un dossier : donnez un dossier où écrire les fichiers.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".cpts_geo_") as staging:
            for name, data in files.items():
                Path(staging, name).write_bytes(data)
            for name in files:
                os.replace(Path(staging, name), folder / name)
    except OSError as err:
        raise InputError(f"Impossible d'écrire dans le dossier {folder} ({err.strerror or err}) : "
                         "choisissez un dossier où vous pouvez écrire.") from err
    return [folder / name for name in files]
