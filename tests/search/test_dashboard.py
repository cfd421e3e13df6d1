"""optuna-dashboard reads a finished cspcost study: a real server on 127.0.0.1 and its JSON API.

The study is a real measured study through ``run_search`` (one worker, in this process); only the
model build, the timing and the training are stand-ins, so that it finishes in seconds: the latency
stand-in is MACs / 1e6 ms, so designs above the latency budget are known in advance.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from search.results import result_of

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dashboard_command() -> list[str]:
    exe = shutil.which("optuna-dashboard", path=str(Path(sys.executable).parent))
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("optuna-dashboard is not installed (pip install -e '.[test]')")
        pytest.skip("optuna-dashboard is not installed")
    return [exe]


def _get(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@pytest.fixture
def finished_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, float]:
    import torch

    import costmodel.torch_build
    import search.latency
    import search.train
    from costmodel import analyze
    from search.study import run_search

    def fake_latency(network: object, runtime: str, device: str, *a: object, **k: object) -> object:
        macs = analyze(network).totals.macs  # type: ignore[arg-type]
        return search.latency.Latency(device, macs / 1e6, 0.0, 1, 1, 1, runtime)

    def fake_advance(self: search.train.Trainer, epochs: int) -> None:
        self.epochs, self.seconds, self.loss = epochs, 0.01 * epochs, 0.1

    def fake_build(network: object) -> torch.nn.Module:
        m = torch.nn.Linear(1, 1)
        m.macs = analyze(network).totals.macs  # type: ignore[arg-type,assignment]
        return m

    monkeypatch.setattr(costmodel.torch_build, "build", fake_build)
    monkeypatch.setattr(search.latency, "time_network", fake_latency)
    monkeypatch.setattr(search.train.Trainer, "advance", fake_advance)
    monkeypatch.setattr(search.train.Trainer, "accuracy", lambda self, idx: 0.5)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    budget_ms = 1.5  # tinydensenet at 32 px: about 0.6 to 3 MMACs, so some designs are over
    result = run_search(
        # no halving: every design scores 0.5, so halving would stop the dearer ones
        {"objectives": ("accuracy", "macs"), "max_latency_ms": budget_ms, "data": "digits", "halving": False},
        trials=10,
        storage=url,
        study_name="dash",
    )
    assert len(result.trials) == 10
    return url, "dash", budget_ms


def test_dashboard_shows_metric_names_attributes_and_infeasible(
    finished_study: tuple[str, str, float],
) -> None:
    url, name, budget = finished_study
    port = _free_port()
    cmd = [*_dashboard_command(), url, "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        studies = None
        while studies is None:  # wait for the port to answer, or the server to die
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"optuna-dashboard exited with {proc.returncode}: {err[-500:]}")
            studies = _get(f"{base}/api/studies")
            if studies is None:
                time.sleep(0.2)
        (summary,) = [s for s in studies["study_summaries"] if s["study_name"] == name]
        detail = _get(f"{base}/api/studies/{summary['study_id']}")
        assert detail is not None
        assert detail["objective_names"] == ["proxy accuracy", "MACs"]
        trials = detail["trials"]
        assert len(trials) == 10
        # one scalar user attribute per measurement, under its own key
        keys = {a["key"] for a in detail["union_user_attrs"]}
        assert {"mflops", "params", "cio", "latency_ms", "design"} <= keys
        over = [t for t in trials if any(c > 0 for c in t["constraints"])]
        within = [t for t in trials if t["constraints"] and all(c <= 0 for c in t["constraints"])]
        assert over and within  # the stand-in latency puts designs on both sides of the budget
        for t in over:
            # infeasible: pruned (never COMPLETE with a made-up value), constraint = latency − budget
            assert t["state"] == "Pruned"
            latency = next(a["value"] for a in t["user_attrs"] if a["key"] == "latency_ms")
            assert t["constraints"] == [pytest.approx(float(latency) - budget)]
        for t in within:
            assert t["state"] == "Complete"
            accuracy = next(a["value"] for a in t["user_attrs"] if a["key"] == "accuracy")
            assert float(accuracy) == 0.5
        best = {t["number"] for t in detail["best_trials"]}
        assert best <= {t["number"] for t in within}
    finally:
        proc.terminate()
        proc.wait()


def test_study_values_match_the_stored_attributes(finished_study: tuple[str, str, float]) -> None:
    """What the dashboard plots (trial values) is what the trial measured (its attributes)."""
    import optuna

    url, name, _ = finished_study
    for t in optuna.load_study(study_name=name, storage=url).trials:
        if t.state.name == "COMPLETE":
            assert t.values == [result_of(t)["accuracy"], result_of(t)["macs"]]
