"""Checks of a territory: one piece, enclaves, overlaps, isolated communes, split communes, EPCI, régions, codes.

Each check returns a :class:`CheckResult` with a level (``ok``, ``info``, ``warning``,
``error``), a French message and the codes involved, so that the CLI prints it, the app
colours it and other tools read it as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cpts_geo.data.codes import CodeReport
from cpts_geo.formatting import fr_int
from cpts_geo.data.reference import departement_label, region_name
from cpts_geo.territory.model import Territory, epci_parts

LEVEL_ORDER = {"ok": 0, "info": 1, "warning": 2, "error": 3}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check; its ``title`` says what was found (« Pas de chevauchement », « Chevauchement avec
    d'autres CPTS »), never the rule alone."""

    name: str
    title: str
    level: str
    message: str
    communes: tuple[str, ...] = ()
    iris: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.level in ("ok", "info")

    def as_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "ok": self.ok, "level": self.level,
                "message": self.message, "communes": list(self.communes), "iris": list(self.iris),
                "details": self.details}


def commune_names(bundle, communes) -> str:
    """« Fitou (11144), Leucate (11202) », sorted by code, twelve at most then how many more."""
    names = [f"{bundle.communes.at[c, 'nom']} ({c})" for c in sorted(communes)]
    return ", ".join(names[:12]) + (f" et {len(names) - 12} autres" if len(names) > 12 else "")


