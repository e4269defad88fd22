"""Coverage of a région or a département by the CPTS of a registry, as an ARS checks it.

White zones (IRIS and communes in no CPTS), overlaps (zones shared by CPTS), isolated
white zones (cut off by CPTS from everything else), CPTS in several pieces, and per CPTS
its communes, population, taille and ACI band, general practitioners per 10,000 inhabitants
and APL (:func:`cpts_geo.territory.offer.groups_offer`), with the APL of the white zones. Everything is computed at once on the
membership matrix (IRIS × CPTS) and the IRIS graph, so all metropolitan France with
800 CPTS takes well under a second after the data is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from cpts_geo.territory.checks import commune_names, enclosed_pieces
from cpts_geo.errors import InputError
from cpts_geo.exports.sheets import report_files
from cpts_geo.formatting import fr_decimal, fr_int, fr_percent
from cpts_geo.territory.funding import taille_number, taille_of
from cpts_geo.territory.offer import APL_THRESHOLD, NOT_AVAILABLE, count_text, groups_offer, source_lines
from cpts_geo.data.reference import departement_label, outside_cpts
from cpts_geo.territory.model import data_limits, population_millesime

#: ACI item shown per CPTS: the yearly operating funding after avenant 2.
FUNDING_ITEM = "fonctionnement_after_avenant2_plus75pct"


@dataclass(frozen=True)
class Area:
    """The région or département checked: its IRIS as a mask over ``bundle.iris``."""

    kind: str            # "region", "departement" or "all"
    code: str
    name: str
    mask: np.ndarray = field(repr=False)

    @property
    def label(self) -> str:
        kinds = {"region": "région", "departement": "département"}
        return f"{kinds[self.kind]} {self.name} ({self.code})" if self.kind in kinds else self.name

    @property
    def inside(self) -> str:
        """« dans le département », « dans la région », or « » for all the data (nothing lies outside)."""
        return {"region": "dans la région", "departement": "dans le département"}.get(self.kind, "")

    @property
    def outside(self) -> str:
        """« hors du département », « hors de la région », or « »."""
        return {"region": "hors de la région", "departement": "hors du département"}.get(self.kind, "")

    @property
    def stem(self) -> str:
        """The area in file names: ``departement_66``, ``region_76``, ``all``."""
        return "_".join(filter(None, [self.kind, self.code]))


def area_of(bundle, region: str | None = None, departement: str | None = None) -> Area:
    """The area of a report: a département (inside ``region`` when both are given), a région, or all the data."""
    table = bundle.departements
    if departement:
        row = table[table["code_departement"] == departement]
        if row.empty:
            why = outside_cpts(departement)
            raise InputError(f"Département {departement} " + (f"inexistant : {why}." if why else
                                                               "absent des données préparées."))
        if region and row["code_region"].iat[0] != region:
            raise InputError(f"Le département {departement} n'est pas dans la région {region} "
                             f"(il est dans la région {row['code_region'].iat[0]}).")
        return Area("departement", departement, row["nom_departement"].iat[0],
                    bundle.iris["departement"].to_numpy() == departement)
    if not region:
        return Area("all", "", "ensemble des données préparées", np.ones(len(bundle.iris), dtype=bool))
    row = table[table["code_region"] == region]
    if row.empty:
        known = ", ".join(sorted(set(table["code_region"])))
        raise InputError(f"Région {region} absente des données préparées (régions : {known}).")
    return Area("region", region, row["nom_region"].iat[0], bundle.iris["region"].to_numpy() == region)


@dataclass(frozen=True)
class RegistryElsewhere:
    """Where the CPTS of a registry lie when none of them is in the area shown."""

    message: str          # in French, naming the régions and départements that hold them
    main_region: str      # the région holding most of them


def registry_elsewhere(bundle, registry: dict[str, frozenset[str]], area: Area) -> RegistryElsewhere | None:
    """None when a CPTS of ``registry`` has an IRIS in ``area`` (or none is in the data); else where they are:
    each CPTS counted in the région holding most of its IRIS, régions with most CPTS first."""
    zones = bundle.iris[["region", "departement"]].reindex(sorted(set(chain.from_iterable(registry.values()))))
    zones = zones.dropna()
    if zones.empty or area.mask[bundle.iris.index.get_indexer(zones.index)].any():
        return None
    regions = [zones["region"].reindex(sorted(codes)).dropna() for codes in registry.values()]
    counts = pd.Series([r.mode().iat[0] for r in regions if len(r)]).value_counts()
    names = bundle.departements.drop_duplicates("code_departement").set_index("code_departement")
    places = []
    for region, count in counts.items():
        departements = sorted(set(zones.loc[zones["region"] == region, "departement"]))
        places.append(f"{fr_int(count)} dans la région {names.loc[departements[0], 'nom_region']} ({region}, "
                      f"département{'s' if len(departements) > 1 else ''} "
                      + ", ".join(f"{names.at[d, 'nom_departement']} ({d})" for d in departements) + ")")
    where = f"{'le' if area.kind == 'departement' else 'la'} {area.label}"
    if counts.sum() > 1:
        head = f"Aucune des {fr_int(counts.sum())} CPTS du registre n'est"
        tail = "leur région pour voir leur couverture"
    else:
        head, tail = "La CPTS du registre n'est pas", "sa région pour la voir"
    return RegistryElsewhere(f"{head} dans {where} : {' ; '.join(places)}. Choisissez {tail}.",
                             counts.index[0])


@dataclass
class Membership:
    """Which CPTS each IRIS belongs to: one row per (CPTS, IRIS) pair, positions in the bundle."""

    names: np.ndarray      # CPTS names, sorted
    cpts: np.ndarray       # position in ``names`` of each pair
    iris: np.ndarray       # position in ``bundle.iris`` of each pair
    unknown: int           # IRIS codes of the registry absent from the bundle (dropped)

    @classmethod
    def of(cls, bundle, registry: dict[str, frozenset[str]]) -> "Membership":
        names = np.array(sorted(registry), dtype=object)
        sizes = np.fromiter((len(registry[n]) for n in names), dtype=int, count=len(names))
        codes = np.fromiter(chain.from_iterable(registry[n] for n in names), dtype=object, count=sizes.sum())
        cpts = np.repeat(np.arange(len(names)), sizes)
        graph_codes = bundle.iris_graph.codes
        position = np.minimum(np.searchsorted(graph_codes, codes), len(graph_codes) - 1)
        known = graph_codes[position] == codes if len(codes) else np.zeros(0, dtype=bool)
        return cls(names, cpts[known], position[known], int((~known).sum()))

    def matrix(self, zone_count: int) -> sparse.csr_matrix:
        """IRIS × CPTS boolean matrix."""
        return sparse.csr_matrix((np.ones(len(self.iris)), (self.iris, self.cpts)),
                                 shape=(zone_count, len(self.names)))

    def subset(self, keep: np.ndarray) -> "Membership":
        """The pairs of the CPTS where ``keep`` (a mask over ``names``) is True, renumbered."""
        renumber = np.cumsum(keep) - 1
        pairs = keep[self.cpts]
        return Membership(self.names[keep], renumber[self.cpts[pairs]], self.iris[pairs], self.unknown)


@dataclass
class CoverageReport:
    """Coverage of an area: totals, CPTS, white zones, overlaps, isolated zones (French-ready tables)."""

    area: Area
    population_total: float
    population_covered: float
    population_overlap: float
    cpts: pd.DataFrame
    white_zones: pd.DataFrame
    overlaps: pd.DataFrame
    isolated: pd.DataFrame
    enclosed: pd.DataFrame
    epci: pd.DataFrame
    offer: dict          # white zones' general practitioners and APL, millésimes, threshold
    unknown_iris: int
    millesime: int | None
    limits: tuple[str, ...]

    @property
    def covered_share(self) -> float:
        return self.population_covered / self.population_total if self.population_total else 0.0

    @property
    def several_pieces(self) -> list[str]:
        return self.cpts.loc[self.cpts["pieces"] > 1, "name"].tolist()

    @property
    def extending_outside(self) -> pd.DataFrame:
        """The rows of :attr:`cpts` with IRIS outside the area (none when the area is all the data)."""
        return self.cpts[self.cpts["outside_departements"].map(len, na_action="ignore") > 0]

    def enclosed_text(self) -> str:
        """« CPTS Ruscino (toute la CPTS, …) dans CPTS Perpignan ; Fitou (11144), partie de CPTS Salanque (…),
        dans CPTS Agly - Corbières catalanes », or « aucune »."""
        return " ; ".join(
            f"{row.cpts} (toute la CPTS, {fr_int(row.population)} habitants) dans {row.around}" if row.whole else
            f"{row.described}, partie de {row.cpts} ({fr_int(row.population)} habitants), dans {row.around}"
            for row in self.enclosed.itertuples()) or "aucune"

    def outline_lines(self) -> list[str]:
        """In French: the CPTS enclosed by another, and (for a région or a département) the CPTS extending outside
        the area, with the population of the CPTS inside it beside their whole population."""
        lines = [f"CPTS enclavées dans une autre CPTS : {self.enclosed_text()}."]
        if self.area.kind == "all":
            return lines
        outside = self.extending_outside
        lines.append(f"CPTS débordant {self.area.outside} : {', '.join(outside['name']) or 'aucune'}.")
        if len(outside):
            lines[-1] += (f" Population des CPTS {self.area.inside} : {fr_int(self.cpts['population_in_area'].sum())} "
                          f"habitants ({fr_int(self.cpts['population'].sum())} avec leurs parties {self.area.outside} ;"
                          " une zone partagée entre CPTS comptée dans chacune).")
        return lines

    def as_dict(self) -> dict:
        """JSON-ready report."""
        return {
            "area": {"kind": self.area.kind, "code": self.area.code, "name": self.area.name},
            "population": {"total": round(self.population_total), "covered": round(self.population_covered),
                           "covered_share": round(self.covered_share, 4),
                           "white": round(self.population_total - self.population_covered),
                           "overlap": round(self.population_overlap), "millesime": self.millesime},
            "cpts": _records(self.cpts),
            "white_zones": _records(self.white_zones),
            "overlaps": self.overlaps.to_dict(orient="records"),
            "isolated": self.isolated.to_dict(orient="records"),
            "enclosed": self.enclosed.drop(columns="described").to_dict(orient="records"),
            "epci": self.epci.to_dict(orient="records"),
            "offer": self.offer,
            "several_pieces": self.several_pieces,
            "unknown_iris": self.unknown_iris,
            "limits": list(self.limits),
        }

    def headline(self) -> list[str]:
        """The key figures in French, one sentence per line."""
        white = self.population_total - self.population_covered
        return [
            f"Couverture par les CPTS, {self.area.label} : {len(self.cpts)} CPTS.",
            f"Population couverte : {fr_int(self.population_covered)} habitants sur {fr_int(self.population_total)} "
            f"({fr_percent(self.covered_share)}) ; hors CPTS : {fr_int(white)} habitants.",
            f"Zones blanches : {fr_int(len(self.white_zones))} commune(s) entièrement ou en partie hors CPTS.",
            f"Chevauchements : {fr_int(len(self.overlaps))} paire(s) de CPTS, {fr_int(self.population_overlap)} "
            "habitants concernés.",
            f"Zones isolées (hors CPTS et entourées de CPTS) : {fr_int(len(self.isolated))}.",
            f"CPTS en plusieurs morceaux : {', '.join(self.several_pieces) or 'aucune'}.",
            *self.outline_lines(),
        ] + ([f"Offre des zones blanches : APL médecins généralistes {self.offer['apl_millesime'] or ''} "
              f"{fr_number(self.offer['white_zones']['apl'], 2)}, médecins généralistes pour 10 000 habitants "
              f"{fr_number(self.offer['white_zones']['gp_per_10000'], 1)}."] if len(self.white_zones) else [])


def _records(table: pd.DataFrame) -> list[dict]:
    """Rows of a table as JSON-ready dicts, a missing figure (NaN) as ``None``."""
    return table.astype(object).where(table.notna(), None).to_dict(orient="records")


def fr_number(value, digits: int) -> str:
    """A figure in French (``9,67``), or « non disponible dans les données préparées »."""
    return fr_decimal(value, digits, NOT_AVAILABLE)


def _white_offer(bundle, white: np.ndarray) -> dict:
    """General practitioners and APL of the white zones together, with the sources' millésimes."""
    zones = np.flatnonzero(white)
    figures = groups_offer(bundle, zones, np.zeros(len(zones), dtype=int), 1).iloc[0]
    meta = bundle.offer.meta
    return {"white_zones": {key: None if value != value else value.item() for key, value in figures.items()},
            "apl_millesime": meta.get("apl", {}).get("millesime"),
            "professionals_millesime": meta.get("professionals", {}).get("millesime"),
            "apl_threshold": APL_THRESHOLD}


