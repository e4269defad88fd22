"""Plan of full coverage of an area: who should take each white zone and each overlap.

The registry is a partition of the IRIS graph (IRIS → CPTS, or none); a proposal moves a zone
to a neighbouring CPTS. Zones are *units*: the white (or shared) part of one commune, split only
where that part is itself in several pieces. A unit lies in one commune, hence in one EPCI.

* **Overlaps** first. A shared unit is kept by the best-scoring CPTS among those that hold it and
  released by the others — except by a CPTS that releasing it would cut in two or leave empty
  (the overlap then stays, « à arbitrer »).
* The plan is computed on the région(s) of the area asked (:func:`plan_scope`), then the part asked is
  kept: a zone gets the same proposal whatever the area asked.
* **White leftovers**, on the registry without the released overlaps (:func:`_leftovers`): the white
  part of an EPCI under the floor (:class:`PlanSettings`) touching a CPTS that holds communes of that
  EPCI, then every white piece left under the floor touching a CPTS, are shared out round after
  round: every unit touching a CPTS (or a unit already given to it) goes to the best-scoring of those
  CPTS. A CPTS thus grows only into units adjacent to what it has, and each proposal keeps it in one
  piece on its own.
* **New CPTS**: each white piece left is cut by PySAL spopt's max-p regions (each region of at least
  the target minimum) over blocks — EPCI parts, or pôle catchments when EPCI are not followed — a
  block above the target maximum (a large EPCI, a city taken by IRIS) being cut first by max-p over
  its units. Only a piece with no CPTS around may be a new CPTS under the floor. New CPTS are named
  « Nouvelle CPTS N — <pôle> » (N from the most populated) and applied in the « after ».

**Score** of a unit (or zone) for a CPTS, between 0 and 1, weights in :data:`SCORE_WEIGHTS`::

    0.60 × border + 0.25 × same EPCI + 0.15 × balance

* *border*: the share of the unit's outline shared with the CPTS (with what it already has, and
  during the rounds with the units given to it) — the outline counts the sea, frontiers and the
  edge of the data too;
* *same EPCI*: 1 when the unit's EPCI is the EPCI of one of the CPTS's communes, else 0;
* *balance*: ``1 − population of the CPTS / population of the largest CPTS`` of the registry, so
  that, borders being equal, a small CPTS is preferred to a large one.

Ties go to the first CPTS by name. The effect on the taille (hence on the ACI funding, amounts of
``aci_cpts.csv``) is given with every proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from libpysal.weights import W
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial.distance import pdist, squareform
from spopt.region.maxp import _calculate_within_region_distance as within_region_distance
from spopt.region.maxp import _construction_phase as maxp_construction

from cpts_geo.region.coverage import FUNDING_ITEM, Area, CoverageReport, Membership, coverage_report
from cpts_geo.errors import InputError
from cpts_geo.exports.sheets import report_files
from cpts_geo.formatting import fr_decimal, fr_euros, fr_int, fr_percent
from cpts_geo.territory.funding import taille_number, taille_of

#: Weights of the score of a unit for a CPTS (they add up to 1).
SCORE_WEIGHTS = {"border": 0.6, "epci": 0.25, "balance": 0.15}
#: No new CPTS under this population unless it has no neighbour: a white piece under it goes to its
#: neighbouring CPTS (the smallest real CPTS are rarely under 10 000 inhabitants).
FLOOR_POPULATION = 10_000
#: Target range of a new CPTS cut from a large white piece: at least the first (max-p threshold), and a
#: commune or EPCI part above the second is cut (taille 1–2 in rural areas, 3 in cities; see README).
TARGET_POPULATION = (30_000, 100_000)
#: Communes from which people come (pôles) when new CPTS do not follow the EPCI: each white commune goes with the
#: nearest pôle before the max-p regions are drawn (about the population of a « pôle intermédiaire »).
POLE_POPULATION = 5_000
#: Seed of spopt's max-p (random construction): the same input gives the same plan.
MAXP_SEED = 19
#: Constructions of spopt's max-p regions among which the most compact is kept.
MAXP_CONSTRUCTIONS = 30
#: CPTS IRIS nearest by their boxes whose exact distance to a new CPTS is measured first.
NEAREST_CANDIDATES = 20
#: Order of the proposals by kind (then by population, largest first).
KIND_ORDER = {"isolated": 0, "white": 1, "overlap": 2, "manual": 3}
#: French names of the kinds of proposal (``manual``: a move made by hand on the « Vue ARS » page).
KIND_LABELS = {"isolated": "Zone isolée", "white": "Zone blanche", "overlap": "Chevauchement",
               "manual": "Déplacement à la main"}
#: Communes named in the French label of a zone (the others are counted).
NAMED_COMMUNES = 3


@dataclass
class Proposal:
    """Give a zone to a CPTS (``to``; None for a new CPTS), or keep a shared zone in one CPTS."""

    kind: str                       # "white", "isolated" or "overlap"
    communes: list[str]
    iris: list[str]
    population: float
    to: str | None
    score: float | None             # None for a new CPTS
    reasons: list[str]
    taille_before: int | None       # of the CPTS whose population changes (``to``, or the one releasing)
    taille_after: int | None
    released_by: list[str] = field(default_factory=list)   # overlaps: the CPTS that give the zone up
    new_name: str | None = None     # a new CPTS: « Nouvelle CPTS 1 — <pôle> »

    def destination(self) -> str:
        """Where the zone goes, in French."""
        return f"« {self.to} »" if self.to else f"nouvelle CPTS « {self.new_name} »"

    def zone_label(self, bundle) -> str:
        """The zone in French: its most populated communes by name (and code), the number of the others, its
        population."""
        named = bundle.communes.loc[self.communes].reset_index(drop=True).sort_values(
            ["population", "code_insee"], ascending=[False, True]).head(NAMED_COMMUNES)
        names = [f"{name} ({code})" for name, code in zip(named["nom"], named["code_insee"])]
        more = len(self.communes) - NAMED_COMMUNES
        return ", ".join(names) + (f" et {more} autre(s) commune(s)" if more > 0 else "") + \
            f" : {fr_int(self.population)} habitants"

    def as_dict(self) -> dict:
        """The proposal in the JSON contract of ``coverage --propose --json``."""
        return {"zone": {"communes": self.communes, "iris": self.iris, "population": round(self.population)},
                "kind": self.kind, "to": self.to, "new_cpts": self.new_name, "score": None if self.score is None else round(self.score, 3),
                "reasons": self.reasons, "taille_before": self.taille_before, "taille_after": self.taille_after}


@dataclass
class Plan:
    """The proposals for an area, the registry before and after applying them all, and both coverage reports."""

    proposals: list[Proposal]
    registry: dict[str, frozenset[str]]
    before: CoverageReport
    after: CoverageReport
    registry_after: dict[str, frozenset[str]]

    def new_cpts(self) -> tuple[str, ...]:
        """Names of the new CPTS proposed, most populated first."""
        return tuple(p.new_name for p in sorted(self.proposals, key=lambda p: -p.population) if p.new_name)

    def moved(self) -> list[str]:
        """IRIS codes the proposals give to existing CPTS."""
        return [code for p in self.proposals if p.to for code in p.iris]

    def as_dict(self) -> dict:
        """``proposals``, ``after`` (contract of ``coverage --propose --json``) and the before/after figures."""
        return {"proposals": [p.as_dict() for p in self.proposals],
                "after": {"white_zones": len(self.after.white_zones),
                          "covered_share": round(self.after.covered_share, 4),
                          "several_pieces": self.after.several_pieces},
                "before_after": {"before": outcome(self.before), "after": outcome(self.after),
                                 "cpts": _records(comparison(self))}}


def _records(table: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts (integers as ``int``, a missing figure as ``None``)."""
    return [{key: None if pd.isna(value) else (int(value) if key != "name" else value) for key, value in row.items()}
            for row in table.to_dict(orient="records")]


