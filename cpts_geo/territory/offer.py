"""The territory's offer of care: professionals, establishments, APL and nurse zoning.

:func:`territory_offer` describes a territory (a set of IRIS) from the ``offer/`` tables of the bundle
(written and read by :mod:`cpts_geo.data.offer_tables`).

A commune split into IRIS whose source counts by commune gets an estimate pro rata population,
flagged ``estimated``; where a source does not cover the territory the count is ``None`` and a
limit says « non disponible dans les données préparées », never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cpts_geo.config import departement_of
from cpts_geo.formatting import fr_decimal, fr_int, fr_percent
from cpts_geo.data.reference import departement_label, departements_table
from cpts_geo.data.offer_tables import KINDS, OfferData
from cpts_geo.data.sources.health import ESTABLISHMENT_KINDS, NURSE_ZONING, PROFESSIONS

#: APL under which a commune is usually called « sous-dense » (consultations per year and standardised inhabitant).
APL_THRESHOLD = 2.5
NOT_AVAILABLE = "non disponible dans les données préparées"
LABELS = {kind: label for kind, label, _, _ in PROFESSIONS}
#: Order of the establishment groups in a description.
CATEGORY_ORDER = {group: rank for rank, group in enumerate(dict.fromkeys(g for _, g, _ in ESTABLISHMENT_KINDS.values()))}


@dataclass(frozen=True)
class CommuneShare:
    """A commune of a territory: its part's population and the share of the commune it is."""

    code: str
    nom: str
    departement: str
    region: str
    part: float
    share: float
    whole: bool


def commune_shares(bundle, iris_codes) -> list[CommuneShare]:
    """The communes of a territory with the share of their population it holds (1 for a whole commune)."""
    iris = bundle.iris
    positions = iris.index.get_indexer(list(iris_codes))
    # take the rows first, then convert: a whole column of text to NumPy costs milliseconds
    communes, inverse = np.unique(iris["code_insee"].take(positions).to_numpy(), return_inverse=True)
    parts = np.bincount(inverse, weights=iris["population"].to_numpy()[positions])
    sizes = np.bincount(inverse)
    rows = bundle.communes.take(bundle.communes.index.get_indexer(communes))
    shares = []
    for code, part, size, nom, dep, region, population in zip(
            communes, parts, sizes, rows["nom"], rows["departement"], rows["region"], rows["population"]):
        total = len(bundle.iris_by_commune[code])
        whole = size == total
        share = 1.0 if whole else (part / population if population > 0 else size / total)
        shares.append(CommuneShare(code, nom, dep, region, float(part), float(share), bool(whole)))
    return shares


# --------------------------------------------------------------------------- a territory's offer

@dataclass(frozen=True)
class TerritoryOffer:
    """The offer of care of a territory (JSON contract: :meth:`as_dict`)."""

    professionals: tuple[dict, ...]
    establishments: tuple[dict, ...]
    apl: dict
    nurse_zoning: tuple[dict, ...]
    limits: tuple[str, ...]
    #: Départements of the territory a source does not cover: ``{"professionals": [...], "establishments": [...]}``.
    not_covered: dict = field(default_factory=dict)
    #: How far each of those sources covers the territory (:func:`source_coverage`): None (whole),
    #: :data:`NOT_AVAILABLE` or « partiel : Gard seulement ».
    coverage: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"professionals": list(self.professionals), "establishments": list(self.establishments),
                "apl": self.apl, "nurse_zoning": list(self.nurse_zoning), "limits": list(self.limits),
                "coverage": dict(self.coverage)}


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or value != value else round(float(value), digits)