def _offer_limits(bundle, area: Area) -> list[str]:
    """What the offer columns of the report rest on, and where they are missing."""
    data = bundle.offer
    missing = sorted(set(bundle.iris.loc[area.mask, "departement"]) - data.covered("professionals"))
    limits = [f"Médecins généralistes (BPE) : {NOT_AVAILABLE} pour le(s) département(s) {', '.join(missing)}."] \
        if missing else []
    limits.append("Médecins généralistes d'une commune partagée entre CPTS (ou en partie hors CPTS) : estimés au "
                  "prorata de la population ; APL d'une CPTS : moyenne des APL communales pondérée par la "
                  "population standardisée (DREES), la part de chaque commune au prorata de sa population ; "
                  f"seuil usuel de la zone « sous-dense » : APL sous {fr_number(APL_THRESHOLD, 1)}.")
    return limits + source_lines(data, ("professionals", "apl"))


def _codes_by_group(groups: np.ndarray, codes: np.ndarray, count: int) -> list[list[str]]:
    """Sorted unique codes per group id 0..count-1."""
    table = pd.DataFrame({"group": groups, "code": codes}).drop_duplicates().sort_values(["group", "code"])
    listed = table.groupby("group")["code"].agg(list)
    return [listed.get(g, []) for g in range(count)]