def outcome(report: CoverageReport) -> dict:
    """The figures a plan changes: white zones, coverage, overlaps, pieces, CPTS per taille, yearly ACI total."""
    tailles = report.cpts["taille"].value_counts()
    return {"white_zones": len(report.white_zones), "covered_share": round(report.covered_share, 4),
            "white_population": round(report.population_total - report.population_covered),
            "overlaps": len(report.overlaps), "several_pieces": report.several_pieces, "cpts": len(report.cpts),
            "cpts_per_taille": {str(t): int(tailles.get(t, 0)) for t in range(1, 5)},
            "aci_total_eur": int(report.cpts["funding_eur"].fillna(0).sum())}


def before_after_lines(plan: Plan) -> list[str]:
    """The area's figures before and after all the proposals, in French, one line each."""
    before, after = outcome(plan.before), outcome(plan.after)

    def pieces(figures):
        return ", ".join(figures["several_pieces"]) or "aucune"

    tailles = " ; ".join(f"taille {t} : {before['cpts_per_taille'][t]} → {after['cpts_per_taille'][t]}"
                         for t in before["cpts_per_taille"])
    return [f"Population couverte : {fr_percent(plan.before.covered_share, 2)} → {fr_percent(plan.after.covered_share, 2)}.",
            f"Population hors CPTS : {fr_int(before['white_population'])} → {fr_int(after['white_population'])} "
            "habitants.",
            f"Communes en zone blanche : {before['white_zones']} → {after['white_zones']}.",
            f"Chevauchements : {before['overlaps']} → {after['overlaps']}.",
            f"CPTS : {before['cpts']} → {after['cpts']} ({tailles}).",
            f"Fonctionnement ACI par an, total : {fr_euros(before['aci_total_eur'])} → "
            f"{fr_euros(after['aci_total_eur'])}.",
            f"CPTS en plusieurs morceaux : {pieces(before)} → {pieces(after)}."]


def comparison(plan: Plan) -> pd.DataFrame:
    """Per CPTS (of the area before or after), before and after the plan: population, taille, funding, pieces."""
    columns = ["population", "taille", "funding_eur", "pieces"]
    before = plan.before.cpts.set_index("name")[columns]
    after = plan.after.cpts.set_index("name")[columns]
    table = before.add_suffix("_before").join(after.add_suffix("_after"), how="outer")
    table = table[[f"{c}_{when}" for c in columns for when in ("before", "after")]]
    return table.astype("Int64").reset_index().rename(columns={"index": "name"})


