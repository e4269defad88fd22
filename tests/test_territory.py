"""Territory model on the real data: communes, population, taille, postal codes, age structure."""

import pytest

from cpts_geo.data.codes import resolve_codes
from cpts_geo.region.coverage import area_of, coverage_report
from cpts_geo.formatting import fr_percent
from cpts_geo.territory.funding import funding_text, taille_number, taille_of
from cpts_geo.territory.model import Territory, summarize


def test_ruscino_summary(france, ruscino):
    summary = summarize(france, ruscino)
    assert summary.commune_count == 4 and summary.iris_count == 16
    parts = {p.code_insee: p for p in summary.communes}
    assert parts["66028"].whole and parts["66028"].iris == ("660280101", "660280102", "660280103", "660280104")
    assert not parts["66136"].whole and len(parts["66136"].iris) == 10 and parts["66136"].iris_total == 47
    assert parts["66186"].whole and parts["66189"].whole
    # Whole communes: PMUN 2023; Perpignan: its PMUN 2023 × share of its 10 IRIS in RP2016.
    assert parts["66028"].population == 10_465
    assert parts["66186"].population == 2_779 and parts["66189"].population == 5_698
    share = france.iris.loc[list(parts["66136"].iris), "pop_total"].sum() / 121_874.97
    assert parts["66136"].population == pytest.approx(121_616 * share, abs=1)
    assert summary.population.value == 48_454
    assert summary.population.millesime == 2023
    assert "Perpignan" in summary.population.method
    assert summary.taille.number == 2
    assert {f["amount_eur"] for f in summary.taille.funding} == {287_000, 105_000, 17_500}
    assert summary.postal_codes == ("66000", "66100", "66280", "66330", "66570")
    assert summary.postal_codes_to_confirm == ("66000", "66100")


def test_postal_override_gives_the_letter_codes(france, ruscino):
    summary = summarize(france, ruscino, postal_overrides={"66136": "66000"})
    assert set(summary.postal_codes) == {"66330", "66000", "66570", "66280"}
    assert summary.postal_codes_to_confirm == ()


def test_whole_commune_population_is_the_legal_one(france):
    perpignan = Territory(resolve_codes(france, ["66136"]).iris)
    summary = summarize(france, perpignan)
    assert summary.population.value == 121_616 and summary.taille.number == 3
    dep66 = Territory(resolve_codes(france, list(france.communes.index[france.communes["departement"] == "66"])).iris)
    assert summarize(france, dep66).population.value == 496_855


#: The IRIS of Château-d'Olonne (02xx) and Olonne-sur-Mer (03xx), merged into Les Sables-d'Olonne in 2019.
SABLES_ABSORBED = ["851940201", "851940203", "851940204", "851940205", "851940301", "851940302", "851940303",
                   "851940304", "851940305"]


def test_absorbed_communes_keep_their_inhabitants(france):
    """The 2016 IRIS file held the former Sables-d'Olonne only (14 233): its six IRIS took the whole commune."""
    absorbed = summarize(france, Territory(resolve_codes(france, SABLES_ABSORBED).iris))
    assert 30_000 < absorbed.population.value < 37_000 and absorbed.taille.number == 1
    assert (france.iris.loc[SABLES_ABSORBED, "population"] > 2_000).all()
    assert france.iris.loc[SABLES_ABSORBED, "pop_0014"].isna().all()   # estimated: no age structure
    whole = summarize(france, Territory(resolve_codes(france, ["85194"]).iris))
    assert whole.population.value == 49_603 and whole.taille.number == 2
    old_town = whole.population.value - absorbed.population.value
    assert 13_000 < old_town < 19_000


def test_age_structure_compares_with_departement_and_region(france, ruscino):
    age = summarize(france, ruscino).age
    assert age.departement == "66" and age.region == "76" and age.year == 2016
    labels = [row["label"] for row in age.rows]
    assert labels == ["Moins de 15 ans", "60 ans et plus", "75 ans et plus"]
    under15 = age.rows[0]
    assert 0.10 < under15["territory"] < 0.25 and 0.10 < under15["departement"] < 0.25
    assert "80 ans et plus" in age.note and 0.5 < age.coverage <= 1


