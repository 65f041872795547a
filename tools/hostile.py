"""The hostile suite: several hundred cases against the installed ``symgrad``.

Each case runs as its own process (a timeout of 60 s; peak memory read from
the kernel's accounting) and is judged by the contract of the command line:
no Python traceback, no run over 60 s or 2 GB, no nan printed with exit 0,
every usage error exit 2 with one line on stderr, no TeX control sequence
that came from user text. Prints one line per failed case and the counts.

    python tools/hostile.py [--symgrad PATH] [--only SUBSTRING] [-v]

Not a test (it takes minutes); a test runs a sample of the same kinds in-process
(tests/test_fuzz_cli.py).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT = 60.0
MEMORY_LIMIT = 2 * 2**30
FORBIDDEN_TEX = re.compile(r"\\(input|include|write|openout|catcode|csname|immediate)\b|\^\^")

CELL = """name = "hostile"
inputs = ["x"]
parameters = ["W", "U", "b"]
state = ["h"]

[equations]
h = "{equation}"
"""

EQUATIONS = {
    "ok": "tanh(W*x + U*h_prev + b)",
    "mixed": "0.5*h_prev + tanh(U*h_prev + x)",
    "input outside": "tanh(U*h_prev) + x",
    "gate times state": "sigmoid(U*h_prev + x)*h_prev",
    "square": "h_prev**2 + 2 + x",
    "overflow": "h_prev**2 + 2 + x + U*h_prev",
    "log": "log(1 + U*h_prev**2) + x",
    "sqrt": "sqrt(1 + U*x) + W*h_prev",
    "abs": "tanh(abs(U*h_prev) + b)",
    "reciprocal": "tanh(U*h_prev + 1/x)",
    "deep": "tanh(" * 38 + "U*h_prev + x" + ")" * 38,
    "exp": "exp(U*h_prev) + x",
}


def chain(body: str, n: int) -> str:
    lines = [f'v0 = "tanh(U*v{n - 1}_prev + x)"']
    lines += [f'v{k} = "{body.format(v=f"v{k - 1}")}"' for k in range(1, n)]
    return (
        f'name = "chain"\ninputs = ["x"]\nparameters = ["U"]\nstate = ["v{n - 1}"]\n'
        "[equations]\n" + "\n".join(lines) + "\n"
    )


FILES = {
    **{name: CELL.format(equation=eq) for name, eq in EQUATIONS.items()},
    "chain16": chain("tanh(2*{v})", 16),
    "chain22": chain("tanh(2*{v})", 22),
    "doubling9": chain("tanh({v}) + sigmoid({v})", 9),
    "no input": 'name = "z"\ninputs = []\nparameters = ["U"]\nstate = ["h"]\n'
    '[equations]\nh = "tanh(U*h_prev)"\n',
    "expit": CELL.format(equation="sigmoid(expit*h_prev + x)").replace('"W", "U", "b"', '"expit"'),
    "tex ^^": CELL.format(equation="tanh(W*x + U*h_prev + b)")
    + "\n[latex]\nh = 'h^^5cinput{^^2fetc^^2fhostname}_t'\n",
    "tex csname": CELL.format(equation="tanh(W*x + U*h_prev + b)")
    + "\n[latex]\nh = '\\csname input\\endcsname{x}_t'\n",
    "tex write18": CELL.format(equation="tanh(W*x + U*h_prev + b)")
    + "\n[latex]\nh = '\\immediate\\write18{touch x}_t'\n",
    "unhashable gates": CELL.format(equation="tanh(W*x + U*h_prev + b)").replace(
        'state = ["h"]', 'state = ["h"]\ngates = [["h"]]'
    ),
    "keys after table": CELL.format(equation="tanh(W*x + U*h_prev + b)") + 'name = "again"\n',
    "huge integer": CELL.format(equation="tanh(" + "9" * 5000 + "*x)"),
    "code": CELL.format(equation="__import__('os').system('touch /tmp/symgrad-pwned')"),
    "empty": "",
    "binary": "\x00\x01\x02",
}

CELL_COMMANDS = [
    ["show"],
    ["derive"],
    ["derive", "--wrt", "state"],
    ["derive", "--standalone"],
    ["derive", "--steps", "2"],
    ["derive", "--format", "json"],
    ["export"],
    ["check", "--samples", "20"],
    ["flow", "--steps", "50", "--samples", "10"],
    ["flow", "--dim", "2", "--steps", "20", "--samples", "4"],
]

BAD_VALUES = ["", "abc", "\u0661", "-1", "0", "1e400", "nan", "inf", "10**9", "1" + "0" * 30]
FLAG_CASES = {
    "derive lstm": ["--wrt", "--of", "--at", "--steps", "--format"],
    "check gru": ["--samples", "--seed", "--wrt", "--init"],
    "bound rnn-tanh": ["--param", "--below", "--tolerance"],
    "flow lstm --steps 20 --samples 5": ["--dim", "--seed", "--forget-bias", "--plot", "--steps"],
    "compare --steps 20 --samples 5": ["--samples", "--seed", "--init", "--max-minutes"],
    "verify gru-fewer-gates": ["--samples", "--seed", "--steps", "--flow-samples"],
    "prove": ["--out"],
}

BUDGETS = [
    "verify lstm-forget-dominant --samples 1000000000",
    "verify long-horizon --flow-samples 1000000000 --steps 1",
    "flow lstm --samples 1000000000 --steps 1",
    "flow lstm --dim 512",
    "flow lstm --dim 512 --samples 1000000",
    "compare --samples 1000000000000",
    "check lstm --samples 1000000000",
    "flow lstm --dim 513",
    "flow lstm --steps 100000000 --samples 2",
    "bound rnn-tanh --param h=1e-30",
    "bound rnn-tanh --param h=1e-320",
    "bound rnn-tanh --param a=1e300",
    "bound lstm-saturation --tolerance 1e-30",
    "derive lstm --at " + ",".join(f"{n}=1" for n in ("x", "c_prev", "o_prev")),
    "derive rnn --at x=1,W=1,U=1,b=1,h_prev=1e400",
    "derive rnn --at x=" + "9" * 5000 + ",W=1,U=1,b=1,h_prev=1",
    "derive lstm --steps 9",
    "derive lstm --steps 8",
    "symgrad",
    "",
    "--version",
    "derive lstm --forget-bias -1",
    "flow lstm --forget-bias -1e3 --steps 20 --samples 4",
    "derive --cell-file - ",
]


def cases(tmp: Path) -> list[dict]:
    out = []
    for (name, text), command in itertools.product(FILES.items(), CELL_COMMANDS):
        path = tmp / f"{re.sub(r'[^a-z0-9]+', '-', name)}.toml"
        path.write_text(text)
        out.append(
            {
                "name": f"cell {name}: {' '.join(command)}",
                "argv": [*command, "--cell-file", str(path)],
            }
        )
    for base, flags in FLAG_CASES.items():
        for flag, value in itertools.product(flags, BAD_VALUES):
            out.append({"name": f"{base} {flag} {value!r}", "argv": [*base.split(), flag, value]})
    for line in BUDGETS:
        out.append({"name": line or "(nothing)", "argv": line.split()})
    fifo = tmp / "fifo"
    os.mkfifo(fifo)
    out.append({"name": "a FIFO with no writer", "argv": ["derive", "--cell-file", str(fifo)]})
    out.append({"name": "silent stdin", "argv": ["derive", "--cell-file", "-"], "stdin": "pipe"})
    out.append({"name": "closed stdin", "argv": ["derive", "--cell-file", "-"], "stdin": "closed"})
    for command in [
        "show lstm",
        "derive lstm",
        "export gru",
        "flow lstm --steps 20 --samples 4",
        "verify gru-fewer-gates",
        "bound lstm-saturation",
        "list",
    ]:
        out.append({"name": f"{command} > /dev/full", "argv": command.split(), "stdout": "full"})
        out.append({"name": f"{command} >&-", "argv": command.split(), "stdout": "closed"})
        out.append({"name": f"{command} | head -1", "argv": command.split(), "stdout": "pipe"})
    for command in [
        "verify",
        "flow lstm",
        "check lstm --samples 1000000",
        "bound lstm-saturation --tolerance 1e-20",
    ]:
        out.append({"name": f"Ctrl-C during {command}", "argv": command.split(), "interrupt": 2.0})
    return out


def run(symgrad: list, case: dict) -> dict:
    stdin = subprocess.DEVNULL
    if case.get("stdin") == "pipe":
        stdin = subprocess.PIPE
    stdout = subprocess.PIPE
    if case.get("stdout") == "full":
        stdout = open("/dev/full", "w")
    elif case.get("stdout") == "closed":
        stdout = None

    def closing():
        if case.get("stdout") == "closed":
            os.close(1)
        if case.get("stdin") == "closed":
            os.close(0)

    start = time.perf_counter()
    proc = subprocess.Popen(
        [*symgrad, *case["argv"]],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        preexec_fn=closing,
        text=True,
    )
    timed_out = False
    try:
        if "interrupt" in case:
            time.sleep(case["interrupt"])
            proc.send_signal(signal.SIGINT)
        if case.get("stdout") == "pipe":
            proc.stdout.readline()
            proc.stdout.close()
            out = ""
            err = proc.stderr.read()
            proc.wait(TIMEOUT)
        else:
            out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    seconds = time.perf_counter() - start
    if case.get("stdout") == "full":
        stdout.close()
    return {
        "code": proc.returncode,
        "out": out or "",
        "err": err or "",
        "seconds": seconds,
        "timed_out": timed_out,
    }


def judge(case: dict, result: dict, memory: int) -> list[str]:
    problems = []
    err, out, code = result["err"], result["out"], result["code"]
    if "Traceback" in err:
        problems.append("traceback")
    if result["timed_out"] or result["seconds"] > TIMEOUT:
        problems.append(f"over {TIMEOUT:g} s")
    if memory > MEMORY_LIMIT:
        problems.append(f"over {MEMORY_LIMIT / 2**30:g} GB ({memory / 2**30:.1f})")
    if code == 0 and re.search(r"\bnan\b", out, re.IGNORECASE):
        problems.append("nan printed with exit 0")
    if code == 2 and len(err.strip().splitlines()) != 1:
        problems.append(f"exit 2 with {len(err.strip().splitlines())} lines on stderr")
    if code not in (0, 1, 2, 130) and not result["timed_out"]:
        problems.append(f"exit code {code}")
    if "interrupt" in case and code != 130:
        problems.append(f"Ctrl-C gave exit {code}, not 130")
    if FORBIDDEN_TEX.search(out) and "--cell-file" in case["argv"]:
        problems.append("TeX control sequence from user text")
    if "internal error" in err:
        problems.append("internal error")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symgrad", default="symgrad")
    parser.add_argument("--only", default="")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    symgrad = [args.symgrad]
    failures, slowest, peak = 0, 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        selected = [c for c in cases(Path(tmp)) if args.only in c["name"]]
        for k, case in enumerate(selected, start=1):
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            result = run(symgrad, case)
            # ru_maxrss of children is the largest so far: a new maximum is this run's.
            after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
            memory = after if after > before * 1024 else 0
            peak = max(peak, after)
            slowest = max(slowest, result["seconds"])
            problems = judge(case, result, memory)
            if problems or args.verbose:
                print(
                    f"[{k}/{len(selected)}] {case['name']}: exit {result['code']}, "
                    f"{result['seconds']:.1f} s: {'; '.join(problems) or 'ok'}"
                    + (f"\n    {result['err'].strip()[:300]}" if problems else "")
                )
            failures += bool(problems)
    print(
        f"{len(selected)} cases, {failures} failed; slowest {slowest:.1f} s; "
        f"largest peak memory {peak / 2**30:.2f} GB"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