def plan_tables(plan: Plan, bundle) -> dict[str, pd.DataFrame]:
    """The plan as tables with French headers, one per sheet (see :func:`plan_files`, which makes every cell inert):
    the proposals, the new CPTS (most populated first), the area before/after, each CPTS before/after."""
    names = bundle.communes["nom"]
    proposals = pd.DataFrame({
        "N°": range(1, len(plan.proposals) + 1),
        "Type": [KIND_LABELS[p.kind] for p in plan.proposals],
        "Communes": [", ".join(f"{names.get(c, c)} ({c})" for c in p.communes) for p in plan.proposals],
        "IRIS": [", ".join(p.iris) for p in plan.proposals],
        "Population": [round(p.population) for p in plan.proposals],
        "Proposée à": [p.to or f"{p.new_name} (à créer)" for p in plan.proposals],
        "Retirée de": [", ".join(p.released_by) for p in plan.proposals],
        "Score": [None if p.score is None else round(p.score, 3) for p in plan.proposals],
        "Taille avant": [p.taille_before for p in plan.proposals],
        "Taille après": [p.taille_after for p in plan.proposals],
        "Motifs": [" ".join(p.reasons) for p in plan.proposals],
    })
    before, after = outcome(plan.before), outcome(plan.after)
    labels = {"covered_share": "Part de la population couverte", "white_population": "Population hors CPTS",
              "white_zones": "Communes en zone blanche", "overlaps": "Chevauchements (paires de CPTS)",
              "cpts": "Nombre de CPTS", "aci_total_eur": "Fonctionnement ACI par an, total (€)"}
    rows = [(label, before[key], after[key]) for key, label in labels.items()]
    rows += [(f"CPTS de taille {t}", before["cpts_per_taille"][t], after["cpts_per_taille"][t])
             for t in before["cpts_per_taille"]]
    rows.append(("CPTS en plusieurs morceaux", ", ".join(before["several_pieces"]), ", ".join(after["several_pieces"])))
    per_cpts = comparison(plan).rename(columns={
        "name": "CPTS", "population_before": "Population avant", "population_after": "Population après",
        "taille_before": "Taille avant", "taille_after": "Taille après",
        "funding_eur_before": "Fonctionnement ACI avant (€/an)", "funding_eur_after": "Fonctionnement ACI après (€/an)",
        "pieces_before": "Morceaux avant", "pieces_after": "Morceaux après"})
    new = sorted((p for p in plan.proposals if p.new_name), key=lambda p: (-p.population, p.new_name))
    poles = [pole_of(bundle, p.communes) for p in new]
    new_cpts = pd.DataFrame({
        "Nouvelle CPTS": [p.new_name for p in new],
        "Pôle (commune la plus peuplée)": [f"{names.get(c, c)} ({c})" for c in poles],
        "Population": [round(p.population) for p in new],
        "Taille": [p.taille_after for p in new],
        "Fonctionnement ACI (€/an)": [yearly_funding(bundle, p.population) for p in new],
        "Nombre de communes": [len(p.communes) for p in new],
        "Communes": [", ".join(f"{names.get(c, c)} ({c})" for c in p.communes) for p in new],
        "IRIS": [", ".join(p.iris) for p in new],
    })
    return {"Propositions": proposals, "Nouvelles CPTS": new_cpts,
            "Avant-après": pd.DataFrame(rows, columns=[f"Indicateur ({plan.before.area.label})", "Avant", "Après"]),
            "Avant-après par CPTS": per_cpts}


def plan_files(plan: Plan, bundle, stem: str) -> dict[str, bytes]:
    """The files of a plan of full coverage (:func:`plan_tables`), see :func:`~cpts_geo.exports.sheets.report_files`."""
    return report_files(plan_tables(plan, bundle), stem, f"Plan de couverture complète — {plan.before.area.label}",
                        "Propositions pour une couverture complète par les CPTS, situation avant et après")


# --------------------------------------------------------------------------- units