def _piece_nodes(bundle, members: Membership) -> pd.DataFrame:
    """One row per (CPTS, IRIS) pair: ``zone`` (position in the bundle), ``cpts`` and ``piece``, the label of the
    connected piece of its CPTS it lies in (IRIS of one CPTS sharing a border are in the same piece)."""
    node = pd.DataFrame({"node": np.arange(len(members.iris)), "zone": members.iris, "cpts": members.cpts})
    edges = sparse.triu(bundle.iris_graph.matrix).tocoo()
    pairs = (pd.DataFrame({"zone": edges.row, "other": edges.col}).merge(node, on="zone")
             .merge(node.rename(columns={"zone": "other", "node": "other_node"}), on=["other", "cpts"]))
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs["node"], pairs["other_node"])),
                              shape=(len(node), len(node)))
    node["piece"] = csgraph.connected_components(graph, directed=False)[1]
    return node


def _pieces(bundle, node: pd.DataFrame, count: int) -> tuple[np.ndarray, list[list[str]]]:
    """Pieces of each of the ``count`` CPTS (islands on another land mass do not count) and the communes of the
    detached ones, from :func:`_piece_nodes`."""
    node = node.assign(landmass=bundle.iris["landmass"].to_numpy()[node["zone"]])
    sizes = node.groupby(["cpts", "landmass", "piece"]).size().rename("size").reset_index()
    sizes = sizes.sort_values(["cpts", "landmass", "size", "piece"], ascending=[True, True, False, True])
    sizes["detached"] = sizes.duplicated(["cpts", "landmass"])
    pieces = (sizes.groupby("cpts").size() - sizes.groupby("cpts")["landmass"].nunique() + 1)
    detached = node.merge(sizes.loc[sizes["detached"], ["piece"]], on="piece")
    communes = bundle.iris["code_insee"].to_numpy()
    return (pieces.reindex(range(count), fill_value=0).to_numpy(),
            _codes_by_group(detached["cpts"].to_numpy(), communes[detached["zone"].to_numpy()], count))


