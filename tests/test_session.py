"""Drawing session: history, toggles, imports, URL form and drafts, on the Pyrénées-Orientales data."""

from __future__ import annotations

import pytest

from cpts_geo.errors import InputError
from cpts_geo.session import DrawingSession, decode_selection, encode_selection, selection_query
from cpts_geo.store import TerritoryStore
from tests.conftest import RUSCINO_CODES


@pytest.fixture
def session(dep66) -> DrawingSession:
    return DrawingSession(dep66)


def test_toggle_iris_and_commune_with_undo_redo(session, dep66):
    assert session.toggle("660280101")
    assert session.selection == {"660280101"}
    session.mode = "commune"
    session.toggle("661860000")
    assert session.selection == {"660280101", *dep66.iris_by_commune["66186"]}
    session.undo()
    assert session.selection == {"660280101"} and session.can_redo
    session.redo()
    assert "661860000" in session.selection
    session.undo()
    session.toggle("660280102")  # a new step drops what could be redone
    assert not session.can_redo
    session.mode = "iris"
    assert not session.toggle("999999999")


def test_import_keeps_selection_on_unknown_codes(session):
    session.import_codes(RUSCINO_CODES)
    before = session.selection
    with pytest.raises(InputError, match="66999.*conservée"):
        session.import_codes(["66028", "66999"])
    assert session.selection == before and len(before) == 16


@pytest.mark.parametrize("name, data, message", [
    ("liste.csv", b"commune;population\nCabestany;9000\n", "colonne de codes"),
    ("liste.xlsx", b"PK\x03\x04 binary", "CSV ou TXT"),
    ("liste.csv", b"", "vide"),
])
def test_bad_code_file_keeps_selection(session, name, data, message):
    session.import_codes(["66028"])
    with pytest.raises(InputError, match=message):
        session.import_file(data, name)
    assert {c[:5] for c in session.selection} == {"66028"}


def test_import_file_in_windows_encoding(session):
    session.import_file("code_insee;nom\n66186;Saint-Nazaire\n66189;Saleilles\n".encode("cp1252"), "codes.csv")
    assert {c[:5] for c in session.selection} == {"66186", "66189"}


def test_url_round_trip_is_compact(session, dep66):
    session.import_codes(RUSCINO_CODES)
    session.name = "CPTS Ruscino"
    text = encode_selection(dep66, session.selection)
    assert text.startswith("66028-66136.0801.0901.") and len(text) < 80
    assert set(decode_selection(text)) >= {"66028", "661360801", "66186"}
    reopened = DrawingSession(dep66)
    reopened.open_query(session.query())
    assert reopened.selection == session.selection and reopened.name == "CPTS Ruscino"


def test_registry_cpts_opens_in_the_drawing_page(dep66):
    """The link of the ARS page: a CPTS of the registry reopened in a fresh drawing session."""
    from pathlib import Path

    from cpts_geo.registry import read_registry

    example = Path(__file__).resolve().parent.parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"
    perpignan = read_registry(dep66, example).cpts["CPTS Perpignan"]
    params = selection_query(dep66, perpignan, " CPTS Perpignan ")     # area: the départements of the CPTS
    assert set(params) == {"zones", "nom", "dep"} and params["nom"] == "CPTS Perpignan"
    reopened = DrawingSession(dep66)
    reopened.open_query(params)
    assert reopened.selection == perpignan and len(perpignan) > 37     # 37 IRIS of Perpignan + whole communes
    assert reopened.area == ("66",)


def test_bad_url_changes_nothing(session):
    with pytest.raises(InputError, match="département"):
        session.open_query({"zones": "66028", "dep": "99"})
    assert not session.selection


def test_drafts(session, tmp_path):
    store = TerritoryStore(tmp_path / "store.sqlite")
    with pytest.raises(InputError, match="vide"):
        session.save_draft(store)
    session.import_codes(RUSCINO_CODES)
    session.name = "CPTS Ruscino"
    session.save_draft(store)
    other = DrawingSession(session.bundle)
    other.open_draft(store, "CPTS Ruscino")
    assert other.selection == session.selection and other.name == "CPTS Ruscino"