@dataclass
class _Units:
    """Units over the IRIS positions ``zones``: ``label[i]`` is the unit of ``zones[i]``."""

    zones: np.ndarray
    label: np.ndarray
    count: int
    indicator: sparse.csr_matrix      # units × IRIS

    @classmethod
    def of(cls, bundle, mask: np.ndarray, key: np.ndarray | None = None) -> "_Units":
        """Units of the IRIS in ``mask``: connected within one commune (and one ``key``, e.g. a set of CPTS)."""
        zones = np.flatnonzero(mask)
        group = bundle.iris["code_insee"].to_numpy()[zones]
        if key is not None:
            group = group + "|" + key[zones]
        graph = _same_label_edges(bundle.iris_graph.matrix[zones][:, zones], group)
        count, label = csgraph.connected_components(graph, directed=False)
        count, label = _islands_joined(label, group, bundle.iris["landmass"].to_numpy()[zones])
        indicator = sparse.csr_matrix((np.ones(len(zones)), (label, zones)), shape=(count, len(bundle.iris)))
        return cls(zones, label, count, indicator)

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per unit sum of a value over the IRIS positions."""
        return np.bincount(self.label, weights=values[self.zones], minlength=self.count)

    def first(self, values: np.ndarray) -> np.ndarray:
        """Per unit value of its first IRIS (for values shared by the IRIS of a unit: commune, EPCI)."""
        result = np.empty(self.count, dtype=values.dtype)
        result[self.label[::-1]] = values[self.zones[::-1]]
        return result

    def positions(self, unit_ids) -> np.ndarray:
        return self.zones[np.isin(self.label, unit_ids)]

    def borders(self, bundle, member: sparse.csr_matrix) -> tuple[sparse.csr_matrix, np.ndarray, sparse.csr_matrix]:
        """Border (m) of each unit with each CPTS outside the unit (units × CPTS), the whole outline of each unit
        (shared or on the sea, a frontier, the edge of the data), and the border between units."""
        border = (self.indicator @ bundle.iris_graph.matrix).tocsr()      # units × IRIS
        border = border - border.multiply(self.indicator)                 # not with the unit's own IRIS
        outline = np.asarray(border.sum(axis=1)).ravel() + self.sums(bundle.iris["open_m"].to_numpy())
        between = (border @ self.indicator.T).tolil()
        between.setdiag(0)
        return (border @ member).tocsr(), np.maximum(outline, 1.0), between.tocsr()


def _islands_joined(label: np.ndarray, group: np.ndarray, landmass: np.ndarray) -> tuple[int, np.ndarray]:
    """Units renumbered so that the parts of a group (commune) on another land mass than its largest part
    (its islands) join that part: an island goes with its commune."""
    parts = pd.DataFrame({"label": label, "group": group, "landmass": landmass})
    sizes = parts.groupby(["group", "label", "landmass"]).size().rename("size").reset_index()
    main = sizes.sort_values(["group", "size", "label"], ascending=[True, False, True]).drop_duplicates("group")
    sizes = sizes.merge(main.rename(columns={"label": "main", "landmass": "main_landmass"})[
        ["group", "main", "main_landmass"]], on="group")
    target = dict(zip(sizes["label"], np.where(sizes["landmass"] != sizes["main_landmass"], sizes["main"],
                                               sizes["label"])))
    _, relabelled = np.unique(np.array([target[x] for x in label]), return_inverse=True)
    return int(relabelled.max()) + 1 if len(label) else 0, relabelled.ravel()


class _Scorer:
    """Scores of zones for CPTS (see :data:`SCORE_WEIGHTS`), with the facts behind them for the reasons."""

    def __init__(self, bundle, names: list[str], member: sparse.csr_matrix):
        self.bundle = bundle
        self.names = names
        self.population = np.asarray(member.T @ bundle.iris["population"].to_numpy()).ravel()
        self.balance = 1 - self.population / max(self.population.max(initial=0), 1)
        epci = (bundle.iris["code_insee"].map(bundle.communes["epci"]).fillna("").to_numpy(dtype=object)
                if "epci" in bundle.communes else np.full(len(bundle.iris), "", dtype=object))
        self.iris_epci = epci
        self.epci_codes, epci_index = np.unique(epci, return_inverse=True)
        self.epci_index = epci_index.ravel()
        cpts_of, iris_of = member.T.nonzero()
        self.cpts_epci = np.zeros((len(names), len(self.epci_codes)), dtype=bool)
        self.cpts_epci[cpts_of, self.epci_index[iris_of]] = True
        self.cpts_epci[:, self.epci_codes == ""] = False

    def score(self, share, same_epci, cpts):
        """Score(s) from the border share(s), same-EPCI flag(s) and CPTS position(s) (broadcast)."""
        return (SCORE_WEIGHTS["border"] * np.asarray(share) + SCORE_WEIGHTS["epci"] * np.asarray(same_epci)
                + SCORE_WEIGHTS["balance"] * self.balance[cpts])

    def same_epci(self, positions: np.ndarray, cpts: int) -> list[str]:
        """EPCI of the IRIS ``positions`` that are also EPCI of the CPTS."""
        codes = set(self.epci_index[positions])
        return [self.epci_codes[e] for e in sorted(codes) if self.cpts_epci[cpts, e]]

    def epci_label(self, code: str) -> str:
        epci = self.bundle.epci
        return str(epci["nom"].get(code, code)) if len(epci) else code

    def zone_score(self, border_m: float, outline_m: float, positions: np.ndarray, cpts: int) -> tuple[float, list]:
        """Score of a zone (IRIS ``positions``) for a CPTS, and its reasons in French."""
        share = border_m / max(outline_m, 1.0)
        same = self.same_epci(positions, cpts)
        reasons = [f"Frontière commune de {border_m / 1000:.1f} km".replace(".", ",")
                   + f" ({fr_percent(min(share, 1.0), 0)} du pourtour de la zone).",
                   (f"Même intercommunalité : {', '.join(self.epci_label(e) for e in same)}." if same
                    else "Pas d'intercommunalité commune avec la CPTS."),
                   f"Population actuelle de la CPTS : {fr_int(self.population[cpts])} habitants."]
        return float(self.score(min(share, 1.0), bool(same), cpts)), reasons


# --------------------------------------------------------------------------- taille and funding

def yearly_funding(bundle, population: float) -> int | None:
    """Yearly ACI operating funding (after avenant 2) of a CPTS of that population, None when not in the data."""
    return next((f["amount_eur"] for f in taille_of(population, bundle.aci).funding if f["item"] == FUNDING_ITEM),
                None)


def _taille_reason(bundle, before: float, after: float, name: str) -> str:
    t0, t1 = taille_number(before), taille_number(after)
    if t0 == t1:
        return f"Taille inchangée pour « {name} » ({t0}) : {fr_int(before)} → {fr_int(after)} habitants."
    f0, f1 = yearly_funding(bundle, before), yearly_funding(bundle, after)
    money = f" ; fonctionnement ACI {fr_euros(f0)} → {fr_euros(f1)} par an" if None not in (f0, f1) else ""
    return (f"Changement de taille pour « {name} » : {t0} → {t1} ({fr_int(before)} → {fr_int(after)} "
            f"habitants){money}.")


# --------------------------------------------------------------------------- overlaps

def _pieces(bundle, mask: np.ndarray) -> int:
    """Pieces of the IRIS in ``mask``, islands on another land mass not counted."""
    landmass = bundle.iris["landmass"].to_numpy()
    return len(bundle.iris_graph.components(mask)) - len(set(landmass[mask])) + 1 if mask.any() else 0


def _overlap_proposals(bundle, names, member: sparse.csr_matrix, scorer: _Scorer,
                       shared: np.ndarray) -> tuple[list[Proposal], sparse.csr_matrix]:
    """For each shared unit, the CPTS that keeps it; and the membership with the releases applied."""
    key = np.full(member.shape[0], "", dtype=object)
    for zone in np.flatnonzero(shared):
        key[zone] = "-".join(map(str, member[zone].indices))
    units = _Units.of(bundle, shared, key)
    if not units.count:
        return [], member
    border, outline, _ = units.borders(bundle, member)
    holds = {}          # CPTS position → mask of its IRIS, as releases go

    def mask_of(c):
        if c not in holds:
            holds[c] = np.zeros(member.shape[0], dtype=bool)
            holds[c][member[:, c].nonzero()[0]] = True
        return holds[c]

    def cannot_release(c, zones) -> bool:
        mask = mask_of(c).copy()
        before = _pieces(bundle, mask)
        mask[zones] = False
        return not mask.any() or _pieces(bundle, mask) > before

    population = units.sums(bundle.iris["population"].to_numpy())
    proposals, released_pairs = [], []
    for u in range(units.count):
        zones = units.zones[units.label == u]
        sharing = list(member[zones[0]].indices)
        outside = border[u].toarray().ravel()
        ranked = sorted(sharing, key=lambda c: -scorer.zone_score(outside[c], outline[u], zones, c)[0])
        blocked = {c: cannot_release(c, zones) for c in sharing}
        keeper = next((c for c in ranked if not any(blocked[o] for o in sharing if o != c)), ranked[0])
        released = [c for c in sharing if c != keeper and not blocked[c]]
        kept_too = [c for c in sharing if c != keeper and blocked[c]]
        for c in released:
            mask_of(c)[zones] = False
            released_pairs.append((zones, c))
        score, reasons = scorer.zone_score(outside[keeper], outline[u], zones, keeper)
        pop = float(population[u])
        if released:
            reasons.append(f"Retirée de : {', '.join(f'« {names[c]} »' for c in released)}.")
            reasons += [_taille_reason(bundle, scorer.population[c], scorer.population[c] - pop, names[c])
                        for c in released]
        if kept_too:
            reasons.append("À arbitrer : la retirer couperait en deux ou viderait « "
                           + " », « ".join(names[c] for c in kept_too) + " » ; le chevauchement reste.")
        changed = released[0] if released else keeper
        after = scorer.population[changed] - (pop if released else 0)
        proposals.append(Proposal("overlap", *_codes(bundle, zones), pop, names[keeper], score, reasons,
                                  taille_number(scorer.population[changed]), taille_number(after),
                                  released_by=[names[c] for c in released]))
    if released_pairs:
        rows = np.concatenate([z for z, _ in released_pairs])
        cols = np.concatenate([np.full(len(z), c) for z, c in released_pairs])
        removed = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=member.shape)
        member = (member - member.multiply(removed)).tocsr()
        member.eliminate_zeros()
    return proposals, member


def _codes(bundle, positions: np.ndarray) -> tuple[list[str], list[str]]:
    """Communes and IRIS codes of IRIS positions, sorted."""
    iris = bundle.iris.iloc[np.sort(positions)]
    return sorted(set(iris["code_insee"])), sorted(iris["code_iris"])


# --------------------------------------------------------------------------- white zones

def _grow(border: sparse.csr_matrix, outline: np.ndarray, between: sparse.csr_matrix, scorer: _Scorer,
          unit_epci: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Owner (CPTS position, or -1) of each unit: round after round, every ``allowed`` unit touching a CPTS (or
    units given to it) goes to the best-scoring of them; all units of a round are scored on the same state."""
    owner = np.full(len(allowed), -1)
    columns = np.unique(border[allowed].indices)
    if not len(columns):
        return owner
    grown = border[:, columns].toarray()
    grown[~allowed] = 0
    same = scorer.cpts_epci[columns][:, unit_epci].T            # units × columns
    while True:
        candidates = np.flatnonzero((owner < 0) & (grown.max(axis=1) > 0))
        if not len(candidates):
            return owner
        share = np.minimum(grown[candidates] / outline[candidates, None], 1.0)
        scores = np.where(grown[candidates] > 0, scorer.score(share, same[candidates], columns), -1.0)
        best = scores.argmax(axis=1)
        owner[candidates] = columns[best]
        given = sparse.csr_matrix((np.ones(len(candidates)), (candidates, best)), shape=grown.shape)
        grown += np.asarray((between @ given).todense())
        grown[(owner >= 0) | ~allowed] = 0


