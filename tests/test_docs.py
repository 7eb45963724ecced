"""The three documents say what the repository does: README.md, docs/development.md and docs/simulator.md.

The documentation is split as readers look for it (the user's manual, the developer's guide, the simulator's manual),
so a fact lives in one document and the others link to it: every link must lead somewhere, and what a document
quotes from the code (the simulator's options and variants, the benchmark's tables, what CI runs) must be the code's.
The README's use cases run in tests/integration/test_readme_examples.py, its dashboard card in the browser test.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
import re
import runpy
import sys

import pytest

from enovates_simulator import Profile
from enovates_simulator.__main__ import build_parser

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DEVELOPMENT = ROOT / "docs" / "development.md"
SIMULATOR = ROOT / "docs" / "simulator.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def section(path: Path, heading: str) -> str:
    """The text under `heading` (a whole heading line), up to the next heading of the same level or higher."""
    document = text(path)
    start = document.index(f"\n{heading}\n")
    level = heading.split(" ", 1)[0]
    following = re.search(rf"^#{{1,{len(level)}}} ", document[start + len(heading) + 2 :], re.MULTILINE)
    return document[start : start + len(heading) + 2 + following.start()] if following else document[start:]


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a document (code blocks hold comments, not headings)."""
    found: set[str] = set()
    for line in FENCE.sub("", text(path)).splitlines():
        if match := re.match(r"#+ (.+)", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            # A repeated heading gets -1, -2... as on GitHub.
            anchor, number = slug, 0
            while anchor in found:
                number += 1
                anchor = f"{slug}-{number}"
            found.add(anchor)
    return found


def words(value: str) -> str:
    """The text with every run of white space as one space: Markdown wraps lines where it likes."""
    return " ".join(value.split())


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_links_lead_somewhere(path: Path) -> None:
    for target in LINK.findall(FENCE.sub("", text(path))):
        if re.match(r"[a-z]+:", target):
            continue  # a web address: not this repository's to check
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        assert linked.exists(), f"{path.name}: {target} leads nowhere"
        if anchor:
            assert anchor in anchors(linked), f"{path.name}: {target} has no such heading"


def test_the_readme_names_the_two_commands_and_what_ci_runs() -> None:
    """The README names, before its manual starts, the two commands that set everything up and what CI runs."""
    top = text(README).split("\n## ", 1)[0]
    assert "\nscripts/develop " in top
    assert "\nscripts/test " in top
    ci = [
        match.group(1)
        for line in text(ROOT / ".ci" / "run").splitlines()
        if (match := re.match(r"(?:exec\s+)?(scripts/\S+)", line))
    ]
    assert ci == ["scripts/test", "scripts/test-e2e"]
    assert "CI (`.ci/run`) runs " + ", then ".join(f"`{command}`" for command in ci) + "," in words(top)


def test_the_simulator_manual_names_every_option() -> None:
    options = {
        option
        # argparse lists its options nowhere public.
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    command_line = section(SIMULATOR, "## Command line")
    assert sorted(option for option in options if not re.search(rf"{option}(?![\w-])", command_line)) == []


def test_the_simulator_manual_names_every_variant() -> None:
    variants = section(SIMULATOR, "## Variants")
    assert [field.name for field in fields(Profile) if f"| `{field.name}` |" not in variants] == []


def test_the_developer_guide_quotes_the_benchmark(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The performance tables are scripts/bench_table.py's output for the results committed in benchmarks/."""
    results = ROOT / "benchmarks"
    monkeypatch.setattr(
        sys, "argv", ["bench_table.py", str(results / "results.json"), str(results / "slow_link_results.json")]
    )
    runpy.run_path(str(ROOT / "scripts" / "bench_table.py"), run_name="__main__")
    performance = section(DEVELOPMENT, "## Performance")
    for block in capsys.readouterr().out.strip().split("\n\n"):
        assert block in performance


def test_the_readme_quotes_the_benchmark(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's figures (idle and charging, freshness on a slow link) are the committed results'."""
    results = ROOT / "benchmarks"
    monkeypatch.setattr(
        sys,
        "argv",
        ["bench_table.py", "--readme", str(results / "results.json"), str(results / "slow_link_results.json")],
    )
    runpy.run_path(str(ROOT / "scripts" / "bench_table.py"), run_name="__main__")
    costs = section(README, "#### What it costs")
    for block in capsys.readouterr().out.strip().split("\n\n"):
        assert block in costs