def _enclosed(bundle, members: Membership, node: pd.DataFrame, everyone: Membership) -> pd.DataFrame:
    """Pieces of CPTS (a whole CPTS, or a detached part of one) enclosed by one other CPTS.

    A piece of a CPTS (:func:`_piece_nodes`) is enclosed by CPTS B when its whole outline is B's border: every
    IRIS sharing a border with the piece (the adjacency rule, docs/adjacency.md) belongs to B and to no other
    CPTS, and none of its IRIS has an open border (sea, frontier, edge of the data: more than 200 m of outline
    shared with no zone). A piece touching a white zone is not enclosed — beyond a région whose neighbours are
    in no CPTS of the registry either: what lies there is not known. Inland waters (étangs) lie inside
    communes, so a CPTS on an étang can be enclosed; one on the coast cannot.
    """
    columns = ["cpts", "around", "whole", "communes", "described", "iris", "population"]
    edges = bundle.iris_graph.matrix.tocoo()
    touching = node[["piece", "cpts", "zone"]].merge(pd.DataFrame({"zone": edges.row, "other": edges.col}))
    own = np.isin(touching["other"].to_numpy() * len(members.names) + touching["cpts"].to_numpy(),
                  members.iris * len(members.names) + members.cpts)
    touching = touching[~own]            # an IRIS of its own CPTS next to a piece is in that piece
    owners = pd.DataFrame({"other": everyone.iris, "around": everyone.names[everyone.cpts]})
    touching = touching.merge(owners, on="other", how="left")
    per_piece = touching.groupby("piece")["around"].agg(["nunique", "count", "size", "first"])
    open_piece = pd.Series(bundle.open_edge[node["zone"]]).groupby(node["piece"].to_numpy()).any()
    one_around = per_piece[(per_piece["nunique"] == 1) & (per_piece["count"] == per_piece["size"])]
    enclosed = one_around[~open_piece.reindex(one_around.index).to_numpy()]
    if enclosed.empty:
        return pd.DataFrame(columns=columns)
    inside = node[node["piece"].isin(enclosed.index)]
    iris = bundle.iris
    sizes = np.bincount(members.cpts, minlength=len(members.names))
    rows = []
    for piece, group in inside.groupby("piece"):
        cpts = int(group["cpts"].iat[0])
        communes = sorted(set(iris["code_insee"].to_numpy()[group["zone"]]))
        rows.append({"cpts": members.names[cpts], "around": enclosed.at[piece, "first"],
                     "whole": bool(len(group) == sizes[cpts]), "communes": communes,
                     "described": commune_names(bundle, communes),
                     "iris": sorted(iris["code_iris"].to_numpy()[group["zone"]]),
                     "population": int(round(iris["population"].to_numpy()[group["zone"]].sum()))})
    return pd.DataFrame(rows, columns=columns).sort_values(["cpts", "described"], ignore_index=True)


