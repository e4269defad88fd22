"""Territory of a CPTS: a set of IRIS, and what follows from it (communes, population, taille)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from cpts_geo.errors import InputError
from cpts_geo.formatting import fr_percent
from cpts_geo.territory.funding import Taille, taille_of
from cpts_geo.data.layout import POPULATION_METHODS
from cpts_geo.data.reference import departement_label, departements_table, region_name


@dataclass(frozen=True)
class Territory:
    """A CPTS territory: a name and a set of IRIS codes (a whole commune = all its IRIS)."""

    iris: frozenset[str]
    name: str = ""

    def toggle_iris(self, code: str) -> "Territory":
        """The territory with one IRIS added, or removed if it was in."""
        return Territory(self.iris ^ {code}, self.name)

    def toggle_commune(self, bundle, code_insee: str) -> "Territory":
        """The territory with a whole commune added, or removed if it was wholly in (Paris, Lyon, Marseille: all
        their arrondissements)."""
        parts = commune_iris(bundle, code_insee)
        return Territory(self.iris - parts if parts <= self.iris else self.iris | parts, self.name)

    def communes(self, bundle) -> set[str]:
        """INSEE codes of the current communes touched (see :meth:`Bundle.communes_of`)."""
        return bundle.communes_of(self.iris)


def commune_iris(bundle, code_insee: str) -> frozenset[str]:
    """The IRIS of a whole commune (Paris, Lyon, Marseille: of all their arrondissements)."""
    return frozenset(i for commune in bundle.arrondissements_or_commune(code_insee)
                     for i in bundle.iris_by_commune[commune])


def others_without_self(territory: Territory, others: dict[str, frozenset[str]]
                        ) -> tuple[dict[str, frozenset[str]], list[str]]:
    """The neighbouring CPTS without the territory itself (a CPTS of the same name, case and spaces aside, or of
    exactly its IRIS), and the names of those left out."""
    own = " ".join(territory.name.split()).casefold()
    itself = [name for name, codes in others.items()
              if (own and " ".join(name.split()).casefold() == own) or codes == territory.iris]
    return {name: codes for name, codes in others.items() if name not in itself}, itself


@dataclass(frozen=True)
class CommunePart:
    """A commune of the territory, whole or split into some of its IRIS."""

    code_insee: str
    nom: str
    departement: str
    whole: bool
    iris: tuple[str, ...]
    iris_total: int
    postal_codes: tuple[str, ...]
    population: float
    population_method: str

    def as_dict(self) -> dict:
        return {"code": self.code_insee, "name": self.nom, "departement": self.departement,
                "whole": self.whole, "iris": list(self.iris), "iris_total": self.iris_total,
                "postal_codes": list(self.postal_codes), "population": round(self.population),
                "population_method": self.population_method}


@dataclass(frozen=True)
class Population:
    """Population of a territory with its millésime, source and method."""

    value: int
    millesime: int | None
    source: str
    method: str
    split_share: float  # part of the population that comes from split communes

    def as_dict(self) -> dict:
        return {"value": self.value, "millesime": self.millesime, "source": self.source,
                "method": self.method, "from_split_communes": round(self.split_share, 4)}


@dataclass(frozen=True)
class AgeStructure:
    """Shares of age groups in the territory, its départements and its régions (RP IRIS data)."""

    year: int | None
    #: one dict per indicator: label, territory, departement and region (the main ones), departements and
    #: regions (code → share, of every département and région of the territory)
    rows: tuple[dict, ...]
    coverage: float                 # share of the territory's population with measured age bands
    departement: str
    region: str
    note: str
    departements: tuple[str, ...] = ()   # every département of the territory, the main one first
    regions: tuple[str, ...] = ()        # every région of the territory, the main one first

    def as_dict(self) -> dict:
        return {"year": self.year, "indicators": list(self.rows), "coverage": round(self.coverage, 4),
                "departement": self.departement, "region": self.region, "departements": list(self.departements),
                "regions": list(self.regions), "note": self.note}

    def references(self) -> list[tuple[str, str, str]]:
        """The areas compared, as (name, level, code): ``("Vaucluse (84)", "departements", "84")``, each
        département then each région of the territory, main ones first."""
        departements = [(departement_label(code), "departements", code) for code in self.departements or (self.departement,)]
        regions = [(region_name(code), "regions", code) for code in self.regions or (self.region,)]
        # a région of one département (Guyane, La Réunion…) is not compared twice: « Guyane (973) » alone
        return departements + [region for region in regions
                               if not any(name.startswith(f"{region[0]} (") for name, _, _ in departements)]

    def table(self, territory: str = "Territoire", label: str = "Tranche d'âge") -> pd.DataFrame:
        """The shares as French percentages: the territory (column ``territory``), then each of its départements
        and régions (:meth:`references`)."""
        references = self.references()
        return pd.DataFrame([(row["label"], fr_percent(row["territory"]),
                              *(fr_percent(row[level].get(code)) for _, level, code in references))
                             for row in self.rows], columns=[label, territory, *(name for name, _, _ in references)])


@dataclass(frozen=True)
class EpciPart:
    """An EPCI touched by the territory: how many of its communes are in it (wholly or partly)."""

    code: str
    nom: str
    communes_in: tuple[str, ...]
    communes_total: int
    whole_communes: int

    @property
    def whole(self) -> bool:
        """All the EPCI's communes are wholly in the territory."""
        return self.whole_communes == self.communes_total

    @property
    def label(self) -> str:
        """``CU Perpignan Méditerranée Métropole (37/37 communes)``."""
        return f"{self.nom} ({len(self.communes_in)}/{self.communes_total} communes)"

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.nom, "communes_in": list(self.communes_in),
                "communes_total": self.communes_total, "whole": self.whole}