def _professionals_offer(data: OfferData, iris_codes, communes: list[CommuneShare], main: tuple[str, str],
                         uncovered: list[str], limits: list[str]) -> list[dict]:
    """Count, density and references of each kind of professional (none counted where ``uncovered``)."""
    info = data.meta.get("professionals", {})
    population = sum(c.part for c in communes)
    if uncovered:
        limits.append(f"Professionnels de santé (BPE) : {NOT_AVAILABLE} pour le(s) département(s) "
                      f"{', '.join(uncovered)}" + ("." if len(uncovered) == len({c.departement for c in communes})
                                                    else " ; aucun nombre donné pour le territoire entier."))
    zero = np.zeros(len(KINDS))
    counts = sum((data.by_iris.get(code, zero) for code in iris_codes), zero.copy())
    split = [c for c in communes if not c.whole]
    for c in communes:
        counts = counts + data.by_commune.get(c.code, zero) * c.share
    in_split = {c.code: data.by_commune.get(c.code, zero) for c in split}
    rows = []
    for k, kind in enumerate(KINDS):
        estimated = not uncovered and any(values[k] > 0 for values in in_split.values())
        count = None if uncovered else (round(float(counts[k]), 1) if estimated else int(round(counts[k])))
        row = {"kind": kind, "label": LABELS[kind], "count": count, "estimated": estimated,
               "per_10000": None if count is None or not population else round(counts[k] / population * 1e4, 2),
               "reference": {level: _rounded(data.reference.get((level, code, kind)))
                             for level, code in zip(("departement", "region", "france"), (*main, "FR"))},
               "source": info.get("source"), "millesime": info.get("millesime")}
        if estimated:
            row["split_communes"] = [{"code": c.code, "name": c.nom, "commune_count": int(in_split[c.code][k]),
                                      "share": round(c.share, 4)} for c in split if in_split[c.code][k] > 0]
        rows.append(row)
    if not uncovered:
        limits += [f"{c.nom} ({c.code}) découpée : ses professionnels sont dénombrés pour la commune entière ; la "
                   f"part du territoire est estimée au prorata de la population ({fr_percent(c.share)} de la "
                   "commune)." for c in split if c.code in data.by_commune]
    return rows


def _uncovered(data: OfferData, communes: list[CommuneShare], source: str) -> list[str]:
    """Départements of the territory that ``source`` does not cover."""
    return sorted({c.departement for c in communes} - data.covered(source))


def departement_names(codes) -> str:
    """``Gard``, ``Aude et Pyrénées-Orientales``: the names of some départements (their codes when unknown)."""
    names = departements_table().set_index("code_departement")["nom_departement"]
    listed = sorted(names.get(code, code) for code in codes)
    return " et ".join([", ".join(listed[:-1]), listed[-1]] if len(listed) > 1 else listed)



def source_coverage(data: OfferData, source: str, departements) -> str | None:
    """How far ``source`` covers the départements of a territory: None when it covers them all,
    :data:`NOT_AVAILABLE` when it covers none, « partiel : Gard seulement » (those it covers) when some."""
    covered = set(departements) & data.covered(source)
    if covered == set(departements):
        return None
    return f"partiel : {departement_names(covered)} seulement" if covered else NOT_AVAILABLE


def _establishments_offer(data: OfferData, iris_codes, uncovered: list[str], limits: list[str]) -> list[dict]:
    """FINESS establishments located in the territory's IRIS, soins de ville first."""
    if uncovered:
        limits.append(f"Établissements (FINESS) : {NOT_AVAILABLE} pour le(s) département(s) {', '.join(uncovered)}.")
    found = [e for code in iris_codes for e in data.establishments_by_iris.get(code, ())]
    return sorted(found, key=lambda e: (CATEGORY_ORDER[e["category"]], e["kind"], e["name"]))


def _apl_offer(data: OfferData, communes: list[CommuneShare], departements: list[str], limits: list[str]) -> dict:
    """APL weighted by standardised population (DREES note), and the population under the threshold; the APL of
    each of ``departements`` (the territory's, the main one first)."""
    info = data.meta.get("apl", {})
    known = [(c, data.apl[c.code]) for c in communes if c.code in data.apl]
    missing = [c.nom for c in communes if c.code not in data.apl]
    if missing:
        limits.append(f"APL : {NOT_AVAILABLE} pour {', '.join(missing)}.")
    weights = sum(c.share * pop_std for c, (_, pop_std, _) in known)
    people = sum(c.share * pop for c, (_, _, pop) in known)
    value = sum(c.share * pop_std * apl for c, (apl, pop_std, _) in known) / weights if weights else None
    under = sum(c.share * pop for c, (apl, _, pop) in known if apl < APL_THRESHOLD) / people if people else None
    if info:
        limits.append(f"APL {info.get('millesime')} (DREES) : moyenne des APL communales pondérée par la population "
                      "standardisée (part des IRIS retenus pour une commune découpée) ; part de la population sous "
                      f"le seuil de {str(APL_THRESHOLD).replace('.', ',')} consultations par an et par habitant "
                      "standardisé, repère usuel de la zone « sous-dense », en population non standardisée.")
    return {"value": _rounded(value, 3), "millesime": info.get("millesime"),
            "departement_value": _rounded(data.reference.get(("departement", departements[0], "apl")), 3),
            "departements": [{"code": code, "name": departement_label(code),
                              "value": _rounded(data.reference.get(("departement", code, "apl")), 3)}
                             for code in departements],
            "threshold": APL_THRESHOLD, "population_under_threshold_share": _rounded(under, 4),
            "source": info.get("source"),
            "communes": [{"code": c.code, "name": c.nom, "value": _rounded(apl, 3)} for c, (apl, _, _) in known]}


