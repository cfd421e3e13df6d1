"""Where a study lives, and how workers share it: storage URLs and heartbeats.

Any Optuna RDB URL works: SQLite by default (embedded, nothing to start), PostgreSQL for many workers
on many machines (a bare ``postgresql://`` URL gets the psycopg 3 driver). A URL that does not
answer becomes one ``SpecError`` line, with the password masked.

Workers run Optuna's ``optimize``, which beats for each running trial every few seconds; a trial
whose worker died (``kill -9``, a lost machine) goes stale, Optuna marks it failed when the next
trial starts, and ``RetryHeartbeatStaleTrialCallback`` queues its design again (at most
``MAX_RETRY`` times).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from costmodel import SpecError

__all__ = [
    "DEFAULT_STORAGE",
    "HEARTBEAT_S",
    "MAX_RETRY",
    "STUDY_NAME_MAX",
    "AttrWriter",
    "check_exists",
    "check_study_name",
    "each_key",
    "masked",
    "normalize_url",
    "open_storage",
]

DEFAULT_STORAGE = "sqlite:///cspcost-search.db"
HEARTBEAT_S = 5
"""Seconds between heartbeats; a trial is stale after three missed beats."""
MAX_RETRY = 3
"""A design whose worker died is queued again at most this many times."""


def masked(url: str) -> str:
    """``url`` without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        user = cred.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def normalize_url(url: str | None) -> str:
    url = url or DEFAULT_STORAGE
    if url.startswith(("postgresql://", "postgres://")):
        # Only psycopg 3 is a dependency; SQLAlchemy's bare scheme means psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith(("sqlite:///", "postgresql+", "mysql")):
        raise SpecError(
            f"storage {masked(url)!r} is not a database URL; use e.g. sqlite:///search.db or "
            f"postgresql://user:password@host:5432/db"
        )
    return url


STUDY_NAME_MAX = 100
"""Longest study name: it also names the default designs folder, ``<study>-designs``."""


def check_study_name(name: str) -> str:
    """A study name must be non-empty, short and free of path separators (it names a file)."""
    if not name.strip():
        raise SpecError("--study is empty; give a name such as --study small")
    if len(name) > STUDY_NAME_MAX:
        raise SpecError(
            f"--study {name[:40]!r}… is {len(name)} characters long; give at most {STUDY_NAME_MAX}"
        )
    bad = [c for c in ("/", "\\", "\0") if c in name]
    if bad or name in (".", ".."):
        raise SpecError(
            f"--study {name!r} holds a path separator or is '.'/'..'; the name also names the designs "
            f"folder, so use letters, digits, '-' and '_' (--designs chooses the folder)"
        )
    return name


def check_exists(url: str) -> None:
    """Refuse an SQLite URL whose file does not exist, so that reading a study never creates one."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise SpecError(
                f"there is no database {str(path)[:120]} (from {masked(url)}); check --storage, "
                f"or run 'cspcost search' first"
            )


def open_storage(url: str, heartbeat_interval: int = HEARTBEAT_S) -> RDBStorage:
    """An RDB storage with heartbeats; a URL that does not answer becomes a ``SpecError``."""
    import sqlalchemy.exc

    engine_kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"connect_timeout": 5}, "pool_pre_ping": True}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=3 * heartbeat_interval,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
            )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, OSError) as err:
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise SpecError(
            f"storage {masked(url)} does not answer ({reason}); start the database or fix --storage"
        ) from None


KNOWN_SCHEMA = "v3.2.0.a"
"""The Optuna RDB schema (its alembic revision, Optuna 3.2 to 5.0) whose ``trial_user_attributes``
table ``AttrWriter`` writes to directly; any other revision gets Optuna's public call per key."""


def each_key(trial: optuna.Trial, values: Mapping[str, Any]) -> None:
    """Optuna's own way to write a batch of user attributes: ``set_user_attr`` per key."""
    for key, value in values.items():
        trial.set_user_attr(key, value)


class AttrWriter:
    """Writes a batch of a running trial's user attributes in one transaction.

    Optuna's ``Trial.set_user_attr`` opens a session per key (find the trial, check it is running,
    upsert, commit): for the twenty-odd measurements of a trial that is more time than Optuna's
    whole trial (``benchmarks/search_overhead``). The rows are the ones ``set_user_attr`` writes,
    read back by Optuna's public API as ever (``trial.user_attrs``, ``trials_dataframe()``,
    optuna-dashboard); a test holds the two writers to the same stored study. On a schema revision
    other than ``KNOWN_SCHEMA`` it falls back to ``set_user_attr`` per key. The live ``Trial``
    object's own ``user_attrs`` are not updated (nothing of ours reads them)."""

    def __init__(self, storage: RDBStorage) -> None:
        self.storage = storage
        self.direct = storage.get_current_version() == KNOWN_SCHEMA

    def __call__(self, trial: optuna.Trial, values: Mapping[str, Any]) -> None:
        if not values:
            return
        if not self.direct:
            each_key(trial, values)
            return
        import sqlalchemy as sa
        from optuna.storages._rdb.models import TrialModel
        from optuna.storages._rdb.models import TrialUserAttributeModel as Attr

        trial_id = trial._trial_id
        rows = [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)} for k, v in values.items()]
        with self.storage.engine.begin() as conn:
            query = sa.select(TrialModel.state).where(TrialModel.trial_id == trial_id).with_for_update()
            self.storage.check_trial_is_updatable(trial_id, conn.execute(query).scalar_one())
            conn.execute(sa.delete(Attr).where(Attr.trial_id == trial_id, Attr.key.in_(list(values))))
            conn.execute(sa.insert(Attr), rows)
