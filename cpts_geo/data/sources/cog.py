"""The Code officiel géographique (COG): current communes, their former codes, and the EPCI.

Read from the JSON files of ``@etalab/decoupage-administratif`` (``reference/cog2026/`` of the
mirror: ``communes.json`` with ``anciensCodes`` and the communes déléguées/associées with their
``chefLieu``, ``epci.json`` with the members of each EPCI). Gives:

``aliases``  one row per code that is not a current commune but stands for one:
    ``code, current, kind, nom`` with ``kind`` in :data:`ALIAS_KINDS` — a former commune merged
    since (``ancienne``), a commune déléguée or associée (``deleguee``, ``associee``), or a
    commune re-established since the IRIS contours (``retablie``: the contours still draw it
    inside the commune it had joined, ``current`` is that commune).
``epci``  ``code, nom, type`` of each EPCI à fiscalité propre; ``commune_epci`` maps a current
    commune to its EPCI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cpts_geo.errors import DataError
from cpts_geo.data.reference import HERE as REFERENCE_DIR

COMMUNES_FILE = "reference/cog2026/communes.json"
EPCI_FILE = "reference/cog2026/epci.json"
#: Communes re-established after the IRIS 2020 contours: the contours draw them inside another commune.
RESTORED_FILE = REFERENCE_DIR / "communes_retablies.csv"

ALIAS_KINDS = {
    "ancienne": "ancienne commune, fusionnée dans",
    "deleguee": "commune déléguée de",
    "associee": "commune associée de",
    "retablie": "commune rétablie depuis les contours IRIS, qui la dessinent dans",
}
ALIAS_COLUMNS = ["code", "current", "kind", "nom"]
EPCI_COLUMNS = ["code", "nom", "type"]
EPCI_TYPES = {"CC": "communauté de communes", "CA": "communauté d'agglomération", "CU": "communauté urbaine",
              "METRO": "métropole", "MET69": "métropole de Lyon"}


@dataclass
class Cog:
    """Former codes of current communes and the EPCI (see module docstring)."""

    aliases: pd.DataFrame
    epci: pd.DataFrame
    commune_epci: pd.Series
    millesime: int | None = None


def empty_cog() -> Cog:
    """No COG: no alias, no EPCI (codes are then taken as they are in the contours)."""
    return Cog(pd.DataFrame(columns=ALIAS_COLUMNS), pd.DataFrame(columns=EPCI_COLUMNS), pd.Series(dtype=str))


def restored_communes() -> pd.DataFrame:
    """``code, current`` of the communes re-established since the IRIS 2020 contours (hand-checked table)."""
    table = pd.read_csv(RESTORED_FILE, sep=";", dtype=str, comment="#")
    return table.rename(columns={"code_contours_2020": "current"})[["code", "current"]]


def read_cog_json(folder: Path, millesime: int = 2026) -> Cog:
    """The COG of the ``decoupage-administratif`` JSON files in ``folder`` (the mirror's layout)."""
    path = Path(folder) / COMMUNES_FILE
    if not path.exists():
        raise DataError(f"Fichier du code officiel géographique manquant : {path}")
    communes = pd.read_json(path, dtype=False)
    current = communes[communes["type"] == "commune-actuelle"]
    former = current[["code", "anciensCodes"]].explode("anciensCodes").dropna()
    merged = pd.DataFrame({"code": former["anciensCodes"], "current": former["code"], "kind": "ancienne", "nom": ""})
    attached = communes[communes["type"].isin(["commune-deleguee", "commune-associee"])]
    attached = attached[attached["code"] != attached["chefLieu"]]
    attached = pd.DataFrame({"code": attached["code"], "current": attached["chefLieu"],
                             "kind": attached["type"].map({"commune-deleguee": "deleguee",
                                                           "commune-associee": "associee"}),
                             "nom": attached["nom"]})
    restored = restored_communes().assign(kind="retablie")
    restored["nom"] = restored["code"].map(current.set_index("code")["nom"])
    aliases = (pd.concat([restored, attached, merged], ignore_index=True)
               .drop_duplicates("code"))   # a commune déléguée keeps its name; a restored one its own row
    aliases = aliases[~aliases["code"].isin(set(current["code"]) - set(restored["code"]))]
    epci, commune_epci = _read_epci(Path(folder) / EPCI_FILE)
    return Cog(aliases.reset_index(drop=True)[ALIAS_COLUMNS], epci, commune_epci, millesime)


def _read_epci(path: Path) -> tuple[pd.DataFrame, pd.Series]:
    if not path.exists():
        return pd.DataFrame(columns=EPCI_COLUMNS), pd.Series(dtype=str)
    table = pd.read_json(path, dtype=False)
    members = table[["code", "membres"]].explode("membres").dropna()
    commune_epci = pd.Series(members["code"].to_numpy(), index=[m["code"] for m in members["membres"]], dtype=str)
    return table[EPCI_COLUMNS].reset_index(drop=True), commune_epci


def alias_note(code: str, kind: str, current: str, current_name: str, alias_name: str = "") -> str:
    """French note on a code read as its current commune: « 05088 : ancienne commune, fusionnée dans Valdoule (05024) »."""
    named = f" ({alias_name})" if alias_name else ""
    return f"{code}{named} : {ALIAS_KINDS[kind]} {current_name} ({current})"


#: COG movements (``MOD`` of ``v_mvt_commune``) that make a code stand for another commune.
MERGE_MOVEMENTS = {"31", "32", "33", "34", "41"}   # fusions, commune nouvelle, change of code
RESTORE_MOVEMENT = "21"                            # rétablissement


def read_cog_insee(communes: pd.DataFrame, movements: pd.DataFrame | None = None,
                   millesime: int | None = None) -> Cog:
    """The COG from INSEE's files: ``v_commune_YYYY.csv`` (``TYPECOM, COM, …, LIBELLE, COMPARENT``) and,
    when given, ``v_mvt_commune_YYYY.csv`` (``MOD, COM_AV, TYPECOM_AV, COM_AP, TYPECOM_AP, LIBELLE_AV``).

    The restored communes of the movements are kept only while the contours do not draw them (see
    :func:`cpts_geo.data.prepare.restored_into`). The EPCI are not in these files (left empty).
    """
    current = communes[communes["TYPECOM"] == "COM"]
    attached = communes[communes["TYPECOM"].isin(["COMD", "COMA"]) & (communes["COM"] != communes["COMPARENT"])]
    rows = [pd.DataFrame({"code": attached["COM"], "current": attached["COMPARENT"],
                          "kind": attached["TYPECOM"].map({"COMD": "deleguee", "COMA": "associee"}),
                          "nom": attached["LIBELLE"]})]
    if movements is not None:
        moves = movements[(movements["TYPECOM_AV"] == "COM") & (movements["TYPECOM_AP"] == "COM")
                          & (movements["COM_AV"] != movements["COM_AP"])]
        merged = moves[moves["MOD"].isin(MERGE_MOVEMENTS)]
        restored = moves[moves["MOD"] == RESTORE_MOVEMENT]
        rows += [pd.DataFrame({"code": restored["COM_AP"], "current": restored["COM_AV"], "kind": "retablie",
                               "nom": restored["LIBELLE_AP"]}),
                 pd.DataFrame({"code": merged["COM_AV"], "current": merged["COM_AP"], "kind": "ancienne",
                               "nom": merged["LIBELLE_AV"]})]
    aliases = pd.concat(rows, ignore_index=True).drop_duplicates("code")
    keep = ~aliases["code"].isin(current["COM"]) | (aliases["kind"] == "retablie")
    return Cog(aliases[keep].reset_index(drop=True)[ALIAS_COLUMNS], pd.DataFrame(columns=EPCI_COLUMNS),
               pd.Series(dtype=str), millesime)