def _components(graph: sparse.csr_matrix, mask: np.ndarray) -> np.ndarray:
    """Connected component of each node of ``graph`` restricted to ``mask`` (-1 outside the mask)."""
    label = np.full(graph.shape[0], -1)
    selected = np.flatnonzero(mask)
    if len(selected):
        label[selected] = csgraph.connected_components(graph[selected][:, selected], directed=False)[1]
    return label


def _leftovers(between: sparse.csr_matrix, border: sparse.csr_matrix, population: np.ndarray,
               unit_epci: np.ndarray, scorer: _Scorer, floor: float) -> np.ndarray:
    """The white units to give to neighbouring CPTS: the white part of an EPCI under ``floor`` inhabitants
    touching a CPTS that holds communes of that EPCI (the rest of its EPCI), then every piece left under
    ``floor`` inhabitants that touches a CPTS or those units (too small for a CPTS of its own)."""
    block = _components(_same_label_edges(between, unit_epci), np.ones(len(population), dtype=bool))
    touching = border.tocoo()
    same_epci_touch = np.zeros(len(population), dtype=bool)
    same_epci_touch[touching.row[scorer.cpts_epci[touching.col, unit_epci[touching.row]]]] = True
    block_population = np.bincount(block, weights=population)
    block_touch = np.bincount(block, weights=same_epci_touch) > 0
    attach = (block_population < floor)[block] & block_touch[block]
    piece = _components(between, ~attach)
    reaches = (border.getnnz(axis=1) > 0) | (np.asarray(between @ attach).ravel() > 0)
    small = np.zeros(len(population), dtype=bool)
    if (~attach).any():
        piece_population = np.bincount(piece[~attach], weights=population[~attach])
        piece_reaches = np.bincount(piece[~attach], weights=reaches[~attach]) > 0
        small[~attach] = (piece_population < floor)[piece[~attach]] & piece_reaches[piece[~attach]]
    return attach | small


def _max_p(graph: sparse.csr_matrix, population: np.ndarray, centre: np.ndarray, threshold: float) -> np.ndarray:
    """Region of each node of a connected ``graph``: PySAL spopt's max-p regions (as many contiguous regions as
    possible, each of at least ``threshold`` inhabitants), the most compact of :data:`MAXP_CONSTRUCTIONS`
    constructions (sum of distances between population centres within regions), with a fixed seed so that the
    same input gives the same regions. spopt's simulated annealing that follows is not run: it loops forever when
    a region can give up an inner unit but no unit on its border (spopt 0.7), as in small white pieces."""
    if len(population) < 2 or population.sum() < 2 * threshold:
        return np.zeros(len(population), dtype=int)
    neighbours = W({i: graph[i].indices.tolist() for i in range(len(population))}, silence_warnings=True)
    distance = squareform(pdist(centre / 1000, metric="cityblock"))
    state = np.random.get_state()
    np.random.seed(MAXP_SEED)
    try:
        _, constructions = maxp_construction(np.arange(len(population)), centre, population, distance, neighbours,
                                             threshold, 2, MAXP_CONSTRUCTIONS)
    finally:
        np.random.set_state(state)
    labels, _, _ = min(constructions, key=lambda c: within_region_distance(c[1], distance))
    return np.unique(np.asarray(labels), return_inverse=True)[1].ravel()


