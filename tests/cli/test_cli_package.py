"""underlay installs and reads like a real tool (issue 10): a LICENSE, ``python -m
underlay``, ``--version``, ``-h``; help with placeholders a user understands and one-line
command summaries; the bundled examples and the JSON documentation reachable from an
installed wheel, away from the repository; ``recommend``'s plan beside the scenario.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.core import TyperOption
from typer.testing import CliRunner

from underlay.cli import app
from underlay.model.loading import load_scenario

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
JSON_DOC = REPO / "docs" / "json.md"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
runner = CliRunner()
HELP_ENV = {"COLUMNS": "80", "LINES": "50", "NO_COLOR": "1", "TERM": "dumb"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# What Typer and Click show when a parameter has no metavar: Python or Click type names.
TYPE_NAME = re.compile(
    r"<(?i:bool|int|integer|float|str|text|path|file|dir|datetime|uuid|list\[[^>]*\]"
    r"|tuple\[[^>]*\]|[a-z]+ range)>|\b(?:BOOLEAN|INTEGER|FLOAT|TEXT)\b"
)


def _invoke(*args: object, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], env=env)
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def _commands() -> list[tuple[list[str], Any]]:
    """Every command and group of the CLI with its path (``[]`` is ``underlay`` itself)."""
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk([*path, name], sub)

    walk([], typer.main.get_command(app))
    return found


COMMANDS = _commands()
GROUPS = [(path, c) for path, c in COMMANDS if getattr(c, "commands", None)]


def _ids(items: list[tuple[list[str], Any]]) -> list[str]:
    return [" ".join(path) or "underlay" for path, _ in items]


def _help(path: list[str], flag: str = "--help") -> str:
    code, stdout, stderr = _invoke(*path, flag, env=HELP_ENV)
    assert code == 0, stderr
    return ANSI.sub("", stdout)


def _listed(group: Any) -> list[tuple[str, Any]]:
    """The commands a group's help lists: all but the hidden aliases."""
    return [(name, c) for name, c in group.commands.items() if not c.hidden]


def _summary(command: Any) -> str:
    """The first paragraph of a command's help, on one line: what the command list shows."""
    text = command.short_help or inspect.cleandoc(command.help or "")
    return " ".join(text.split("\n\n")[0].split())


# ------------------------------------------------------------------ licence and metadata


def test_the_licence_is_the_apache_licence_that_pyproject_declares() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text("utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text


def test_python_m_underlay_and_version() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-m", "underlay", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    import underlay

    # One version: the package's, which is the distribution's (pyproject reads it).
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert importlib.metadata.version("underlay") == underlay.__version__
    assert proc.stdout == f"underlay {underlay.__version__}\n"
    assert _invoke("--version") == (0, proc.stdout, "")


# ------------------------------------------------------------------------------- help


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=_ids(COMMANDS))
def test_h_is_help_on_every_command(path: list[str], command: Any) -> None:
    assert _help(path, "-h") == _help(path, "--help")
    assert "Usage:" in _help(path, "-h")


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=_ids(COMMANDS))
def test_help_shows_placeholders_not_python_types(path: list[str], command: Any) -> None:
    text = _help(path)
    assert not TYPE_NAME.search(text), TYPE_NAME.search(text)
    # Every option that takes a value names it (FILE, N, SEED, …), so a new option cannot
    # fall back to a type name; a flag shows nothing.
    for param in command.params:
        if isinstance(param, TyperOption) and not param.is_flag:
            assert param.metavar, f"{' '.join(path)} {param.opts[0]}: give it a metavar"
            assert re.search(rf"{re.escape(param.opts[0])}\b.*?{re.escape(param.metavar)}", text)
    # The help never sends the user to a file of the repository that a wheel does not have.
    assert "docs/" not in text


@pytest.mark.parametrize(("path", "group"), GROUPS, ids=_ids(GROUPS))
def test_command_summaries_are_whole_sentences_on_one_line(path: list[str], group: Any) -> None:
    lines = _help(path).splitlines()
    for name, command in _listed(group):
        summary = _summary(command)
        # One sentence, ended: the list shows it whole, never cut with "…" or mid-line.
        assert summary.endswith(".") and ". " not in summary, (name, summary)
        row = [line for line in lines if re.match(rf"^│ {re.escape(name)} ", line)]
        assert len(row) == 1, (name, row)
        assert summary in row[0], (name, row[0])


