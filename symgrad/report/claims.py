"""Checked claims as a table (text, Markdown, JSON) and as proof documents.

``symgrad verify`` prints :func:`verify_text`, :func:`verify_markdown` or
:func:`verify_json`; ``symgrad prove`` writes :func:`write_proofs`: one
Markdown document per claim (``$$`` math, which GitHub renders) and one
combined LaTeX document that compiles with pdflatex. The documents carry no
timings and only rounded numbers, so the same code and seed regenerate them
byte for byte.

Claim texts are written with inline LaTeX between ``$`` signs; :func:`plain`
turns them into Unicode for the terminal, :func:`tex_inline` escapes the text
between the math for LaTeX.
"""

from __future__ import annotations

from pathlib import Path

from ..claims import ClaimResult
from ..evidence import KINDS, STATUSES
from ..text import md_cell, plain, tex_inline, tex_text
from ..texwidth import STANDALONE_TEXTWIDTH, TexWidthError, align_width, fit_rows

__all__ = [
    "ND_DOCUMENT",
    "nd_section",
    "proof_markdown",
    "proofs_latex",
    "verdict_line",
    "verify_json",
    "verify_markdown",
    "verify_text",
    "write_proofs",
]

# ---------------------------------------------------------------- verify


def _header(ctx) -> list:
    s = ctx.settings
    return [
        f"seed {s.seed}; {s.samples} Monte Carlo samples per cell; "
        f"{s.confidence:.0%} confidence intervals",
        f"distribution: {s.distribution.split(';')[0]}"
        + (f"; forget bias $b_f = {s.forget_bias:g}$" if s.forget_bias is not None else "")
        + "; previous-step values as each figure says, by their range",
        f"long horizon: {ctx.flow_samples} trajectories of {ctx.steps} steps",
        "verdicts: PASS holds as stated; QUALIFIED holds only in the form printed; REFUTED "
        "false, with a certified or exact counterexample; FAIL no verdict",
        "time: each claim's own work; a Monte Carlo run shared by several claims is charged "
        "to the first that needs it, a bound's SciPy (N) or certificate (C) time to every "
        "piece of evidence that uses it",
    ]


def verdict_line(results) -> str:
    """The summary line: each verdict counted, the claims without one named."""
    counts = {status: sum(r.status == status for r in results) for status in STATUSES}
    noun = "claim" if len(results) == 1 else "claims"
    line = f"{len(results)} {noun}: " + ", ".join(
        f"{n} {status.upper()}" for status, n in counts.items()
    )
    failed = [r.claim.id for r in results if r.status == "fail"]
    return line + ("; no verdict for: " + ", ".join(failed) if failed else "")


def _kinds(r: ClaimResult) -> list:
    """The evidence kinds a result carries, each once, in order."""
    return list(dict.fromkeys(e.kind for e in r.evidence))


#: Width of the key figure column in the text table.
KEY_WIDTH = 64


def verify_text(results: list, ctx) -> str:
    """The verdict table, then every claim's evidence, numbers and caveats."""
    noun = "claim" if len(results) == 1 else "claims"
    lines = [f"symgrad verify: {len(results)} {noun}", *map(plain, _header(ctx)), ""]
    width = max(len(r.claim.id) for r in results)
    lines.append(f"{'claim':<{width}}  evidence  status     {'key figure':<{KEY_WIDTH}}  time")
    for r in results:
        key = plain(r.key_figure)
        if len(key) > KEY_WIDTH:
            key = key[: KEY_WIDTH - 1] + "…"
        kinds = ",".join(_kinds(r))
        lines.append(
            f"{r.claim.id:<{width}}  {kinds:<8}  {r.status.upper():<9}  {key:<{KEY_WIDTH}}  "
            f"{r.seconds:.2f}s"
        )
    lines += ["", verdict_line(results), ""]
    for r in results:
        lines.append(f"{r.claim.id}: {r.status.upper()}. {plain(r.claim.title)}")
        lines += [f"  holds in the form: {plain(h)}" for h in r.holds]
        lines += [f"  counterexample: {plain(c)}" for c in r.counterexamples]
        for e in r.evidence:
            lines.append(
                f"  [{e.kind} {e.status}, {e.seconds:.2f}s] {KINDS[e.kind]}: {plain(e.method)}"
            )
            lines.append(f"    {plain(e.summary)}")
            lines += [f"    {plain(d)}" for d in e.details]
        lines += [f"  caveat: {plain(c)}" for c in r.caveats]
        lines.append("")
    return "\n".join(lines)