def _cpts_table(bundle, members: Membership, node: pd.DataFrame, area: np.ndarray) -> pd.DataFrame:
    """Per CPTS: communes, IRIS, population (whole, and in ``area``), taille, ACI band and funding, pieces,
    départements (and those outside ``area``)."""
    count = len(members.names)
    zone_population = bundle.iris["population"].to_numpy()[members.iris]
    population = np.bincount(members.cpts, weights=zone_population, minlength=count)
    in_area = area[members.iris]
    communes = bundle.iris["code_insee"].to_numpy()[members.iris]
    commune_lists = _codes_by_group(members.cpts, communes, count)
    departement = bundle.iris["departement"].to_numpy()[members.iris]
    departements = _codes_by_group(members.cpts, departement, count)
    pieces, detached = _pieces(bundle, node, count)
    tailles = np.array([taille_number(p) for p in population], dtype=int)
    one_per_taille = pd.Series(population).groupby(tailles).first()
    bands = {t: taille_of(p, bundle.aci) for t, p in one_per_taille.items()}
    funding = {t: next((f["amount_eur"] for f in b.funding if f["item"] == FUNDING_ITEM), None)
               for t, b in bands.items()}
    return pd.DataFrame({
        "name": members.names,
        "commune_count": [len(c) for c in commune_lists],
        "iris_count": np.bincount(members.cpts, minlength=count),
        "population": population.round().astype(int),
        "population_in_area": np.bincount(members.cpts, weights=zone_population * in_area,
                                          minlength=count).round().astype(int),
        "taille": tailles,
        "aci_band": [bands[t].label for t in tailles],
        "funding_eur": [funding[t] for t in tailles],
        "pieces": pieces,
        "detached_communes": detached,
        "departements": departements,
        "outside_departements": _codes_by_group(members.cpts[~in_area], departement[~in_area], count),
        "communes": commune_lists,
    })


def _white_zones(bundle, white: np.ndarray) -> pd.DataFrame:
    """Communes with IRIS in no CPTS: population of that part, whole commune or not, IRIS codes."""
    iris = bundle.iris.loc[white, ["code_iris", "code_insee", "population"]]
    grouped = iris.groupby("code_insee").agg(population=("population", "sum"), iris=("code_iris", list))
    communes = bundle.communes.loc[grouped.index]
    return pd.DataFrame({
        "code": grouped.index, "name": communes["nom"].to_numpy(), "departement": communes["departement"].to_numpy(),
        "population": grouped["population"].round().astype(int).to_numpy(),
        "whole": (grouped["iris"].str.len() == communes["n_iris"]).to_numpy(),
        "iris": grouped["iris"].to_numpy(),
    }).sort_values(["population", "code"], ascending=[False, True], ignore_index=True)


