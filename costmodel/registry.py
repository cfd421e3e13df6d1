"""The registry of families and named variants (timm's ``model_cfgs`` idea), filled by each family
beside its config: ``register_expander(ConfigType)`` names the function that turns a config into a
``Network``, ``register_model(name, config, description)`` adds a named variant.

``costmodel.models`` imports every family (so the tables are full) and offers ``resolve`` and
``expand`` on top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from costmodel.layer import Network, Shape

__all__ = ["EXPANDERS", "MODELS", "FamilyConfig", "ModelEntry", "register_expander", "register_model"]


class FamilyConfig(Protocol):
    """What every family config (a frozen dataclass) offers the registry and the CLI."""

    @property
    def name(self) -> str: ...
    @property
    def in_channels(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def summary(self) -> str: ...


C = TypeVar("C")
Expander = Callable[[Any, Shape], Network]
"""``(config, input shape) → Network``; each family's takes its own config type (the table is keyed
by that type, so the pairing is checked at registration)."""

EXPANDERS: dict[type, Expander] = {}


def register_expander(
    config_type: type[C],
) -> Callable[[Callable[[C, Shape], Network]], Callable[[C, Shape], Network]]:
    def deco(fn: Callable[[C, Shape], Network]) -> Callable[[C, Shape], Network]:
        if config_type in EXPANDERS:
            raise RuntimeError(f"an expander for {config_type.__name__} is already registered")
        EXPANDERS[config_type] = fn
        return fn

    return deco


@dataclass(frozen=True)
class ModelEntry:
    config: FamilyConfig
    description: str
    default_input: int = 224


MODELS: dict[str, ModelEntry] = {}


def register_model(name: str, config: FamilyConfig, description: str, default_input: int = 224) -> None:
    """Add a named variant; a name registered twice is an error."""
    if name in MODELS:
        raise RuntimeError(f"model {name!r} is already registered")
    if type(config) not in EXPANDERS:
        raise RuntimeError(f"{type(config).__name__} has no expander; register one first")
    MODELS[name] = ModelEntry(config, description, default_input)
