"""Read the codes a user gives (INSEE commune codes, IRIS codes, files of them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cpts_geo.config import departement_of
from cpts_geo.errors import InputError
from cpts_geo.formatting import fr_int
from cpts_geo.data.reference import departements_table, outside_cpts
from cpts_geo.data.sources.cog import alias_note
from cpts_geo.data.sources.readers import listed, read_text_table
from cpts_geo.user_text import display_text

CODE_PATTERN = re.compile(r"^(?:\d{2}|2[AB])\d{3}(?:\d{4})?$")
#: Communes whose IRIS are coded by arrondissement municipal.
PLM_PARENTS = {"75056": "Paris", "69123": "Lyon", "13055": "Marseille"}
#: Column names accepted for codes in a CSV (lower case, spaces and underscores ignored).
CODE_COLUMNS = ("codeiris", "codeinsee", "code", "insee", "iris", "depcom", "codecommune")
#: Column names accepted for the CPTS name in a file of several CPTS.
NAME_COLUMNS = ("cpts", "nom", "nomcpts", "name")
MAX_UPLOAD_BYTES = 5_000_000
#: Longest code written in a message (a longer one is a whole cell, or a file, read as a code).
CODE_SHOWN = 20


def normalise_code(raw: str) -> str:
    """A code as typed or read (spaces, parentheses, lower-case ``2a``, the invisible mark that keeps a code as
    text in the CSV the tool writes) in canonical form."""
    return re.sub(r"[\s()\[\]\"'\u2060\ufeff]", "", str(raw)).upper()


def split_codes(text: str) -> list[str]:
    """Codes typed by hand, separated by commas, semicolons, spaces or new lines."""
    return [normalise_code(t) for t in re.split(r"[,;\s]+", text) if normalise_code(t)]


@dataclass
class CodeReport:
    """What a list of codes resolved to: IRIS selected and the codes that could not be used."""

    iris: frozenset[str] = frozenset()
    communes_given: tuple[str, ...] = ()
    iris_given: tuple[str, ...] = ()
    problems: list[tuple[str, str]] = field(default_factory=list)  # (code, French reason)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self) -> str:
        """One French paragraph listing the codes that were not used and why (the first ten, then how many)."""
        return listed((f"{display_text(code, CODE_SHOWN)} : {reason}" for code, reason in self.problems),
                      width=CODE_SHOWN + 120, separator=" ; ")


def alias_notes(bundle, codes) -> dict[str, str]:
    """French note for each code that stands for a current commune under another code (former commune,
    commune déléguée or associée, commune re-established since the contours)."""
    aliases = bundle.aliases
    found = aliases.loc[aliases.index.intersection(list(codes))]
    names = bundle.communes["nom"]
    return {row.code: alias_note(row.code, row.kind, row.current, names.get(row.current, ""), row.nom)
            for row in found.itertuples()}


def translate_communes(bundle, codes: pd.Series) -> tuple[pd.Series, list[str]]:
    """Commune codes as today's communes (a former code becomes its commune nouvelle), with a note for each
    code translated. Re-established communes keep their code (the bundle knows the IRIS that draw them)."""
    aliases = bundle.aliases[bundle.aliases["kind"] != "retablie"]
    notes = alias_notes(bundle, codes.unique())
    return codes.map(aliases["current"]).fillna(codes), [notes[c] for c in sorted(notes)]


def resolve_codes(bundle, codes) -> CodeReport:
    """Resolve INSEE commune codes and IRIS codes into a set of IRIS of ``bundle``.

    A current commune selects the IRIS of the area it covers today (those of its former communes
    in the contours); a former code, a commune déléguée or associée is read as its current commune
    and a re-established commune as the IRIS that draw it, each with a note."""
    report = CodeReport()
    selected: set[str] = set()
    seen: set[str] = set()
    communes_given, iris_given, repeated = [], [], []
    departements = set(bundle.departements["code_departement"])
    for raw in codes:
        code = normalise_code(raw)
        if not code:
            continue
        if code in seen:
            repeated.append(code)
            continue
        seen.add(code)
        if not CODE_PATTERN.match(code):
            report.problems.append((code, "format invalide (attendu : code INSEE à 5 caractères "
                                          "ou code IRIS à 9 caractères)"))
        elif len(code) == 9 and code in bundle.iris.index:
            selected.add(code)
            iris_given.append(code)
        elif len(code) == 5 and (current := _current_commune(bundle, code)) in bundle.iris_by_commune:
            selected.update(bundle.iris_by_commune[current])
            communes_given.append(current)
            report.notes.extend(alias_notes(bundle, [code]).values())
        elif len(code) == 5 and current in PLM_PARENTS:
            parts = list(bundle.arrondissements.get(current, ()))
            if not parts:
                report.problems.append((code, f"{PLM_PARENTS[current]} n'est pas dans les données préparées"))
                continue
            for part in parts:
                selected.update(bundle.iris_by_commune[part])
            communes_given.extend(parts)
            report.notes.append(f"{code} ({PLM_PARENTS[current]}) remplacé par ses {len(parts)} arrondissements.")
        else:
            report.problems.append((code, _unknown_reason(bundle, code, departements)))
    if repeated:
        report.notes.append(f"{fr_int(len(repeated))} code(s) figurent plusieurs fois (pris une seule fois) : "
                            f"{listed(dict.fromkeys(repeated), width=CODE_SHOWN)}.")
    report.iris = frozenset(selected)
    report.communes_given = tuple(communes_given)
    report.iris_given = tuple(iris_given)
    return report


def _current_commune(bundle, code: str) -> str:
    """The current commune a commune code stands for (itself when current or re-established)."""
    if code in bundle.iris_by_commune or code not in bundle.aliases.index:
        return code
    return bundle.aliases.at[code, "current"]


def _unknown_reason(bundle, code: str, departements: set[str]) -> str:
    if overseas := outside_cpts(code):
        return overseas
    departement = departement_of(code)
    if departement not in set(departements_table()["code_departement"]):
        return f"département {departement} inexistant"
    if departement not in departements:
        return (f"département {departement} absent des données préparées "
                f"(préparées : {', '.join(sorted(departements)[:10])}{'…' if len(departements) > 10 else ''})")
    if len(code) == 9:
        commune = _current_commune(bundle, code[:5])
        if commune in bundle.iris_by_commune:
            known = bundle.iris_by_commune[commune]
            return (f"IRIS inconnu dans la commune {commune} ({bundle.communes.at[commune, 'nom']}), "
                    f"qui a {len(known)} IRIS ({', '.join(known[:5])}{'…' if len(known) > 5 else ''})")
        return f"IRIS inconnu : la commune {commune} n'existe pas dans les contours IRIS {bundle.meta.get('iris_edition', '')}"
    if code in bundle.aliases.index:
        return f"{alias_notes(bundle, [code])[code]}, absente des données préparées"
    return (f"commune inconnue du code officiel géographique {bundle.meta.get('cog_millesime') or ''} "
            f"et des contours IRIS {bundle.meta.get('iris_edition', '')} (code erroné ?)").replace("  ", " ")


def _compact(name: str) -> str:
    return re.sub(r"[\s_]+", "", str(name)).lower()


def pick_column(table: pd.DataFrame, accepted: tuple[str, ...]) -> str | None:
    """The first column of ``table`` whose name, without case, spaces or underscores, is in ``accepted``."""
    by_name = {_compact(c): c for c in table.columns}
    return next((by_name[a] for a in accepted if a in by_name), None)


def _load_bytes(source: Path | str | bytes, label: str) -> bytes:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"{label} est trop volumineux ({len(data) / 1e6:.1f} Mo ; "
                         f"maximum {MAX_UPLOAD_BYTES / 1e6:.0f} Mo pour une liste de codes).")
    if not data.strip():
        raise InputError(f"{label} est vide.")
    return data


def read_code_file(source: Path | str | bytes, label: str = "Le fichier") -> list[str]:
    """Codes of a CSV/TXT file: a column of codes (code_insee, code_iris, CODE INSEE…) or one code per line."""
    data = _load_bytes(source, label)
    table = read_text_table(data, label=label.lower())
    column = pick_column(table, CODE_COLUMNS)
    if column is not None:
        commune = pick_column(table, CODE_COLUMNS[1:])
        codes = table[column] if commune in (None, column) else table[column].fillna(table[commune])  # letter table
        return [normalise_code(v) for v in codes.dropna() if normalise_code(v)]
    header_tokens = [normalise_code(c) for c in table.columns]
    if table.shape[1] == 1 and all(CODE_PATTERN.match(t) for t in header_tokens):
        return header_tokens + [normalise_code(v) for v in table.iloc[:, 0].dropna()]
    raise InputError(f"{label} n'a pas de colonne de codes reconnue (attendu : code_insee, code_iris, "
                     f"code ou CODE INSEE ; colonnes lues : {listed(table.columns)}).")
