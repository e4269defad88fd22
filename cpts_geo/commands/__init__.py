"""Sub-commands of ``python -m cpts_geo``: each module defines ``add_parser(subparsers)``.

``add_parser`` adds its sub-parser and sets ``func`` (called with the parsed arguments,
returns the exit code). Modules are discovered in this package, in name order.
"""