def verify_markdown(results: list, ctx) -> str:
    """The verdict table and every claim's evidence, as Markdown."""
    out = ["# symgrad verify", "", *(f"- {h}" for h in _header(ctx)), ""]
    out += ["| claim | evidence | status | key figure | time |", "|---|---|---|---|---|"]
    for r in results:
        kinds = ", ".join(_kinds(r))
        out.append(
            f"| `{r.claim.id}` | {kinds} | **{r.status}** | {md_cell(r.key_figure)} | "
            f"{r.seconds:.2f} s |"
        )
    out += ["", verdict_line(results) + ".", ""]
    for r in results:
        out += [f"## `{r.claim.id}`: {r.status}", "", r.claim.statement, ""]
        out += [f"- holds in the form: {h}" for h in r.holds]
        out += [f"- counterexample: {c}" for c in r.counterexamples]
        out += [""] if r.holds or r.counterexamples else []
        for e in r.evidence:
            out.append(
                f"- **{e.kind}** ({KINDS[e.kind]}, {e.status}, {e.seconds:.2f} s): {e.summary}"
            )
            out += [f"  - {d}" for d in e.details]
        out += [f"- caveat: {c}" for c in r.caveats]
        out.append("")
    return "\n".join(out)


def verify_json(results: list, ctx) -> dict:
    """``{"settings", "claims": [{"id", "status", "evidence": [...], "caveats"}], ...}``;
    each evidence record carries its figures (bounds: ``value``, ``argmax``,
    ``interval`` [lo, hi])."""
    claims = []
    for r in results:
        evidence = []
        for e in r.evidence:
            record = {
                "kind": e.kind,
                "status": e.status,
                "summary": plain(e.summary),
                "method": plain(e.method),
                "details": [plain(d) for d in e.details],
            }
            if e.holds:
                record["holds"] = [plain(h) for h in e.holds]
            if e.counterexamples:
                record["counterexamples"] = [plain(c) for c in e.counterexamples]
            record.update({k: v for k, v in e.figures.items() if k not in record})
            evidence.append(record)
        claims.append(
            {
                "id": r.claim.id,
                "title": plain(r.claim.title),
                "status": r.status,
                "kinds": list(r.claim.kinds),
                "key_figure": plain(r.key_figure),
                "holds": [plain(h) for h in r.holds],
                "counterexamples": [plain(c) for c in r.counterexamples],
                "evidence": evidence,
                "caveats": [plain(c) for c in r.caveats],
                "command": ctx.command(r.claim.id),
            }
        )
    return {
        "settings": {
            **ctx.settings.as_json(),
            "steps": ctx.steps,
            "flow_samples": ctx.flow_samples,
        },
        "claims": claims,
        "verdicts": {status: sum(r.status == status for r in results) for status in STATUSES},
    }


# ---------------------------------------------------------------- proofs


def _commands(r: ClaimResult, ctx) -> list:
    return [ctx.command(r.claim.id), *r.claim.commands]


