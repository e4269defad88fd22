"""Offer of care on the real data: readers (mirror and official layouts), counts, estimates, APL, FINESS."""

import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from cpts_geo.data.codes import resolve_codes
from cpts_geo.config import DEFAULT_MIRROR
from cpts_geo.data.offer_tables import KINDS, OfferData, write_offer
from cpts_geo.territory.offer import (APL_THRESHOLD, NOT_AVAILABLE, establishments_geojson, establishments_line,
                                      offer_lines, offer_panel, territory_offer)
from cpts_geo.data.sources.health import (HealthTables, read_apl_csv, read_apl_workbook, read_bpe_mirror,
                                          read_bpe_official, read_finess_mirror, read_finess_official,
                                          read_health_official, read_nurse_zoning)
from tests.conftest import RUSCINO_CODES

HEALTH = DEFAULT_MIRROR / "health"


def offer_of(bundle, codes):
    return territory_offer(bundle, resolve_codes(bundle, codes).iris).as_dict()


def professionals(offer) -> dict:
    return {p["kind"]: p for p in offer["professionals"]}


# --------------------------------------------------------------------------- readers, real mirror files

def test_bpe_mirror_reader():
    bpe = read_bpe_mirror(HEALTH / "bpe2025_communes_66_11.csv").set_index(["code_insee", "kind"])["count"]
    assert bpe["66136", "medecin_generaliste"] == 132 and bpe["66136", "infirmier"] == 341
    assert bpe["66136", "pharmacie"] == 51 and bpe["66136", "masseur_kinesitherapeute"] == 221
    assert bpe["66028", "medecin_generaliste"] == 31 and bpe["66028", "pharmacie"] == 3


def test_finess_mirror_reader():
    finess, departements = read_finess_mirror(HEALTH / "finess_occitanie.csv")
    assert len(departements) == 13 and {"09", "11", "48", "66"} <= set(departements)
    assert finess["finess"].is_unique and finess["lon"].between(-1, 5).all()
    cabestany = finess[finess["code_insee"] == "66028"]
    assert (cabestany["kind"] == "pharmacie").sum() == 3 and (cabestany["kind"] == "maison_sante").sum() == 2
    assert set(cabestany.loc[cabestany["kind"] == "maison_sante", "category"]) == {"soins de ville"}


def test_apl_workbook_and_csv_agree():
    sheets = read_apl_workbook(HEALTH / "drees_apl_medecins_generalistes_2022_2023.xlsx")
    assert sorted(sheets) == [2022, 2023] and len(sheets[2023]) == 34_954
    csv = read_apl_csv(HEALTH / "apl_mg_communes_2023.csv").set_index("code_insee")
    book = sheets[2023].set_index("code_insee")
    assert book.at["66136", "apl"] == csv.at["66136", "apl"] == 4.826
    assert sheets[2022].set_index("code_insee").at["66028", "apl"] == 5.051
    pd.testing.assert_frame_equal(book.loc[csv.index[:500]], csv.iloc[:500], check_dtype=False)


def test_nurse_zoning_reader():
    zoning = read_nurse_zoning(HEALTH / "zonage_infirmiers_communes.csv").set_index("code_insee")["zonage"]
    assert zoning["66136"] == "5_Sur_dotee" and len(zoning) > 34_000


# --------------------------------------------------------------------------- readers, official layouts

BPE_NATIONAL = ("AN;NOMRS;DEPCOM;DEP;DOM;SDOM;TYPEQU;LAMBERT_X;LAMBERT_Y;QUALITE_XY;DCIRIS\n"
                "2024;CABINET A;66136;66;D;D2;D265;691234.1;6175432.2;Bonne;661360801\n"
                "2024;CABINET B;66136;66;D;D2;D265;691235.1;6175433.2;Bonne;661360801\n"
                "2024;CABINET C;66136;66;D;D2;D281;691236.1;6175434.2;Bonne;66136_0901\n"
                "2024;PHARMACIE;66186;66;D;D3;D307;695000.0;6178000.0;Bonne;66186\n"
                "2024;BOULANGERIE;66136;66;B;B2;B207;691000.0;6175000.0;Bonne;661360801\n")