def _catchments(between: sparse.csr_matrix, centre: np.ndarray, commune: np.ndarray,
                commune_population: np.ndarray) -> np.ndarray:
    """Block of each unit when EPCI are not followed: the pôle (commune of at least :data:`POLE_POPULATION`
    inhabitants) nearest along the adjacency graph (distances between population centres), i.e. where people
    go; a unit that reaches no pôle is a block of its own."""
    edges = between.tocoo()
    length = sparse.csr_matrix((np.hypot(*(centre[edges.row] - centre[edges.col]).T) + 1.0, (edges.row, edges.col)),
                               shape=between.shape)
    poles = np.flatnonzero(commune_population >= POLE_POPULATION)
    block = np.arange(len(commune)) + len(commune)
    if len(poles):
        _, _, source = csgraph.dijkstra(length, directed=False, indices=poles, min_only=True,
                                         return_predecessors=True)
        reached = source >= 0
        block[reached] = np.unique(commune, return_inverse=True)[1].ravel()[source[reached]]
    return np.unique(block, return_inverse=True)[1].ravel()


def _regions(between: sparse.csr_matrix, population: np.ndarray, centre: np.ndarray, block: np.ndarray,
             settings: "PlanSettings") -> np.ndarray:
    """New CPTS of one connected white piece (region of each unit): max-p regions of at least
    ``settings.target_min`` inhabitants over whole blocks (EPCI parts, or pôle catchments), a block above
    ``settings.target_max`` being cut first into max-p regions of its own units."""
    count = len(population)
    block = _components(_same_label_edges(between, block), np.ones(count, dtype=bool))
    for b in np.unique(block):
        inside = np.flatnonzero(block == b)
        if population[inside].sum() > settings.target_max:
            parts = _max_p(between[inside][:, inside], population[inside], centre[inside], settings.target_min)
            block[inside[parts > 0]] = block.max() + 1 + parts[parts > 0]
    block = np.unique(block, return_inverse=True)[1].ravel()
    indicator = sparse.csr_matrix((np.ones(count), (block, np.arange(count))))
    block_graph = (indicator @ between @ indicator.T).tolil()
    block_graph.setdiag(0)
    block_population = indicator @ population
    block_centre = (indicator @ (centre * population[:, None])) / np.maximum(block_population, 1)[:, None]
    return _max_p(block_graph.tocsr(), block_population, block_centre, settings.target_min)[block]


@dataclass
class _White:
    """The white units of a plan with what the proposals need: borders with CPTS and between units, outline,
    population, EPCI, population centre."""

    units: _Units
    border: sparse.csr_matrix       # units × CPTS (m)
    outline: np.ndarray
    between: sparse.csr_matrix      # units × units (m)
    population: np.ndarray
    epci: np.ndarray
    centre: np.ndarray              # population centre of each unit (m, in the IRIS' projection)
    commune: np.ndarray             # code
    commune_population: np.ndarray

    @classmethod
    def of(cls, bundle, member, scorer: _Scorer, white: np.ndarray, target_max: float) -> "_White":
        """The units of the ``white`` IRIS: white parts of communes, and single IRIS in a commune of more than
        ``target_max`` inhabitants (so that a large city can be cut)."""
        iris = bundle.iris
        city = iris["code_insee"].map(bundle.communes["population"]).fillna(0).to_numpy() > target_max
        units = _Units.of(bundle, white, np.where(city, iris["code_iris"].to_numpy(dtype=object), ""))
        border, outline, between = units.borders(bundle, member)
        weights = np.maximum(iris["population"].to_numpy(), 1)
        centre = np.column_stack([units.sums((iris["xmin"] + iris["xmax"]).to_numpy() / 2 * weights),
                                  units.sums((iris["ymin"] + iris["ymax"]).to_numpy() / 2 * weights)])
        commune = units.first(iris["code_insee"].to_numpy(dtype=object))
        return cls(units, border, outline, between, units.sums(iris["population"].to_numpy()),
                   units.first(scorer.epci_index), centre / units.sums(weights)[:, None], commune,
                   bundle.communes["population"].reindex(commune).fillna(0).to_numpy())


@dataclass
class _NewZone:
    """Units (positions in :class:`_White`) of a new CPTS, and the white piece it was cut from."""

    units: np.ndarray
    piece_population: float
    piece_regions: int


def _white_proposals(bundle, names, member, scorer: _Scorer, white_mask: np.ndarray, enclosed: np.ndarray,
                     settings: "PlanSettings") -> list[Proposal]:
    """Proposals for the white IRIS of ``white_mask``: leftovers to neighbouring CPTS, the rest cut into new
    CPTS."""
    if not white_mask.any():
        return []
    white = _White.of(bundle, member, scorer, white_mask, settings.target_max)
    owner = _grow(white.border, white.outline, white.between, scorer, white.epci,
                  _leftovers(white.between, white.border, white.population, white.epci, scorer, settings.floor))
    given = _components(_same_label_edges(white.between, owner), owner >= 0)
    proposals = []
    for g in np.unique(given[owner >= 0]):
        chosen = np.flatnonzero(given == g)
        proposals.append(_attachment(bundle, names, scorer, white, chosen, int(owner[chosen[0]]), enclosed))
    piece = _components(white.between, owner < 0)
    new = []
    for p in np.unique(piece[owner < 0]):
        inside = np.flatnonzero(piece == p)
        between = white.between[inside][:, inside]
        block = white.epci[inside] if settings.respect_epci else _catchments(
            between, white.centre[inside], white.commune[inside], white.commune_population[inside])
        region = _regions(between, white.population[inside], white.centre[inside], block, settings)
        new += [_NewZone(inside[region == r], float(white.population[inside].sum()), int(region.max()) + 1)
                for r in np.unique(region)]
    return proposals + _new_cpts(bundle, names, member, white, enclosed, new, settings)


