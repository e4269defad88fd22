"""Checks on the real data and on small synthetic cases."""

import pytest

from cpts_geo.territory.checks import (check_contiguity, check_enclaves, check_isolated, check_overlaps,
                                       check_split_communes, run_checks)
from cpts_geo.data.codes import resolve_codes
from cpts_geo.territory.model import Territory

SALEILLES_NEIGHBOURS = ["66002", "66028", "66136", "66186", "66208"]


def territory(bundle, codes, name="T"):
    return Territory(resolve_codes(bundle, codes).iris, name)


def test_ruscino_passes_every_check(france, ruscino):
    results = {c.name: c for c in run_checks(france, ruscino, {}, resolve_codes(france, ["66028"]))}
    assert [results[n].level for n in ("codes", "contiguity", "enclaves", "overlaps", "isolated")] == ["ok"] * 5
    assert results["split_communes"].level == "info"
    assert results["split_communes"].communes == ("66136",)
    assert "Perpignan (10/47 IRIS)" in results["split_communes"].message


def test_two_pieces_are_reported(france):
    result = check_contiguity(france, territory(france, ["66028", "66065"]))  # Cabestany + Elne
    assert result.level == "error" and result.communes == ("66065",)
    assert len(result.details["pieces"]) == 2 and "2 morceaux" in result.message
    assert result.title == "Territoire en plusieurs morceaux"     # a title says what was found


def test_island_is_allowed_without_land_link(france):
    # Saint-Jean-de-Monts and L'Île-d'Yeu (no land neighbour)
    result = check_contiguity(france, territory(france, ["85234", "85113"]))
    assert result.level == "ok" and "île" in result.message


def test_enclave_of_a_ring_around_saleilles(france):
    ring = territory(france, SALEILLES_NEIGHBOURS)
    result = check_enclaves(france, ring)
    assert result.level == "error" and result.communes == ("66189",)
    assert result.iris == ("661890000",) and result.title == "Zones enclavées"


def test_enclave_of_part_of_a_commune(france):
    # Perpignan without one central IRIS (Saint-Mathieu) leaves that IRIS enclosed.
    codes = [i for i in france.iris_by_commune["66136"] if i != "661360104"]
    result = check_enclaves(france, territory(france, codes))
    assert result.iris == ("661360104",) and result.communes == ()


def test_llivia_is_no_enclave(france):
    ring = territory(france, ["66005", "66025", "66072", "66167", "66181", "66202", "66218"])
    assert check_enclaves(france, ring).level == "ok"
    assert check_contiguity(france, ring).level == "ok"


def test_overlap_names_cpts_and_codes(france, ruscino):
    others = {"CPTS Est": territory(france, ["66189", "661360801", "66037"]).iris,
              "CPTS Sud": territory(france, ["66065"]).iris}
    result = check_overlaps(france, ruscino, others)
    assert result.level == "error"
    assert result.details["by_cpts"] == {"CPTS Est": ["661360801", "661890000"]}
    assert result.communes == ("66136", "66189")
    assert "CPTS Est" in result.message and "CPTS Sud" not in result.message
    assert result.title == "Chevauchement avec d'autres CPTS"
    assert check_overlaps(france, ruscino, {"CPTS Sud": others["CPTS Sud"]}).title == "Pas de chevauchement"


def test_isolated_between_territory_and_neighbour(france):
    mine = territory(france, ["66136", "66028", "66186"])
    others = {"CPTS Sud": territory(france, ["66208", "66002"]).iris}
    assert check_enclaves(france, mine).level == "ok"
    isolated = check_isolated(france, mine, others)
    assert isolated.level == "warning" and isolated.communes == ("66189",) and isolated.title == "Zones isolées"
    # once the neighbour takes Saleilles, nothing is isolated
    others["CPTS Sud"] |= frozenset(france.iris_by_commune["66189"])
    assert check_isolated(france, mine, others).level == "ok"


def test_coastal_commune_is_not_isolated(france):
    # Canet-en-Roussillon is on the sea: surrounding it by land does not cut it off.
    neighbours = france.commune_graph.neighbours("66037")
    assert check_isolated(france, territory(france, neighbours), {}).level == "ok"


def test_split_communes(france):
    result = check_split_communes(france, territory(france, ["660280101", "66186"]))
    assert result.communes == ("66028",) and result.iris == ("660280101",)


@pytest.mark.parametrize("size", [3, 6])
def test_synthetic_grid_enclosure(size):
    """Rings on a synthetic grid: the inside is enclosed, corners do not connect."""
    import numpy as np
    from shapely.geometry import box

    from cpts_geo.data.graph import ZoneGraph, shared_borders

    codes = [f"{r:02d}{c:02d}" for r in range(size) for c in range(size)]
    geoms = [box(c * 100, r * 100, c * 100 + 100, r * 100 + 100) for r in range(size) for c in range(size)]
    graph = ZoneGraph(codes, shared_borders(codes, geoms))
    border = {f"{r:02d}{c:02d}" for r in range(size) for c in range(size) if r in (0, size - 1) or c in (0, size - 1)}
    pieces = graph.enclosed(graph.mask(border), np.ones(len(codes), bool), np.zeros(len(codes), bool))
    assert sum(len(p) for p in pieces) == (size - 2) ** 2


def test_a_territory_on_two_regions_depends_on_two_ars(france, ruscino):
    """Avignon (Vaucluse, Provence-Alpes-Côte d'Azur) with Villeneuve-lès-Avignon (Gard, Occitanie): two ARS."""
    result = next(c for c in run_checks(france, territory(france, ["84007", "30351"])) if c.name == "regions")
    assert result.level == "info" and result.ok
    assert result.message == ("Territoire sur deux régions (Provence-Alpes-Côte d'Azur et Occitanie) : deux ARS "
                              "(Provence-Alpes-Côte d'Azur : Vaucluse (84) ; Occitanie : Gard (30)). Le projet est à "
                              "présenter à chacune.")
    assert result.communes == ("30351",)                       # the communes of the less populated région
    assert [(r["code"], r["departements"]) for r in result.details["regions"]] == [("93", ["84"]), ("76", ["30"])]
    alone = next(c for c in run_checks(france, ruscino) if c.name == "regions")
    assert alone.level == "ok" and alone.message == "Le territoire est dans une seule région (Occitanie) : une seule ARS."