FINESS_EXTRACTION = (
    "finess;etalab;95;2025-01-01\n"
    "structureet;660011826;660011818;MSP CABESTANY;MAISON DE SANTE PLURIPROFESSIONNELLE CABESTANY;;;;RUE;DES ECOLES;;;"
    "028;66;PYRENEES ORIENTALES;66330 CABESTANY;;;603;Maison de santé (L.6223-3);;;;;;;;;;;;\n"
    "structureet;660788084;660788076;PHARMACIE DU CENTRE;;;;;;;;;028;66;PYRENEES ORIENTALES;66330 CABESTANY;;;620;"
    "Pharmacie d'Officine;;;;;;;;;;;;\n"
    "structureet;971000001;971000002;PHARMACIE TEST;;;;;;;;;101;9A;GUADELOUPE;97100 BASSE TERRE;;;620;"
    "Pharmacie d'Officine;;;;;;;;;;;;\n"
    "geolocalisation;660011826;695136.4;6175645.1;1,ATLASANTE,96,BAN,L93_METROPOLE;2025-01-01\n"
    "geolocalisation;660788084;695051.4;6175586.8;1,ATLASANTE,96,BAN,LAMBERT_93;2025-01-01\n"
    "geolocalisation;971000001;636965.8;1768250.7;1,ATLASANTE,96,BAN,UTM_N20;2025-01-01\n")


def write_apl_workbook(path, rows):
    """A workbook in the DREES layout: title lines, header « Code commune INSEE », units, data."""
    book = openpyxl.Workbook()
    book.active.title = "Paramètres"
    sheet = book.create_sheet("APL 2024")
    sheet.append(["Indicateur d'accessibilité potentielle localisée (APL) 2024 aux médecins généralistes"])
    sheet.append([])
    sheet.append(["Millésime : 2024"])
    sheet.append(["Code commune INSEE", "Commune", "APL aux médecins généralistes", "APL moins de 65 ans",
                  "Population standardisée 2022", "Population totale 2022"])
    sheet.append([None, None, "En nombre de consultations", "En nombre de consultations", "habitants", "habitants"])
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_bpe_official_layout_counts_by_iris():
    counts, year = read_bpe_official(BPE_NATIONAL.encode())
    assert year == 2024
    rows = {(r.code_insee, r.code_iris, r.kind): r.count for r in counts.itertuples()}
    assert rows[("66136", "661360801", "medecin_generaliste")] == 2
    assert rows[("66136", "661360901", "infirmier")] == 1  # « 66136_0901 » read as an IRIS code
    pharmacies = counts[counts["kind"] == "pharmacie"]  # commune not split: « 66186 », counted by commune
    assert pharmacies["code_iris"].isna().all() and pharmacies["count"].sum() == 1
    assert set(counts["kind"]) == {"medecin_generaliste", "infirmier", "pharmacie"}


def test_finess_official_layout_projects_each_crs():
    table = read_finess_official(FINESS_EXTRACTION.encode()).set_index("finess")
    assert table.at["660011826", "kind"] == "maison_sante" and table.at["660011826", "code_insee"] == "66028"
    assert table.at["660011826", "name"] == "MAISON DE SANTE PLURIPROFESSIONNELLE CABESTANY"
    assert table.at["660788084", "name"] == "PHARMACIE DU CENTRE"  # no long name: the short one
    assert table.at["660011826", "lon"] == pytest.approx(2.940734, abs=1e-5)  # the mirror's WGS84 point
    assert table.at["660011826", "lat"] == pytest.approx(42.680414, abs=1e-5)
    assert table.at["971000001", "code_insee"] == "97101"
    assert table.at["971000001", "lon"] == pytest.approx(-61.72, abs=1e-4)  # UTM 20N
    assert table.at["971000001", "lat"] == pytest.approx(15.99, abs=1e-4)


def test_official_folder_is_read_and_missing_files_said(tmp_path):
    (tmp_path / "bpe24.csv").write_text(BPE_NATIONAL, encoding="utf-8")
    (tmp_path / "etalab-cs1100507-stock-20250101-0400.csv").write_text(FINESS_EXTRACTION, encoding="utf-8")
    write_apl_workbook(tmp_path / "DREES_APL_MG_2024.xlsx", [["66136", "Perpignan", 4.5, 3.9, 120_000.5, 119_000]])
    health = read_health_official(tmp_path)
    assert health.meta["professionals"]["level"] == "iris" and health.meta["professionals"]["millesime"] == 2024
    assert health.meta["apl"]["millesime"] == 2024 and health.apl.loc[0, "apl"] == 4.5
    assert len(health.establishments) == 3 and health.nurse_zoning.empty
    assert any("zonage infirmier" in limit and NOT_AVAILABLE in limit for limit in health.meta["limits"])


