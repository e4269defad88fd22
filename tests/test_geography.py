"""Today's geography on the real data: current and former commune codes, EPCI, overseas départements."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cpts_geo.data.bundle import Bundle
from cpts_geo.territory.checks import run_checks
from cpts_geo.commands.main import main
from cpts_geo.data.codes import resolve_codes
from cpts_geo.config import DEFAULT_MIRROR
from cpts_geo.region.coverage import area_of, coverage_report, report_tables
from cpts_geo.territory.letter import letter_table
from cpts_geo.region.registry import read_registry_csv
from cpts_geo.web.session import decode_selection, encode_selection
from cpts_geo.territory.model import Territory, summarize

FORMER_CODES = {"05088": "05024", "05150": "05024", "05043": "05039", "05141": "05039", "05175": "05101",
                "05120": "05001"}


def summary_json(france_dir, capsys, *args) -> dict:
    assert main(["summary", "--data", str(france_dir), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_iris_belongs_to_a_current_commune(france):
    cog = pd.read_json(DEFAULT_MIRROR / "reference/cog2026/communes.json", dtype=False)
    current = set(cog.loc[cog["type"].isin(["commune-actuelle", "arrondissement-municipal"]), "code"])
    assert set(france.iris["code_insee"]) <= current
    moved = france.iris[france.iris["code_insee"] != france.iris["code_insee_2020"]]
    assert moved["code_insee_2020"].nunique() == 104   # the 104 communes of the contours gone since
    metro = cog[(cog["type"] == "commune-actuelle") & (cog["zone"] == "metro")
                & ~cog["code"].isin(["75056", "69123", "13055"])]
    assert set(metro["code"]) <= set(france.iris_by_commune)   # every current commune can be selected


def test_iris_by_commune_groups_every_iris_once_sorted(france_dir):
    bundle = Bundle.load(france_dir).warm_up()
    assert {"iris_graph", "commune_graph", "iris_by_commune", "offer"} <= set(vars(bundle))   # built before a click
    by_commune = bundle.iris_by_commune
    assert by_commune["49126"] == tuple(sorted(bundle.iris.index[bundle.iris["code_insee"] == "49126"]))
    assert by_commune["66136"][:2] == ("661360101", "661360102")
    drawn = [i for commune, iris in by_commune.items() if commune not in bundle.restored_communes for i in iris]
    assert sorted(drawn) == sorted(bundle.iris.index)   # each IRIS in one current commune


def test_commune_nouvelle_selects_the_iris_of_its_former_communes(france_dir, capsys):
    payload = summary_json(france_dir, capsys, "--codes", "49126", "--compact")
    assert [(c["code"], c["name"], c["population"]) for c in payload["communes"]] == [("49126", "Orée d'Anjou", 17162)]
    assert payload["population"]["value"] == 17162 and payload["population"]["millesime"] == 2023
    assert payload["communes"][0]["iris"] == [f"4906901{n:02d}" for n in range(1, 8)]  # drawn as 49069 in 2020
    assert payload["letter_table"] == [{"COMMUNES / QUARTIERS": "Orée d'Anjou",
                                        "CODE POSTAL": "49270, 49530 (à confirmer)", "CODE INSEE": "49126",
                                        "CODE IRIS": ""}]


def test_former_code_is_read_as_its_current_commune_with_a_note(france_dir, capsys):
    payload = summary_json(france_dir, capsys, "--codes", "05088")
    assert [(c["code"], c["name"]) for c in payload["communes"]] == [("05024", "Valdoule")]
    assert "05088 : ancienne commune, fusionnée dans Valdoule (05024)" in payload["checks"]["codes"]["message"]


def test_an_iris_of_a_merged_commune_is_named_after_the_current_commune(france):
    summary = summarize(france, Territory(frozenset({"490690101"})))
    assert [(c.code_insee, c.nom, c.whole) for c in summary.communes] == [("49126", "Orée d'Anjou", False)]


def test_registry_with_former_codes_maps_them_all(france):
    text = "cpts;code_insee\n" + "".join(f"CPTS du Haut-Buëch;{code}\n" for code in FORMER_CODES)
    imported = read_registry_csv(france, text.encode())
    assert imported.ok, imported.message()
    assert france.communes_of(imported.cpts["CPTS du Haut-Buëch"]) == set(FORMER_CODES.values())
    assert len([n for n in imported.notes if "fusionnée dans" in n or "déléguée" in n]) == 6
    assert "05120 (Ristolas) : commune déléguée de Abriès-Ristolas (05001)" in imported.notes


def test_re_established_communes_are_listed_with_the_commune_that_draws_them(france):
    report = resolve_codes(france, ["15031"])
    assert report.ok and report.iris == {"151410000"}
    assert report.notes == ["15031 (Celles) : commune rétablie depuis les contours IRIS, qui la dessinent dans "
                            "Neussargues-Moissac (15141)"]
    summary = summarize(france, Territory(report.iris))
    assert [c.code_insee for c in summary.communes] == ["15031", "15035", "15047", "15141", "15171"]
    assert summary.population.value == 217 + 304 + 88 + 824 + 122   # PMUN 2023 of each, not the group twice
    assert france.iris.at["151410000", "population"] == pytest.approx(1555)
    table = letter_table(france, summary, detailed=False)
    assert table["CODE INSEE"].tolist() == ["15031", "15035", "15047", "15141", "15171"]


def test_selection_links_round_trip_across_former_communes(france):
    iris = frozenset({"490690101", "490690102", "660280101"})
    text = encode_selection(france, iris)
    assert text == "49069.0101.0102-66028.0101"
    assert resolve_codes(france, decode_selection(text)).iris == iris


def test_overseas_commune_population_and_taille(france_dir, capsys):
    payload = summary_json(france_dir, capsys, "--codes", "97302")
    assert [(c["code"], c["name"]) for c in payload["communes"]] == [("97302", "Cayenne")]
    assert payload["population"]["value"] == 62675 and payload["taille"]["number"] == 2
    assert payload["postal_codes"] == ["97300"]
    assert any("Outre-mer : pas de découpage en IRIS" in limit for limit in payload["limits"])


def test_overseas_territory_on_several_islands_is_not_in_pieces(france):
    # Grand-Bourg (Marie-Galante) and Terre-de-Haut (Les Saintes), with Saint-François and Sainte-Anne across the sea
    territory = Territory(resolve_codes(france, ["97112", "97131", "97125", "97128"]).iris)
    contiguity = next(c for c in run_checks(france, territory) if c.name == "contiguity")
    assert contiguity.ok
    assert "île(s) rattachée(s)" in contiguity.message


def test_metropolitan_summary_has_no_overseas_limit(france, ruscino):
    assert not any("Outre-mer" in limit for limit in summarize(france, ruscino).limits)


def test_guyane_coverage_lists_the_other_communes_as_white_zones(france, tmp_path, capsys):
    registry = tmp_path / "guyane.csv"
    registry.write_text("cpts;code_insee\nCPTS Centre Littoral;97302\nCPTS Centre Littoral;97307\n"
                        "CPTS Centre Littoral;97309\nCPTS des Savanes;97304\n", encoding="utf-8")
    assert main(["coverage", "--data", str(france.path), "--registry", str(registry), "--region", "03",
                 "--json", "--out", str(tmp_path / "out")]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["area"] == {"kind": "region", "code": "03", "name": "Guyane"}
    white = {zone["code"] for zone in payload["white_zones"]}
    assert len(white) == 22 - 4 and not white & {"97302", "97307", "97309", "97304"}
    littoral = next(e for e in payload["epci"] if e["name"] == "CA du Centre Littoral")
    assert littoral["cpts"] == ["CPTS Centre Littoral"] and 0 < littoral["covered_share"] < 1


def test_epci_of_cabestany_is_named_and_can_be_selected_whole(france, capsys):
    summary = summarize(france, Territory(resolve_codes(france, ["66028"]).iris))
    assert [(e.code, e.nom, e.communes_in, e.communes_total) for e in summary.epci] == [
        ("200027183", "CU Perpignan Méditerranée Métropole", ("66028",), 37)]
    epci_check = next(c for c in run_checks(france, Territory(resolve_codes(france, ["66028"]).iris))
                      if c.name == "epci")
    assert epci_check.level == "info" and "1 commune(s) sur 37" in epci_check.message
    whole = Territory(france.epci_iris("200027183"))
    assert len(whole.communes(france)) == 37
    assert all(e.whole for e in summarize(france, whole).epci)


def test_coverage_gives_the_share_of_each_epci(france):
    perpignan_epci = france.epci_iris("200027183")
    report = coverage_report(france, {"CPTS Métropole": perpignan_epci}, area_of(france, None, "66"))
    epci = report.epci.set_index("code")
    assert epci.at["200027183", "covered_share"] == 1.0
    assert (epci.drop("200027183")["covered_share"] == 0).all()
    assert report_tables(report, france)["EPCI"]["Part couverte"].max() == 1.0


def test_official_cog_files_give_the_same_aliases(tmp_path):
    """INSEE's v_commune / v_mvt_commune layouts (documented columns), read as the mirror's JSON is."""
    from cpts_geo.data.sources.official import find_official_files, read_official_cog

    (tmp_path / "v_commune_2026.csv").write_text(
        "TYPECOM,COM,REG,DEP,CTCD,ARR,TNCC,NCC,NCCENR,LIBELLE,CAN,COMPARENT\n"
        "COM,05001,93,05,05D,052,0,ABRIES RISTOLAS,Abriès-Ristolas,Abriès-Ristolas,0501,\n"
        "COMD,05001,93,05,05D,052,0,ABRIES,Abriès,Abriès,,05001\n"
        "COMD,05120,93,05,05D,052,0,RISTOLAS,Ristolas,Ristolas,,05001\n"
        "COM,05024,93,05,05D,051,0,VALDOULE,Valdoule,Valdoule,0512,\n"
        "COM,15031,84,15,15D,152,0,CELLES,Celles,Celles,1505,\n"
        "COM,15141,84,15,15D,152,0,NEUSSARGUES MOISSAC,Neussargues-Moissac,Neussargues-Moissac,1505,\n",
        encoding="utf-8")
    (tmp_path / "v_mvt_commune_2026.csv").write_text(
        "MOD,DATE_EFF,TYPECOM_AV,COM_AV,TNCC_AV,NCC_AV,NCCENR_AV,LIBELLE_AV,TYPECOM_AP,COM_AP,TNCC_AP,NCC_AP,"
        "NCCENR_AP,LIBELLE_AP\n"
        "32,2018-01-01,COM,05088,0,BRUIS,Bruis,Bruis,COM,05024,0,VALDOULE,Valdoule,Valdoule\n"
        "32,2018-01-01,COM,05150,0,SAINTE MARIE,Sainte-Marie,Sainte-Marie,COM,05024,0,VALDOULE,Valdoule,Valdoule\n"
        "32,2018-01-01,COM,05024,0,MONTMORIN,Montmorin,Montmorin,COM,05024,0,VALDOULE,Valdoule,Valdoule\n"
        "21,2025-01-01,COM,15141,0,NEUSSARGUES EN PINATELLE,Neussargues en Pinatelle,Neussargues en Pinatelle,"
        "COM,15031,0,CELLES,Celles,Celles\n",
        encoding="utf-8")
    cog = read_official_cog(find_official_files(tmp_path))
    aliases = cog.aliases.set_index("code")
    assert cog.millesime == 2026
    assert aliases.loc[["05088", "05150", "05120", "15031"], ["current", "kind"]].values.tolist() == [
        ["05024", "ancienne"], ["05024", "ancienne"], ["05001", "deleguee"], ["15141", "retablie"]]
    assert "05024" not in aliases.index and "05001" not in aliases.index   # current communes stand for themselves


def test_printed_map_draws_the_epci_of_the_territory(france, ruscino):
    import numpy as np
    from matplotlib.colors import to_rgba

    from cpts_geo.exports.maps import EPCI_COLOUR, territory_map

    fig = territory_map(france, ruscino)
    legend = [" ".join(text.get_text().split()) for legend in fig.legends for text in legend.get_texts()]
    assert "Limite d'intercommunalité (EPCI) : CU Perpignan Méditerranée Métropole" in legend
    epci_lines = [c for ax in fig.axes for c in ax.collections
                  if len(c.get_edgecolor()) and np.allclose(c.get_edgecolor()[0], to_rgba(EPCI_COLOUR))]
    assert epci_lines and epci_lines[0].get_paths()