def test_analyse_is_listed_and_analyze_is_its_hidden_alias() -> None:
    commands = dict(GROUPS[0][1].commands)
    assert not commands["analyse"].hidden and commands["analyze"].hidden
    listed = [name for name, _ in _listed(GROUPS[0][1])]
    assert "analyse" in listed and "analyze" not in listed
    text = _help([])
    assert re.search(r"^│ analyse ", text, re.MULTILINE) and "analyze" not in text
    # Both spellings run the same command: the same options, the same help text.
    assert _help(["analyze"]).replace("analyze", "analyse") == _help(["analyse"])


def test_summaries_are_whole_without_rich_too() -> None:
    """Plain Click help (no Rich, or TYPER_USE_RICH=0) cuts a summary that does not fit
    its column with "..."; every summary fits at 80 columns."""
    script = (
        "from typer.testing import CliRunner\n"
        "from underlay.cli import app\n"
        "r = CliRunner()\n"
        "print(r.invoke(app, ['--help']).stdout)\n"
        "print(r.invoke(app, ['import', '--help']).stdout)\n"
    )
    env = {**os.environ, **HELP_ENV, "TYPER_USE_RICH": "0"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for _, group in GROUPS:
        for name, command in _listed(group):
            row = [line.split(maxsplit=1) for line in lines if line.startswith(f"  {name} ")]
            assert row == [[name, _summary(command)]], (name, row)
    assert not TYPE_NAME.search(proc.stdout)


# ------------------------------------------------------------------ bundled examples


def test_every_example_is_package_data() -> None:
    bundled = resources.files("underlay").joinpath("examples")
    assert sorted(f.name for f in bundled.iterdir() if f.name.endswith(".yaml")) == [
        p.name for p in EXAMPLES
    ]
    assert resources.files("underlay").joinpath("docs", "json.md").read_bytes() == (
        JSON_DOC.read_bytes()
    )
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["underlay"]
    assert {"examples/*.yaml", "docs/json.md"} <= set(patterns)


def test_example_lists_every_bundled_example() -> None:
    code, stdout, _ = _invoke("example")
    assert code == 0
    listed = [line.split()[0] for line in stdout.splitlines() if line and not line[0].isspace()]
    assert listed[: len(EXAMPLES)] == [p.stem for p in EXAMPLES]
    assert max(map(len, stdout.splitlines())) <= 80
    for path in EXAMPLES:  # each with the first sentence of its opening comment
        first = path.read_text("utf-8").splitlines()[0].lstrip("# ")
        assert " ".join(first.split()[:4]) in " ".join(stdout.split())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_prints_and_writes_each_example(example: Path, tmp_path: Path) -> None:
    assert _invoke("example", example.stem) == (0, example.read_text("utf-8"), "")
    target = tmp_path / "mine.yaml"
    code, stdout, stderr = _invoke("example", example.stem, "-o", target)
    assert (code, stdout) == (0, "")
    assert str(target) in stderr
    assert target.read_bytes() == example.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["mine.yaml"]  # no temporary file left
    # Self-contained: alone in a folder it loads, and it names no trace file.
    assert load_scenario(target).name == yaml.safe_load(example.read_text("utf-8"))["name"]
    assert "trace" not in _keys(yaml.safe_load(target.read_text("utf-8"))), (
        f"{example.name} names a trace file: `underlay example` writes only the YAML"
    )


def _keys(data: Any) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in _keys(v)}
    if isinstance(data, list):
        return {k for v in data for k in _keys(v)}
    return set()