# --------------------------------------------------------------------------- the offer of a territory

def test_cabestany_whole_is_counted_exactly(france):
    offer = offer_of(france, ["66028"])
    kinds = professionals(offer)
    assert kinds["medecin_generaliste"]["count"] == 31 and kinds["infirmier"]["count"] == 22
    assert kinds["pharmacie"]["count"] == 3
    assert not any(p["estimated"] for p in offer["professionals"])
    gp = kinds["medecin_generaliste"]
    assert gp["millesime"] == 2025 and "Base permanente des équipements" in gp["source"]
    assert gp["per_10000"] == pytest.approx(31 / 10_465 * 1e4, abs=0.01)
    assert gp["reference"]["departement"] > 0 and gp["reference"]["france"] is None  # BPE of 66 and 11 only
    assert set(offer) >= {"professionals", "establishments", "apl", "limits"}
    assert set(gp) >= {"kind", "label", "count", "estimated", "per_10000", "reference", "source", "millesime"}


def test_perpignan_whole(france):
    offer = offer_of(france, ["66136"])
    assert professionals(offer)["medecin_generaliste"]["count"] == 132
    apl = offer["apl"]
    assert apl["value"] == 4.826 and apl["millesime"] == 2023 and apl["threshold"] == APL_THRESHOLD
    assert apl["population_under_threshold_share"] == 0
    assert 2 < apl["departement_value"] < 6
    assert offer["nurse_zoning"] == [{"code": "66136", "name": "Perpignan", "class": "5_Sur_dotee",
                                      "label": "sur-dotée"}]
    assert any("sous-dense" in limit and "2,5" in limit for limit in offer["limits"])


def test_ruscino_counts_whole_communes_exactly_and_estimates_perpignan(france, ruscino):
    offer = territory_offer(france, ruscino.iris).as_dict()
    whole = {kind: sum(professionals(offer_of(france, [code]))[kind]["count"] for code in ("66028", "66186", "66189"))
             for kind in ("medecin_generaliste", "infirmier")}
    share = france.iris.loc[[c for c in ruscino.iris if france.iris.at[c, "code_insee"] == "66136"],
                            "population"].sum() / france.communes.at["66136", "population"]
    gp = professionals(offer)["medecin_generaliste"]
    assert gp["estimated"] and gp["count"] == pytest.approx(whole["medecin_generaliste"] + 132 * share, abs=0.1)
    assert gp["split_communes"] == [{"code": "66136", "name": "Perpignan", "commune_count": 132,
                                     "share": round(share, 4)}]
    assert professionals(offer)["infirmier"]["count"] == pytest.approx(whole["infirmier"] + 341 * share, abs=0.1)
    assert any("Perpignan (66136) découpée" in limit for limit in offer["limits"])
    # APL: communal APL weighted by the standardised population of each part.
    apl = pd.read_csv(HEALTH / "apl_mg_communes_2023.csv", dtype={"codgeo": str}).set_index("codgeo")
    weights = {"66028": 1, "66186": 1, "66189": 1, "66136": share}
    std = sum(apl.at[c, "pop_std_2021_mg"] * w for c, w in weights.items())
    expected = sum(apl.at[c, "apl_mg"] * apl.at[c, "pop_std_2021_mg"] * w for c, w in weights.items()) / std
    assert offer["apl"]["value"] == pytest.approx(expected, abs=0.001)


def test_ruscino_establishments_are_those_inside_its_polygon(france, ruscino):
    offer = territory_offer(france, ruscino.iris).as_dict()
    names = {e["name"] for e in offer["establishments"]}
    assert "MAISON DE SANTE PLURIPROFESSIONNELLE CABESTANY (MSPC)" in names and "MSPU D'AVICENNE" in names
    shape = france.territory_shapes({"ruscino": ruscino.iris}).geometry.iat[0]
    finess, _ = read_finess_mirror(HEALTH / "finess_occitanie.csv")
    points = finess.set_index("finess")
    listed = {e["finess"] for e in offer["establishments"]}
    located = shapely.points(points["lon"], points["lat"])
    inside = set(points.index[shapely.contains(shape, located)])
    assert listed == inside  # nothing outside the polygon, nothing inside left out
    assert {e["category"] for e in offer["establishments"]} == {"soins de ville", "sanitaire", "médico-social"}
    assert all(france.iris.at[e["iris"], "code_insee"] == e["commune"] for e in offer["establishments"])


