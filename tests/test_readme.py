"""The README's promises: its commands exist, parse, and the cheap ones run."""

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from mnist_cnn import cli

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands(prefix: str) -> list[str]:
    """Lines of ```bash blocks, and lines after a "$ " prompt in ```text blocks."""
    found = []
    for kind, block in re.findall(r"```(bash|text)\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            if kind == "text":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            line = line.split("  #")[0].strip()
            if line.startswith(prefix):
                found.append(line)
    return found


def test_readme_gives_the_two_commands_first():
    head = README[: README.index("## Commands")]
    assert "make train" in head and "make test" in head


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted({c.split()[1] for c in _commands("make ")}))
def test_make_targets_exist(target):
    proc = subprocess.run(
        ["make", "-n", "-C", str(REPO), target], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_ci_runs_the_readme_test_command():
    assert "make test" in (REPO / ".ci" / "run").read_text()


COMMANDS = _commands("mnist-cnn ")


def test_readme_documents_every_verb():
    verbs = {c.split()[1] for c in COMMANDS}
    assert verbs >= {"train", "evaluate", "predict", "read", "samples", "env"}


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_commands_parse(command):
    parser = cli.build_parser()
    args, extra = parser.parse_known_args(shlex.split(command)[1:])
    assert all(not e.startswith("-") for e in extra), extra
    assert callable(args.func)


def test_readme_flags_are_real():
    documented = set(re.findall(r"`(--[a-z0-9-]+)", README))
    parser = cli.build_parser()
    known = set()
    for action in parser._subparsers._group_actions[0].choices.values():
        for sub_action in action._actions:
            known.update(sub_action.option_strings)
    assert documented <= known, documented - known


def test_readme_env_and_samples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for command in ("mnist-cnn env", "mnist-cnn samples --out samples.png"):
        assert cli.main(shlex.split(command)[1:]) == 0
    assert (tmp_path / "samples.png").exists()
    assert "labels: 5 0 4 1 9 2 1 3 1" in capsys.readouterr().out


def test_readme_example_images_read_as_documented(tmp_path, monkeypatch, capsys):
    """The README's predict and read examples, on docs/examples/, with the packaged model."""
    monkeypatch.chdir(tmp_path)  # no runs/latest here: the packaged model is used
    examples = REPO / "docs" / "examples"
    assert "docs/examples/year.jpg: 2026" in README
    photos = [str(examples / "seven.jpg"), str(examples / "three.jpg")]
    assert cli.main(["predict", "--json", *photos]) == 0
    digits = [line.split('"digit": ')[1][0] for line in capsys.readouterr().out.splitlines()]
    assert digits == ["7", "3"]
    assert cli.main(["read", str(examples / "year.jpg")]) == 0
    assert capsys.readouterr().out.split(": ")[1].split()[0] == "2026"
