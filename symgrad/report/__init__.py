"""Results rendered at the edge: every result of symgrad as text, Markdown, LaTeX and JSON.

One module per kind of result; each takes the result's values and prints
them, nothing computes here. Derivations and cells are printed by
:mod:`symgrad.render` (below the engine, which uses it for notebooks).
"""
