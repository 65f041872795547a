"""What the README shows is run here, so it cannot rot."""

import doctest
import io
import re
import shlex
from pathlib import Path

import pytest

from symgrad.cli import main

README = (Path(__file__).parent.parent / "README.md").read_text()


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


COMMANDS = [
    line[2:].split("  #")[0].strip()
    for block in blocks("console")
    for line in block.splitlines()
    if line.startswith("$ symgrad ")
]


def test_the_readme_shows_commands():
    assert len(COMMANDS) >= 5


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(command):
    argv = shlex.split(command)[1:]
    assert main(argv, out=io.StringIO()) == 0


@pytest.mark.parametrize("source", blocks("python"))
def test_readme_python_runs(source):
    test = doctest.DocTestParser().get_doctest(source, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
