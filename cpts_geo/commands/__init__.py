"""``python -m cpts_geo``: the command line (``main``, ``arguments``, ``output``) and its sub-commands, each
module of which defines ``add_parser(subparsers)``.

``add_parser`` adds its sub-parser and sets ``func`` (called with the parsed arguments,
returns the exit code). Modules are discovered in this package, in name order.
"""