def _overlaps(bundle, members: Membership, shared: np.ndarray) -> pd.DataFrame:
    """Pairs of CPTS sharing IRIS of the area: the communes, IRIS and population concerned."""
    pairs = pd.DataFrame({"zone": members.iris, "cpts": members.cpts})
    pairs = pairs[shared[pairs["zone"]]]
    pairs = pairs.merge(pairs, on="zone", suffixes=("_a", "_b"))
    pairs = pairs[pairs["cpts_a"] < pairs["cpts_b"]]
    iris = bundle.iris
    pairs = pairs.assign(code=iris["code_iris"].to_numpy()[pairs["zone"]],
                         commune=iris["code_insee"].to_numpy()[pairs["zone"]],
                         population=iris["population"].to_numpy()[pairs["zone"]])
    table = (pairs.sort_values("code").groupby(["cpts_a", "cpts_b"])
             .agg(communes=("commune", lambda c: sorted(set(c))), iris=("code", list),
                  population=("population", "sum")).reset_index())
    return pd.DataFrame({"cpts": [[members.names[a], members.names[b]]
                                  for a, b in zip(table["cpts_a"], table["cpts_b"])],
                         "communes": table["communes"], "iris": table["iris"],
                         "population": table["population"].round().astype(int)}) \
        .sort_values("population", ascending=False, ignore_index=True)


def _isolated(bundle, members: Membership, covered: np.ndarray, area: np.ndarray) -> pd.DataFrame:
    """White pieces of the area cut off by CPTS from everything else, and the CPTS around them."""
    pieces = [p for p in enclosed_pieces(bundle, covered) if area[p].any()]
    iris = bundle.iris
    zones = np.concatenate(pieces) if pieces else np.zeros(0, dtype=int)
    nodes = pd.DataFrame({"piece": np.repeat(np.arange(len(pieces)), [len(p) for p in pieces]), "zone": zones,
                          "code": iris["code_iris"].to_numpy()[zones], "commune": iris["code_insee"].to_numpy()[zones],
                          "population": iris["population"].to_numpy()[zones]})
    per_commune = nodes.groupby(["piece", "commune"]).size().rename("iris").reset_index()
    whole = per_commune[per_commune["iris"].to_numpy() == bundle.communes.loc[per_commune["commune"], "n_iris"].to_numpy()]
    label = np.full(len(covered), -1)
    label[nodes["zone"]] = nodes["piece"]
    edges = bundle.iris_graph.matrix.tocoo()
    touching = pd.DataFrame({"piece": label[edges.row], "zone": edges.col})
    touching = touching[(touching["piece"] >= 0) & covered[touching["zone"]]]
    around = touching.merge(pd.DataFrame({"zone": members.iris, "cpts": members.names[members.cpts]}), on="zone")
    count = len(pieces)
    return pd.DataFrame({
        "communes": _codes_by_group(nodes["piece"].to_numpy(), nodes["commune"].to_numpy(), count),
        "whole_communes": _codes_by_group(whole["piece"].to_numpy(), whole["commune"].to_numpy(), count),
        "iris": _codes_by_group(nodes["piece"].to_numpy(), nodes["code"].to_numpy(), count),
        "population": nodes.groupby("piece")["population"].sum().reindex(range(count)).round().astype(int),
        "around": _codes_by_group(around["piece"].to_numpy(), around["cpts"].to_numpy(), count),
    })


def _epci(bundle, members: Membership, covered: np.ndarray, area: np.ndarray) -> pd.DataFrame:
    """Per EPCI of the area: population, part covered by CPTS, and the CPTS it meets."""
    if "epci" not in bundle.communes:
        return pd.DataFrame(columns=["code", "name", "population", "covered", "covered_share", "cpts"])
    iris = bundle.iris
    epci = iris["code_insee"].map(bundle.communes["epci"]).fillna("").to_numpy()
    zones = pd.DataFrame({"epci": epci, "population": iris["population"].to_numpy(),
                          "covered": np.where(covered, iris["population"].to_numpy(), 0.0)})[area & (epci != "")]
    table = zones.groupby("epci")[["population", "covered"]].sum()
    group = table.index.get_indexer(epci[members.iris])
    met = group >= 0
    table["cpts"] = _codes_by_group(group[met], members.names[members.cpts][met], len(table))
    table["covered_share"] = (table["covered"] / table["population"].where(table["population"] > 0)).round(4)
    return pd.DataFrame({"code": table.index, "name": table.index.map(bundle.epci["nom"]).fillna(""),
                         "population": table["population"].round().astype(int).to_numpy(),
                         "covered": table["covered"].round().astype(int).to_numpy(),
                         "covered_share": table["covered_share"].to_numpy(), "cpts": table["cpts"].to_numpy()}) \
        .sort_values(["covered_share", "population"], ascending=[True, False], ignore_index=True)