def territory_offer(bundle, iris_codes, data: OfferData | None = None) -> TerritoryOffer:
    """The offer of care of the territory made of ``iris_codes`` (known to ``bundle``)."""
    data = data if data is not None else bundle.offer
    limits: list[str] = []
    communes = commune_shares(bundle, iris_codes)
    by_dep: dict[str, float] = {}
    for c in communes:
        by_dep[c.departement] = by_dep.get(c.departement, 0.0) + c.part
    main = max(communes, key=lambda c: (by_dep[c.departement], c.part))
    sources = ("professionals", "establishments")
    not_covered = {source: _uncovered(data, communes, source) for source in sources}
    coverage = {source: source_coverage(data, source, by_dep) for source in sources}
    professionals = _professionals_offer(data, iris_codes, communes, (main.departement, main.region),
                                         not_covered["professionals"], limits)
    establishments = _establishments_offer(data, iris_codes, not_covered["establishments"], limits)
    apl = _apl_offer(data, communes, sorted(by_dep, key=lambda code: (code != main.departement, -by_dep[code])),
                     limits)
    nurse = tuple({"code": c.code, "name": c.nom, "class": data.nurse_zoning.get(c.code),
                   "label": NURSE_ZONING.get(data.nurse_zoning.get(c.code), NOT_AVAILABLE)} for c in communes)
    limits += source_lines(data, ("professionals", "establishments", "apl", "nurse_zoning"))
    return TerritoryOffer(tuple(professionals), tuple(establishments), apl, nurse, tuple(limits), not_covered,
                          coverage)


def source_lines(data: OfferData, keys) -> list[str]:
    """« Source : … » of each source of ``keys`` in the bundle, then the limits noted when it was prepared."""
    return [f"Source : {info['source']}." for key in keys if (info := data.meta.get(key))] + \
        list(data.meta.get("limits", []))


