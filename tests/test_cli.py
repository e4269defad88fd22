"""``python -m cpts_geo`` summary and prepare, as a user runs them (subprocesses on the real data)."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import RUSCINO_CODES


def run_cli(*args, data=None):
    env = {**os.environ, **({"CPTS_GEO_DATA": str(data)} if data else {})}
    return subprocess.run([sys.executable, "-m", "cpts_geo", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_summary_json_of_ruscino(france_dir):
    result = run_cli("summary", "--codes", ",".join(RUSCINO_CODES), "--name", "CPTS Ruscino", "--json",
                     data=france_dir)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [(c["code"], c["name"], c["whole"], len(c["iris"])) for c in payload["communes"]] == [
        ("66028", "Cabestany", True, 4), ("66136", "Perpignan", False, 10),
        ("66186", "Saint-Nazaire", True, 1), ("66189", "Saleilles", True, 1)]
    assert payload["iris_count"] == 16
    assert payload["population"]["value"] == 48_454 and payload["population"]["millesime"] == 2023
    assert payload["population"]["method"].startswith("Communes entières")
    assert payload["taille"]["number"] == 2
    assert {"66330", "66000", "66570", "66280"} <= set(payload["postal_codes"])
    assert payload["checks"]["contiguity"]["ok"] is True
    assert payload["checks"]["split_communes"]["communes"] == ["66136"]
    assert len(payload["letter_table"]) == 13      # Cabestany whole: one row; Perpignan: its 10 IRIS


def test_summary_text_from_file_with_neighbours(france_dir, tmp_path):
    codes = tmp_path / "perimetre.csv"
    codes.write_text("code\n" + "\n".join(RUSCINO_CODES) + "\n", encoding="utf-8")
    others = tmp_path / "voisines.csv"
    others.write_text("cpts;code_insee\nCPTS Salanque;66037\nCPTS Sud;66189\n", encoding="cp1252")
    result = run_cli("summary", "--codes", codes, "--other-cpts", others, "--postal", "66136=66000",
                     "--compact", data=france_dir)
    assert result.returncode == 0, result.stderr
    assert "Population : 48\u202f454 habitants" in result.stdout
    assert "chevauche d'autres CPTS — avec « CPTS Sud » : communes Saleilles (66189)" in result.stdout
    assert "| Cabestany | 66330 | 66028 |" in result.stdout
    assert "précision d'environ 14 m" in result.stdout


def test_neighbours_keep_their_iris_quarters(france_dir, tmp_path):
    """A registry row ``CPTS;commune;IRIS`` or ``CPTS;commune;;quartier`` is that IRIS, not the whole commune."""
    others = tmp_path / "voisines.csv"
    example = open("docs/registry_example/registre_cpts_66_11.csv", encoding="utf-8").read()
    others.write_text(example + "CPTS Perpignan;66136;661369999;\n", encoding="utf-8")
    result = run_cli("summary", "--codes", ",".join(RUSCINO_CODES), "--name", "CPTS Ruscino", "--other-cpts", others,
                     "--json", data=france_dir)
    assert result.returncode == 0, result.stderr
    checks = json.loads(result.stdout)["checks"]
    assert checks["overlaps"]["ok"] is True       # CPTS Perpignan holds the other 37 IRIS of Perpignan
    assert checks["isolated"]["ok"] is True
    assert "661369999" in result.stderr and "Ignoré (ligne" in result.stderr


@pytest.mark.parametrize("content, encoding, expected", [
    ("ville|nombre\nCabestany|1\n", "utf-8", "colonne de codes"),
    ("code\n99999\n", "utf-8", "département 99 inexistant"),
    ("", "utf-8", "vide"),
    ("code\n".encode("utf-16").decode("latin-1"), "latin-1", "Erreur"),
])
def test_bad_files_exit_2_without_traceback(france_dir, tmp_path, content, encoding, expected):
    path = tmp_path / "codes.csv"
    path.write_text(content, encoding=encoding)
    result = run_cli("summary", "--codes", path, data=france_dir)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_bad_codes_and_empty_selection(france_dir):
    unknown = run_cli("summary", "--codes", "66028,661369999", data=france_dir)
    assert unknown.returncode == 2 and "IRIS inconnu dans la commune 66136" in unknown.stderr
    empty = run_cli("summary", "--codes", " , ", data=france_dir)
    assert empty.returncode == 2 and "sélection est vide" in empty.stderr
    missing = run_cli("summary", "--codes", "absent.csv", data=france_dir)
    assert missing.returncode == 2 and "introuvable" in missing.stderr


def test_missing_bundle_is_explained(tmp_path):
    result = run_cli("summary", "--codes", "66028", data=tmp_path)
    assert result.returncode == 2 and "python -m cpts_geo prepare" in result.stderr


def test_prepare_one_departement(tmp_path):
    out = tmp_path / "bundle"
    result = run_cli("prepare", "--departement", "66", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "313 IRIS, 226 communes, 846 paires" in result.stdout
    assert "Graphe d'adjacence" in result.stderr       # progress is shown
    bad = run_cli("prepare", "--departement", "99", "--out", out)
    assert bad.returncode == 2 and "inconnu" in bad.stderr


def test_only_the_named_command_is_loaded():
    """`prepare` does not import the export modules (matplotlib, python-docx): a fresh process shows it."""
    code = ("import sys; from cpts_geo.commands.main import build_parser; build_parser(['prepare']); "
            "print(sorted(m for m in ('matplotlib', 'docx', 'cpts_geo.commands.export') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    from cpts_geo.commands.main import build_parser
    help_text = build_parser([]).format_help()
    assert all(name in help_text for name in ("coverage", "export", "prepare", "registry", "summary"))


def test_a_perimeter_is_given_with_perimeter_not_codes(france_dir, tmp_path):
    """An exported perimeter given to --codes: a short French error pointing to --perimeter, which reads it."""
    exported = run_cli("export", "--codes", "66028", "--name", "CPTS Cœur de Ville", "--format", "geojson",
                       "--out", tmp_path, data=france_dir)
    assert exported.returncode == 0, exported.stderr
    perimeter = tmp_path / "cpts_coeur_de_ville_perimetre.geojson"
    wrong = run_cli("summary", "--codes", perimeter, data=france_dir)
    assert wrong.returncode == 2 and len(wrong.stderr) < 400 and "FeatureCollection" not in wrong.stderr
    assert "--perimeter cpts_coeur_de_ville_perimetre.geojson" in wrong.stderr
    right = run_cli("summary", "--perimeter", perimeter, "--json", data=france_dir)
    assert right.returncode == 0, right.stderr
    payload = json.loads(right.stdout)
    assert payload["name"] == "CPTS Cœur de Ville" and payload["iris_count"] == 4
    both = run_cli("summary", "--codes", "66028", "--perimeter", perimeter, data=france_dir)
    assert both.returncode == 2 and "ne peut pas être donné avec l'argument --codes" in both.stderr


def test_summary_text_of_a_territory_on_two_regions(france_dir):
    """Avignon (84) with Villeneuve-lès-Avignon (30): the two ARS, the ages against both départements and régions,
    the APL of both départements, FINESS said partial, and the letter table still under its own header."""
    result = run_cli("summary", "--codes", "84007,30351", data=france_dir)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Territoire sur deux régions (Provence-Alpes-Côte d'Azur et Occitanie) : deux ARS" in text
    age = next(line for line in text.splitlines() if line.startswith("  Moins de 15 ans"))
    assert all(name in age for name in ("Territoire", "Vaucluse (84)", "Gard (30)", "Provence-Alpes-Côte d'Azur",
                                        "Occitanie"))
    assert "(départements Vaucluse (84) " in text and "(partiel : Gard seulement)" in text
    header = text.index("| COMMUNES / QUARTIERS | CODE POSTAL | CODE INSEE | CODE IRIS |")
    assert "| Avignon |" in text[header:] and "Moins de 15 ans" not in text[header:]


def command_parsers(parser, path=()):
    """Every parser of the command line with its path of sub-commands: (("registry", "diff"), parser)…"""
    yield path, parser
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        for name, subparser in action.choices.items():
            yield from command_parsers(subparser, (*path, name))


def test_the_help_is_french_and_complete():
    """Every command and action has its own French help: a description, every option explained, no argparse
    English; ``registry history --help`` is the help of history, not of registry."""
    from cpts_geo.commands.main import build_parser
    parsers = dict(command_parsers(build_parser([])))
    assert set(parsers) >= {(), ("summary",), ("export",), ("prepare",), ("coverage",), ("registry",),
                            ("registry", "history"), ("registry", "diff"), ("registry", "restore")}
    for path, parser in parsers.items():
        text = parser.format_help()
        assert text.startswith(f"utilisation : python -m cpts_geo {' '.join(path)}".rstrip()), path
        for english in ("usage:", "options:", "positional arguments", "show this help", "optional arguments"):
            assert english not in text, (path, english)
        assert parser.description, path
        undocumented = [a.dest for a in parser._actions if not a.help and not a.choices]
        assert undocumented == [], (path, undocumented)
        assert not re.search(r"\b[A-Z]+_[A-Z_]+\b", parser.format_usage()), path     # OTHER_CPTS, …
    assert "VERSION VERSION" in parsers[("registry", "diff")].format_usage()
    assert "--author" in parsers[("registry", "restore")].format_help()
    assert "--author" not in parsers[("registry", "history")].format_help()
    assert "CPTS_GEO_DATA" in parsers[()].format_help() and "--par-iris" in parsers[("summary",)].format_help()
    shown = run_cli("registry", "history", "--help")
    assert shown.returncode == 0 and shown.stdout.startswith("utilisation : python -m cpts_geo registry history")


def test_output_cut_short_by_its_reader_ends_quietly(france_dir):
    """``summary --json | head -c 0``: the reader closes the pipe before anything is written (the data take a
    second to load); no error, exit code 0."""
    process = subprocess.Popen([sys.executable, "-m", "cpts_geo", "summary", "--codes", "66136,66028", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "CPTS_GEO_DATA": str(france_dir)})
    process.stdout.close()
    assert process.wait(timeout=300) == 0
    assert process.stderr.read().decode() == ""