@dataclass(frozen=True)
class Summary:
    """Everything the lettre d'intention needs about a territory."""

    name: str
    communes: tuple[CommunePart, ...]
    iris_count: int
    postal_codes: tuple[str, ...]
    postal_codes_to_confirm: tuple[str, ...]
    population: Population
    taille: Taille
    age: AgeStructure
    epci: tuple[EpciPart, ...] = ()
    limits: tuple[str, ...] = field(default=())
    #: the zones are whole communes, not IRIS (overseas, :func:`communes_only`)
    communes_only: bool = False

    @property
    def commune_count(self) -> int:
        return len(self.communes)

    @property
    def iris_text(self) -> str:
        """« , 17 IRIS » after the number of communes, or nothing where the zones are whole communes (no IRIS)."""
        return "" if self.communes_only else f", {self.iris_count} IRIS"

    @property
    def zones_text(self) -> str:
        """What the territory is made of: « communes et quartiers (IRIS) », or « communes » (no IRIS)."""
        return "communes" if self.communes_only else "communes et quartiers (IRIS)"

    @property
    def split_communes(self) -> tuple[CommunePart, ...]:
        return tuple(c for c in self.communes if not c.whole)

    def as_dict(self) -> dict:
        return {"name": self.name, "commune_count": self.commune_count,
                "communes": [c.as_dict() for c in self.communes], "iris_count": self.iris_count,
                "postal_codes": list(self.postal_codes), "postal_codes_to_confirm": list(self.postal_codes_to_confirm),
                "population": self.population.as_dict(), "taille": self.taille.as_dict(),
                "age_structure": self.age.as_dict(), "epci": [e.as_dict() for e in self.epci],
                "limits": list(self.limits), "communes_only": self.communes_only}


def communes_only(bundle, departements) -> bool:
    """Whether the zones of these départements are whole communes, not IRIS: overseas, where the prepared data
    hold the commune contours (``overseas_source``), no IRIS."""
    departements = set(departements)
    return bool(departements) and "overseas_source" in bundle.meta and all(d.startswith("97") for d in departements)


