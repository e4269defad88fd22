"""Reading codes, the letter table and its CSV/Markdown forms."""

import pytest

from cpts_geo.data.codes import read_code_file, resolve_codes, split_codes
from cpts_geo.errors import InputError
from cpts_geo.exports.sheets import TEXT_MARK
from cpts_geo.exports.tables import letter_csv
from cpts_geo.territory.letter import COLUMNS, letter_footer, letter_markdown, letter_table
from cpts_geo.territory.model import Territory, summarize
from tests.conftest import calc_rows


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
    assert read_code_file(letter.encode("cp1252")) == ["660280101"]              # a letter table of before


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
    assert tuple(detailed.iloc[0]) == ("Ouest (660280101) - Cabestany", "66330", "66028", "660280101")
    assert tuple(detailed.iloc[4]) == ("Champs de Mars (661360801) - Perpignan", "66000", "66136", "661360801")
    assert tuple(detailed.iloc[-1]) == ("Saleilles", "66280", "66189", "")
    compact = letter_table(france, summary, detailed=False)
    assert len(compact) == 13 and tuple(compact.iloc[0]) == ("Cabestany", "66330", "66028", "")


def test_postal_codes_to_confirm_as_summary_flags_them(france, ruscino):
    """Perpignan (66000, 66100) without --postal: its rows say « à confirmer », as the summary does, and the
    footer names it; with --postal 66136=66000 nothing is to confirm."""
    summary = summarize(france, ruscino)
    table = letter_table(france, summary)
    flagged = table[table["CODE POSTAL"].str.endswith(" (à confirmer)")]
    assert set(flagged["CODE INSEE"]) == {"66136"} and len(flagged) == 10
    assert flagged["CODE POSTAL"].iat[0] == "66000, 66100 (à confirmer)"
    assert tuple(flagged["CODE POSTAL"].iat[0].removesuffix(" (à confirmer)").split(", ")) == \
        summary.postal_codes_to_confirm
    footer = dict(letter_footer(summary))
    assert footer["Codes postaux à confirmer"] == ("Perpignan (66000, 66100) : commune à plusieurs codes postaux, "
                                                  "garder celui des quartiers retenus")
    assert list(footer)[-1] == "Taille de la CPTS"
    avignon = summarize(france, Territory(resolve_codes(france, ["84007"]).iris))
    assert letter_table(france, avignon)["CODE POSTAL"].tolist() == ["84000, 84140 (à confirmer)"]
    assert avignon.postal_codes_to_confirm == ("84000", "84140")
    chosen = summarize(france, ruscino, {"66136": "66000"})
    assert "Codes postaux à confirmer" not in dict(letter_footer(chosen))
    assert not letter_table(france, chosen)["CODE POSTAL"].str.contains("confirmer").any()


def test_letter_csv_opens_in_french_excel(france, ruscino):
    summary = summarize(france, ruscino)
    data = letter_csv(letter_table(france, summary, detailed=True), summary)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "COMMUNES / QUARTIERS;CODE POSTAL;CODE INSEE;CODE IRIS"
    assert lines[1] == "Ouest (660280101) - Cabestany;\u206066330;\u206066028;\u2060660280101"
    assert "Nombre de communes;4 (dont 1 en partie);;" in lines
    assert any(line.startswith("Population;48\u202f454 habitants") for line in lines)
    markdown = letter_markdown(letter_table(france, summary), summary)
    assert "| Saint-Nazaire | 66570 | 66186 |  |" in markdown


def test_letter_csv_reads_back_as_the_territory(france, ruscino):
    summary = summarize(france, ruscino)
    for detailed in (True, False):
        codes = read_code_file(letter_csv(letter_table(france, summary, detailed), summary))
        assert resolve_codes(france, codes).iris == ruscino.iris


def test_letter_csv_in_libreoffice_keeps_codes(france, ruscino, tmp_path, libreoffice):
    """Opened by LibreOffice Calc in French, the letter CSV keeps every code whole: Bourg-en-Bresse 01053 and its
    postal code 01000, Perpignan's IRIS with its commune 66136."""
    bourg = Territory(frozenset(france.iris_by_commune["01053"]), "Bourg")
    for name, territory in (("bourg", bourg), ("ruscino", ruscino)):
        summary = summarize(france, territory)
        (tmp_path / f"{name}.csv").write_bytes(letter_csv(letter_table(france, summary), summary))
    bourg_rows = calc_rows(libreoffice, tmp_path / "bourg.csv")
    assert [value.lstrip(TEXT_MARK) for value in bourg_rows[1][1:3]] == ["01000", "01053"]
    rows = calc_rows(libreoffice, tmp_path / "ruscino.csv")
    perpignan = next(row for row in rows if row[0] == "Champs de Mars (661360801) - Perpignan")
    assert [value.lstrip(TEXT_MARK) for value in perpignan[1:]] == ["66000, 66100 (à confirmer)", "66136", "661360801"]
    assert all(isinstance(value, str) for row in rows[1:14] for value in row[1:3])
