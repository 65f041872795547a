"""What the README shows is run here, so it cannot rot."""

import doctest
import re
import shlex
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def expected_exit(comment: str) -> int:
    """A README comment "# exit 1: ..." documents a deliberate failure."""
    match = re.match(r"\s*exit (\d)", comment)
    return int(match.group(1)) if match else 0


COMMANDS = [
    (command.strip(), expected_exit(comment))
    for block in blocks("console")
    for line in block.splitlines()
    if line.startswith("$ symgrad ")
    for command, _, comment in [line[2:].partition("  #")]
]


def test_the_readme_shows_commands():
    assert len(COMMANDS) >= 5


@pytest.mark.parametrize(("command", "code"), COMMANDS)
def test_readme_command_runs(run, command, code, request):
    if "--plot" in command:
        request.getfixturevalue("matplotlib")
    argv = shlex.split(command)[1:]
    assert run(*argv).code == code


@pytest.mark.parametrize("source", blocks("python"))
def test_readme_python_runs(source):
    test = doctest.DocTestParser().get_doctest(source, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