def contour_sources(bundle, departements) -> list[str]:
    """The sources of the contours of these départements: CONTOURS-IRIS, the overseas communes, or both."""
    meta = bundle.meta
    overseas = "overseas_source" in meta and any(str(d).startswith("97") for d in departements)
    return ([] if communes_only(bundle, departements) else [meta.get("iris_source", "IGN-INSEE CONTOURS-IRIS")]) \
        + ([meta["overseas_source"]] if overseas else [])


def data_limits(bundle, departements) -> tuple[str, ...]:
    """The limits of the data that go with the figures of these départements: those of the IRIS contours (not
    where the zones are whole communes), the general ones, those of the overseas commune contours."""
    meta = bundle.meta
    return (() if communes_only(bundle, departements) else tuple(meta.get("limits_iris", ()))) \
        + tuple(meta.get("limits", ())) \
        + (tuple(meta.get("limits_overseas", ())) if any(str(d).startswith("97") for d in departements) else ())


def territory_communes(bundle, territory: Territory,
                       postal_overrides: dict[str, str] | None = None) -> list[CommunePart]:
    """The communes of the territory, in the order of their INSEE code.

    A commune re-established since the IRIS contours is listed, with its own population, when the
    IRIS that draw it (those of the commune it had joined) are all in the territory.
    """
    overrides = postal_overrides or {}
    parts = []
    iris_population = bundle.iris["population"]
    codes = sorted(territory.communes(bundle))
    codes += sorted(code for code, owner in bundle.restored_communes.items() if owner in codes
                    and set(bundle.iris_by_commune[owner]) <= territory.iris)
    rows = bundle.communes.loc[sorted(codes), ["nom", "departement", "population", "postal_codes", "population_method"]]
    for code, row in zip(rows.index, rows.to_dict(orient="records")):
        all_iris = bundle.iris_by_commune[code]
        chosen = tuple(i for i in all_iris if i in territory.iris)
        whole = len(chosen) == len(all_iris)
        population = float(row["population"]) if whole else float(iris_population.loc[list(chosen)].sum())
        postal = (overrides[code],) if code in overrides else tuple(p for p in row["postal_codes"].split(",") if p)
        method = row["population_method"] if whole else f"split:{row['population_method']}"
        parts.append(CommunePart(code, row["nom"], row["departement"], whole, chosen, len(all_iris), postal,
                                 population, method))
    return parts


def check_postal_overrides(bundle, territory: Territory, overrides: dict[str, str]) -> list[str]:
    """Postal codes chosen by hand (commune → code) checked: five digits and a commune of the territory, else an
    :class:`InputError` naming each bad choice; a code La Poste does not give for that commune is kept, with a
    French warning (returned)."""
    communes = {part.code_insee: part for part in territory_communes(bundle, territory)}
    errors, warnings = [], []
    for commune, postal in overrides.items():
        if not re.fullmatch(r"\d{5}", postal):
            errors.append(f"{commune}={postal} : le code postal doit avoir cinq chiffres")
        elif commune not in communes:
            errors.append(f"{commune}={postal} : la commune {commune} n'est pas dans le territoire "
                          f"(communes : {', '.join(sorted(communes)[:10])}{'…' if len(communes) > 10 else ''})")
        elif postal not in communes[commune].postal_codes:
            part = communes[commune]
            warnings.append(f"{postal} n'est pas un code postal de {part.nom} ({commune}) selon La Poste (codes "
                            f"connus : {', '.join(part.postal_codes) or 'aucun'}) : vérifiez-le, il est repris tel quel.")
    if errors:
        raise InputError("Code postal refusé — " + " ; ".join(errors) + ".")
    return warnings