def test_example_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "s.yaml"
    target.write_text("mine\n", encoding="utf-8")
    code, stdout, stderr = _invoke("example", "saas-platform", "-o", target)
    assert (code, stdout) == (2, "")
    assert stderr == f"Error: --output {target}: the file exists; --force to overwrite it\n"
    assert target.read_text("utf-8") == "mine\n"
    assert _invoke("example", "saas-platform", "-o", target, "--force")[0] == 0
    assert target.read_bytes() == (REPO / "examples" / "saas-platform.yaml").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["saas"],
            "example: unknown 'saas'; did you mean 'saas-platform'? (known: "
            + ", ".join(p.stem for p in EXAMPLES)
            + ")",
        ),
        (
            ["saas-platform", "-o", "no/such/folder/s.yaml"],
            "--output no/such/folder/s.yaml: folder no/such/folder does not exist",
        ),
        (["-o", "s.yaml"], "--output: name the example to write"),
        (["edge-site", "-o", "."], "--output .: that is a folder; name a file in it"),
    ],
    ids=["unknown", "missing folder", "no name", "a folder"],
)
def test_example_errors(args: list[str], message: str, tmp_path: Path) -> None:
    code, stdout, stderr = _invoke("example", *args)
    assert (code, stdout) == (2, "")
    assert stderr.startswith(f"Error: {message}") and stderr.count("\n") == 1, stderr


def test_docs_json_prints_the_json_documentation() -> None:
    assert _invoke("docs", "json") == (0, JSON_DOC.read_text("utf-8"), "")
    code, stdout, _ = _invoke("docs")
    assert code == 0 and stdout.split()[0] == "json"
    code, stdout, stderr = _invoke("docs", "jsn")
    assert (code, stdout) == (2, "")
    assert "did you mean 'json'?" in stderr


# ------------------------------------------------------------ the wheel, away from here


def _source_tree(dest: Path) -> Path:
    """What a sdist holds, copied with its symlinks (src/underlay/examples -> examples)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "examples", dest / "examples")
    shutil.copytree(REPO / "docs", dest / "docs")
    shutil.copytree(
        REPO / "src",
        dest / "src",
        symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    return dest


def test_the_wheel_works_away_from_the_repository(tmp_path: Path) -> None:
    source = _source_tree(tmp_path / "source")
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, source],
        check=True,
        env=env,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = dist.glob("underlay-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"underlay/examples/{p.name}" for p in EXAMPLES} <= names
    assert "underlay/docs/json.md" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)

    # A throwaway environment outside the repository: the wheel, and the dependencies of
    # this environment on its path (not installed again; not underlay from this checkout).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel],
        check=True,
        env=env,
        timeout=300,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*args: str) -> str:
        proc = subprocess.run(
            [bin_dir / "underlay", *args],
            capture_output=True,
            text=True,
            env={**env, **HELP_ENV},
            cwd=work,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        return proc.stdout

    where = subprocess.run(
        [python, "-c", "import underlay; print(underlay.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        check=True,
    ).stdout
    assert Path(where).is_relative_to(venv), where  # the wheel's, not this checkout's

    run("example", "saas-platform", "-o", "s.yaml")
    assert (work / "s.yaml").read_bytes() == (REPO / "examples" / "saas-platform.yaml").read_bytes()
    out = run("compare", "s.yaml")
    assert "saas-platform" in out and "baremetal-dedicated" in out
    assert run("docs", "json") == JSON_DOC.read_text("utf-8")
    version = importlib.metadata.version("underlay")
    assert run("--version") == f"underlay {version}\n"


# ------------------------------------------------------------------------ the plan


def test_recommend_writes_the_plan_beside_the_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, elsewhere = tmp_path / "scenarios", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    shutil.copy(REPO / "examples" / "edge-site.yaml", folder / "site.yaml")
    monkeypatch.chdir(elsewhere)
    scenario = Path("..", "scenarios", "site.yaml")
    code, _, stderr = _invoke("recommend", scenario, "--trials", "50")
    assert code == 0, stderr
    plan = scenario.with_name("site.plan.yaml")
    assert f"Wrote the plan to {plan}" in " ".join(stderr.split())
    assert sorted(p.name for p in folder.iterdir()) == ["site.plan.yaml", "site.yaml"]
    assert list(elsewhere.iterdir()) == []  # nothing in the current folder
    assert load_scenario(plan).constraints.allowed  # a scenario, each tenant pinned
    # --plan still goes where it says.
    code, _, stderr = _invoke("recommend", scenario, "--trials", "50", "--plan", "here.yaml")
    assert code == 0, stderr
    assert [p.name for p in elsewhere.iterdir()] == ["here.yaml"]