def test_lozere_says_not_available_rather_than_zero(france):
    offer = offer_of(france, ["48095"])  # Mende
    assert all(p["count"] is None and p["per_10000"] is None for p in offer["professionals"])
    assert any("BPE" in limit and NOT_AVAILABLE in limit and "48" in limit for limit in offer["limits"])
    assert any(e["kind"] == "hopital" for e in offer["establishments"])  # FINESS covers Occitanie
    assert offer["apl"]["value"] is not None


def test_outside_occitanie_establishments_not_available(france):
    offer = offer_of(france, ["13201"])
    assert offer["establishments"] == []
    assert any("FINESS" in limit and NOT_AVAILABLE in limit for limit in offer["limits"])


@pytest.mark.parametrize("codes", [["75056"], ["97302", "97309", "97307"]], ids=["Paris", "Cayenne"])
def test_a_source_covering_none_of_the_territory_is_not_available_never_zero(france, codes):
    """Paris and the Île de Cayenne: the BPE (66 and 11) and FINESS (Occitanie) cover none of them."""
    offer = offer_of(france, codes)
    assert offer["coverage"] == {"professionals": NOT_AVAILABLE, "establishments": NOT_AVAILABLE}
    assert offer["establishments"] == [] and all(p["count"] is None for p in offer["professionals"])
    lines = offer_lines(offer)
    assert f"  Établissements (FINESS) : {NOT_AVAILABLE}" in lines
    assert f"  Professionnels de santé libéraux (BPE) : {NOT_AVAILABLE}" in lines
    assert not any(line.rstrip().endswith((": 0", " 0")) for line in lines)
    panel = offer_panel(territory_offer(france, resolve_codes(france, codes).iris))
    assert panel.professionals is None and panel.establishment_groups == ()
    assert panel.establishments_note.startswith(f"Établissements (FINESS) : {NOT_AVAILABLE} (département(s) ")


def test_a_source_covering_part_of_the_territory_says_partial(france):
    """Avignon (84) with Villeneuve-lès-Avignon (30): FINESS covers the Gard part only, its establishments are
    counted « partiel : Gard seulement »; Narbonne (11) with Béziers (34): the BPE covers the Aude only, so no
    count of professionals is given (never the Aude part alone as if it were the territory's)."""
    avignon = offer_of(france, ["84007", "30351"])
    assert avignon["coverage"] == {"professionals": NOT_AVAILABLE, "establishments": "partiel : Gard seulement"}
    found = avignon["establishments"]
    assert found and {e["commune"] for e in found} == {"30351"}
    line = f"Établissements (FINESS) : {len(found)} (partiel : Gard seulement)"
    assert establishments_line(avignon) == line and any(text.startswith(f"  {line} : ") for text in offer_lines(avignon))
    panel = offer_panel(territory_offer(france, resolve_codes(france, ["84007", "30351"]).iris))
    assert panel.establishments_note == f"{line} (département(s) 84 non couvert(s))."
    narbonne = offer_of(france, ["11262", "34032"])
    assert narbonne["coverage"] == {"professionals": "partiel : Aude seulement", "establishments": None}
    assert all(p["count"] is None for p in narbonne["professionals"])
    assert "  Professionnels de santé libéraux (BPE) : partiel : Aude seulement ; aucun nombre donné pour le " \
           "territoire entier" in offer_lines(narbonne)
    assert any(limit.startswith("Professionnels de santé (BPE) : non disponible dans les données préparées pour le(s) "
                                "département(s) 34 ; aucun nombre") for limit in narbonne["limits"])
    assert establishments_line(narbonne) == f"Établissements (FINESS) : {len(narbonne['establishments'])}"