def epci_parts(bundle, territory: Territory) -> tuple[EpciPart, ...]:
    """The EPCI of the territory's communes, most communes in first."""
    if "epci" not in bundle.communes or not territory.iris:
        return ()
    communes = territory.communes(bundle)
    communes |= {code for code, owner in bundle.restored_communes.items() if owner in communes}
    touched = bundle.communes.loc[sorted(communes), "epci"]
    names = bundle.epci["nom"]
    result = []
    for code, members in touched[touched != ""].groupby(touched):
        whole = sum(set(bundle.iris_by_commune[c]) <= territory.iris for c in members.index)
        result.append(EpciPart(code, names.get(code, code), tuple(members.index),
                               len(bundle.epci_communes.get(code, ())), whole))
    return tuple(sorted(result, key=lambda e: (-len(e.communes_in), e.nom)))


def population_millesime(bundle, departements) -> int | None:
    """The millésime of the populations of ``departements``: that of the légales, or the year of the census they
    all repeat (Mayotte: 2017, ``population_census_years`` of the bundle)."""
    census = {bundle.meta.get("population_census_years", {}).get(code) for code in departements}
    return census.pop() if len(census) == 1 and None not in census else bundle.meta.get("population_millesime")


def population_of(bundle, parts: list[CommunePart]) -> Population:
    """Sum of the communes' populations, with the method in French."""
    total = sum(p.population for p in parts)
    split = [p for p in parts if not p.whole]
    estimated = [p for p in parts if p.population_method.split(":")[-1] != "legal"]
    legal_year = bundle.meta.get("population_millesime")
    iris_year = bundle.meta.get("iris_population_year")
    census_years = bundle.meta.get("population_census_years", {})
    census = {p.departement: census_years[p.departement] for p in parts if p.departement in census_years}
    method = ([f"Communes entières : {POPULATION_METHODS['legal']} {legal_year or ''}".strip() + "."]
              if not parts or len(census) < len({p.departement for p in parts}) else [])
    names = departements_table().set_index("code_departement")["nom_departement"]
    method += [f"{names.get(code, 'Département')} ({code}) : population municipale du recensement {census_year}, "
               f"reprise telle quelle par les populations légales suivantes (pas de population légale "
               f"{legal_year})." for code, census_year in sorted(census.items())]
    year = population_millesime(bundle, {p.departement for p in parts})
    source = (bundle.meta.get("population_source", "") if year == legal_year else
              f"INSEE, recensement de la population {year} (population municipale)")
    if split:
        method.append(
            f"Communes découpées ({', '.join(p.nom for p in split)}) : population {year or ''} de la commune "
            f"répartie entre ses IRIS au prorata de leur population {iris_year or ''} (recensement, base IRIS).")
    if estimated:
        method.append("Estimées (commune modifiée depuis l'édition des contours IRIS) : "
                      + ", ".join(p.nom for p in estimated) + ".")
    return Population(
        value=int(round(total)),
        millesime=year,
        source=source,
        method=" ".join(method),
        split_share=(sum(p.population for p in split) / total) if total else 0.0,
    )


#: Age indicators of the summary: label and the age-band columns they add up.
AGE_INDICATORS = (
    ("Moins de 15 ans", ("pop_0014",)),
    ("60 ans et plus", ("pop_6074", "pop_75p")),
    ("65 ans et plus", ("pop_65p",)),
    ("75 ans et plus", ("pop_75p",)),
    ("80 ans et plus", ("pop_80p",)),
)

#: Every age band of the census IRIS base, for the pre-diagnostic.
AGE_BANDS_DETAIL = (
    ("0 à 14 ans", ("pop_0014",)),
    ("15 à 29 ans", ("pop_1529",)),
    ("30 à 44 ans", ("pop_3044",)),
    ("45 à 59 ans", ("pop_4559",)),
    ("60 à 74 ans", ("pop_6074",)),
    ("75 ans et plus", ("pop_75p",)),
    ("65 ans et plus", ("pop_65p",)),
    ("80 ans et plus", ("pop_80p",)),
)