def _attachment(bundle, names, scorer: _Scorer, white: _White, chosen: np.ndarray, cpts: int,
                enclosed: np.ndarray) -> Proposal:
    """The proposal giving the connected units ``chosen`` to the CPTS ``cpts`` that grew into them."""
    positions = white.units.positions(chosen)
    population = float(white.population[chosen].sum())
    outer = white.outline[chosen].sum() - white.between[chosen][:, chosen].sum()
    score, reasons = scorer.zone_score(float(white.border[chosen][:, cpts].sum()), outer, positions, cpts)
    before = scorer.population[cpts]
    reasons.append(_taille_reason(bundle, before, before + population, names[cpts]))
    kind = "isolated" if enclosed[positions].all() else "white"
    return Proposal(kind, *_codes(bundle, positions), population, names[cpts], score, reasons,
                    taille_number(before), taille_number(before + population))


def pole_of(bundle, communes) -> str:
    """The pôle of a zone: its most populated commune (code; the first code on a tie)."""
    table = bundle.communes.loc[sorted(communes)]
    return str(table["population"].fillna(0).idxmax())


def _same_label_edges(graph: sparse.csr_matrix, label: np.ndarray) -> sparse.csr_matrix:
    """The edges of ``graph`` between nodes of the same ``label``."""
    edges = graph.tocoo()
    keep = label[edges.row] == label[edges.col]
    return sparse.csr_matrix((edges.data[keep], (edges.row[keep], edges.col[keep])), shape=graph.shape)


def _new_cpts(bundle, names, member, white: _White, enclosed: np.ndarray, zones: list[_NewZone],
              settings: "PlanSettings") -> list[Proposal]:
    """A proposal per new CPTS, numbered from the most populated (« Nouvelle CPTS 1 — <pôle> »)."""
    zones = sorted(zones, key=lambda z: (-white.population[z.units].sum(), min(white.units.positions(z.units))))
    proposals, far = [], []          # far: the new CPTS touching no CPTS (their number, IRIS positions)
    for number, zone in enumerate(zones, 1):
        positions = white.units.positions(zone.units)
        communes, iris = _codes(bundle, positions)
        population = float(white.population[zone.units].sum())
        pole = pole_of(bundle, communes)
        pole_name = bundle.communes.at[pole, "nom"]
        reasons = [f"Zone blanche de {fr_int(population)} habitants autour de {pole_name} ({pole}, "
                   f"{fr_int(bundle.communes.at[pole, 'population'])} habitants, sa commune la plus peuplée)."]
        if zone.piece_regions > 1:
            reasons.append(f"Ensemble hors CPTS d'un seul tenant de {fr_int(zone.piece_population)} habitants, découpé "
                           f"en {zone.piece_regions} nouvelles CPTS contiguës d'au moins {fr_int(settings.target_min)} "
                           "habitants chacune" + (" en suivant les intercommunalités" if settings.respect_epci else "")
                           + ".")
        elif population >= settings.floor:
            reasons.append(f"Ensemble hors CPTS d'un seul tenant de {fr_int(population)} habitants, au moins "
                           f"{fr_int(settings.floor)} : une nouvelle CPTS plutôt que d'agrandir une voisine.")
        else:
            reasons.append(f"Moins de {fr_int(settings.floor)} habitants, mais aucune CPTS voisine à qui la rattacher "
                           "(zone sans voisine couverte) : proposée seule.")
        funding = yearly_funding(bundle, population)
        money = f" ; fonctionnement ACI {fr_euros(funding)} par an" if funding is not None else ""
        reasons.append(f"Taille de la nouvelle CPTS : {taille_number(population)}{money}.")
        touching = np.unique(white.border[zone.units].indices)
        if len(touching):
            reasons.append("CPTS voisines : " + ", ".join(f"« {names[c]} »" for c in touching) + ".")
        else:
            far.append((len(proposals), positions))
        kind = "isolated" if enclosed[positions].all() else "white"
        proposals.append(Proposal(kind, communes, iris, population, None, None, reasons, None,
                                  taille_number(population), new_name=f"Nouvelle CPTS {number} — {pole_name}"))
    for (number, _), nearest in zip(far, _nearest_cpts(bundle, member, names, [positions for _, positions in far])):
        proposals[number].reasons.append(f"CPTS la plus proche : « {nearest[0]} », à {fr_decimal(nearest[1] / 1000, 1)} "
                                         "km de frontière à frontière." if nearest else
                                         "Aucune CPTS du registre sur ce territoire.")
    return proposals


def _nearest_cpts(bundle, member, names, zones: list[np.ndarray]) -> list[tuple[str, float] | None]:
    """For each zone (IRIS positions), the CPTS nearest border to border and the distance (m, in the zone's
    projection); None when no CPTS lies in that projection. Candidates are taken by the distance between boxes
    (never more than the true distance) until no box is nearer than the nearest shape found."""
    iris = bundle.iris
    held, cpts_of = member.nonzero()
    crs = iris["crs"].to_numpy()
    box = iris[["xmin", "ymin", "xmax", "ymax"]].to_numpy()
    needed = np.unique(np.concatenate([held, *zones])) if zones else held
    geometry = bundle.iris_geometry(iris.index[needed]).geometry
    projected = {code: pd.Series(geometry[crs[needed] == code].to_crs(code).to_numpy(),
                                 index=needed[crs[needed] == code]) for code in np.unique(crs[needed])}
    found = []
    for positions in zones:
        here = crs[positions[0]]
        candidates, owners = held[crs[held] == here], cpts_of[crs[held] == here]
        if not len(candidates):
            found.append(None)
            continue
        zone_box = np.concatenate([box[positions, :2].min(axis=0), box[positions, 2:].max(axis=0)])
        gap = np.maximum(0, np.maximum(box[candidates, :2] - zone_box[2:], zone_box[:2] - box[candidates, 2:]))
        lower = np.hypot(gap[:, 0], gap[:, 1])
        shape = shapely.union_all(projected[here][positions].to_numpy())
        first = np.argsort(lower, kind="stable")[:NEAREST_CANDIDATES]
        rows = np.flatnonzero(lower <= shapely.distance(shape, projected[here][candidates[first]].to_numpy()).min())
        distance = shapely.distance(shape, projected[here][candidates[rows]].to_numpy())
        found.append((names[owners[rows[int(np.argmin(distance))]]], float(distance.min())))
    return found