def test_apl_of_each_departement_of_a_territory_on_two(france):
    """Avignon (84) with Villeneuve-lès-Avignon (30): the APL of Vaucluse and of Gard, Vaucluse (most people) first,
    in the table of the documents and in the text of the summary."""
    from cpts_geo.territory.offer import apl_table

    offer = offer_of(france, ["84007", "30351"])
    departements = offer["apl"]["departements"]
    assert [(d["code"], d["name"]) for d in departements] == [("84", "Vaucluse (84)"), ("30", "Gard (30)")]
    assert offer["apl"]["departement_value"] == departements[0]["value"]
    assert all(2 < d["value"] < 6 for d in departements) and departements[0]["value"] != departements[1]["value"]
    table = apl_table(offer).set_index("Indicateur")["Valeur"]
    assert list(table.index[1:3]) == ["APL du département : Vaucluse (84)", "APL du département : Gard (30)"]
    assert table.iloc[2] == f"{departements[1]['value']:.2f}".replace(".", ",")
    assert any(line.startswith("  APL médecins généralistes 2023 : ") and "(départements Vaucluse (84) " in line
               and " ; Gard (30) " in line for line in offer_lines(offer))


def test_offer_json_contract_key_by_key(france, ruscino):
    """The ``offer`` object other tools rely on (``summary --json``), key by key, as JSON gives it back."""
    offer = json.loads(json.dumps(territory_offer(france, ruscino.iris).as_dict()))
    assert set(offer) == {"professionals", "establishments", "apl", "nurse_zoning", "limits", "coverage"}
    assert offer["coverage"] == {"professionals": None, "establishments": None}     # both sources cover it whole
    assert [p["kind"] for p in offer["professionals"]] == list(KINDS)
    assert {"medecin_generaliste", "chirurgien_dentiste", "sage_femme", "masseur_kinesitherapeute", "infirmier",
            "orthophoniste", "pedicure_podologue", "pharmacie", "laboratoire"} <= set(KINDS)
    for p in offer["professionals"]:
        assert set(p) == {"kind", "label", "count", "estimated", "per_10000", "reference", "source", "millesime",
                          "split_communes"}   # split_communes: only with an estimate (Perpignan's part here)
        assert isinstance(p["label"], str) and isinstance(p["count"], int | float) and p["estimated"] is True
        assert isinstance(p["per_10000"], float) and set(p["reference"]) == {"departement", "region", "france"}
        assert p["millesime"] == 2025 and p["source"].startswith("INSEE")
    for e in offer["establishments"]:
        assert set(e) == {"finess", "name", "kind", "category", "commune", "iris"}
        assert e["category"] in ("soins de ville", "sanitaire", "médico-social") and len(e["finess"]) == 9
    assert set(offer["apl"]) == {"value", "millesime", "departement_value", "departements", "threshold",
                                 "population_under_threshold_share", "source", "communes"}
    assert offer["apl"]["departements"] == [{"code": "66", "name": "Pyrénées-Orientales (66)",
                                             "value": offer["apl"]["departement_value"]}]
    assert offer["apl"]["threshold"] == 2.5 and offer["apl"]["millesime"] == 2023
    assert 0 <= offer["apl"]["population_under_threshold_share"] <= 1
    assert all(set(z) == {"code", "name", "class", "label"} for z in offer["nurse_zoning"])
    assert offer["limits"] and all(isinstance(line, str) for line in offer["limits"])
    lozere = json.loads(json.dumps(offer_of(france, ["48095"])))
    assert all(p["count"] is None and p["estimated"] is False and "split_communes" not in p
               for p in lozere["professionals"])


def test_panel_of_cabestany(france):
    """The « Offre de soins » panel of the drawing page: exact counts, densities against the département."""
    panel = offer_panel(territory_offer(france, resolve_codes(france, ["66028"]).iris))
    counts = panel.professionals.set_index("Professionnels")["Nombre"]
    assert (counts["Médecins généralistes"], counts["Infirmiers"], counts["Pharmacies"]) == ("31", "22", "3")
    assert list(panel.professionals.columns) == ["Professionnels", "Nombre", "Pour 10\u202f000 hab.", "Dép."]
    assert not counts.str.contains("estimation").any()
    assert any(f"Densité de la région, de la France : {NOT_AVAILABLE}" in note for note in panel.professionals_notes)
    assert panel.apl.iat[0, 0] == "APL médecins généralistes 2023 du territoire" and panel.apl.iat[0, 1] == "4,80"
    titles = [title for title, _ in panel.establishment_groups]
    assert titles[0].startswith("Soins de ville (") and [t.split(" (")[0] for t in titles] == [
        "Soins de ville", "Sanitaire", "Médico-social"]
    names = set(panel.establishment_groups[0][1]["Nom"])
    assert "MAISON DE SANTE PLURIPROFESSIONNELLE CABESTANY (MSPC)" in names and "MSPU D'AVICENNE" in names
    assert panel.establishments_note is None and panel.zoning.startswith("Zonage infirmier des communes : ")
    assert any("Base permanente des équipements 2025" in line for line in panel.limits)


