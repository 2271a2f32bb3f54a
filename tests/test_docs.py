"""The docs state what the code does today: every model they name exists (bundled, or a training
stage or tried config under ``configs/``, and only bundled ones where a command or call loads them),
every repository file they name exists, every ``svt-live``/``svt-train``/``svt-gui`` option they
give is one the command takes, the decoding settings ``docs/how-it-works.md`` quotes are the shipped
checkpoints', and the README states the live latency once, as its figures table does."""
import argparse
import re
from pathlib import Path

import pytest

from svt_live.engine.checkpoint import WEIGHTS_DIR, bundled_models, read_checkpoint

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GENERATED = {"robustness.md"}  # written by scripts/robustness_table.py from the tests' own case names
TOP = ("svt_live", "svt_train", "gui", "configs", "docs", "benchmarks", "tests", "scripts")
MODEL = re.compile(r"(?<![\w/.-])((?:singing_crnn|base_cnn)\w*)(?![\w/-]|\.(?:toml|pt|py)\b)")
LOADED = [  # where a name is loaded as a model: it must be bundled (or a path)
    re.compile(r"--(?:live-)?models?[ =]+([^\s`|;)\]]+)"),
    re.compile(r"\bmodel\s*=\s*[\"']([^\"']+)[\"']"),
    re.compile(r"load_model\(\s*[\"']([^\"']+)[\"']"),
]
PATH = re.compile(r"(?<![\w./~-])((?:" + "|".join(TOP) + r")/[\w./*$<>-]*[\w*>])")  # globs, $var, <name> kept
MADE = ("benchmarks/peers/.venv", "benchmarks/peers/out")  # git-ignored folders the documented commands make
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
COMMAND = re.compile(r"\b(svt-live|svt-train|svt-gui)\b([^`|\n;#&]*)")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def docs():
    return [p for p in DOCS if p.name not in GENERATED]


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def config_stems() -> set[str]:
    return {p.stem for p in (ROOT / "configs").rglob("*.toml")}