def coverage_report(bundle, registry: dict[str, frozenset[str]], area: Area) -> CoverageReport:
    """Coverage of ``area`` by the CPTS of ``registry`` (name → IRIS codes)."""
    everyone = Membership.of(bundle, registry)
    zone_count = len(bundle.iris)
    per_zone = np.asarray(everyone.matrix(zone_count).sum(axis=1)).ravel()
    in_area = np.bincount(everyone.cpts, weights=area.mask[everyone.iris], minlength=len(everyone.names)) > 0
    members = everyone.subset(in_area)
    node = _piece_nodes(bundle, members)
    population = bundle.iris["population"].to_numpy()
    covered = per_zone > 0
    shared = area.mask & (per_zone > 1)
    white = area.mask & ~covered
    apl = bundle.offer.apl
    white_zones = _white_zones(bundle, white)
    white_zones["apl"] = [apl[c][0] if c in apl else np.nan for c in white_zones["code"]]
    area_departements = set(bundle.iris.loc[area.mask, "departement"])
    return CoverageReport(
        area=area,
        population_total=float(population[area.mask].sum()),
        population_covered=float(population[area.mask & covered].sum()),
        population_overlap=float(population[shared].sum()),
        cpts=_cpts_table(bundle, members, node, area.mask).join(
            groups_offer(bundle, members.iris, members.cpts, len(members.names))),
        white_zones=white_zones,
        overlaps=_overlaps(bundle, members, shared),
        isolated=_isolated(bundle, everyone, covered, area.mask),
        enclosed=_enclosed(bundle, members, node, everyone),
        epci=_epci(bundle, everyone, covered, area.mask),
        offer=_white_offer(bundle, white),
        unknown_iris=everyone.unknown,
        millesime=population_millesime(bundle, area_departements),
        limits=(*data_limits(bundle, area_departements), *_offer_limits(bundle, area)),
    )


# --------------------------------------------------------------------------- tables and files

def _joined(values) -> str:
    return ", ".join(values)


def _figure(value):
    """A figure of a sheet, or « non disponible dans les données préparées » (never 0)."""
    return NOT_AVAILABLE if value is None or value != value else value


def _gp_figure(count, estimated: bool):
    """The general practitioners of a CPTS: a number, or ``≈ 72 (estimation)`` for the part of a shared commune
    (:func:`~cpts_geo.territory.offer.count_text`, never « 71,6 médecins »)."""
    return count_text({"count": count, "estimated": True}) if estimated else _figure(count)