# --------------------------------------------------------------------------- plan

@dataclass(frozen=True)
class PlanSettings:
    """How white zones are shared out and cut into new CPTS (defaults and reasons in README « Planning full
    coverage »)."""

    floor: int = FLOOR_POPULATION               # no new CPTS under it, unless it has no neighbour
    target_min: int = TARGET_POPULATION[0]       # each new CPTS cut from a large white piece has at least this
    target_max: int = TARGET_POPULATION[1]       # an EPCI part or a commune above it is cut
    respect_epci: bool = True                    # new CPTS made of whole EPCI parts where they can

    def __post_init__(self):
        if not 0 < self.floor <= self.target_min <= self.target_max:
            raise InputError(f"Populations du plan incohérentes : il faut 0 < plancher ({fr_int(self.floor)}) ≤ "
                             f"minimum visé ({fr_int(self.target_min)}) ≤ maximum visé ({fr_int(self.target_max)}).")


def apply_proposals(registry: dict[str, frozenset[str]], proposals: list[Proposal]) -> dict[str, frozenset[str]]:
    """The registry with the proposals applied, new CPTS included (under their proposed name)."""
    result = {name: set(codes) for name, codes in registry.items()}
    for proposal in proposals:
        for name in proposal.released_by:
            result[name] -= set(proposal.iris)
        result.setdefault(proposal.to or proposal.new_name, set()).update(proposal.iris)
    return {name: frozenset(codes) for name, codes in result.items()}


def plan_scope(bundle, area: Area) -> Area:
    """The area a plan is computed on: the région(s) holding ``area``, so that a zone gets the same proposal
    whatever the part of the région asked."""
    if area.kind == "all":
        return area
    regions = sorted(set(bundle.iris["region"].to_numpy()[area.mask]))
    return Area("region", ",".join(regions), area.name, bundle.iris["region"].isin(regions).to_numpy())


def propose(bundle, registry: dict[str, frozenset[str]], area: Area, settings: PlanSettings = PlanSettings()) -> Plan:
    """Proposals for every white zone, isolated zone and overlap of ``area`` (computed on its région, see
    :func:`plan_scope`), and the coverage of ``area`` once all are applied, new CPTS included."""
    before = coverage_report(bundle, registry, area)
    scope = plan_scope(bundle, area)
    isolated = (before if (scope.mask == area.mask).all() else coverage_report(bundle, registry, scope)).isolated
    members = Membership.of(bundle, registry)
    names = members.names.tolist()
    member = members.matrix(len(bundle.iris))
    per_zone = np.asarray(member.sum(axis=1)).ravel()
    overlaps, member = _overlap_proposals(bundle, names, member, _Scorer(bundle, names, member),
                                          scope.mask & (per_zone > 1))
    enclosed = np.zeros(len(bundle.iris), dtype=bool)
    enclosed[bundle.iris_graph.positions([c for codes in isolated["iris"] for c in codes])] = True
    white = _white_proposals(bundle, names, member, _Scorer(bundle, names, member), scope.mask & (per_zone == 0),
                             enclosed, settings)
    asked = [p for p in white + overlaps if area.mask[bundle.iris_graph.positions(p.iris)].any()]
    proposals = sorted(asked, key=lambda p: (KIND_ORDER[p.kind], p.to is None, -p.population, p.communes))
    return _plan(bundle, registry, before, proposals)


def _plan(bundle, registry: dict[str, frozenset[str]], before: CoverageReport, proposals: list[Proposal]) -> Plan:
    after_registry = apply_proposals(registry, proposals)
    return Plan(proposals, registry, before, coverage_report(bundle, after_registry, before.area), after_registry)


def manual_move(bundle, registry: dict[str, frozenset[str]], iris: frozenset[str], to: str) -> Proposal:
    """A move made by hand: the IRIS ``iris`` go to CPTS ``to`` and leave every other CPTS of ``registry``."""
    iris = frozenset(c for c in iris if c in bundle.iris.index)
    population = bundle.iris["population"]
    released = sorted(name for name, codes in registry.items() if name != to and codes & iris)
    before = float(population.reindex(list(registry.get(to, ()))).sum())
    after = before + float(population.reindex(list(iris - registry.get(to, frozenset()))).sum())
    reasons = ["Déplacée à la main.", _taille_reason(bundle, before, after, to)]
    for name in released:
        held = float(population.reindex(list(registry[name])).sum())
        reasons.append(_taille_reason(bundle, held, held - float(population.reindex(list(registry[name] & iris)).sum()),
                                      name))
    return Proposal("manual", *_codes(bundle, bundle.iris_graph.positions(sorted(iris))),
                    float(population.reindex(list(iris)).sum()), to, None, reasons, taille_number(before),
                    taille_number(after), released_by=released)


def with_proposals(bundle, plan: Plan, chosen: list[Proposal], moves=()) -> Plan:
    """The plan reduced to the ``chosen`` proposals (those the officer accepts), then the ``moves`` made by hand
    (``(IRIS codes, CPTS)`` pairs, in order; a move to a CPTS absent from the registry is left out), with the
    coverage they give."""
    registry = apply_proposals(plan.registry, chosen)
    manual = []
    for iris, to in moves:
        if to in registry:
            manual.append(manual_move(bundle, registry, frozenset(iris), to))
            registry = apply_proposals(registry, manual[-1:])
    return _plan(bundle, plan.registry, plan.before, chosen + manual)
