"""The user guides (docs/guide-porteur.md, docs/guide-ars.md): their words are the app's, their links and pictures
exist, and the « Aide » page shows them.

Rule of the guides: a text between « » or in **bold** is an interface text, written exactly as the app shows it
(« … » stands for a part that varies, such as a name or a number). A renamed button makes
:func:`test_quoted_labels_are_the_apps` fail, naming the label; fix the guide (and its pictures:
``python scripts/guide_images.py``).
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cpts_geo.web.guides import DOCS, GUIDES, guide_blocks, guide_path
from cpts_geo.region.registry import read_registry_csv

ROOT = Path(__file__).resolve().parent.parent
GUIDE_FILES = [guide_path(key) for key in GUIDES]
#: Where the app's texts are: the pages, the package (Python strings, and the map's JavaScript).
SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "cpts_geo").rglob("*.py")),
           *sorted((ROOT / "cpts_geo").rglob("*.js"))]
QUOTED = re.compile(r"«([^«»]+)»")
BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
CODE = re.compile(r"`[^`]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
#: Most the pictures of both guides may weigh (bytes): the repository stays light.
MAX_PICTURES_BYTES = 1_500_000


def folded(text: str) -> str:
    """White space folded to one plain space (line breaks of the guide, non-breaking spaces of the app)."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def python_texts(path: Path) -> list[str]:
    """The string literals of a Python file, the constant parts of f-strings included; docstrings left out (they
    describe the interface, they are not it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def interface_texts(paths=SOURCES) -> str:
    """All the texts the app can show, folded, one per line."""
    texts = []
    for path in paths:
        texts += python_texts(path) if path.suffix == ".py" else [path.read_text(encoding="utf-8")]
    return "\n".join(folded(text) for text in texts)


def quoted_labels(markdown: str) -> list[str]:
    """The interface texts a guide quotes: between « » (the innermost ones) or in bold, code left out."""
    text = CODE.sub(" ", markdown)
    return [folded(label) for label in QUOTED.findall(text) + BOLD.findall(text)]


def missing_labels(markdown: str, interface: str) -> list[str]:
    """The quoted labels of ``markdown`` the app does not show: each part of a label around « … » must be in its
    texts."""
    return [label for label in quoted_labels(markdown)
            if not all(part.strip() in interface for part in label.split("…") if part.strip())]


@pytest.fixture(scope="module")
def interface() -> str:
    return interface_texts()


@pytest.mark.parametrize("guide", GUIDE_FILES, ids=lambda path: path.name)
def test_quoted_labels_are_the_apps(guide, interface):
    labels = quoted_labels(guide.read_text(encoding="utf-8"))
    assert len(labels) > 40   # the guide does name the buttons
    assert missing_labels(guide.read_text(encoding="utf-8"), interface) == []


def test_a_renamed_label_is_caught(interface):
    """The check can fail: a label the app does not have, or had before a rename, is reported."""
    guide = ("Cliquez sur **Enregistrer le brouillon**, puis « Partager ce brouillon » et "
             "« Rouvrir … maintenant ».")
    assert missing_labels(guide, interface) == ["Partager ce brouillon", "Rouvrir … maintenant"]
    renamed = interface.replace("Enregistrer le brouillon", "Sauvegarder le brouillon")
    assert missing_labels(guide, renamed) == ["Partager ce brouillon", "Rouvrir … maintenant",
                                              "Enregistrer le brouillon"]
    assert "Enregistrer le brouillon" not in interface_texts([ROOT / "cpts_geo" / "web" / "guides.py"])  # docstrings: no


@pytest.mark.parametrize("guide", GUIDE_FILES, ids=lambda path: path.name)
def test_links_and_pictures_exist(guide):
    targets = LINK.findall(CODE.sub(" ", guide.read_text(encoding="utf-8")))
    local = [target for target in targets if not re.match(r"[a-z]+:", target)]
    assert local and all(not target.startswith("#") for target in local)   # no anchors: the app has other ones
    assert [target for target in local if not (guide.parent / target.split("#")[0]).is_file()] == []
    pictures = [target for target in local if target.endswith(".png")]
    assert len(pictures) >= 4


def test_pictures_are_light_and_all_used():
    pictures = sorted((DOCS / "images").glob("*.png"))
    used = {(DOCS / target).resolve() for guide in GUIDE_FILES
            for target in LINK.findall(guide.read_text(encoding="utf-8")) if target.endswith(".png")}
    assert {p.resolve() for p in pictures} == used
    assert sum(p.stat().st_size for p in pictures) < MAX_PICTURES_BYTES


@pytest.mark.parametrize("guide", GUIDE_FILES, ids=lambda path: path.name)
def test_guides_show_as_written_in_streamlit(guide):
    """No « $ » (Streamlit would read mathematics) and no « :word: » shortcode (an icon or emoji)."""
    text = guide.read_text(encoding="utf-8")
    assert "$" not in text
    assert not re.search(r":[a-z_]+(/[a-z_]+)?:", CODE.sub(" ", text))


def test_registry_example_of_the_ars_guide_reads_whole(dep66):
    """The CSV registry shown in the ARS guide is read as written: two CPTS, no row ignored."""
    example = re.search(r"```\n( *cpts;code_insee.*?)```", guide_path("ars").read_text(encoding="utf-8"), re.DOTALL)
    imported = read_registry_csv(dep66, textwrap.dedent(example[1]).encode())
    assert imported.ok and sorted(imported.cpts) == ["CPTS Perpignan", "CPTS Ruscino"]
    assert imported.cpts["CPTS Ruscino"] == {*dep66.iris_by_commune["66028"], "661360801"}   # Champs de Mars
    assert imported.cpts["CPTS Perpignan"] == {"661360101"}


def test_blocks_cut_pictures_and_link_the_other_guide():
    blocks = guide_blocks("porteur")
    pictures = [block for block in blocks if block.picture]
    text = guide_path("porteur").read_text(encoding="utf-8")
    assert len(pictures) == text.count("](images/")
    assert all(block.picture.is_file() and block.text for block in pictures)
    assert pictures[0].picture.name == "porteur-page.png" and pictures[0].width == "stretch"   # 1 100 px
    assert pictures[1].picture.name == "porteur-barre-laterale.png" and pictures[1].width == 256
    shown = "".join(block.text for block in blocks if not block.picture)
    assert "](Aide?guide=ars)" in shown and "guide-ars.md" not in shown
    assert "](images/" not in shown


def test_help_page_shows_each_guide(dep66_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    page.switch_page("pages/3_Aide.py").run()
    assert not page.exception
    assert page.radio(key="guide").value == "porteur"
    assert page.markdown[0].value.startswith("# Guide du porteur de projet")
    assert len(page.get("image")) == sum(block.picture is not None for block in guide_blocks("porteur")) == 7
    page.radio(key="guide").set_value("ars").run()
    assert not page.exception
    assert page.markdown[0].value.startswith("# Guide de l'ARS")
    assert page.query_params["guide"] == "ars"   # the address of the page names the guide shown
    assert len(page.get("image")) == sum(block.picture is not None for block in guide_blocks("ars")) == 4


def test_help_page_opens_the_linked_guide(dep66_dir, tmp_path, monkeypatch):
    """The link of the « Vue ARS » page (``Aide?guide=ars``) opens the ARS guide; an unknown guide, the porteur's."""
    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    for linked, shown in (("ars", "ars"), ("<b>x</b>", "porteur")):
        page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        page.query_params["guide"] = linked
        page.switch_page("pages/3_Aide.py").run()
        assert not page.exception and page.radio(key="guide").value == shown
