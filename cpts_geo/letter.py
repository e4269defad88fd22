"""The table of the lettre d'intention: ``COMMUNES / QUARTIERS | CODE POSTAL | CODE INSEE``."""

from __future__ import annotations

import pandas as pd

from cpts_geo.formatting import fr_int
from cpts_geo.territory import Summary
from cpts_geo.user_text import spreadsheet_cell

COLUMNS = ["COMMUNES / QUARTIERS", "CODE POSTAL", "CODE INSEE"]
LEADING_ZERO_NOTE = ("des codes commencent par 0 : un tableur qui ouvre ce CSV les lit comme des nombres et retire "
                     "ce 0. Importez les colonnes CODE POSTAL et CODE INSEE en texte, ou utilisez le fichier Excel.")


def letter_table(bundle, summary: Summary, detailed: bool = False) -> pd.DataFrame:
    """One row per whole commune and one per IRIS (quartier) of a split commune; ``detailed``: one row per
    IRIS for whole communes too (the style of the Ruscino letter).

    A commune of a single IRIS (not split into IRIS by INSEE) is always one row.
    IRIS rows read ``Ouest (660280101) - Cabestany | 66330 | (660280101)``.
    """
    rows = []
    for part in summary.communes:
        postal = ", ".join(part.postal_codes)
        if (part.whole and not detailed) or part.iris_total == 1:
            rows.append((part.nom, postal, part.code_insee))
            continue
        for code in part.iris:
            rows.append((f"{bundle.iris.at[code, 'nom_iris']} ({code}) - {part.nom}", postal, f"({code})"))
    return pd.DataFrame(rows, columns=COLUMNS)


def letter_footer(summary: Summary) -> list[tuple[str, str]]:
    """The lines under the table: number of communes, population with its source, taille."""
    pop = summary.population
    return [
        ("Nombre de communes", f"{summary.commune_count}"
         + (f" (dont {len(summary.split_communes)} en partie)" if summary.split_communes else "")),
        ("Population", f"{fr_int(pop.value)} habitants (population municipale {pop.millesime}, INSEE)"),
        ("Taille de la CPTS", f"{summary.taille.number} ({summary.taille.label})"),
    ]


def letter_csv(table: pd.DataFrame, summary: Summary, alerts: list[str] = ()) -> bytes:
    """CSV for Excel in French: UTF-8 with BOM, ``;`` separator, footer lines after a blank line; no formula.

    ``alerts`` (the checks the territory fails, see ``TerritoryExport.alerts``) follow the footer.
    Codes are written bare: a spreadsheet reads the letter's ``(660280101)`` as the number -660280101.
    """
    table = table.assign(**{COLUMNS[2]: table[COLUMNS[2]].str.strip("()")})
    zeros = table[COLUMNS[1:]].apply(lambda column: column.str.match(r"0\d")).any(axis=None)
    lines = [*letter_footer(summary), *(("Attention", alert) for alert in alerts),
             *([("Codes", LEADING_ZERO_NOTE)] if zeros else [])]
    footer = pd.DataFrame([(label, value, "") for label, value in lines], columns=COLUMNS)
    blank = pd.DataFrame([("", "", "")], columns=COLUMNS)
    text = pd.concat([table, blank, footer]).map(spreadsheet_cell).to_csv(sep=";", index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def letter_markdown(table: pd.DataFrame, summary: Summary) -> str:
    """The table and its footer in Markdown."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    lines.append("")
    lines += [f"**{label}** : {value}  " for label, value in letter_footer(summary)]
    return "\n".join(lines) + "\n"
