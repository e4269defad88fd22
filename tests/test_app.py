"""The map page through Streamlit's AppTest, on the Pyrénées-Orientales bundle and a temporary store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import RUSCINO_CODES

APP = str(Path(__file__).resolve().parent.parent / "app.py")
RUSCINO_URL = "66028-66136.0801.0901.0902.1001.1101.1202.1203.1901.1902.1903-66186-66189"


@pytest.fixture
def app(dep66_dir, tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    return AppTest.from_file(APP, default_timeout=120)


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def selection(app: AppTest) -> frozenset[str]:
    return app.session_state["session"].selection


def test_loads_empty(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Tracer le territoire de la CPTS"
    assert "Aucune zone sélectionnée" in app.info[0].value
    assert app.multiselect(key="session_area").value == ["66"]


def test_store_that_cannot_be_opened_is_a_french_message(app, tmp_path, monkeypatch):
    blocker = tmp_path / "fichier"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CPTS_GEO_STORE", str(blocker / "drafts.sqlite"))
    app.run()
    assert not app.exception
    assert "Impossible d'ouvrir le fichier des territoires enregistrés" in app.error[0].value
    assert "CPTS_GEO_STORE" in app.error[0].value


def test_ruscino_from_url(app):
    app.query_params["zones"] = RUSCINO_URL
    app.query_params["nom"] = "CPTS Ruscino"
    app.run()
    assert not app.exception and not app.error
    assert metrics(app) == {"Communes": "4", "IRIS": "16", "Population 2023": "48\u202f454", "Taille": "2"}
    assert any("Perpignan (10/47 IRIS)" in box.value for box in app.success)
    assert any("Limites des données" in caption.value for caption in app.caption)
    assert app.dataframe[0].value.shape[0] == 13  # 3 whole communes + the 10 IRIS of Perpignan
    assert app.get("download_button")


def test_select_with_search_click_and_undo(app):
    app.run()
    app.text_input[0].input("cabestany").run()
    next(b for b in app.button if b.label == "Ajouter").click().run()
    assert {c[:5] for c in selection(app)} == {"66028"}
    app.session_state["session"].toggle("661860000")  # what a click on the map calls
    app.run()
    assert metrics(app)["Communes"] == "2"
    app.radio(key="session_mode").set_value("commune").run()
    app.session_state["session"].toggle("661890000")
    app.run()
    assert metrics(app)["Communes"] == "3"
    next(b for b in app.button if "Annuler" in b.label).click().run()
    assert metrics(app)["Communes"] == "2"
    assert app.query_params["zones"] == "66028-66186"


def test_save_and_reopen_draft(app):
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.text_input(key="session_name").input("CPTS Ruscino").run()
    next(b for b in app.button if "Enregistrer" in b.label).click().run()
    assert any("enregistré" in s.value for s in app.success)
    next(b for b in app.button if b.label == "Vider la sélection").click().run()
    assert not selection(app)
    app.selectbox(key="draft_choice").set_value("CPTS Ruscino")
    next(b for b in app.button if "Rouvrir" in b.label).click().run()
    assert len(selection(app)) == 16 and metrics(app)["Population 2023"] == "48\u202f454"


def test_import_code_list(app):
    app.run()
    data = ("code\n" + "\n".join(RUSCINO_CODES) + "\n").encode()
    app.file_uploader(key="code_file").upload("ruscino.csv", data, "text/csv").run()
    assert not app.exception and not app.error
    assert metrics(app)["IRIS"] == "16"


@pytest.mark.parametrize("name, data, words", [
    ("codes.csv", b"code\n66028\n66999\n", "66999"),
    ("codes.xlsx", b"PK\x03\x04\x00\x00binary", "CSV ou TXT"),
    ("codes.csv", b"nom;population\nCabestany;9000\n", "colonne de codes"),
])
def test_bad_upload_keeps_selection(app, name, data, words):
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.file_uploader(key="code_file").upload(name, data).run()
    assert not app.exception
    assert words in app.error[0].value and "conservée" in app.error[0].value
    assert len(selection(app)) == 16 and metrics(app)["IRIS"] == "16"


def test_neighbours_from_csv(app):
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.file_uploader(key="neighbour_file").upload("voisines.csv", b"cpts;code\nCPTS Voisine;66186\n").run()
    assert any("chevauche" in box.value and "CPTS Voisine" in box.value for box in app.error)


def test_neighbours_from_the_stored_registry(app, dep66, tmp_path):
    """The registry of the ARS, saved in the same store, is one tick away."""
    from cpts_geo.registry import read_registry, save_registry
    from cpts_geo.store import open_store

    example = Path(APP).parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"
    save_registry(dep66, open_store(tmp_path / "drafts.sqlite"), read_registry(dep66, example))
    app.query_params["zones"] = RUSCINO_URL
    app.query_params["nom"] = "Mon projet"
    app.run()
    assert not any("chevauche" in box.value for box in app.error)
    registry_box = app.checkbox(key="neighbour_registry")
    assert registry_box.label == "Comparer aux CPTS du registre enregistré (10)"   # the 66 ones of the example
    registry_box.check().run()
    overlap = [box.value for box in app.error if "chevauche" in box.value]
    assert len(overlap) == 1 and "CPTS Ruscino" in overlap[0] and "CPTS Perpignan" not in overlap[0]