def proof_markdown(r: ClaimResult, ctx) -> str:
    """One claim's proof document, as Markdown with ``$$`` math."""
    c = r.claim
    kinds = ", ".join(f"{k} ({KINDS[k]})" for k in c.kinds)
    out = [
        f"# `{c.id}`: {c.title}",
        "",
        f"**Verdict: {r.status.upper()}.** Evidence: {kinds}.",
        "",
        *(f"- holds in the form: {h}" for h in r.holds),
        *(f"- counterexample: {c}" for c in r.counterexamples),
        *([""] if r.holds or r.counterexamples else []),
        "## Statement",
        "",
        c.statement,
        "",
        f"> {c.article}",
        "",
    ]
    math = [e for e in r.evidence if e.math]
    if math:
        out += ["## Derivation", ""]
        for e in math:
            out += ["$$", "\\begin{aligned}", " \\\\\n".join(e.math), "\\end{aligned}", "$$", ""]
    out += ["## Evidence", ""]
    for e in r.evidence:
        out += [
            f"### {e.kind}: {KINDS[e.kind]} ({e.status})",
            "",
            f"How: {e.method}.",
            "",
            f"Result: {e.summary}.",
            "",
        ]
        out += [f"- {d}" for d in e.details]
        out.append("")
    if r.caveats:
        out += ["## Caveats", ""]
        out += [f"- {cv}" for cv in r.caveats]
        out.append("")
    out += ["## Reproduce", "", "```sh", *_commands(r, ctx), "```", ""]
    return "\n".join(out)


def proofs_latex(results: list, ctx) -> str:
    """All claims in one LaTeX document (article class, amsmath) for pdflatex."""
    body = [
        "\\documentclass{article}",
        "\\usepackage{amsmath}",
        "\\usepackage{amssymb}",
        "\\usepackage[margin=2cm]{geometry}",
        # A quote or a line of prose ending in unbreakable math stretches its
        # spaces rather than run into the margin.
        "\\setlength{\\emergencystretch}{3em}",
        "\\title{The claims of \\emph{Also Discussing RNN's Gradient Vanishing/Exploding "
        "Problem}, checked}",
        "\\author{generated by \\texttt{symgrad prove}}",
        "\\date{}",
        "\\begin{document}",
        "\\maketitle",
        tex_inline(verdict_line(results)) + ". " + tex_inline("; ".join(_header(ctx)[:-1])) + ".",
        "",
    ]
    for r in results:
        c = r.claim
        body += [
            f"\\section*{{\\texttt{{{tex_text(c.id)}}}: {r.status.upper()}}}",
            f"\\textbf{{Statement.}} {tex_inline(c.statement)}",
            "",
            *(f"\\textbf{{Holds in the form:}} {tex_inline(h)}\n" for h in r.holds),
            *(f"\\textbf{{Counterexample:}} {tex_inline(x)}\n" for x in r.counterexamples),
            f"\\begin{{quote}}\\emph{{{tex_inline(c.article)}}}\\end{{quote}}",
        ]
        for e in r.evidence:
            for rows in _fitted(e.math):
                body += ["\\begin{align*}", " \\\\\n".join(rows), "\\end{align*}"]
        for e in r.evidence:
            body += [
                f"\\paragraph{{{e.kind}: {tex_text(KINDS[e.kind])} ({e.status}).}}",
                tex_inline(f"How: {e.method}. Result: {e.summary}."),
            ]
            if e.details:
                body += ["\\begin{itemize}"]
                body += [f"\\item {tex_inline(d)}" for d in e.details]
                body += ["\\end{itemize}"]
        if r.caveats:
            body += ["\\paragraph{Caveats.}", "\\begin{itemize}"]
            body += [f"\\item {tex_inline(cv)}" for cv in r.caveats]
            body += ["\\end{itemize}"]
        body += [
            "\\paragraph{Reproduce.}",
            "\\begin{verbatim}",
            *_commands(r, ctx),
            "\\end{verbatim}",
        ]
    body.append("\\end{document}")
    return "\n".join(body) + "\n"


def _fitted(rows: list[str]) -> list[list[str]]:
    """``rows`` as ``align*`` blocks that fit the page (2 cm margins): one block
    if it fits, else each row on its own (their common alignment is what made
    the block wide), broken or split entry by entry where it is wider itself."""
    try:
        if not rows or align_width(rows) <= STANDALONE_TEXTWIDTH:
            return [rows] if rows else []
    except TexWidthError:
        return [rows]
    return [fit_rows([row], STANDALONE_TEXTWIDTH) for row in rows]


