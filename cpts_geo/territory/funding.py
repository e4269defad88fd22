"""Taille of a CPTS from its population, and the ACI funding that goes with it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from cpts_geo.formatting import fr_euros

#: Upper bounds of tailles 1–3 (ACI CPTS 2019, art. on the taille of the CPTS).
#: Convention (the texts do not say): a population equal to a threshold goes to the
#: upper taille for 40 000 and 80 000, and stays in taille 3 for 175 000 (« > 175 000 »).
TAILLE_BANDS = (
    (1, "moins de 40 000 habitants", 0, 40_000),
    (2, "de 40 000 à 80 000 habitants", 40_000, 80_000),
    (3, "de 80 000 à 175 000 habitants", 80_000, 175_000),
    (4, "plus de 175 000 habitants", 175_000, None),
)

#: French labels of the ACI amounts of ``aci_cpts.csv``.
ACI_ITEMS = {
    "fonctionnement_after_avenant2_plus75pct": "Fonctionnement (par an, après avenant 2)",
    "amount_at_lettre_intention_validation_avenant2": "Versé à la validation de la lettre d'intention (avenant 2)",
    "max_total_per_year_aci2019_incl_snp": "Financement annuel maximal, ACI 2019 (missions et SNP compris)",
    "max_total_per_year_after_avenant2": "Financement annuel maximal après avenant 2",
}


@dataclass(frozen=True)
class Taille:
    """Taille 1–4 of a CPTS with its band and ACI amounts."""

    number: int
    label: str
    population_min: int
    population_max: int | None
    funding: tuple[dict, ...]

    def as_dict(self) -> dict:
        return {"number": self.number, "label": self.label, "population_min": self.population_min,
                "population_max": self.population_max, "funding": list(self.funding)}


def taille_number(population: float) -> int:
    """Taille 1–4 of a population (see :data:`TAILLE_BANDS` for the boundaries)."""
    if population < 40_000:
        return 1
    if population < 80_000:
        return 2
    if population <= 175_000:
        return 3
    return 4


def taille_of(population: float, aci: pd.DataFrame) -> Taille:
    """The :class:`Taille` of a population, with the ACI amounts of that taille and their sources."""
    number = taille_number(population)
    _, label, low, high = TAILLE_BANDS[number - 1]
    rows = aci[aci["taille"].astype(str) == str(number)] if len(aci) else aci
    funding = () if rows.empty else tuple(_funding_line(item, group.to_dict(orient="records"))
                                          for item, group in rows.groupby("item", sort=False))
    return Taille(number, label, low, high, funding)


def source_names(source: str) -> list[str]:
    """The publishers a source of ``aci_cpts.csv`` names, without addresses, quotes or remarks:
    ``fmfpro.org https://… ; Quotidien du médecin 'jusqu'à…' (CONFLICT: …)`` → ``fmfpro.org``, ``Quotidien du médecin``."""
    names = (re.sub(r"\([^)]*\)|'.*'|https?://\S+", "", part).strip() for part in source.split(";"))
    return [name for name in names if name]


def _funding_line(item: str, rows: list[dict]) -> dict:
    """One line of funding for an ACI item. When sources disagree (one row each in the data), ``amounts`` holds
    every figure with its sources, the one most sources give first; ``amount_eur`` is that one."""
    amounts = sorted(((int(float(row["amount_eur"])), tuple(source_names(row["source"]))) for row in rows),
                     key=lambda amount: -len(amount[1]))                  # stable: data order on a tie
    return {"item": item, "label": ACI_ITEMS.get(item, item), "amount_eur": amounts[0][0],
            "amounts": [{"amount_eur": value, "sources": list(names)} for value, names in amounts],
            "source": " ; ".join(row["source"] for row in rows)}


def funding_text(line: dict) -> str:
    """The amount of a funding line in French: ``105 000 €``, or when the sources disagree
    ``30 000 € (fmfpro.org, Quotidien du médecin) ou 25 000 € (lepharmaciendefrance.fr) : sources en désaccord``."""
    if len({a["amount_eur"] for a in line["amounts"]}) == 1:
        return fr_euros(line["amount_eur"])
    return " ou ".join(f"{fr_euros(a['amount_eur'])} ({', '.join(a['sources'])})"
                       for a in line["amounts"]) + " : sources en désaccord"
