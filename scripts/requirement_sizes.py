"""What each requirements file installs, and how big it is: the serving set (the Space), then what the build,
the scale engine and the tests add on top.

    python scripts/requirement_sizes.py                  # a table
    python scripts/requirement_sizes.py --json out.json  # and the numbers

A set is its file's lines plus everything they require, transitively (``importlib.metadata`` ``requires``,
with extras and environment markers evaluated for this interpreter), as installed here; its size is the sum
of its distributions' installed files (RECORD, measured on disk). The sets are cumulative, in the order a
developer installs them (README's commands): each row counts only the distributions it adds. Sizes are this
machine's wheels: torch is the CPU build here, PyPI's default Linux torch adds several GB of CUDA libraries.

``report()`` prints the table and returns the numbers (scripts/bench.py can call it); ``closure`` and
``requirement_lines`` are also what tests/test_requirements.py computes its checks from.
"""
from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import platform
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# (set, file), in the order they are installed on top of each other; a missing optional file is skipped.
SETS = (
    ("serving", "requirements.txt"),
    ("build", "requirements-build.txt"),
    ("scale", "requirements-scale.txt"),
    ("tests", "tests/requirements.txt"),
)


class MissingDistributions(RuntimeError):
    """A requirement (or one of its dependencies) is not installed here, so its set cannot be measured."""


def requirement_lines(path: Path) -> list[Requirement]:
    """The requirements a file lists (comments, blank lines and pip options such as ``-r`` skipped)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(Requirement(line))
    return lines


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in (extras or {""}))


def closure(requirements: Iterable[Requirement]) -> dict[str, metadata.Distribution]:
    """Every installed distribution the requirements need (canonical name -> distribution), extras included.

    Raises MissingDistributions naming what is required but not installed (the set would be incomplete)."""
    found: dict[str, metadata.Distribution] = {}
    extras_seen: dict[str, set[str]] = {}
    missing: dict[str, str] = {}
    pending = [(requirement, "the file") for requirement in requirements]
    while pending:
        requirement, wanted_by = pending.pop()
        name = canonicalize_name(requirement.name)
        extras = set(requirement.extras)
        if name in extras_seen and extras <= extras_seen[name]:
            continue
        extras_seen[name] = extras_seen.get(name, set()) | extras
        try:
            distribution = found.get(name) or metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            missing[name] = wanted_by
            continue
        found[name] = distribution
        for line in distribution.requires or []:
            dependency = Requirement(line)
            if _applies(dependency, extras_seen[name]):
                pending.append((dependency, name))
    if missing:
        listed = ", ".join(f"{name} (required by {by})" for name, by in sorted(missing.items()))
        raise MissingDistributions(f"not installed: {listed}")
    return found


def installed_bytes(distribution: metadata.Distribution) -> int:
    """Bytes on disk of the distribution's files (its RECORD), each file counted once."""
    paths = {Path(distribution.locate_file(file)).resolve() for file in distribution.files or []}
    return sum(path.stat().st_size for path in paths if path.is_file())


@dataclass(frozen=True)
class SetSize:
    name: str
    file: str
    distributions: int  # in this set and every set before it
    bytes: int  # in this set and every set before it
    added: dict[str, int]  # distribution -> bytes, those this set adds to the ones before it

    def as_dict(self) -> dict:
        return {"name": self.name, "file": self.file, "distributions": self.distributions, "bytes": self.bytes,
                "added_distributions": len(self.added), "added_bytes": sum(self.added.values()), "added": self.added}


def requirement_sizes(root: Path = ROOT) -> list[SetSize]:
    """Cumulative sizes of the sets whose file exists under ``root``, serving first."""
    requirements: list[Requirement] = []
    counted: dict[str, int] = {}
    sizes = []
    for name, file in SETS:
        path = root / file
        if not path.is_file():
            continue
        requirements += requirement_lines(path)
        current = closure(requirements)
        added = {dist: installed_bytes(current[dist]) for dist in sorted(set(current) - set(counted))}
        counted.update(added)
        sizes.append(SetSize(name, file, len(current), sum(counted[dist] for dist in current),
                             dict(sorted(added.items(), key=lambda item: -item[1]))))
    return sizes


def megabytes(count: int) -> str:
    return f"{count / 1e6:,.0f} MB"


def markdown_table(sizes: list[SetSize], largest: int = 4) -> str:
    rows = ["| set | file | distributions | installed | adds | largest additions |", "|---|---|---:|---:|---:|---|"]
    for index, size in enumerate(sizes):
        label = size.name if index == 0 else f"+ {size.name}"
        top = ", ".join(f"{dist} {megabytes(count)}" for dist, count in list(size.added.items())[:largest])
        adds = "" if index == 0 else f"+{len(size.added)}, +{megabytes(sum(size.added.values()))}"
        rows.append(f"| {label} | `{size.file}` | {size.distributions} | {megabytes(size.bytes)} | {adds} | {top} |")
    return "\n".join(rows)


def report(root: Path = ROOT, file: TextIO | None = None) -> dict:
    """Print the table (for scripts/bench.py and people) and return the numbers (JSON-ready)."""
    sizes = requirement_sizes(root)
    result = {"python": platform.python_version(), "platform": f"{platform.system()} {platform.machine()}",
              "sets": [size.as_dict() for size in sizes]}
    print(f"Installed size of each requirements set (Python {result['python']}, {result['platform']}; cumulative, "
          "in install order):\n", file=file or sys.stdout)
    print(markdown_table(sizes), file=file or sys.stdout)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    result = report()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