def groups_offer(bundle, zones: np.ndarray, groups: np.ndarray, count: int, data: OfferData | None = None
                 ) -> pd.DataFrame:
    """General practitioners and APL of many territories at once (an ARS registry, the white zones).

    ``zones`` are positions in ``bundle.iris`` and ``groups`` the territory (0..count-1) of each; an
    IRIS may be in several territories. Returns, per territory: ``gp_count`` (a commune split between
    territories counts pro rata population: ``gp_estimated``), ``gp_per_10000``, ``apl`` (weighted by
    the standardised population of each part, as in :func:`territory_offer`); NaN where not covered.
    """
    data = data if data is not None else bundle.offer
    iris, communes = bundle.iris, bundle.communes
    commune = iris["code_insee"].to_numpy()[zones]
    people = iris["population"].to_numpy()[zones]
    commune_people = communes["population"].reindex(commune).to_numpy()
    sizes = np.array([len(bundle.iris_by_commune[c]) for c in commune])
    with np.errstate(invalid="ignore", divide="ignore"):   # a commune without inhabitants: share by IRIS
        weight = np.where(commune_people > 0, people / commune_people, 1.0 / sizes)
    gp = KINDS.index("medecin_generaliste")
    zero = np.zeros(len(KINDS))
    commune_gp = np.array([data.by_commune.get(c, zero)[gp] for c in commune])
    located_gp = np.array([data.by_iris.get(c, zero)[gp] for c in iris["code_iris"].to_numpy()[zones]])
    gp_count = np.bincount(groups, weights=located_gp + commune_gp * weight, minlength=count).astype(float)
    population = np.bincount(groups, weights=people, minlength=count)
    uncovered = ~iris["departement"].iloc[zones].isin(data.covered("professionals")).to_numpy()
    gp_count[np.bincount(groups, weights=uncovered, minlength=count) > 0] = np.nan
    pairs = pd.DataFrame({"group": groups, "commune": commune, "gp": commune_gp})
    per_pair = pairs.groupby(["group", "commune"]).agg(size=("gp", "size"), gp=("gp", "first")).reset_index()
    per_pair = per_pair.merge(pd.DataFrame({"commune": commune, "total": sizes}).drop_duplicates("commune"),
                              on="commune")
    split = (per_pair["size"].to_numpy() < per_pair["total"].to_numpy()) & (per_pair["gp"].to_numpy() > 0)
    estimated = np.bincount(per_pair["group"].to_numpy(), weights=split, minlength=count) > 0
    apl = np.array([data.apl.get(c, (np.nan, np.nan, np.nan))[:2] for c in commune]).reshape(-1, 2)
    known = ~np.isnan(apl[:, 0])
    std = np.where(known, apl[:, 1] * weight, 0.0)
    apl_sum = np.bincount(groups, weights=np.where(known, apl[:, 0], 0.0) * std, minlength=count)
    std_sum = np.bincount(groups, weights=std, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({"gp_count": gp_count.round(1), "gp_estimated": estimated & ~np.isnan(gp_count),
                             "gp_per_10000": (gp_count / population * 1e4).round(2),
                             "apl": np.where(std_sum > 0, apl_sum / std_sum, np.nan).round(3)})


def establishments_geojson(data: OfferData, departement: str) -> dict:
    """Map layer of the establishments of a département: points with FINESS number, name, kind, group."""
    table = data.establishments
    table = table[table["code_insee"].map(departement_of) == departement]
    labels = {kind: label for kind, (label, _, _) in ESTABLISHMENT_KINDS.items()}
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
         "properties": {"finess": finess, "nom": name, "type": labels[kind], "categorie": category}}
        for finess, name, kind, category, lon, lat
        in table[["finess", "name", "kind", "category", "lon", "lat"]].itertuples(index=False)]}


def offer_lines(offer: dict) -> list[str]:
    """The offer of a territory (``TerritoryOffer.as_dict()``) as French text lines."""
    lines = ["Offre de soins :"]
    if professionals := professionals_line(offer):
        lines.append(f"  {professionals}")
    for p in offer["professionals"] if not professionals else ():     # counted: the source covers the territory
        reference = "  ".join(f"{name} {fr_decimal(value, 1)}" for name, value in
                              zip(("département", "région", "France"), p["reference"].values()) if value is not None)
        lines.append(f"  {p['label']} : {count_text(p)}, "
                     f"{fr_decimal(p['per_10000'], 1)} pour 10 000 habitants" + (f" ({reference})" if reference else ""))
    apl = offer["apl"]
    if apl["value"] is not None:
        references = " ; ".join(f"{d['name']} {fr_decimal(d['value'], 2)}" for d in apl["departements"])
        lines.append(f"  APL médecins généralistes {apl['millesime']} : {fr_decimal(apl['value'], 2)} (département"
                     f"{'s' if len(apl['departements']) > 1 else ''} {references}) ; population sous "
                     f"{fr_decimal(apl['threshold'], 1)} : {fr_percent(apl['population_under_threshold_share'])}")
    by_category: dict[str, int] = {}
    for e in offer["establishments"]:
        by_category[e["category"]] = by_category.get(e["category"], 0) + 1
    lines.append(f"  {establishments_line(offer)}" + (" : " + ", ".join(f"{n} {c}" for c, n in by_category.items())
                                                      if by_category else ""))
    lines.append(f"  {zoning_line(offer)}")
    return lines


def professionals_line(offer: dict) -> str | None:
    """« Professionnels de santé libéraux (BPE) : non disponible … » or « … : partiel : Aude seulement … » where the
    source does not cover the whole territory (no count is then given), None where it does."""
    status = offer.get("coverage", {}).get("professionals")
    if status is None:
        return None
    return (f"Professionnels de santé libéraux (BPE) : {status}"
            + ("" if status == NOT_AVAILABLE else " ; aucun nombre donné pour le territoire entier"))


