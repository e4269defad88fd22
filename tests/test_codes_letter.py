"""Reading codes, the letter table and its CSV/Markdown forms."""

import re

import pytest

from cpts_geo.codes import read_code_file, resolve_codes, split_codes
from cpts_geo.errors import InputError
from cpts_geo.letter import COLUMNS, letter_csv, letter_markdown, letter_table
from cpts_geo.territory import Territory, summarize


def test_resolve_codes_reports_unknown_and_expands_paris(france):
    report = resolve_codes(france, ["66028", "661369999", "99999", "6602", "66028", "75056", "2a004"])
    assert report.iris >= set(france.iris_by_commune["66028"])
    reasons = dict(report.problems)
    assert "IRIS inconnu dans la commune 66136 (Perpignan)" in reasons["661369999"]
    assert reasons["99999"] == "département 99 inexistant"
    assert "format invalide" in reasons["6602"]
    assert len([c for c in report.communes_given if c.startswith("751")]) == 20
    assert "2A004" in report.communes_given
    assert any("plusieurs fois" in n for n in report.notes)


def test_restricted_bundle_names_missing_departement(dep66):
    report = resolve_codes(dep66, ["11069"])
    assert "absent des données préparées" in dict(report.problems)["11069"]


def test_split_codes():
    assert split_codes("66028, 661360801;66186\n 66189") == ["66028", "661360801", "66186", "66189"]


def test_read_code_file_variants():
    assert read_code_file(b"code_insee\n66028\n66186\n") == ["66028", "66186"]
    assert read_code_file(b"66028\n66186\n") == ["66028", "66186"]
    letter = "COMMUNES / QUARTIERS;CODE POSTAL;CODE INSEE\nOuest (660280101) - Cabestany;66330;(660280101)\n"
    assert read_code_file(letter.encode("cp1252")) == ["660280101"]


def test_read_code_file_errors_are_french():
    with pytest.raises(InputError, match="colonne de codes"):
        read_code_file("ville|nombre\nPerpignan|3\n".encode())
    with pytest.raises(InputError, match="vide"):
        read_code_file(b"  \n")
    with pytest.raises(InputError, match="trop volumineux"):
        read_code_file(b"0" * 6_000_000)


def test_letter_table_detailed_and_compact(france, ruscino):
    summary = summarize(france, ruscino, {"66136": "66000"})
    detailed = letter_table(france, summary, detailed=True)
    assert list(detailed.columns) == COLUMNS and len(detailed) == 16
    assert tuple(detailed.iloc[0]) == ("Ouest (660280101) - Cabestany", "66330", "(660280101)")
    assert tuple(detailed.iloc[4]) == ("Champs de Mars (661360801) - Perpignan", "66000", "(661360801)")
    assert tuple(detailed.iloc[-1]) == ("Saleilles", "66280", "66189")
    compact = letter_table(france, summary, detailed=False)
    assert len(compact) == 13 and tuple(compact.iloc[0]) == ("Cabestany", "66330", "66028")


def test_letter_csv_opens_in_french_excel(france, ruscino):
    summary = summarize(france, ruscino)
    data = letter_csv(letter_table(france, summary, detailed=True), summary)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "COMMUNES / QUARTIERS;CODE POSTAL;CODE INSEE"
    assert lines[1] == "Ouest (660280101) - Cabestany;66330;660280101"
    assert "Nombre de communes;4 (dont 1 en partie);" in lines
    assert any(line.startswith("Population;48\u202f454 habitants") for line in lines)
    markdown = letter_markdown(letter_table(france, summary), summary)
    assert "| Saint-Nazaire | 66570 | 66186 |" in markdown


def spreadsheet_shows(cell: str) -> str:
    """What LibreOffice Calc or Excel shows for a CSV cell they open with the standard column type: a number
    (« (123) » is -123, leading zeros dropped) or the text itself."""
    match = re.fullmatch(r"(\()?([+-]?)(\d+)(\))?", cell.strip())
    if not match or bool(match[1]) != bool(match[4]):
        return cell
    return f"{'-' if match[1] or match[2] == '-' else ''}{int(match[3])}"


def test_csv_codes_show_as_codes_in_a_spreadsheet(france, ruscino):
    summary = summarize(france, ruscino)
    rows = [line.split(";") for line in letter_csv(letter_table(france, summary, detailed=True), summary)
            .decode("utf-8-sig").splitlines()]
    table = rows[1:17]
    assert table[0] == ["Ouest (660280101) - Cabestany", "66330", "660280101"]
    assert all(spreadsheet_shows(code) == code for _, postal, code in table for code in (postal, code))
    assert spreadsheet_shows("(660280101)") == "-660280101"      # what the letter's display would become
    assert not any(row[0] == "Codes" for row in rows)
    bourg = summarize(france, Territory(frozenset(france.iris_by_commune["01053"]), "Bourg"))
    lines = letter_csv(letter_table(france, bourg, detailed=False), bourg).decode("utf-8-sig").splitlines()
    assert lines[1] == "Bourg-en-Bresse;01000;01053" and spreadsheet_shows("01053") == "1053"
    assert "Codes;des codes commencent par 0 : un tableur qui ouvre ce CSV" in "\n".join(lines)
