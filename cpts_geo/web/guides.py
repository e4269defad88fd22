"""The user guides (``docs/guide-porteur.md``, ``docs/guide-ars.md``), cut into what the « Aide » page shows.

The guides are plain Markdown, read on GitHub as they are; the app cannot serve the repository's files, so
:func:`guide_blocks` gives the text between pictures (for ``st.markdown``) and each picture as a file path (for
``st.image``), and turns a link to the other guide into a link to the « Aide » page showing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from cpts_geo.config import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
#: The guides: key (``?guide=`` of the « Aide » page) → (title, file in ``docs/``).
GUIDES = {"porteur": ("Guide du porteur de projet", "guide-porteur.md"),
          "ars": ("Guide de l'ARS", "guide-ars.md")}
#: Widest picture shown at its own size (the column of the page is about 900 px wide on a laptop's screen).
NARROW_PICTURE_PX = 800
#: A picture alone on its line: ``![texte](images/x.png)``.
PICTURE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<path>[^)\s]+)\)\s*$", re.MULTILINE)
#: A link to a guide file (``](guide-ars.md)`` or ``](guide-ars.md#section)``).
GUIDE_LINK = re.compile(r"\]\((?P<file>guide-[a-z]+\.md)(?:#[^)]*)?\)")


@dataclass(frozen=True)
class Block:
    """A part of a guide: Markdown text, or a picture (``picture`` the file, ``text`` its caption)."""
    text: str
    picture: Path | None = None

    @property
    def width(self) -> int | str:
        """How wide ``st.image`` shows the picture: a narrow one at its size in pixels (not stretched to its caption's
        width), a wide one (screenshots of a whole page) as wide as the page's column, which a width in pixels would
        overflow."""
        with Image.open(self.picture) as picture:
            return picture.width if picture.width <= NARROW_PICTURE_PX else "stretch"


def guide_path(key: str) -> Path:
    """The Markdown file of the guide ``key`` (a key of :data:`GUIDES`)."""
    return DOCS / GUIDES[key][1]


def guide_blocks(key: str) -> list[Block]:
    """The guide ``key`` as the « Aide » page shows it: text blocks and pictures in their order; a link to a guide
    becomes a link to the « Aide » page on that guide (``Aide?guide=ars``)."""
    keys = {file: name for name, (_, file) in GUIDES.items()}
    text = GUIDE_LINK.sub(lambda link: f"](Aide?guide={keys[link['file']]})", guide_path(key).read_text("utf-8"))
    blocks, start = [], 0
    for picture in PICTURE.finditer(text):
        blocks.append(Block(text[start:picture.start()]))
        blocks.append(Block(picture["alt"], DOCS / picture["path"]))
        start = picture.end()
    blocks.append(Block(text[start:]))
    return [block for block in blocks if block.picture or block.text.strip()]