def _communes_and_iris(bundle, iris_codes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split IRIS codes into whole communes and the IRIS of partly concerned communes."""
    iris_codes = set(iris_codes)
    communes = sorted(bundle.communes_of(iris_codes))
    whole = tuple(c for c in communes if set(bundle.iris_by_commune[c]) <= iris_codes)
    return whole, tuple(sorted(iris_codes))


def bbox_mask(bundle, mask: np.ndarray) -> np.ndarray:
    """IRIS lying inside the bounding box of the IRIS selected by ``mask`` (metric coordinates)."""
    iris = bundle.iris
    xmin, ymin = iris["xmin"].to_numpy(), iris["ymin"].to_numpy()
    xmax, ymax = iris["xmax"].to_numpy(), iris["ymax"].to_numpy()
    return ((xmin >= xmin[mask].min()) & (ymin >= ymin[mask].min())
            & (xmax <= xmax[mask].max()) & (ymax <= ymax[mask].max()))


def enclosed_pieces(bundle, covered: np.ndarray) -> list[np.ndarray]:
    """Pieces of IRIS not in ``covered`` that ``covered`` cuts off from the rest (sea excepted)."""
    if not covered.any():
        return []
    return bundle.iris_graph.enclosed(covered, bbox_mask(bundle, covered), bundle.open_edge)


def check_contiguity(bundle, territory: Territory) -> CheckResult:
    """The territory is in one piece; islands (other land masses) are allowed as separate pieces."""
    graph = bundle.iris_graph
    pieces = graph.components(graph.mask(territory.iris))
    landmass = bundle.iris["landmass"].to_numpy()
    per_landmass: dict[int, list] = {}
    for piece in pieces:
        per_landmass.setdefault(int(landmass[piece[0]]), []).append(piece)
    detached = [p for lm, group in per_landmass.items() for p in group[1:]]
    piece_list = [{"iris": sorted(graph.codes[p]), "communes": sorted(bundle.communes_of(graph.codes[p]))}
                  for p in pieces]
    islands = len(per_landmass) - 1
    if not detached:
        extra = f" ({islands} île(s) rattachée(s), admises sans continuité terrestre)" if islands else ""
        return CheckResult("contiguity", "Territoire d'un seul tenant", "ok",
                           f"Le territoire est d'un seul tenant{extra}.", details={"pieces": piece_list})
    communes = sorted(bundle.communes_of(graph.codes[np.concatenate(detached)]))
    return CheckResult(
        "contiguity", "Territoire en plusieurs morceaux", "error",
        f"Le territoire est en {len(pieces) - islands} morceaux sans frontière commune. "
        f"Morceaux détachés du principal : {commune_names(bundle, communes)}.",
        communes=tuple(communes), iris=tuple(sorted(graph.codes[np.concatenate(detached)])),
        details={"pieces": piece_list, "detached": [sorted(graph.codes[p]) for p in detached]})


def check_enclaves(bundle, territory: Territory) -> CheckResult:
    """Zones outside the territory that it surrounds entirely."""
    pieces = enclosed_pieces(bundle, bundle.iris_graph.mask(territory.iris))
    codes = bundle.iris_graph.codes[np.concatenate(pieces)] if pieces else []
    if not len(codes):
        return CheckResult("enclaves", "Pas d'enclave", "ok", "Aucune zone n'est enclavée dans le territoire.")
    whole, iris = _communes_and_iris(bundle, codes)
    partial = sorted(bundle.communes_of(iris) - set(whole))
    parts = []
    if whole:
        parts.append(f"communes enclavées : {commune_names(bundle, whole)}")
    if partial:
        parts.append(f"IRIS enclavés de {commune_names(bundle, partial)}")
    return CheckResult("enclaves", "Zones enclavées", "error",
                       "Le territoire entoure des zones qui n'en font pas partie — " + " ; ".join(parts) + ".",
                       communes=whole, iris=iris,
                       details={"pieces": [sorted(bundle.iris_graph.codes[p]) for p in pieces]})


def check_overlaps(bundle, territory: Territory, others: dict[str, frozenset[str]]) -> CheckResult:
    """IRIS shared with other CPTS."""
    shared = {name: sorted(territory.iris & codes) for name, codes in others.items()
              if name != territory.name and territory.iris & codes}
    if not shared:
        checked = f" ({len(others)} CPTS voisine(s) comparée(s))" if others else " (aucune CPTS voisine chargée)"
        return CheckResult("overlaps", "Pas de chevauchement", "ok", "Aucun chevauchement avec une autre CPTS" +
                           checked + ".")
    lines = []
    for name, codes in shared.items():
        whole, _ = _communes_and_iris(bundle, codes)
        partial = sorted(bundle.communes_of(codes) - set(whole))
        what = "; ".join(filter(None, [whole and f"communes {commune_names(bundle, whole)}",
                                       partial and f"IRIS de {commune_names(bundle, partial)}"]))
        lines.append(f"avec « {name} » : {what}")
    all_codes = sorted({c for codes in shared.values() for c in codes})
    return CheckResult("overlaps", "Chevauchement avec d'autres CPTS", "error",
                       "Le territoire chevauche d'autres CPTS — " + " ; ".join(lines) + ".",
                       communes=tuple(sorted(bundle.communes_of(all_codes))), iris=tuple(all_codes),
                       details={"by_cpts": shared})


def check_isolated(bundle, territory: Territory, others: dict[str, frozenset[str]]) -> CheckResult:
    """Zones covered by no CPTS and cut off by this territory and its neighbours."""
    graph = bundle.iris_graph
    mine = graph.mask(territory.iris)
    covered = mine | graph.mask(set().union(*others.values()) & set(graph.codes)) if others else mine
    touching_mine = graph.touching(mine)
    pieces = [p for p in enclosed_pieces(bundle, covered) if touching_mine[p].any()]
    if not pieces:
        return CheckResult("isolated", "Pas de commune isolée", "ok",
                           "Aucune commune ou IRIS hors CPTS n'est isolé par ce territoire"
                           + (" et ses voisines." if others else "."))
    whole, iris = _communes_and_iris(bundle, graph.codes[np.concatenate(pieces)])
    partial = sorted(bundle.communes_of(iris) - set(whole))
    described = "; ".join(filter(None, [whole and f"communes {commune_names(bundle, whole)}",
                                        partial and f"IRIS de {commune_names(bundle, partial)}"]))
    return CheckResult("isolated", "Zones isolées", "warning",
                       f"Zones couvertes par aucune CPTS et coupées de toute autre : {described}. "
                       "Elles ne pourront rejoindre qu'une CPTS qui les entoure.",
                       communes=whole, iris=iris,
                       details={"pieces": [sorted(graph.codes[p]) for p in pieces]})


def check_split_communes(bundle, territory: Territory) -> CheckResult:
    """Communes only partly included (some of their IRIS)."""
    split = sorted(c for c in territory.communes(bundle) if not set(bundle.iris_by_commune[c]) <= territory.iris)
    if not split:
        return CheckResult("split_communes", "Communes découpées", "ok", "Toutes les communes sont entières.")
    parts = [f"{bundle.communes.at[c, 'nom']} ({sum(i in territory.iris for i in bundle.iris_by_commune[c])}"
             f"/{len(bundle.iris_by_commune[c])} IRIS)" for c in split]
    return CheckResult("split_communes", "Communes découpées", "info",
                       "Communes incluses en partie, par IRIS : " + ", ".join(parts) + ".",
                       communes=tuple(split),
                       iris=tuple(sorted(i for c in split for i in bundle.iris_by_commune[c] if i in territory.iris)))


def check_epci(bundle, territory: Territory) -> CheckResult:
    """EPCI only partly in the territory (information: a CPTS may cross EPCI limits)."""
    split = [e for e in epci_parts(bundle, territory) if not e.whole]
    if not split:
        return CheckResult("epci", "EPCI entiers", "ok",
                           "Le territoire ne partage aucune intercommunalité (EPCI) avec l'extérieur.")
    described = "; ".join(f"{e.nom} ({len(e.communes_in)} commune(s) sur {e.communes_total})" for e in split[:8])
    more = f" et {len(split) - 8} autre(s)" if len(split) > 8 else ""
    return CheckResult("epci", "EPCI entiers", "info",
                       f"Le territoire couvre une partie seulement de : {described}{more}.",
                       communes=tuple(sorted({c for e in split for c in e.communes_in})),
                       details={"epci": [e.as_dict() for e in split]})


#: how many régions (ARS), in words
NUMBER_WORDS = {2: "deux", 3: "trois", 4: "quatre"}


def check_regions(bundle, territory: Territory) -> CheckResult:
    """The régions of the territory, hence its ARS (information: a CPTS over two régions depends on two ARS)."""
    communes = bundle.communes.loc[sorted(territory.communes(bundle)), ["departement", "region", "population"]]
    people = communes.groupby("region")["population"].sum().sort_values(ascending=False)  # most populated first
    regions = [{"code": code, "name": region_name(code),
                "departements": sorted(set(communes.loc[communes["region"] == code, "departement"])),
                "communes": sorted(communes.index[communes["region"] == code])} for code in people.index]
    if len(regions) < 2:
        where = f" ({regions[0]['name']})" if regions else ""
        return CheckResult("regions", "Une seule région (ARS)", "ok",
                           f"Le territoire est dans une seule région{where} : une seule ARS.",
                           details={"regions": regions})
    listed = [r["name"] for r in regions]
    count = NUMBER_WORDS.get(len(regions), str(len(regions)))
    parts = " ; ".join(f"{r['name']} : " + ", ".join(map(departement_label, r["departements"])) for r in regions)
    return CheckResult("regions", "Territoire sur plusieurs régions (ARS)", "info",
                       f"Territoire sur {count} régions ({', '.join(listed[:-1])} et {listed[-1]}) : {count} ARS "
                       f"({parts}). Le projet est à présenter à chacune.",
                       communes=tuple(c for r in regions[1:] for c in r["communes"]),
                       details={"regions": regions})


def check_codes(report: CodeReport | None) -> CheckResult:
    """Unknown or inconsistent codes in the user's input."""
    if report is None or report.ok:
        notes = " ".join(report.notes) if report else ""
        return CheckResult("codes", "Codes reconnus", "ok", ("Tous les codes sont reconnus. " + notes).strip())
    return CheckResult("codes", "Codes non reconnus", "error",
                       f"{fr_int(len(report.problems))} code(s) non utilisé(s) — {report.message()}.",
                       details={"problems": [{"code": c, "reason": r} for c, r in report.problems]})


def run_checks(bundle, territory: Territory, others: dict[str, frozenset[str]] | None = None,
               code_report: CodeReport | None = None) -> list[CheckResult]:
    """All checks of a territory, in the order they are shown."""
    others = others or {}
    return [
        check_codes(code_report),
        check_contiguity(bundle, territory),
        check_enclaves(bundle, territory),
        check_overlaps(bundle, territory, others),
        check_isolated(bundle, territory, others),
        check_split_communes(bundle, territory),
        check_epci(bundle, territory),
        check_regions(bundle, territory),
    ]