def establishments_line(offer: dict) -> str:
    """« Établissements (FINESS) : 9 », « … : non disponible dans les données préparées » where the source covers
    none of the territory, « … : 9 (partiel : Gard seulement) » where it covers a part: never 0 for a place it
    does not cover, never a partial count unsaid."""
    status = offer.get("coverage", {}).get("establishments")
    count = len(offer["establishments"])
    if status == NOT_AVAILABLE:
        return f"Établissements (FINESS) : {status}"
    return f"Établissements (FINESS) : {count}" + (f" ({status})" if status else "")


def zoning_line(offer: dict) -> str:
    """« Zonage infirmier des communes : intermédiaire (2 communes), sur-dotée (1 commune) »."""
    counts: dict[str, int] = {}
    for z in offer["nurse_zoning"]:
        counts[z["label"]] = counts.get(z["label"], 0) + 1
    return "Zonage infirmier des communes : " + ", ".join(
        f"{label} ({n} commune{'s' if n > 1 else ''})" for label, n in sorted(counts.items()))


# --------------------------------------------------------------------------- tables of a document or a page

#: How an estimated number is marked (:func:`count_text`).
ESTIMATE_MARK = "(estimation)"
#: What « n.d. » means in the tables below.
ND_NOTE = f"n.d. : {NOT_AVAILABLE}."
ESTABLISHMENT_LABELS = {kind: label for kind, (label, _, _) in ESTABLISHMENT_KINDS.items()}


def count_text(professional: dict) -> str:
    """The number of a kind of professional (a row of ``TerritoryOffer.professionals``) as every document and page
    shows it: ``31``; ``≈ 43 (estimation)`` for an estimate (a split commune counted pro rata population, never
    « 42,6 médecins »); ``n.d.`` where the source does not cover the territory."""
    if professional["estimated"] and professional["count"] is not None:
        return f"≈\u00a0{fr_int(professional['count'])} {ESTIMATE_MARK}"
    return fr_decimal(professional["count"], 0)


def professionals_table(offer: dict) -> pd.DataFrame:
    """Professionals of a territory (``TerritoryOffer.as_dict()``): number (:func:`count_text`), density per
    10,000 inhabitants against the département, the région and France (« n.d. » where not covered)."""
    return pd.DataFrame([(p["label"], count_text(p), fr_decimal(p["per_10000"], 1),
                          *(fr_decimal(p["reference"][level], 1) for level in ("departement", "region", "france")))
                         for p in offer["professionals"]],
                        columns=["Professionnels", "Nombre", "Pour 10 000 hab.", "Département", "Région", "France"])


def establishments_table(offer: dict) -> pd.DataFrame:
    """FINESS establishments of a territory, soins de ville, then sanitaire, then médico-social."""
    names = {c["code"]: c["name"] for c in offer["nurse_zoning"]}
    return pd.DataFrame([(e["category"], ESTABLISHMENT_LABELS.get(e["kind"], e["kind"]), e["name"], e["finess"],
                          names.get(e["commune"], e["commune"]), e["iris"]) for e in offer["establishments"]],
                        columns=["Groupe", "Type", "Nom", "FINESS", "Commune", "IRIS"])


def establishment_counts(offer: dict) -> pd.DataFrame:
    """Number of establishments of each type, by group (the short form of :func:`establishments_table`)."""
    table = establishments_table(offer)
    return table.groupby(["Groupe", "Type"], sort=False).size().rename("Nombre").reset_index()


def apl_table(offer: dict) -> pd.DataFrame:
    """The APL of a territory, that of each of its départements, the « sous-dense » threshold and the population
    under it."""
    apl = offer["apl"]
    several = len(apl["departements"]) > 1
    return pd.DataFrame({"Indicateur": [f"APL médecins généralistes {apl['millesime'] or ''} du territoire".replace(
                                            "  ", " "),
                                        *(f"APL du département{' : ' + d['name'] if several else ''}"
                                          for d in apl["departements"]),
                                        "Seuil usuel de la zone « sous-dense »",
                                        "Population dans une commune sous le seuil"],
                         "Valeur": [fr_decimal(apl["value"], 2), *(fr_decimal(d["value"], 2) for d in apl["departements"]),
                                    fr_decimal(apl["threshold"], 1),
                                    fr_percent(apl["population_under_threshold_share"])]})


