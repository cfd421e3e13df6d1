"""A search's designs folder belongs to the search that wrote it (``search.designs``): a different
search never replaces the front a user took home. Found by running the README's two searches one
after the other: the second silently removed the first one's design files, ONNX files and weights."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from costmodel import SpecError
from search.designs import OWNER_FILE, check_owner, default_folder, designs_owner, owner_record

COST_ONLY = {"base": "tinydensenet", "objectives": ("macs", "params")}
MEASURED = {"base": "tinydensenet", "objectives": ("accuracy", "macs")}


def test_a_measured_study_and_a_cost_only_search_get_different_folders() -> None:
    study = designs_owner(MEASURED, None, "cspcost")
    front = designs_owner(COST_ONLY, None, "cspcost")
    assert study == {"search": "study", "study": "cspcost", "storage": "sqlite:///cspcost-search.db"}
    assert front["search"] == "cost-only front" and front["options"]["base"] == "tinydensenet"
    assert default_folder(study, "cspcost") == Path("cspcost-designs")
    assert default_folder(front, "cspcost") == Path("cspcost-front")


def test_the_same_search_replaces_its_own_front(tmp_path: Path) -> None:
    for given in (MEASURED, COST_ONLY):
        owner = designs_owner(given, None, "s")
        (tmp_path / OWNER_FILE).write_bytes(owner_record(owner))
        check_owner(tmp_path, designs_owner(given, None, "s"))  # resume, or the same command again


@pytest.mark.parametrize(
    ("mine", "theirs", "named"),
    [
        (MEASURED, COST_ONLY, "a cost-only front of tinydensenet, objectives macs,params"),
        (COST_ONLY, MEASURED, "study 's' in sqlite:///cspcost-search.db"),
        ({**COST_ONLY, "base": "tinypeleenet"}, COST_ONLY, "a cost-only front of tinydensenet"),
        ({**COST_ONLY, "max_mflops": 5.0}, COST_ONLY, "a cost-only front of tinydensenet"),
    ],
    ids=["study-over-front", "front-over-study", "other-base", "other-budget"],
)
def test_another_search_is_refused_naming_whose_front_it_is(
    tmp_path: Path, mine: dict[str, object], theirs: dict[str, object], named: str
) -> None:
    (tmp_path / OWNER_FILE).write_bytes(owner_record(designs_owner(theirs, None, "s")))
    with pytest.raises(SpecError, match="holds the front of another search") as err:
        check_owner(tmp_path, designs_owner(mine, None, "s"))
    assert named in str(err.value) and "--designs" in str(err.value)


def test_another_storage_is_another_study(tmp_path: Path) -> None:
    (tmp_path / OWNER_FILE).write_bytes(owner_record(designs_owner(MEASURED, None, "s")))
    with pytest.raises(SpecError, match=re.escape("study 's' in sqlite:///cspcost-search.db")):
        check_owner(tmp_path, designs_owner(MEASURED, "sqlite:///elsewhere.db", "s"))


def test_an_unreadable_record_is_refused_and_no_record_passes(tmp_path: Path) -> None:
    check_owner(tmp_path, designs_owner(COST_ONLY, None, "s"))  # nothing recorded: a new folder
    (tmp_path / OWNER_FILE).write_text("{not json")
    with pytest.raises(SpecError, match="cannot read"):
        check_owner(tmp_path, designs_owner(COST_ONLY, None, "s"))


@pytest.mark.slow
def test_a_second_cost_only_search_leaves_the_first_ones_front_alone(tmp_path: Path) -> None:
    """Through the command line, as a user runs it: two cost-only searches of different bases with
    the default study name; the second is refused in one line and the first front's files stay
    byte for byte; the first command run again replaces its own front."""

    def search(base: str) -> subprocess.CompletedProcess[str]:
        argv = ["search", "--base", base, "--objectives", "macs,params"]
        driver = "import sys; from cli import main; main(sys.argv[1:])"
        root = str(Path(__file__).resolve().parents[2])
        return subprocess.run(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r}); {driver}", *argv],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def digest(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    first = search("tinydensenet")
    assert first.returncode == 0, first.stderr[-3000:]
    folder = tmp_path / "cspcost-front"
    kept = digest(folder)
    assert any(name.endswith(".onnx") for name in kept)
    # the plot belongs with its front: inside the folder, where another search cannot replace it
    assert (folder / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Pareto-front plot: {folder / 'pareto.png'}" in first.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cspcost-front"]
    assert json.loads((folder / OWNER_FILE).read_text())["options"]["base"] == "tinydensenet"

    second = search("tinypeleenet")
    assert second.returncode == 2
    lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "a cost-only front of tinydensenet" in lines[0], second.stderr[-3000:]
    assert digest(folder) == kept

    again = search("tinydensenet")
    assert again.returncode == 0, again.stderr[-3000:]
    assert set(digest(folder)) == set(kept)