def options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of ``parser`` and of its subcommands."""
    found = set()
    for action in parser._actions:
        found.update(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= options(sub)
    return found


def command_options() -> dict[str, set[str]]:
    from gui.app import build_parser as gui_parser
    from svt_live.commands.cli import build_parser as live_parser
    from svt_train.cli import build_parser as train_parser

    return {"svt-live": options(live_parser()), "svt-train": options(train_parser()), "svt-gui": options(gui_parser())}


def defined_options() -> set[str]:
    """Every ``--option`` any script in the repository defines (benchmarks, scripts, tools)."""
    found = set()
    for py in [*ROOT.glob("*/*.py"), *ROOT.glob("*/*/*.py")]:
        text = py.read_text()
        found.update(re.findall(r"add_argument\(\s*(?:\"-\w\",\s*)?\"(--[a-z][a-z0-9-]*)\"", text))
        # argparse.BooleanOptionalAction makes a --no- twin of each such option
        found.update("--no-" + o[2:] for o in re.findall(
            r"add_argument\(\s*\"(--[a-z][a-z0-9-]*)\",\s*action=argparse\.BooleanOptionalAction", text))
    return found


def lines_with(pattern: re.Pattern, group: int = 1):
    """``(doc, line number, match)`` of ``pattern`` in every doc."""
    for doc in docs():
        for n, line in enumerate(text_of(doc).splitlines(), 1):
            for m in pattern.finditer(line):
                yield doc, n, m.group(group)


def test_named_models_exist():
    known = set(bundled_models()) | config_stems()
    unknown = {f"{doc.name}:{n}: {name}" for doc, n, name in lines_with(MODEL) if name not in known}
    assert not unknown, "models named that are neither bundled nor a config under configs/:\n" + "\n".join(
        sorted(unknown))


def test_models_loaded_by_name_are_bundled():
    bundled = set(bundled_models())
    wrong = []
    for pattern in LOADED:
        for doc, n, value in lines_with(pattern):
            for name in value.strip("'\"").split(","):
                if name and "/" not in name and not name.endswith(".pt") and MODEL.fullmatch(name) \
                        and name not in bundled:
                    wrong.append(f"{doc.name}:{n}: {name}")
    assert not wrong, "commands or calls load a model that is not bundled:\n" + "\n".join(wrong)


def repository_path_exists(path: str) -> bool:
    """``path`` (from the repository root) exists: a glob or a ``$var`` matches a file, a
    ``<name>`` matches a file, a ``module.function`` names a module, or it lies in a folder the
    documented commands make."""
    if path.startswith(MADE):
        return True
    pattern = re.sub(r"\$\w+|<\w+>", "*", path)
    if "*" in pattern:
        return any(ROOT.glob(pattern))
    return (ROOT / path).exists() or (ROOT / re.sub(r"\.\w+$", ".py", path)).exists()


def test_named_repository_files_exist():
    missing = [f"{doc.name}:{n}: {path}" for doc, n, path in lines_with(PATH) if not repository_path_exists(path)]
    for doc in docs():
        for n, line in enumerate(text_of(doc).splitlines(), 1):
            for target in LINK.findall(line):
                if "://" not in target and not target.startswith("mailto:") and not (doc.parent / target).exists():
                    missing.append(f"{doc.name}:{n}: link {target}")
    assert not missing, "repository files named that do not exist:\n" + "\n".join(missing)


def test_options_exist():
    commands, anywhere = command_options(), defined_options()
    every = set().union(*commands.values(), anywhere)
    wrong = []
    for doc in docs():
        for n, line in enumerate(text_of(doc).splitlines(), 1):
            for command, rest in COMMAND.findall(line):
                wrong += [f"{doc.name}:{n}: {command} {o}" for o in OPTION.findall(rest) if o not in commands[command]]
            wrong += [f"{doc.name}:{n}: {o}" for o in re.findall(r"`(--[a-z][a-z0-9-]*)", line) if o not in every]
    assert not wrong, "options given that no command takes:\n" + "\n".join(wrong)


def decoding_rows() -> dict[str, list[str]]:
    """``{model: [onset, offset, voiced, min_note_frames, silence_frames]}`` of how-it-works' table."""
    rows = {}
    for line in text_of(ROOT / "docs" / "how-it-works.md").splitlines():
        m = re.match(r"\|\s*`(\w+)`[^|]*((?:\|\s*[\d.]+\s*){5})\|\s*$", line)
        if m:
            rows[m.group(1)] = m.group(2).replace("|", " ").split()
    return rows


def test_how_it_works_quotes_the_shipped_decoding_settings():
    rows = decoding_rows()
    assert set(rows) == set(bundled_models()), f"the table names {sorted(rows)}; bundled: {bundled_models()}"
    keys = ("onset_threshold", "offset_threshold", "voiced_threshold", "min_note_frames", "silence_frames")
    for name, values in rows.items():
        shipped = read_checkpoint(WEIGHTS_DIR / f"{name}.pt")["decoding"]
        assert [float(v) for v in values] == pytest.approx([shipped[k] for k in keys]), name


def test_readme_states_the_live_latency_as_its_figures_table():
    readme = text_of(ROOT / "README.md")
    row = re.search(r"\| live port: NoteOn after the sung onset, median / p95 \| (\d+) / (\d+) ms", readme)
    assert row, "the figures table has no live latency row"
    stated = set()
    for paragraph in re.split(r"\n\s*\n", readme):
        if paragraph is not row.string and ("NoteOn" in paragraph or "start singing" in paragraph):
            for line in paragraph.splitlines():
                if not line.startswith("| live port:"):
                    stated.update(re.findall(r"(\d+)(?:-\d+)? ms", line))
    assert stated <= set(row.groups()), f"the README gives the live latency as {sorted(stated)} ms besides the " \
                                        f"table's {row.group(1)} / {row.group(2)} ms"


def test_the_readme_is_a_guide_not_a_log():
    """The README stays a user guide of at most 300 lines; studies and logs go under docs/."""
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines: move the detail to docs/"