#: The combined LaTeX document's file name in proofs/.
COMBINED = "claims.tex"
#: The n-D summary's file name in proofs/ (the README carries the same section).
ND_DOCUMENT = "n-dimensions.md"


def nd_section(results: list, base: str = "") -> str:
    """The section "What changes in n dimensions" (Markdown) from the ``<id>-nd``
    results: per claim its verdict, its first counterexample and the forms that
    hold, each linked to its proof document (``base``: the path to proofs/ from
    where the section is read). Empty if no n-D claim was checked."""
    nd = [r for r in results if r.claim.id.endswith("-nd")]
    if not nd:
        return ""
    out = [
        "## What changes in n dimensions",
        "",
        "The article reasons with scalars and says its results keep their reference value for "
        "high-dimensional cells. `symgrad verify` checks that: each claim whose n-D reading is "
        "interesting has a counterpart `<id>-nd`, read for hidden size n with the operator "
        '2-norm $||\\cdot||$ for $|\\cdot|$ and entrywise clipping for "clip U". Each verdict '
        "comes from the tool's own evidence: a seeded SciPy search at n = 2 and 3 through the "
        "vector engine, its best point rounded to rationals and certified in arb balls; exact "
        "families with a symbolic parameter (the engine's matrices in SymPy) and their growth; "
        "proofs of what survives; seeded Monte Carlo where the article speaks of typical values. "
        f"{verdict_line(nd)}.",
        "",
    ]
    for r in nd:
        out.append(
            f"- [`{r.claim.id}`]({base}{r.claim.id}.md): **{r.status.upper()}** "
            f"({r.claim.title.removeprefix('n-D').lstrip(': ')})."
        )
        if r.counterexamples:
            out.append(f"  Counterexample: {r.counterexamples[0]}.")
        if r.holds:
            out.append(f"  What holds: {'; '.join(r.holds)}.")
        if r.status == "pass":
            key = r.claim.key or r.claim.kinds[-1]
            chosen = next(e for e in r.evidence if e.kind == key)
            out.append(f"  Evidence: {chosen.summary}.")
            out += [f"  Caveat: {c}" for c in r.caveats]
    out += [
        "",
        f"Generated by `symgrad prove` (also as `proofs/{ND_DOCUMENT}`); a test keeps this "
        "section equal to what the code prints.",
        "",
    ]
    return "\n".join(out)


def write_proofs(results: list, ctx, out_dir) -> list:
    """Write ``<id>.md`` per claim, ``README.md`` (an index) and :data:`COMBINED`
    into ``out_dir`` (created if missing); returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    index = [
        "# proofs",
        "",
        "Generated by `symgrad prove`; do not edit by hand (a test regenerates these files "
        f"and fails when they differ). {verdict_line(results)}.",
        "",
        "| claim | evidence | verdict | statement |",
        "|---|---|---|---|",
    ]
    for r in results:
        path = out / f"{r.claim.id}.md"
        path.write_text(proof_markdown(r, ctx))
        written.append(path)
        index.append(
            f"| [`{r.claim.id}`]({r.claim.id}.md) | {', '.join(r.claim.kinds)} | {r.status} | "
            f"{md_cell(r.claim.title)} |"
        )
    index += ["", f"All claims in one LaTeX document: [{COMBINED}]({COMBINED}).", ""]
    section = nd_section(results)
    if section:
        index[-1:] = [f"The n-D claims in brief: [{ND_DOCUMENT}]({ND_DOCUMENT}).", ""]
        (out / ND_DOCUMENT).write_text(section)
        written.append(out / ND_DOCUMENT)
    (out / "README.md").write_text("\n".join(index))
    written.append(out / "README.md")
    (out / COMBINED).write_text(proofs_latex(results, ctx))
    written.append(out / COMBINED)
    return written
