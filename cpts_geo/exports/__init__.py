"""Exports of a territory: printable maps, tables, perimeter files."""