@pytest.mark.parametrize("population, taille", [(0, 1), (39_999, 1), (40_000, 2), (79_999, 2), (80_000, 3),
                                                 (175_000, 3), (175_001, 4)])
def test_taille_thresholds(population, taille):
    assert taille_number(population) == taille


def test_toggles(france):
    territory = Territory(frozenset(), "t").toggle_commune(france, "66028")
    assert len(territory.iris) == 4
    territory = territory.toggle_iris("660280101")
    assert len(territory.iris) == 3
    assert territory.toggle_commune(france, "66028").iris == frozenset(france.iris_by_commune["66028"])
    assert territory.toggle_commune(france, "66028").toggle_commune(france, "66028").iris == frozenset()


def test_mayotte_population_is_its_2017_census(france):
    """Mayotte has no yearly légale: the data repeat its 2017 census, said as such (not « légale 2023 »)."""
    codes = list(france.communes.index[france.communes["departement"] == "976"])
    summary = summarize(france, Territory(resolve_codes(france, codes).iris))
    assert len(codes) == 17 and summary.population.value > 200_000
    assert summary.population.millesime == 2017
    assert summary.population.source == "INSEE, recensement de la population 2017 (population municipale)"
    assert summary.population.method.startswith("Mayotte (976) : population municipale du recensement 2017")
    assert "légale 2023" not in summary.population.method.replace("population légale 2023)", "")
    mixed = summarize(france, Territory(resolve_codes(france, codes + ["66136"]).iris)).population
    assert mixed.millesime == 2023 and "légale 2023." in mixed.method and "recensement 2017" in mixed.method
    mamoudzou = {"CPTS Mamoudzou": frozenset(france.iris_by_commune["97611"])}
    assert coverage_report(france, mamoudzou, area_of(france, departement="976")).millesime == 2017
    assert coverage_report(france, mamoudzou, area_of(france, departement="972")).millesime == 2023


def test_reunion_funding_names_the_sources_conflict(france):
    """La Réunion (taille 4): one line per ACI item; the amount at the lettre d'intention, on which the sources
    disagree, gives both figures with their sources."""
    codes = list(france.communes.index[france.communes["departement"] == "974"])
    taille = summarize(france, Territory(resolve_codes(france, codes).iris)).taille
    assert taille.number == 4
    labels = [line["label"] for line in taille.funding]
    assert len(labels) == len(set(labels)) == 4
    letter = next(line for line in taille.funding if line["item"] == "amount_at_lettre_intention_validation_avenant2")
    assert funding_text(letter) == ("30\u202f000\u00a0€ (fmfpro.org, Quotidien du médecin) ou 25\u202f000\u00a0€ "
                                    "(lepharmaciendefrance.fr) : sources en désaccord")
    running = next(line for line in taille.funding if line["item"] == "fonctionnement_after_avenant2_plus75pct")
    assert funding_text(running) == "157\u202f500\u00a0€"
    taille3 = taille_of(100_000, france.aci).funding
    assert [funding_text(line) for line in taille3 if "lettre" in line["item"]] == [
        "25\u202f000\u00a0€ (fmfpro.org) ou 20\u202f000\u00a0€ (lepharmaciendefrance.fr) : sources en désaccord"]


def test_age_structure_of_a_territory_on_two_regions(france):
    """Avignon (84) with Villeneuve-lès-Avignon (30): compared with Vaucluse and Gard, Provence-Alpes-Côte d'Azur and
    Occitanie, the main ones (most people) first."""
    age = summarize(france, Territory(resolve_codes(france, ["84007", "30351"]).iris)).age
    assert (age.departement, age.region, age.departements, age.regions) == ("84", "93", ("84", "30"), ("93", "76"))
    table = age.table()
    assert list(table.columns) == ["Tranche d'âge", "Territoire", "Vaucluse (84)", "Gard (30)",
                                   "Provence-Alpes-Côte d'Azur", "Occitanie"]
    row = age.rows[0]
    assert row["departements"]["84"] == row["departement"] and row["regions"]["93"] == row["region"]
    assert row["departements"]["30"] != row["departement"] and row["regions"]["76"] != row["region"]
    assert table.iat[0, 3] == fr_percent(row["departements"]["30"]) and table.iat[0, 5] == fr_percent(row["regions"]["76"])