def _shares(sums, bands: list[str], indicators) -> dict[str, float | None]:
    """Share of each indicator in ``sums`` (band → population), when its bands are in the data."""
    if sums is None:
        return {}
    total = sums.get("pop_total", 0.0)
    shares = {}
    for label, needed in indicators:
        if all(b in bands for b in needed) and total:
            shares[label] = float(sum(sums[b] for b in needed) / total)
    return shares


def age_structure(bundle, territory: Territory, main_departement: str,
                  indicators=AGE_INDICATORS) -> AgeStructure:
    """Age shares (``indicators``) of the territory's measured IRIS against each of its départements and régions
    (the main département, most populated, and its région first)."""
    bands = bundle.age_bands
    iris = bundle.iris.loc[sorted(territory.iris)]
    measured = iris[iris[bands].notna().all(axis=1)] if bands else iris.iloc[0:0]
    people = iris.groupby("departement")["population"].sum()
    departements = tuple(sorted(people.index, key=lambda code: (code != main_departement, -people[code])))
    region_of = iris.drop_duplicates("departement").set_index("departement")["region"]
    regions = tuple(dict.fromkeys(region_of[code] for code in departements))
    reference = bundle.age_reference_sums
    territory_shares = _shares(measured[["pop_total", *bands]].sum(), bands, indicators)
    shares = {(level, code): _shares(reference.get((level, code)), bands, indicators)
              for level, codes in (("departement", departements), ("region", regions)) for code in codes}
    dep_shares = shares["departement", main_departement]
    rows = tuple({"label": label, "territory": territory_shares.get(label), "departement": dep_shares.get(label),
                  "region": shares["region", regions[0]].get(label),
                  "departements": {code: shares["departement", code].get(label) for code in departements},
                  "regions": {code: shares["region", code].get(label) for code in regions}}
                 for label, _ in indicators if label in dep_shares)
    total = iris["pop_total"].sum()
    coverage = float(measured["pop_total"].sum() / total) if total else 0.0
    year = bundle.meta.get("iris_population_year")
    missing = [label for label, _ in indicators if label not in dep_shares]
    zones, measured = (("communes", "communes mesurées") if communes_only(bundle, set(iris["departement"])) else
                       ("IRIS", "IRIS mesurés, surtout urbains"))
    note = (f"Recensement {year}, {zones} dont la population par âge est publiée "
            f"({fr_percent(coverage, 0)} de la population du territoire) ; département et région comparés sur leurs "
            f"{measured}.")
    if missing:
        note += f" Non disponible dans ces données : {', '.join(missing).lower()}."
    return AgeStructure(year, rows, coverage, main_departement, regions[0], note, departements, regions)


def summarize(bundle, territory: Territory, postal_overrides: dict[str, str] | None = None) -> Summary:
    """Communes, postal codes, population, taille and age structure of a territory."""
    parts = territory_communes(bundle, territory, postal_overrides)
    population = population_of(bundle, parts)
    multi = {p.code_insee for p in parts if len(p.postal_codes) > 1}
    postal = tuple(sorted({c for p in parts for c in p.postal_codes}))
    to_confirm = tuple(sorted({c for p in parts if p.code_insee in multi for c in p.postal_codes}))
    by_dep: dict[str, float] = {}
    for p in parts:
        by_dep[p.departement] = by_dep.get(p.departement, 0.0) + p.population
    main_dep = max(by_dep, key=by_dep.get) if by_dep else ""
    age = age_structure(bundle, territory, main_dep) if parts else AgeStructure(None, (), 0.0, "", "", "")
    return Summary(
        name=territory.name,
        communes=tuple(parts),
        iris_count=len(territory.iris),
        postal_codes=postal,
        postal_codes_to_confirm=to_confirm,
        population=population,
        taille=taille_of(population.value, bundle.aci),
        age=age,
        epci=epci_parts(bundle, territory),
        limits=data_limits(bundle, {p.departement for p in parts}),
        communes_only=communes_only(bundle, {p.departement for p in parts}),
    )