def communes_offer_table(offer: dict) -> pd.DataFrame:
    """Per commune of the territory: its APL and its nurse zoning class."""
    apl = {c["code"]: c["value"] for c in offer["apl"].get("communes", ())}
    return pd.DataFrame([(f"{z['name']} ({z['code']})", fr_decimal(apl.get(z["code"]), 2), z["label"])
                         for z in offer["nurse_zoning"]],
                        columns=["Commune", f"APL {offer['apl']['millesime'] or ''}".strip(), "Zonage infirmier"])


def establishment_groups(offer: dict, without=()) -> list[tuple[str, pd.DataFrame]]:
    """:func:`establishments_table` split by group: (« Soins de ville (12) », its rows without the group column
    and the columns ``without``)."""
    table = establishments_table(offer)   # sorted by group: a group is a run of rows
    groups = table["Groupe"].to_numpy()
    table = table.drop(columns=["Groupe", *without])
    starts = [i for i in range(len(groups)) if i == 0 or groups[i] != groups[i - 1]]
    return [(f"{groups[a][:1].upper()}{groups[a][1:]} ({b - a})", table.iloc[a:b].reset_index(drop=True))
            for a, b in zip(starts, [*starts[1:], len(groups)])]


# --------------------------------------------------------------------------- the drawing page's panel

#: Reference columns of the panel's professionals table, and how a sentence names them.
PANEL_REFERENCES = {"Dép.": "du département", "Rég.": "de la région", "France": "de la France"}


@dataclass(frozen=True)
class OfferPanel:
    """The offer of a territory as the drawing page shows it: French tables and sentences (no Streamlit)."""

    professionals: pd.DataFrame | None   # None where the BPE does not cover the territory (said in the notes)
    professionals_notes: tuple[str, ...]
    apl: pd.DataFrame
    establishment_groups: tuple[tuple[str, pd.DataFrame], ...]   # (« Soins de ville (12) », its establishments)
    establishments_note: str | None
    zoning: str
    communes: pd.DataFrame
    limits: tuple[str, ...]


def offer_panel(offer: TerritoryOffer) -> OfferPanel:
    """The « Offre de soins » panel of a territory, from the tables of the pre-diagnostic: estimated counts marked
    « estimation », reference densities the data do not give left out (and said), « non disponible dans les
    données préparées » where a source does not cover the territory, never 0."""
    data = offer.as_dict()
    notes = []
    if uncovered := offer.not_covered.get("professionals"):
        professionals = None
        partial = offer.coverage["professionals"] != NOT_AVAILABLE
        notes.append(f"Professionnels de santé libéraux : {offer.coverage['professionals']} (département(s) "
                     f"{', '.join(uncovered)}{' non couvert(s) : aucun nombre donné' if partial else ''}).")
    else:
        professionals = professionals_table(data)
        estimated = professionals["Nombre"].str.endswith(ESTIMATE_MARK)
        professionals = professionals.rename(columns={"Pour 10 000 hab.": "Pour 10\u202f000 hab.", "Département": "Dép.",
                                                      "Région": "Rég."})
        missing = [name for name in PANEL_REFERENCES if (professionals[name] == "n.d.").all()]
        professionals = professionals.drop(columns=missing)
        notes.append("Pour 10 000 hab. : densité du territoire" + "".join(
            f" ; {name} : densité {PANEL_REFERENCES[name]}" for name in PANEL_REFERENCES if name not in missing) + ".")
        if missing:
            notes.append(f"Densité {', '.join(PANEL_REFERENCES[name] for name in missing)} : {NOT_AVAILABLE}.")
        if estimated.any():
            notes.append("« estimation » : commune découpée, son nombre au prorata de la population des IRIS retenus.")
        if (professionals == "n.d.").any(axis=None):
            notes.append(ND_NOTE)
    if uncovered := offer.not_covered.get("establishments"):
        partial = offer.coverage["establishments"] != NOT_AVAILABLE
        establishments_note = (f"{establishments_line(data)} (département(s) {', '.join(uncovered)}"
                               f"{' non couvert(s)' if partial else ''}).")
    else:
        establishments_note = None if offer.establishments else "Aucun établissement FINESS localisé dans le territoire."
    return OfferPanel(professionals, tuple(notes), apl_table(data).replace("n.d.", NOT_AVAILABLE),
                      tuple(establishment_groups(data, without=("IRIS",))), establishments_note, zoning_line(data),
                      communes_offer_table(data).replace("n.d.", NOT_AVAILABLE), offer.limits)
