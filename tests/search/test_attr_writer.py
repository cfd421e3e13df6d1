"""``search.storage.AttrWriter`` writes a batch of user attributes in one transaction, straight into
Optuna's table. Optuna's own ``Trial.set_user_attr`` is the reference: two trials, one written each
way, must read back the same through Optuna's public API (``FrozenTrial.user_attrs`` and
``trials_dataframe()``), on SQLite and on PostgreSQL."""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Any

import optuna
import pytest
from conftest import require
from optuna.trial import TrialState

from search.storage import KNOWN_SCHEMA, AttrWriter, normalize_url, open_storage

pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")

VALUES: dict[str, Any] = {
    "design": "csp γ=0.5 k=16",
    "macs": 123_456_789,
    "mflops": 246.913578,
    "accuracy_seeds": [0.91, 0.93, 0.92],
    "accuracy_ci95": None,
    "latency_cpu": {"median_ms": 1.5, "runtime": "ort"},
    "latency_noisy": False,
    "nan_is_json_too": math.nan,
    "ünïcode": "γ",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.db'}"
    pg = os.environ.get("CSPCOST_PG_URL")
    require(bool(pg), "CSPCOST_PG_URL is not set (the writer's PostgreSQL half)")
    assert pg is not None
    return normalize_url(pg)


def _two_trials(url: str) -> tuple[optuna.Study, optuna.Trial, optuna.Trial, AttrWriter]:
    rdb = open_storage(url)
    study = optuna.create_study(study_name=f"w-{uuid.uuid4().hex[:8]}", storage=rdb)
    return study, study.ask(), study.ask(), AttrWriter(rdb)


def test_a_batch_reads_back_as_optunas_own_writes_do(url: str) -> None:
    study, reference, batched, write = _two_trials(url)
    assert write.direct, "this Optuna's schema is the one the writer knows"
    for key, value in VALUES.items():
        reference.set_user_attr(key, value)
    write(batched, VALUES)
    # a second batch overwrites one key and adds one, as set_user_attr would
    reference.set_user_attr("macs", 7)
    reference.set_user_attr("epochs", 4)
    write(batched, {"macs": 7, "epochs": 4})
    for t in (reference, batched):
        study.tell(t, 0.5)
    a, b = study.trials
    assert a.user_attrs.keys() == b.user_attrs.keys() == {*VALUES, "epochs"}
    for key in a.user_attrs:
        x, y = a.user_attrs[key], b.user_attrs[key]
        assert x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)), key
    frame = study.trials_dataframe()
    attr_columns = [c for c in frame.columns if c.startswith("user_attrs_")]
    assert len(attr_columns) == len(VALUES) + 1  # one readable column per measurement
    assert frame.loc[0, "user_attrs_macs"] == frame.loc[1, "user_attrs_macs"] == 7
    optuna.delete_study(study_name=study.study_name, storage=url)


def test_a_finished_trial_is_refused_as_optuna_refuses_it(url: str) -> None:
    study, reference, batched, write = _two_trials(url)
    for t in (reference, batched):
        study.tell(t, state=TrialState.PRUNED)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError) as theirs:
        reference.set_user_attr("late", 1)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError) as ours:
        write(batched, {"late": 1, "later": 2})
    assert type(ours.value) is type(theirs.value)
    assert "late" not in study.trials[1].user_attrs  # nothing of the batch was written
    optuna.delete_study(study_name=study.study_name, storage=url)


def test_an_unknown_schema_falls_back_to_optunas_call_per_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study, _, batched, _ = _two_trials(url)
    monkeypatch.setattr("search.storage.KNOWN_SCHEMA", "v9.9.9.z")
    write = AttrWriter(open_storage(url))
    assert not write.direct
    calls: list[str] = []
    real = optuna.Trial.set_user_attr

    def counting(self: optuna.Trial, key: str, value: Any) -> None:
        calls.append(key)
        real(self, key, value)

    monkeypatch.setattr(optuna.Trial, "set_user_attr", counting)
    write(batched, {"a": 1, "b": [2]})
    assert calls == ["a", "b"]
    assert study.trials[1].user_attrs == {"a": 1, "b": [2]}
    assert KNOWN_SCHEMA != "v9.9.9.z"