def test_panel_estimates_and_not_available(france, ruscino):
    counts = offer_panel(territory_offer(france, ruscino.iris)).professionals.set_index("Professionnels")["Nombre"]
    assert counts["Médecins généralistes"] == "≈\u00a072 (estimation)"    # 71,6: a whole number, said estimated
    assert counts["Infirmiers"] == "≈\u00a0129 (estimation)"
    lozere = offer_panel(territory_offer(france, resolve_codes(france, ["48095"]).iris))
    assert lozere.professionals is None   # never a table of zeros
    assert lozere.professionals_notes == (f"Professionnels de santé libéraux : {NOT_AVAILABLE} (département(s) 48).",)
    assert lozere.establishment_groups and lozere.establishments_note is None   # FINESS covers Occitanie
    marseille = offer_panel(territory_offer(france, resolve_codes(france, ["13201"]).iris))
    assert marseille.establishment_groups == () and NOT_AVAILABLE in marseille.establishments_note
    mayotte = offer_panel(territory_offer(france, resolve_codes(france, ["97601"]).iris))   # no APL in the workbook
    assert mayotte.apl.iat[0, 1] == NOT_AVAILABLE and mayotte.communes.iat[0, 1] == NOT_AVAILABLE


def test_located_professionals_are_counted_exactly(dep66, tmp_path):
    """With the official BPE (each professional in its IRIS), a split commune's part is not estimated."""
    health = HealthTables(professionals=read_bpe_official(BPE_NATIONAL.encode())[0],
                          meta={"professionals": {"source": "BPE test", "millesime": 2024, "level": "iris",
                                                  "departements": ["66"]}})
    write_offer(dep66, health, tmp_path)
    data = OfferData.load(tmp_path)
    offer = territory_offer(dep66, resolve_codes(dep66, ["661360801", "66186"]).iris, data).as_dict()
    kinds = professionals(offer)
    assert kinds["medecin_generaliste"]["count"] == 2 and not kinds["medecin_generaliste"]["estimated"]
    assert kinds["infirmier"]["count"] == 0 and kinds["pharmacie"]["count"] == 1
    assert json.loads((tmp_path / "offer" / "offer.json").read_text())["professionals"]["level"] == "iris"


def test_establishments_map_layer_of_a_departement_is_small(dep66):
    layer = establishments_geojson(dep66.offer, "66")
    size = len(json.dumps(layer, ensure_ascii=False).encode())
    assert len(layer["features"]) > 300 and size <= 300_000
    assert gpd.GeoDataFrame.from_features(layer["features"]).geometry.geom_type.eq("Point").all()


def test_summary_json_and_text_carry_the_offer(dep66_dir):
    from tests.test_cli import run_cli

    result = run_cli("summary", "--codes", ",".join(RUSCINO_CODES), "--json", data=dep66_dir)
    assert result.returncode == 0, result.stderr
    offer = json.loads(result.stdout)["offer"]
    assert set(offer) >= {"professionals", "establishments", "apl", "limits"}
    gp = professionals(offer)["medecin_generaliste"]
    assert gp["estimated"] and gp["split_communes"][0]["commune_count"] == 132
    assert set(offer["apl"]) >= {"value", "millesime", "departement_value", "threshold",
                                 "population_under_threshold_share"}
    assert set(offer["establishments"][0]) >= {"finess", "name", "kind", "category", "commune", "iris"}
    text = run_cli("summary", "--codes", ",".join(RUSCINO_CODES), data=dep66_dir)
    assert "Offre de soins :" in text.stdout and "Médecins généralistes : " in text.stdout
    assert "Médecins généralistes : ≈\u00a072 (estimation), 14,9 pour 10 000 habitants" in text.stdout