def report_tables(report: CoverageReport, bundle) -> dict[str, pd.DataFrame]:
    """The report as tables with French headers, one per sheet of the workbook (or CSV file)."""
    names = bundle.communes["nom"]

    def described(codes) -> str:
        return _joined(f"{names[c]} ({c})" for c in codes)

    offer = report.offer
    white = offer["white_zones"]
    gp_header = f"Médecins généralistes (BPE {offer['professionals_millesime'] or ''})".replace(" )", ")")
    apl_header = f"APL médecins généralistes {offer['apl_millesime'] or ''}".strip()
    summary = pd.DataFrame({"Indicateur": ["Territoire", "Population totale", "Population couverte",
                                           "Part couverte", "Population hors CPTS", "Population en chevauchement",
                                           "Nombre de CPTS", "Communes en zone blanche", "Zones isolées",
                                           "CPTS en plusieurs morceaux", "Millésime de population",
                                           f"{apl_header} des zones blanches",
                                           "Médecins généralistes pour 10 000 hab. des zones blanches"],
                            "Valeur": [report.area.label, round(report.population_total),
                                       round(report.population_covered), round(report.covered_share, 4),
                                       round(report.population_total - report.population_covered),
                                       round(report.population_overlap), len(report.cpts), len(report.white_zones),
                                       len(report.isolated), _joined(report.several_pieces),
                                       report.millesime, _figure(white["apl"]), _figure(white["gp_per_10000"])]})
    cpts = report.cpts
    area = report.area
    enclosed = report.enclosed
    summary = pd.concat([summary, pd.DataFrame(
        {"Indicateur": ["CPTS enclavées dans une autre CPTS"], "Valeur": [report.enclosed_text()]})] + ([] if area.kind
        == "all" else [pd.DataFrame({"Indicateur": [f"CPTS débordant {area.outside}",
                                                    f"Population des CPTS {area.inside}",
                                                    f"Population des CPTS avec leurs parties {area.outside}"],
                                     "Valeur": [_joined(report.extending_outside["name"]) or "aucune",
                                                cpts["population_in_area"].sum(), cpts["population"].sum()]})]),
        ignore_index=True)
    population = {"Population": cpts["population"]} if area.kind == "all" else {
        "Population (toute la CPTS)": cpts["population"], f"Population {area.inside}": cpts["population_in_area"],
        f"Départements {area.outside}": cpts["outside_departements"].map(lambda d: _joined(map(departement_label, d)))}
    return {
        "Synthèse": summary,
        "CPTS": pd.DataFrame({"CPTS": cpts["name"], "Communes": cpts["commune_count"], "IRIS": cpts["iris_count"],
                              **population, "Taille": cpts["taille"],
                              "Tranche ACI": cpts["aci_band"], "Fonctionnement annuel (€)": cpts["funding_eur"],
                              "Morceaux": cpts["pieces"],
                              gp_header: [_gp_figure(count, estimated) for count, estimated
                                          in zip(cpts["gp_count"], cpts["gp_estimated"])],
                              "Médecins généralistes pour 10 000 hab.": cpts["gp_per_10000"].map(_figure),
                              apl_header: cpts["apl"].map(_figure),
                              "Communes détachées": cpts["detached_communes"].map(described),
                              "Départements": cpts["departements"].map(_joined),
                              "Codes des communes": cpts["communes"].map(_joined)}),
        "Zones blanches": pd.DataFrame({"Code INSEE": report.white_zones["code"],
                                        "Commune": report.white_zones["name"],
                                        "Département": report.white_zones["departement"],
                                        "Population hors CPTS": report.white_zones["population"],
                                        "Commune entière": report.white_zones["whole"].map({True: "oui", False: "non"}),
                                        apl_header: report.white_zones["apl"].map(_figure),
                                        "IRIS hors CPTS": report.white_zones["iris"].map(_joined)}),
        "Chevauchements": pd.DataFrame({"CPTS": report.overlaps["cpts"].map(" / ".join),
                                        "Communes": report.overlaps["communes"].map(described),
                                        "IRIS": report.overlaps["iris"].map(_joined),
                                        "Population concernée": report.overlaps["population"]}),
        "Zones isolées": pd.DataFrame({"Communes": report.isolated["communes"].map(described),
                                       "IRIS": report.isolated["iris"].map(_joined),
                                       "Population": report.isolated["population"],
                                       "CPTS autour": report.isolated["around"].map(_joined)}),
        "CPTS enclavées": pd.DataFrame({"CPTS": enclosed["cpts"],
                                        "Partie enclavée": enclosed["whole"].map({True: "toute la CPTS",
                                                                                  False: "une partie"}),
                                        "Enclavée dans": enclosed["around"],
                                        "Communes": enclosed["described"], "IRIS": enclosed["iris"].map(_joined),
                                        "Population": enclosed["population"]}),
        "EPCI": pd.DataFrame({"EPCI": report.epci["name"], "SIREN": report.epci["code"],
                              "Population": report.epci["population"],
                              "Population couverte": report.epci["covered"],
                              "Part couverte": report.epci["covered_share"],
                              "CPTS": report.epci["cpts"].map(_joined)}),
        "Limites": pd.DataFrame({"Limites des données": list(report.limits)}),
    }


def coverage_files(report: CoverageReport, bundle, stem: str) -> dict[str, bytes]:
    """The files of a coverage report (:func:`report_tables`), see :func:`~cpts_geo.exports.sheets.report_files`."""
    return report_files(report_tables(report, bundle), stem, f"Couverture par les CPTS — {report.area.label}",
                        "Couverture par les CPTS (vue ARS) : zones blanches, chevauchements, zones isolées, "
                        "CPTS enclavées, tailles")
