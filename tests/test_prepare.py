"""The prepared bundle of the real data."""

import geopandas as gpd
import pandas as pd
import pytest

from cpts_geo.data.bundle import Bundle
from cpts_geo.data.layout import IRIS_FILE
from cpts_geo.data.prepare import commune_populations, complete_absorbed_communes
from cpts_geo.errors import DataError
from tests.test_territory import SABLES_ABSORBED


def test_dep66_bundle_content(dep66, dep66_dir):
    assert dep66.meta["counts"] == {"iris": 313, "communes": 226, "iris_edges": 846, "commune_edges": 600}
    assert dep66.communes["population"].sum() == 496_855
    assert dep66.iris["pop_total"].sum() == pytest.approx(474_368.96, abs=0.1)
    assert (dep66.communes["population_method"] == "legal").all()
    assert dep66.communes.at["66136", "postal_codes"] == "66000,66100"
    # IRIS populations add up to their commune's population
    by_commune = dep66.iris.groupby("code_insee")["population"].sum()
    assert (by_commune - dep66.communes["population"]).abs().max() < 1e-6
    geometry = gpd.read_parquet(dep66_dir / IRIS_FILE, columns=["code_iris", "geometry"])
    assert geometry.crs.to_epsg() == 4326 and geometry.is_valid.all() and len(geometry) == 313


def test_france_population_methods(france):
    methods = france.communes["population_method"].value_counts()
    assert methods["legal"] > 34_600
    # Communes that merged after 2020 get an estimate, never a double count of the new commune.
    total = france.communes.loc[france.communes["departement"].str.len() == 2, "population"].sum()
    assert abs(total - 66_165_815) / 66_165_815 < 0.001


def test_every_habitat_iris_of_an_inhabited_commune_has_inhabitants(france):
    """Sweep of all France (issue 20): the IRIS of communes absorbed since 2016 are no longer empty."""
    iris = france.iris
    inhabited = iris["code_insee"].map(france.communes["population"]).fillna(0) > 0
    empty = iris.index[(iris["typ_iris"] == "H") & inhabited & (iris["population"].fillna(0) <= 0)]
    # The one left: Chaumont « Champs », counted 0 in every age band by the census 2016 (a measure, not a gap).
    assert list(empty) == ["521210305"] and (iris.loc[empty, "pop_0014"] == 0).all()
    assert (iris.groupby("code_insee")["share"].sum() - 1).abs().max() < 1e-9
    absorbed = ["50025", "53062", "53097", "56165", "69019", "78158", "85146", "85194"]
    assert (france.communes.loc[absorbed, "population_method"] == "legal").all()
    by_commune = iris[iris["code_insee"].isin(absorbed)].groupby("code_insee")["population"].sum()
    assert (by_commune - france.communes.loc[absorbed, "population"]).abs().max() < 1e-6
    assert any("Les Sables-d'Olonne" in limit for limit in france.meta["limits"])


def test_population_rows_under_former_codes_reach_the_contours(mirror_tables):
    """A population file keyed by the former communes of Les Sables-d'Olonne (85060 Château-d'Olonne, 85166
    Olonne-sur-Mer): a row with the suffix of an IRIS of the contours goes to it, the rest of the former commune
    is shared among the commune's empty habitat IRIS."""
    tables = mirror_tables.restrict({"85"})
    former = pd.DataFrame({"code_iris": ["850600201", "851669999"], "code_insee": ["85060", "85166"],
                           "pop_total": [3_000.0, 20_000.0]})
    tables.iris_population = pd.concat([tables.iris_population, former], ignore_index=True)
    completed = complete_absorbed_communes(tables)
    population = completed.iris_population.set_index("code_iris")["pop_total"]
    assert completed.iris_population["code_iris"].is_unique and "850600201" not in population
    assert population["851940201"] == 3_000
    assert population[SABLES_ABSORBED[1:]].tolist() == [2_500] * 8
    assert completed.communes.set_index("code_insee").at["85194", "population_ref"] == pytest.approx(14_233 + 23_000,
                                                                                                    abs=0.1)


def test_commune_populations_rules():
    iris = pd.DataFrame({"code_insee": ["01001", "01002", "01003", "01003"], "pop_total": [100, 50, 30, 10]})
    communes = pd.DataFrame({"code_insee": ["01001", "01002"], "nom": ["A", "B"], "population": [110, 120],
                             "population_ref": [100, 80]})
    table = commune_populations(iris, communes)
    assert table.loc["01001"].tolist() == [110, "legal"]
    # B absorbed a commune since the contours: its own IRIS scaled by its growth 120/80
    assert table.loc["01002"].tolist() == [75, "estimated_changed"]
    # 01003 was absorbed: its IRIS scaled by the département's growth (110+120)/(100+80)
    assert table.at["01003", "population"] == pytest.approx(40 * 230 / 180)
    assert table.at["01003", "population_method"] == "estimated_merged"


def test_load_without_bundle(tmp_path):
    with pytest.raises(DataError, match="prepare"):
        Bundle.load(tmp_path)
