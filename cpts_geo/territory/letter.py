"""The table of the lettre d'intention: ``COMMUNES / QUARTIERS | CODE POSTAL | CODE INSEE``."""

from __future__ import annotations

import pandas as pd

from cpts_geo.formatting import fr_int
from cpts_geo.territory.model import Summary

COLUMNS = ["COMMUNES / QUARTIERS", "CODE POSTAL", "CODE INSEE", "CODE IRIS"]
#: after the postal codes of a commune that has several (as ``summary`` flags them)
TO_CONFIRM = "(à confirmer)"
TAILLE_LABEL = "Taille de la CPTS"


def letter_table(bundle, summary: Summary, detailed: bool = False) -> pd.DataFrame:
    """One row per whole commune and one per IRIS (quartier) of a split commune; ``detailed``: one row per
    IRIS for whole communes too (the style of the Ruscino letter).

    A commune of a single IRIS (not split into IRIS by INSEE) is always one row. Every row has its commune's
    code; an IRIS row has its IRIS code too: ``Ouest (660280101) - Cabestany | 66330 | 66028 | 660280101``.
    A commune with several postal codes has them all, « (à confirmer) »: ``66000, 66100 (à confirmer)``.
    """
    rows = []
    for part in summary.communes:
        postal = ", ".join(part.postal_codes) + (f" {TO_CONFIRM}" if len(part.postal_codes) > 1 else "")
        if (part.whole and not detailed) or part.iris_total == 1:
            rows.append((part.nom, postal, part.code_insee, ""))
            continue
        for code in part.iris:
            rows.append((f"{bundle.iris.at[code, 'nom_iris']} ({code}) - {part.nom}", postal, part.code_insee, code))
    return pd.DataFrame(rows, columns=COLUMNS)


def letter_footer(summary: Summary) -> list[tuple[str, str]]:
    """The lines under the table: number of communes, population with its source, the postal codes to confirm
    (communes with several), taille (:data:`TAILLE_LABEL`)."""
    pop = summary.population
    several = [p for p in summary.communes if len(p.postal_codes) > 1]
    return [
        ("Nombre de communes", f"{summary.commune_count}"
         + (f" (dont {len(summary.split_communes)} en partie)" if summary.split_communes else "")),
        ("Population", f"{fr_int(pop.value)} habitants (population municipale {pop.millesime}, INSEE)"),
        *([("Codes postaux à confirmer", " ; ".join(f"{p.nom} ({', '.join(p.postal_codes)})" for p in several)
            + f" : commune{'s' if len(several) > 1 else ''} à plusieurs codes postaux, garder celui des quartiers "
            "retenus")] if several else []),
        (TAILLE_LABEL, f"{summary.taille.number} ({summary.taille.label})"),
    ]


def letter_markdown(table: pd.DataFrame, summary: Summary) -> str:
    """The table and its footer in Markdown."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    lines.append("")
    lines += [f"**{label}** : {value}  " for label, value in letter_footer(summary)]
    return "\n".join(lines) + "\n"
