"""Test configuration: Hypothesis profiles and shared fixtures.

Profiles (choose with SYMGRAD_HYPOTHESIS_PROFILE):
  ci        derandomized, 25 examples per property, no deadline (what .ci/run uses)
  dev       the default: 50 random examples
  thorough  100x ci: 2,500 examples per property, for a local run before a release
"""

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.cli_runner import run_cli

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("ci", derandomize=True, max_examples=25, **_common)
settings.register_profile("dev", max_examples=50, **_common)
settings.register_profile("thorough", max_examples=2_500, **_common)
settings.load_profile(os.environ.get("SYMGRAD_HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def catalog():
    """Every claim checked once at the default settings, shared by the tests that
    need the whole catalog (it takes most of the claims tests' time)."""
    from symgrad.claims import Context, verify

    ctx = Context()
    return verify(None, ctx), ctx


@pytest.fixture(scope="session")
def run():
    """``run(*argv, stdin=None, tty=False)``: symgrad's command line run in-process,
    giving ``(code, out, err)`` (tests/cli_runner.py). Session-scoped because it
    holds no state, so Hypothesis tests may take it too."""
    return run_cli


@pytest.fixture(scope="session")
def matplotlib():
    """matplotlib, or the test skipped with the reason (the optional [plot] extra;
    the README's [test] installs it, so its command runs these tests)."""
    return pytest.importorskip(
        "matplotlib", reason="the plots need matplotlib: pip install 'symgrad[plot]'"
    )


@pytest.fixture(scope="session")
def torch():
    """PyTorch, or the test skipped with the reason (the optional [torch] extra)."""
    return pytest.importorskip(
        "torch", reason="PyTorch is not installed (pip install 'symgrad[torch]')"
    )
