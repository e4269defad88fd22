"""The map page through Streamlit's AppTest, on the Pyrénées-Orientales bundle and a temporary store."""

from __future__ import annotations

import gc
import json
import re
from pathlib import Path

import pytest
import shapely
from streamlit.testing.v1 import AppTest

from cpts_geo.web.app_cache import STORE_UNAVAILABLE, load_bundle
from cpts_geo.territory.offer import NOT_AVAILABLE
from tests.conftest import RUSCINO_CODES

APP = str(Path(__file__).resolve().parent.parent / "app.py")
RUSCINO_URL = "66028-66136.0801.0901.0902.1001.1101.1202.1203.1901.1902.1903-66186-66189"


@pytest.fixture
def app(dep66_dir, tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    return AppTest.from_file(APP, default_timeout=120)


def plain(markdown: str) -> str:
    """What the reader sees of a Markdown text escaped by :func:`cpts_geo.user_text.markdown_text`."""
    return re.sub(r"\\(.)", r"\1", markdown)


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def selection(app: AppTest) -> frozenset[str]:
    return app.session_state["session"].selection


def test_loads_empty(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Tracer le territoire de la CPTS"
    help_text = app.caption[0].value   # the gestures of the map (tests/test_drawmap_gestures.py in a browser)
    assert "**Alt + clic** : toute la commune de la zone" in help_text and "**Maj + glisser**" in help_text
    assert "Aucune zone sélectionnée" in app.info[0].value
    assert app.multiselect(key="session_area").value == ["66"]


def test_store_that_cannot_be_opened_is_a_french_message(app, tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "fichier"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CPTS_GEO_STORE", str(blocker / "drafts.sqlite"))
    with caplog.at_level("ERROR", logger="cpts_geo.web.app_cache"):
        app.run()
    assert not app.exception
    assert plain(app.error[0].value) == STORE_UNAVAILABLE              # no server path shown to users…
    assert "Vos brouillons et le registre de la région ne peuvent pas être lus" in STORE_UNAVAILABLE
    logged = caplog.text                                                # … the operator reads it in the log
    assert "Impossible d'utiliser le fichier des territoires enregistrés" in logged and f"{blocker}" in logged


@pytest.mark.parametrize("url", ["mysql://cpts:secret@db.example.fr/cpts", "sqlite:///srv/cpts/territoires.sqlite"])
def test_store_of_an_unknown_kind_is_a_french_message(app, url, monkeypatch, caplog):
    monkeypatch.setenv("CPTS_GEO_STORE", url)
    with caplog.at_level("ERROR", logger="cpts_geo.web.app_cache"):
        app.run()
    assert not app.exception and plain(app.error[0].value) == STORE_UNAVAILABLE
    assert f"« {url.split(':')[0]}://… »" in caplog.text and "secret" not in caplog.text


def test_draft_saved_elsewhere_is_not_overwritten(app, tmp_path):
    """Another app process saves the draft this page opened: saving it here is refused, theirs is kept; the
    versions are dated in French local time."""
    from cpts_geo.storage.store import open_store
    from cpts_geo.territory.model import Territory

    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.text_input(key="session_name").input("CPTS Ruscino").run()
    click(app, "Enregistrer le brouillon")
    open_store(tmp_path / "drafts.sqlite").save(Territory(frozenset({"661860000"}), "CPTS Ruscino"), author="b@ex.fr")
    click(app, "Enregistrer le brouillon")
    assert not app.exception
    assert [plain(box.value) for box in app.error if "modifié" in box.value][0].startswith(
        "Le brouillon « CPTS Ruscino » a été modifié par quelqu'un d'autre depuis son chargement ; rechargez-le")
    assert open_store(tmp_path / "drafts.sqlite").load("CPTS Ruscino").iris == {"661860000"}
    labels = app.selectbox(key="version_choice").options
    assert len(labels) == 2 and all(re.fullmatch(r"[12] — \d{1,2}(er)? \w+ 20\d\d, \d\d:\d\d — \d+ IRIS( — b@ex.fr)?",
                                                 label) for label in labels), labels


def test_ruscino_from_url(app):
    app.query_params["zones"] = RUSCINO_URL
    app.query_params["nom"] = "CPTS Ruscino"
    app.run()
    assert not app.exception and not app.error
    assert metrics(app) == {"Communes": "4", "IRIS": "16", "Population 2023": "48\u202f454", "Taille": "2"}
    assert any("Perpignan (10/47 IRIS)" in plain(box.value) for box in app.success)
    assert any("Limites des données" in caption.value for caption in app.caption)
    letter = next(d.value for d in app.dataframe if "COMMUNES / QUARTIERS" in d.value.columns)
    assert letter.shape[0] == 13  # 3 whole communes + the 10 IRIS of Perpignan
    assert app.get("download_button")


def test_selection_too_large_for_a_link_is_not_written_to_the_address(app, monkeypatch):
    """An import of more codes than a link may hold (2 000; 3 here): the address keeps no selection, the page says
    why; under the limit, the address holds it again."""
    monkeypatch.setattr("cpts_geo.web.session.MAX_LINK_CODES", 3)
    app.query_params["nom"] = "Grand"
    app.run()
    app.text_area(key="typed_codes").input("66028 66186 66189 661360801").run()
    click(app, "Importer les codes collés")
    assert metrics(app)["Communes"] == "4" and "zones" not in app.query_params
    assert app.query_params["nom"] == "Grand"
    assert any(plain(box.value).startswith("Sélection de 4 codes de zones : trop grande pour l'adresse de la page "
                                           "(au plus 3), qui ne la contient pas.") for box in app.info)
    app.session_state["session"].remove_commune("66189")
    app.run()
    assert app.query_params["zones"] == "66028-66136.0801-66186"
    assert not any("trop grande pour l'adresse" in plain(box.value) for box in app.info)


def test_link_with_commas_and_an_unknown_code(app):
    """The known codes open, the unknown one is named, the address bar keeps the user's link until he changes the
    selection."""
    app.query_params["zones"] = "66028,66186 66999"
    app.run()
    assert not app.exception and metrics(app)["Communes"] == "2"
    assert any("66999" in plain(box.value) and "laissé(s) de côté" in plain(box.value) for box in app.warning)
    assert app.query_params["zones"] == "66028,66186 66999"
    app.run()
    assert app.query_params["zones"] == "66028,66186 66999"
    click(app, "Vider la sélection")
    assert "zones" not in app.query_params


def test_choosing_a_region_moves_the_map_there(france_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CPTS_GEO_DATA", str(france_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.selectbox(key="region").set_value("32").run()          # Hauts-de-France only: its most populated département
    assert not app.exception
    assert app.multiselect(key="session_area").value == ["59"]
    assert json.loads(app.get("bidi_component")[0].proto.json)["area_id"] == "59"
    app.session_state["session"].add_commune("80021")       # Amiens
    app.selectbox(key="region").set_value("76").run()
    app.selectbox(key="region").set_value("32").run()          # back: where the selection is
    assert app.multiselect(key="session_area").value == ["80"]


def test_selection_left_outside_by_a_change_of_region_is_said(france_dir, france, tmp_path, monkeypatch):
    """The map on the Nord, the summary on Cabestany: a warning names how many zones are outside, with a button
    that empties the selection."""
    monkeypatch.setenv("CPTS_GEO_DATA", str(france_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["zones"] = "66028"
    app.run()
    assert not [box for box in app.warning if "hors des départements affichés" in box.value]
    app.selectbox(key="region").set_value("32").run()
    assert app.multiselect(key="session_area").value == ["59"]
    [warning] = [box.value for box in app.warning if "hors des départements affichés" in box.value]
    assert warning.startswith(f"{len(france.iris_by_commune['66028'])} zone(s) de la sélection sont hors des "
                              "départements affichés (département(s) 66)")
    app.button(key="clear_outside").click().run()
    assert selection(app) == frozenset()
    assert not [box for box in app.warning if "hors des départements affichés" in box.value]


def test_enclaved_iris_is_outlined_alone(app, dep66):
    """Perpignan without its IRIS Saint-Jacques: the zoom button of the enclave check outlines that IRIS, not the
    whole commune."""
    app.query_params["zones"] = "66136." + ".".join(code[5:] for code in dep66.iris_by_commune["66136"]
                                                     if code != "661360102")
    app.run()
    assert any("IRIS enclavés de Perpignan" in plain(box.value) for box in app.error)
    app.button(key="zoom_enclaves_66136").click().run()
    assert app.session_state["session"].focus == ("661360102",)
    layers = json.loads(app.get("bidi_component")[0].proto.json)["overlays"]
    signalled = next(layer for layer in layers if layer["name"] == "Zone signalée")
    outline = shapely.geometry.shape(signalled["features"]["features"][0]["geometry"])
    saint_jacques = dep66.iris_geometry(["661360102"]).geometry.iloc[0]
    assert len(signalled["features"]["features"]) == 1
    assert outline.area == pytest.approx(saint_jacques.area, rel=0.05)      # not Perpignan (47 IRIS)


def test_select_with_search_click_and_undo(app):
    app.run()
    app.text_input[0].input("cabestany").run()
    next(b for b in app.button if b.label == "Ajouter").click().run()
    assert {c[:5] for c in selection(app)} == {"66028"}
    assert set(app.session_state["session"].view) == selection(app)   # « Ajouter » brings the commune into view
    # « Ajouter » stays where it was, disabled: the second click of a double click cannot land on « Retirer »
    assert [(b.label, b.disabled) for b in app.sidebar.columns[0].button] == [("Ajouter", True)]
    assert [(b.label, b.disabled) for b in app.sidebar.columns[1].button] == [("Retirer", False)]
    app.session_state["session"].add_commune("66028")   # the second click of a double click on « Ajouter »
    app.run()
    assert {c[:5] for c in selection(app)} == {"66028"}
    app.button(key="search_remove").click().run()
    assert selection(app) == frozenset()
    app.button(key="search_add").click().run()
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


def test_search_says_how_many_matches_are_not_listed(app):
    app.run()
    app.text_input[0].input("st lau").run()   # « St » is Saint
    assert [o for o in app.selectbox(key="search_pick").options][:1] == ["Saint-Laurent-de-Cerdans (66179, 66260)"]
    app.text_input[0].input("a").run()
    assert len(app.selectbox(key="search_pick").options) == 40
    assert any(re.fullmatch(r"\d+ autre\(s\) résultat\(s\) : précisez la recherche\.", c.value) for c in app.caption)


def test_widgets_speak_french(app):
    """Streamlit's English texts: the multiselects get a French placeholder and no « Select all »; the file
    uploaders, that have no option for their texts, get French ones from the page's CSS and their limits in help."""
    app.query_params["zones"] = "66028"
    app.run()
    assert [(m.label, m.proto.placeholder, m.proto.select_all) for m in app.multiselect] == [
        ("Départements affichés", "Choisir des départements", 0), ("Brouillons à comparer", "Choisir des brouillons", 0)]
    css = " ".join(element.proto.body for element in app.get("html"))
    assert 'content: "Choisir un fichier"' in css and 'content: "ou le glisser ici"' in css
    assert 'content: "Entrée pour valider"' in css   # « Press Enter to apply » under a text being typed
    assert 'content: "Aucun résultat"' in css        # « No results » of a list filtered to nothing
    uploaders = [u.proto for u in app.get("file_uploader")]
    assert [u.help.split(" : ")[0] for u in uploaders] == ["5 Mo au plus", "CSV"]
    assert "50 Mo au plus" in uploaders[1].help


def test_figures_and_buttons_have_room_on_a_laptop_screen(app, tmp_path):
    """At 1366 px the summary column is about 300 px wide and the sidebar 240 px: six digits of population and the
    labels of the figures need half of the column (« 152 … », « Populatio… » in four columns), and a button of
    more than 7 letters a whole sidebar row (« Suppri… » beside « Rouvrir »)."""
    from cpts_geo.storage.store import open_store
    from cpts_geo.territory.model import Territory

    open_store(tmp_path / "drafts.sqlite").save(Territory(frozenset(["660280101"]), "CPTS Test"))
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.text_input(key="session_name").input("CPTS Test").run()
    click(app, "Enregistrer le brouillon")                       # asks: « Remplacer », « Ne pas remplacer »
    click(app, "Supprimer")                                      # asks first: « Supprimer », « Ne pas supprimer »
    app.text_input[0].input("cabestany").run()                   # « Ajouter », « Retirer » (it is in Ruscino)
    assert {"Remplacer", "Rouvrir", "confirm_delete_yes"} <= {b.label for b in app.sidebar.button} | {
        b.key for b in app.sidebar.button}
    in_rows = [b.label for column in app.sidebar.columns for b in column.button]
    assert in_rows == ["Ajouter", "Retirer"]
    figures = {m.label: column.weight for column in app.main.columns for m in column.metric
               if len(column.metric) == 1}
    assert figures == {"Population 2023": 0.6, "Taille": 0.4, "Communes": 0.6, "IRIS": 0.4}
    app.session_state["session"].import_codes(["66186", "66028", "66002", "66172", "66016", "66127", "66017"])
    app.run()                                                   # in 5 pieces: 4 communes named
    zoom_rows = [len(column.button) for column in app.main.columns
                 if column.button and all((b.key or "").startswith("zoom_contiguity_") for b in column.button)]
    assert zoom_rows == [2, 2]   # « Banyuls-sur-Mer », « Le Barcarès »… two a row, not four


def test_whole_epci_from_the_sidebar(app):
    app.run()
    app.selectbox(key="epci_pick").set_value("200027183").run()
    app.button(key="epci_add").click().run()
    assert not app.exception
    assert metrics(app)["Communes"] == "37"
    assert [b.label for b in app.button if "toute l'EPCI" in b.label and not b.disabled] == ["Retirer toute l'EPCI"]
    # the second click of a double click lands on « Ajouter », still in its place and disabled (it used to be
    # « Retirer » there, which undid the first click)
    assert [b.label for b in app.button if "toute l'EPCI" in b.label] == ["Ajouter toute l'EPCI",
                                                                         "Retirer toute l'EPCI"]
    assert app.button(key="epci_add").disabled
    assert any("CU Perpignan Méditerranée Métropole" in plain(box.value) for box in [*app.success, *app.info])
    app.button(key="epci_remove").click().run()
    assert not selection(app)
    assert [b.label for b in app.button if "toute l'EPCI" in b.label and not b.disabled] == ["Ajouter toute l'EPCI"]


def test_save_and_reopen_draft(app):
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.text_input(key="session_name").input("CPTS Ruscino").run()
    next(b for b in app.button if "Enregistrer" in b.label).click().run()
    assert any("enregistré" in s.value for s in app.success)
    next(b for b in app.button if b.label == "Vider la sélection").click().run()
    assert not selection(app)
    app.selectbox(key="draft_choice").set_value(("", "CPTS Ruscino"))
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
    assert words in plain(app.error[0].value) and "conservée" in plain(app.error[0].value)
    assert len(selection(app)) == 16 and metrics(app)["IRIS"] == "16"


def test_neighbours_from_csv(app):
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.file_uploader(key="neighbour_file").upload("voisines.csv", b"cpts;code\nCPTS Voisine;66186\n").run()
    assert any("chevauche" in box.value and "CPTS Voisine" in plain(box.value) for box in app.error)


def test_neighbours_from_the_stored_registry(app, dep66, tmp_path):
    """The registry of the ARS, saved in the same store, is one tick away."""
    from cpts_geo.region.registry import read_registry, save_registry
    from cpts_geo.storage.store import open_store

    example = Path(APP).parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"
    save_registry(dep66, open_store(tmp_path / "drafts.sqlite"), read_registry(dep66, example),
                  accept_ignored=True)   # its rows of the Aude, outside this bundle, left out knowingly
    app.query_params["zones"] = RUSCINO_URL
    app.query_params["nom"] = "Mon projet"
    app.run()
    assert not any("chevauche" in box.value for box in app.error)
    registry_box = app.checkbox(key="session_compare_registry")
    assert registry_box.label == "Comparer aux CPTS du registre enregistré (10)"   # the 66 ones of the example
    registry_box.check().run()
    overlap = [box.value for box in app.error if "chevauche" in box.value]
    assert len(overlap) == 1 and "CPTS Ruscino" in overlap[0] and "CPTS Perpignan" not in overlap[0]
    assert app.query_params["registre"] == "1"                                      # kept in the link


def test_link_from_the_ars_page_compares_with_the_registry(app, dep66, tmp_path):
    """The « Vue ARS » link of a CPTS (registre=1) opens it with the registry's other CPTS as neighbours."""
    from cpts_geo.region.registry import read_registry, save_registry
    from cpts_geo.web.session import selection_query
    from cpts_geo.storage.store import open_store

    example = read_registry(dep66, Path(APP).parent / "docs" / "registry_example" / "registre_cpts_66_11.csv")
    save_registry(dep66, open_store(tmp_path / "drafts.sqlite"), example, accept_ignored=True)   # without the Aude
    for key, value in selection_query(dep66, example.cpts["CPTS Aspres"], "CPTS Aspres", compare_registry=True).items():
        app.query_params[key] = value
    app.run()
    assert not app.exception and app.checkbox(key="session_compare_registry").value
    overlap = [plain(box.value) for box in app.error if "chevauche" in box.value]
    assert len(overlap) == 1 and "CPTS Vallespir" in overlap[0]                   # Tresserre, in both
    assert app.query_params["registre"] == "1"


def table_of(app: AppTest, row: str):
    """The ``st.table`` that has a row named ``row``."""
    return next(t.value for t in app.table if row in t.value.index)


def test_offer_panel_and_map_layers(app):
    """« Offre de soins » beside the map, and the two offer layers switched on under it (sent once)."""
    app.query_params["zones"] = "66028"
    app.run()
    assert [tab.label for tab in app.tabs] == ["Vérifications", "Taille et âges", "Offre de soins"]
    assert all(t.value.index.name != "Professionnels" for t in app.table)   # only the open tab is run and sent
    app.session_state["panel_tab"] = "Offre de soins"
    app.run()
    assert not app.exception
    counts = table_of(app, "Médecins généralistes")["Nombre"]
    assert (counts["Médecins généralistes"], counts["Infirmiers"], counts["Pharmacies"]) == ("31", "22", "3")
    assert table_of(app, "APL du département").iat[0, 0] == "4,80"
    expanders = [e.label for e in app.expander]
    assert any(label.startswith("Soins de ville (") for label in expanders) and "Sanitaire (4)" in expanders
    cells = {cell for t in app.table for cell in t.value.to_numpy().ravel()}
    assert "MAISON DE SANTE PLURIPROFESSIONNELLE CABESTANY \\(MSPC\\)" in cells   # table cells are Markdown
    assert any("Zonage infirmier des communes" in m.value for m in app.markdown)
    assert any("Base permanente des équipements 2025" in plain(c.value) for c in app.caption)
    arguments = map_arguments(app)
    assert "MSPU" not in arguments and "de 4 à moins de 5" not in arguments   # off by default
    app.checkbox(key="layer_finess").check().run()
    app.checkbox(key="layer_apl").check().run()
    assert not app.exception
    sent = json.loads(app.get("bidi_component")[0].proto.json)
    assert sent["layers_shown"] == ["apl-66", "finess-66"] and list(sent["layer_payloads"]) == ["apl-66"]
    assert sent["layer_payloads"]["apl-66"]["iris_fill"]["66136"] == "#a6d96a"   # APL 4.826: « de 4 à moins de 5 »
    app.run()
    sent = json.loads(app.get("bidi_component")[0].proto.json)
    assert sent["layers_shown"] == ["apl-66", "finess-66"] and sent["layer_payloads"] == {}   # the browser has them
    app.checkbox(key="layer_apl").uncheck().run()
    assert json.loads(app.get("bidi_component")[0].proto.json)["layers_shown"] == ["finess-66"]


def test_establishments_layer_is_sent_with_escaped_names(app):
    app.query_params["zones"] = "66028"
    app.run()
    app.checkbox(key="layer_finess").check().run()
    arguments = map_arguments(app)
    assert "<b>MSPU D&#x27;AVICENNE</b>" in arguments and "MSPU D'AVICENNE" not in arguments


def test_offer_panel_not_available_in_lozere(france_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CPTS_GEO_DATA", str(france_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    app = AppTest.from_file(APP, default_timeout=180)
    app.query_params["zones"] = "48095"
    app.query_params["dep"] = "48"
    app.session_state["panel_tab"] = "Offre de soins"
    app.run()
    assert not app.exception
    assert all(t.value.index.name != "Professionnels" for t in app.table)   # no table of zeros
    assert any(f"Professionnels de santé libéraux : {NOT_AVAILABLE} (département(s) 48)." == plain(c.value)
               for c in app.caption)


def test_overseas_territory_counts_communes_not_iris(france_dir, tmp_path, monkeypatch):
    """Cayenne and Matoury (973): the zones are whole communes, said so; no IRIS count, no IRIS contour limits."""
    monkeypatch.setenv("CPTS_GEO_DATA", str(france_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    app = AppTest.from_file(APP, default_timeout=180)
    app.query_params["zones"] = "97302-97307"
    app.run()
    assert not app.exception
    assert set(metrics(app)) == {"Population 2023", "Taille", "Communes"} and metrics(app)["Communes"] == "2"
    captions = [plain(c.value) for c in app.caption]
    assert "Outre-mer : les zones de la carte sont des communes entières (pas de découpage en IRIS dans les " \
           "données)." in captions
    limits = next(c for c in captions if c.startswith("Limites des données"))
    assert "Outre-mer : pas de découpage en IRIS" in limits and "Contours IRIS édition 2020" not in limits


def test_panel_of_a_territory_on_two_regions(france_dir, tmp_path, monkeypatch):
    """Avignon (84) with Villeneuve-lès-Avignon (30): the two ARS among the checks, the ages against both
    départements and régions, the APL of both départements, FINESS said partial."""
    monkeypatch.setenv("CPTS_GEO_DATA", str(france_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    app = AppTest.from_file(APP, default_timeout=180)
    app.query_params["zones"] = "84007,30351"
    app.query_params["dep"] = "84"
    app.run()
    assert not app.exception
    assert any("Territoire sur deux régions (Provence-Alpes-Côte d'Azur et Occitanie) : deux ARS" in plain(box.value)
               for box in app.success)
    app.session_state["panel_tab"] = "Taille et âges"
    app.run()
    assert list(table_of(app, "Moins de 15 ans").columns) == [
        "Territoire", "Vaucluse (84)", "Gard (30)", "Provence-Alpes-Côte d'Azur", "Occitanie"]
    app.session_state["panel_tab"] = "Offre de soins"
    app.run()
    apl = table_of(app, "Seuil usuel de la zone « sous-dense »")
    assert {"APL du département : Vaucluse (84)", "APL du département : Gard (30)"} <= set(apl.index)
    assert any(plain(c.value).startswith("Établissements (FINESS) : 9 (partiel : Gard seulement) (département(s) 84")
               for c in app.caption)


HOSTILE_NAMES = ["<img src=x onerror=alert(1)>", '=HYPERLINK("http://x")', "[lien](javascript:alert(1))"]


def map_arguments(app: AppTest) -> str:
    """The texts the page sends to the map component (cpts_geo.web.drawmap: layers, labels, tooltips), as the
    browser reads them from its JSON."""
    def texts(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict | list):
            for item in value.values() if isinstance(value, dict) else value:
                yield from texts(item)

    return " ".join(text for element in app.get("bidi_component") for text in texts(json.loads(element.proto.json)))


def live_markup(markdown: str) -> list[str]:
    """HTML tags, links and bold text that Markdown would act on (not escaped by a backslash)."""
    return re.findall(r"(?<!\\)<[a-z]|(?<!\\)\]\(|(?<!\\)\*\*[^*]+(?<!\\)\*\*", markdown)


def click(app: AppTest, label: str, key: str | None = None) -> None:
    next(b for b in app.button if b.label == label and (key is None or b.key == key)).click().run()


def test_hostile_names_are_inert(app, dep66, tmp_path):
    """Drafts named like HTML, a formula or a Markdown link: shown as written, on the map and in the page."""
    from cpts_geo.storage.store import open_store
    from cpts_geo.territory.model import Territory

    store = open_store(tmp_path / "drafts.sqlite")
    for name, commune in zip(HOSTILE_NAMES, ["66186", "66189", "66028"]):
        store.save(Territory(frozenset(dep66.iris_by_commune[commune]), name))
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.multiselect(key="neighbour_drafts").set_value(HOSTILE_NAMES).run()
    assert not app.exception
    arguments = map_arguments(app)
    assert "&lt;img src=x onerror=alert(1)&gt;" in arguments and "<img src=x" not in arguments
    assert "=HYPERLINK(&quot;http://x&quot;)" in arguments
    overlaps = " ".join(box.value for box in app.error if "chevauche" in box.value)
    assert live_markup(overlaps) == ["**Chevauchement avec d'autres CPTS**"] and "\\<img src=x onerror=alert\\(1\\)\\>" in overlaps
    assert "\\[lien\\]\\(javascript\\:alert\\(1\\)\\)" in overlaps

    for name in ["**gras**", ":material/warning: :red[rouge] :smile:", *HOSTILE_NAMES]:
        app.text_input(key="session_name").input(name).run()
        assert plain(app.subheader[0].value) == f"Résumé — {name}"
        assert not live_markup(app.subheader[0].value) and ":material/" not in app.subheader[0].value
    click(app, "Enregistrer le brouillon")
    assert plain(app.warning[0].value).startswith(f"Un brouillon « {HOSTILE_NAMES[-1]} » existe déjà")
    assert not live_markup(app.warning[0].value)


def test_overwrite_and_delete_ask_first_and_versions_restore(app, tmp_path):
    from cpts_geo.storage.store import open_store

    app.query_params["zones"] = "66028"
    app.run()
    app.text_input(key="session_name").input("Projet").run()
    click(app, "Enregistrer le brouillon")
    click(app, "Vider la sélection")
    app.text_input[0].input("saleilles").run()
    click(app, "Ajouter")
    click(app, "Enregistrer le brouillon")                # the draft being drawn: saved, first state kept
    assert not app.warning
    store = open_store(tmp_path / "drafts.sqlite")
    assert {c[:5] for c in store.load("Projet").iris} == {"66189"}

    app.session_state["session"].draft = None              # as a fresh drawing under the same name
    app.session_state["session"].add_commune("66186")
    app.run()
    click(app, "Enregistrer le brouillon")
    assert "existe déjà" in plain(app.warning[0].value)
    assert {c[:5] for c in store.load("Projet").iris} == {"66189"}    # not replaced yet
    assert [b.key for b in app.button if b.label == "Annuler"] == [None]   # undo only: the question has its own
    click(app, "Ne pas remplacer", "confirm_overwrite_no")
    assert not app.warning and {c[:5] for c in store.load("Projet").iris} == {"66189"}
    click(app, "Enregistrer le brouillon")
    click(app, "Remplacer", "confirm_overwrite_yes")
    assert {c[:5] for c in store.load("Projet").iris} == {"66186", "66189"}

    assert [option.split(" — ")[0] for option in app.selectbox(key="version_choice").options] == ["3", "2", "1"]
    app.selectbox(key="version_choice").set_value(1).run()
    click(app, "Restaurer cette version")
    assert {c[:5] for c in store.load("Projet").iris} == {"66028"} == {c[:5] for c in selection(app)}
    assert [v.number for v in store.versions("Projet")] == [4, 3, 2, 1]

    click(app, "Supprimer")
    assert "Supprimer définitivement" in plain(app.warning[0].value) and store.exists("Projet")
    assert [b.key for b in app.button if b.label == "Annuler"] == [None]
    click(app, "Ne pas supprimer", "confirm_delete_no")
    assert store.exists("Projet")
    click(app, "Supprimer")
    click(app, "Supprimer", "confirm_delete_yes")
    assert not store.exists("Projet") and store.versions("Projet") == []


def test_saving_twice_stores_one_version_and_selects_the_draft_saved(app, tmp_path):
    """A double click on « Enregistrer le brouillon »: one version, then « déjà enregistré »; the list of drafts
    shows the one just saved, so « Versions précédentes » gives its history."""
    from cpts_geo.storage.store import open_store
    from cpts_geo.territory.model import Territory

    open_store(tmp_path / "drafts.sqlite").save(Territory(frozenset(["660280101"]), "Ancien"))
    app.query_params["zones"] = "66028"
    app.run()
    app.text_input(key="session_name").input("Projet").run()
    app.selectbox(key="draft_choice").set_value(("", "Ancien")).run()
    click(app, "Enregistrer le brouillon")
    assert plain(app.success[0].value) == "Brouillon « Projet » enregistré."
    assert app.selectbox(key="draft_choice").value == ("", "Projet")
    click(app, "Enregistrer le brouillon")
    assert [plain(box.value) for box in app.info if "Brouillon" in box.value] == [
        "Brouillon « Projet » déjà enregistré : aucun changement depuis la dernière version."]
    assert not any("Brouillon" in box.value for box in app.success)
    assert [v.number for v in open_store(tmp_path / "drafts.sqlite").versions("Projet")] == [1]
    assert [o.split(" — ")[0] for o in app.selectbox(key="version_choice").options] == ["1"]


@pytest.fixture
def shared_store(dep66, tmp_path):
    """A store with a draft of Alice (Cabestany) and one of Bob (Saleilles)."""
    from cpts_geo.storage.store import open_store
    from cpts_geo.territory.model import Territory

    store = open_store(tmp_path / "drafts.sqlite")
    store.save(Territory(frozenset(dep66.iris_by_commune["66028"]), "Projet Alice"), owner="alice@ex.fr")
    store.save(Territory(frozenset(dep66.iris_by_commune["66189"]), "Projet Bob"), owner="bob@ex.fr")
    return store


def log_in(app: AppTest, email: str) -> AppTest:
    app.user = {"is_logged_in": True, "email": email, "email_verified": True, "name": email.split("@")[0]}
    app.secrets["cpts_geo"] = {"ars": {"ars@ex.fr": ["76"], "ars.bretagne@ex.fr": ["53"]}}
    return app


def test_login_is_asked_on_a_shared_server(app):
    app.user = {"is_logged_in": False}
    app.run()
    assert not app.exception
    assert [b.label for b in app.button] == ["Se connecter"] and not app.get("bidi_component")


def test_an_unverified_email_is_refused_with_a_way_out(app, shared_store):
    app.user = {"is_logged_in": True, "email": "ars@ex.fr", "email_verified": False}
    app.secrets["cpts_geo"] = {"ars": {"ars@ex.fr": ["76"]}}
    app.run()
    assert not app.exception and not app.get("bidi_component")
    assert "ars@ex.fr n'est pas vérifiée" in plain(app.error[0].value)
    assert [b.label for b in app.button] == ["Se déconnecter"]


def test_two_users_see_only_their_drafts(app, shared_store):
    log_in(app, "alice@ex.fr").run()
    assert not app.exception
    assert app.selectbox(key="draft_choice").options == ["Projet Alice"]
    assert app.multiselect(key="neighbour_drafts").options == ["Projet Alice"]
    click(app, "Rouvrir")
    assert {c[:5] for c in selection(app)} == {"66028"}
    app.text_input(key="session_name").input("Projet Bob").run()
    click(app, "Enregistrer le brouillon")            # her own « Projet Bob », Bob's untouched
    assert {c[:5] for c in shared_store.load("Projet Bob", owner="bob@ex.fr").iris} == {"66189"}
    assert {c[:5] for c in shared_store.load("Projet Bob", owner="alice@ex.fr").iris} == {"66028"}


def test_the_ars_sees_the_drafts_of_its_region(app, shared_store):
    log_in(app, "ars@ex.fr").run()
    choice = app.selectbox(key="draft_choice")
    assert sorted(choice.options) == ["Projet Alice — alice@ex.fr", "Projet Bob — bob@ex.fr"]
    assert next(b for b in app.button if b.label == "Supprimer").disabled     # not the author
    choice.set_value(("bob@ex.fr", "Projet Bob"))
    click(app, "Rouvrir")
    assert {c[:5] for c in selection(app)} == {"66189"}
    assert not [e for e in app.expander if e.label == "Versions précédentes"]   # read only


EXAMPLE = Path(APP).parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"


def ars_page(dep66_dir, monkeypatch, tmp_path, email: str) -> AppTest:
    """The « Vue ARS » page of the Pyrénées-Orientales, as ``email`` logged in on a shared server sees it."""
    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    page = log_in(AppTest.from_file(APP, default_timeout=120), email)
    page.switch_page("pages/2_Vue_ARS.py")
    page.query_params["dep"] = "66"
    return page.run()


@pytest.mark.parametrize("email, may_save", [("ars.bretagne@ex.fr", False), ("ars@ex.fr", True)])
def test_only_the_ars_saves_the_registry(dep66_dir, shared_store, monkeypatch, tmp_path, email, may_save):
    page = ars_page(dep66_dir, monkeypatch, tmp_path, email)
    page.radio(key="ars_source").set_value("Brouillons de l'application").run()
    assert not page.exception
    shown = set(page.dataframe[0].value["CPTS"]) if page.dataframe else set()
    assert shown == ({"Projet Alice", "Projet Bob"} if may_save else set())   # the ARS of Bretagne: none in 66
    if may_save:   # Cabestany and Saleilles: no overlap, said in French (an empty table showed « empty »)
        overlaps = next(e for e in page.expander if e.label == "Chevauchements (0)")
        assert not overlaps.dataframe and [c.value for c in overlaps.caption] == ["Aucun chevauchement entre CPTS."]
    page.radio(key="ars_source").set_value("Fichier (CSV, GeoJSON, GeoPackage, Shapefile zippé)").run()
    page.get("file_uploader")[0].upload("registre.csv", EXAMPLE.read_bytes(), "text/csv").run()
    save = [b for b in page.button if b.key == "ars_save"]
    assert bool(save) == may_save
    if may_save:
        assert save[0].disabled             # its rows of the Aude are outside the bundle: saved only once accepted
        next(c for c in page.checkbox if c.key.startswith("ars_accept_ignored_")).check().run()
        next(b for b in page.button if b.key == "ars_save").click().run()
        assert len(shared_store.load_all("registry")) == 10
    else:
        assert any("Seule l'ARS" in plain(c.value) for c in page.caption)
        assert shared_store.load_all("registry") == {}


def test_the_ars_page_is_refused_to_a_porteur(dep66_dir, shared_store, monkeypatch, tmp_path):
    """A logged-in porteur (ARS of no région) gets a French refusal before any upload or computation."""
    page = ars_page(dep66_dir, monkeypatch, tmp_path, "alice@ex.fr")
    assert not page.exception
    assert "réservée à l'ARS" in plain(page.error[0].value) and "alice" in plain(page.error[0].value)
    assert not page.get("file_uploader") and not page.get("radio") and not page.dataframe and not page.metric


@pytest.mark.parametrize("email, links", [
    ("alice@ex.fr", ["Tracer le territoire", "Aide"]),
    ("ars@ex.fr", ["Tracer le territoire", "Vue ARS : couverture régionale", "Aide"])])
def test_the_ars_page_is_linked_for_the_ars_only(app, shared_store, email, links):
    """A porteur is not shown the link of the « Vue ARS », which would refuse him."""
    log_in(app, email).run()
    assert not app.exception
    assert [link.proto.label for link in app.get("page_link")] == links


def test_neighbours_from_a_disguised_vrt_are_refused(app, tmp_path):
    """An OGR VRT (XML pointing at a file of the server) uploaded as a GeoJSON of neighbouring CPTS: a French
    refusal naming the mismatch, nothing of the file it points at, the selection kept."""
    secret = tmp_path / "secret.csv"
    secret.write_text('cpts,WKT\nSECRET-DU-SERVEUR,"POLYGON ((2.85 42.66, 2.95 42.66, 2.95 42.74, 2.85 42.66))"\n')
    vrt = (f'<OGRVRTDataSource><OGRVRTLayer name="p"><SrcDataSource>{secret}</SrcDataSource><SrcLayer>secret'
           '</SrcLayer><GeometryField encoding="WKT" field="WKT"/></OGRVRTLayer></OGRVRTDataSource>')
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.file_uploader(key="neighbour_file").upload("../../voisines.geojson", vrt.encode(), "application/json").run()
    assert not app.exception
    refusal = plain(app.error[0].value)
    assert "« voisines.geojson » est refusé" in refusal and "son contenu est du XML" in refusal
    assert "SECRET" not in "".join(plain(box.value) for box in [*app.error, *app.warning, *app.success])
    assert len(selection(app)) == 16 and app.session_state["neighbours_from_file"] == {}


def test_failed_checks_are_said_on_every_tab(app):
    """With another tab of the panel open, the checks to review are named above it."""
    app.query_params["zones"] = "66028,66001"   # Cabestany and L'Albère: two pieces
    app.session_state["panel_tab"] = "Taille et âges"
    app.run()
    assert not app.exception and "Population" in table_of(app, "4").columns   # the taille bands of the open tab
    warnings = [plain(w.value) for w in app.warning if "onglet « Vérifications »" in plain(w.value)]
    assert warnings == ["Vérifications à revoir (onglet « Vérifications ») : « Territoire en plusieurs morceaux »."]
    app.session_state["panel_tab"] = "Vérifications"
    app.run()
    assert not any("onglet « Vérifications »" in plain(w.value) for w in app.warning)


def test_density_layer_and_territory_outline(app):
    """« Densité de population », third switch under the map (off by default, sent once); the territory's outline
    and its detached pieces, labelled, drawn over the map."""
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    assert {c.key: c.label for c in app.checkbox if c.key.startswith("layer_")} == {
        "layer_apl": "APL médecins généralistes", "layer_finess": "Établissements (FINESS)",
        "layer_density": "Densité de population"}
    rows = [len(column.checkbox) for column in app.main.columns if column.checkbox and not column.button
            and all(c.key.startswith("layer_") for c in column.checkbox)]
    assert rows == [2, 1]   # two a row: three were cut (« Densité de popula… ») at 1366 px
    sent = json.loads(app.get("bidi_component")[0].proto.json)
    assert sent["layers_shown"] == [] and "hab./km²" not in map_arguments(app)
    assert [layer["name"] for layer in sent["overlays"]][:1] == ["Contour du territoire"]
    assert sent["overlays"][0]["labels"] == []   # in one piece
    app.checkbox(key="layer_density").check().run()
    sent = json.loads(app.get("bidi_component")[0].proto.json)
    assert sent["layers_shown"] == ["density-66"]
    assert sent["layer_payloads"]["density-66"]["iris_fill"]["661360801"] == "#006837"
    app.session_state["session"].add_commune("66099")   # Llauro, away from Ruscino
    app.run()
    sent = json.loads(app.get("bidi_component")[0].proto.json)
    assert sent["layer_payloads"] == {}   # the browser has the density layer
    assert [label[2] for label in sent["overlays"][0]["labels"]] == ["morceau 2"]


def test_data_are_kept_out_of_the_garbage_collectors_scans(app):
    """Streamlit collects garbage after every run: the data loaded once per server (bundle, map layers) are frozen,
    so that this collection walks only what a run leaves (it walked the whole bundle: ~150 ms of CPU a click)."""
    load_bundle.clear()   # loaded (and frozen) by this test's first run, whatever the tests before left
    app.query_params["zones"] = RUSCINO_URL
    app.run()
    app.run()   # a rerun, as after a click
    assert not app.exception and metrics(app)["IRIS"] == "16"
    frozen, scanned = gc.get_freeze_count(), len(gc.get_objects())
    assert frozen > 100_000 and scanned < frozen / 3, (frozen, scanned)
