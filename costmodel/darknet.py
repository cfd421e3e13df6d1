"""Read a darknet ``.cfg`` file into the engine's layer graph.

The CSPNet authors published their ImageNet models (CSPNet paper, Table 2 and the repository's
README) only as darknet cfg files; this reader lets the engine analyse those files as they are.

Each section after ``[net]`` is one darknet layer, numbered from 0, and the layers it makes are
named after that index (``layers.12.conv``, ``layers.12.norm``, ``layers.12.act``): these are also
the module names of the torch model ``costmodel.torch_build`` makes. Mapping (darknet's
``src/parser.c``):

- ``[convolutional]``: conv (bias only without ``batch_normalize``) → bn → act; ``pad=1`` means
  padding ``size//2``, else ``padding=`` (default 0); the activation defaults to logistic.
- ``[maxpool]``: darknet's output is ``(H + P − size)//stride + 1`` with total padding ``P``
  (default ``size − 1``), ``P//2`` of it on the top/left; mapped exactly onto torch's
  ``padding``/``ceil_mode``, or refused.
- ``[avgpool]``: global average pool (darknet's avgpool is always global) → ``gap``.
- ``[route]``: one layer is an alias and makes no layer; several make a ``concat``;
  ``groups``/``group_id`` take the ``group_id``-th of ``groups`` equal channel chunks of each input
  (``split``).
- ``[shortcut]``: residual ``add`` → act. A source with fewer channels is zero-padded and one
  with an integer multiple of the size is subsampled, as darknet's ``shortcut_cpu`` does (the
  authors' resnet10/50, resnext50 and csresnext50 cfgs rely on it); more channels is an error.
- ``[connected]``: flatten → linear (with bias) → act.
- ``[softmax]``: flatten → softmax over all C·H·W values, as darknet's; ``[dropout]``: dropout;
  ``[cost]`` makes no layer (kept in ``CfgModel``).

Linear activations make no layer. Anything the reader does not know (a section, a key, an
activation) is a ``SpecError`` of one line naming the file, the line and the problem.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from costmodel.errors import SpecError
from costmodel.families.darknet_blocks import conv_norm_act, darknet_maxpool
from costmodel.graph import INPUT, GraphBuilder, Network, Shape
from costmodel.kinds import ACTIVATIONS

__all__ = [
    "MAX_CFG_BYTES",
    "SECTIONS",
    "CfgError",
    "CfgModel",
    "Section",
    "load",
    "parse",
    "read",
    "read_file",
    "read_text",
]


# Keys that change nothing the engine models (training-time switches); accepted and ignored.
_TRAINING_KEYS = frozenset(
    {
        "stopbackward",
        "dontload",
        "dontloadscales",
        "learning_rate",
        "train",
        "flipped",
        "dot",
        "probability",
        "type",
        "scale",
        "temperature",
        "noloss",
    }
)

SECTIONS: dict[str, tuple[str, ...]] = {
    "convolutional": (
        "filters",
        "size",
        "stride",
        "pad",
        "padding",
        "groups",
        "batch_normalize",
        "activation",
    ),
    "maxpool": ("size", "stride", "padding"),
    "avgpool": (),
    "route": ("layers", "groups", "group_id"),
    "shortcut": ("from", "activation"),
    "connected": ("output", "activation", "batch_normalize"),
    "softmax": ("groups",),
    "dropout": ("probability",),
    "cost": ("type", "scale"),
}
"""Supported layer sections and the keys each reads (``[net]`` reads width, height, channels)."""

_ALIASES = {
    "conv": "convolutional",
    "max": "maxpool",
    "avg": "avgpool",
    "conn": "connected",
    "soft": "softmax",
    "network": "net",
}


class CfgError(SpecError):
    """A problem located in a cfg file: the message starts with ``file:line: [section]``."""


MAX_CFG_BYTES = 4 * 2**20
"""The largest cfg file read (4 MiB; the authors' largest cfg is about 30 KB): anything bigger is
refused before it is read, as are pipes, devices and folders."""
_EXCERPT = 40


def _cut(text: str) -> str:
    """At most ``_EXCERPT`` characters of a value from the file, for a one-line message."""
    return text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}… ({len(text):,} characters)"


def _q(text: str) -> str:
    """``repr`` of a short excerpt of a value from the file."""
    return repr(text) if len(text) <= _EXCERPT else f"{text[:_EXCERPT]!r}… ({len(text):,} characters)"


@dataclass(frozen=True)
class Section:
    """One ``[name]`` block: its 1-based header line and ``key → (value, line)``."""

    name: str
    line: int
    options: dict[str, tuple[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class CfgModel:
    """A parsed cfg: the network plus what darknet has that the graph does not.

    ``aliases`` maps a darknet index that made no layer (a one-input route, a ``[cost]``) to the
    layer whose output it passes on; ``cost_layers`` lists the indices of ``[cost]`` sections.
    """

    network: Network
    outputs: tuple[str, ...]
    aliases: dict[int, str]
    cost_layers: tuple[int, ...]
    source: str


def read_text(text: str, source: str) -> list[Section]:
    """Split cfg text into sections, as darknet's ``read_cfg`` does (all whitespace in a line is
    dropped; ``#`` and ``;`` start comment lines)."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"\s+", "", raw)
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if not line.endswith("]") or len(line) < 3:
                raise SpecError(
                    f"{source}:{number}: {_q(raw.strip())} is not a section header like [convolutional]"
                )
            name = line[1:-1].lower()
            sections.append(Section(_ALIASES.get(name, name), number))
            continue
        key, eq, value = line.partition("=")
        if not eq or not key:
            raise SpecError(f"{source}:{number}: {_q(raw.strip())} is not 'key=value' or a [section] header")
        if not sections:
            raise SpecError(
                f"{source}:{number}: {_q(key)} comes before the first section; the file must start with [net]"
            )
        sections[-1].options[key] = (value, number)
    if not sections:
        raise SpecError(
            f"{source}:1: the file is empty (no [net] and no layer sections); give a darknet .cfg file"
        )
    return sections


class _Reader:
    """Turns sections into graph layers; one instance per file."""

    def __init__(self, sections: list[Section], source: str, input_size: int | None) -> None:
        self.sections = sections
        self.source = source
        self.input_size = input_size
        self.outputs: list[str] = []
        self.aliases: dict[int, str] = {}
        self.cost_layers: list[int] = []
        self.g: GraphBuilder | None = None
        self.section = sections[0]
        self.index = -1

    # --- errors and option access -----------------------------------------------------------

    def error(self, message: str, key: str | None = None) -> CfgError:
        line = self.section.options[key][1] if key in self.section.options else self.section.line
        where = f"[{_cut(self.section.name)}]" + (f" layer {self.index}" if self.index >= 0 else "")
        return CfgError(f"{self.source}:{line}: {where}: {message}")

    def integer(self, key: str, default: int | None = None) -> int:
        entry = self.section.options.get(key)
        if entry is None:
            if default is None:
                raise self.error(f"the required key {_q(key)} is missing; add '{key}=...'")
            return default
        try:
            return int(entry[0])
        except ValueError:
            raise self.error(f"{key}={_q(entry[0])} is not an integer", key) from None

    def positive(self, key: str, default: int | None = None, least: int = 1) -> int:
        value = self.integer(key, default)
        if value < least:
            raise self.error(f"{key}={value} must be at least {least}", key)
        return value

    def activation(self, default: str) -> str:
        op = self.section.options.get("activation", (default, 0))[0].lower()
        if op not in ACTIVATIONS:
            raise self.error(
                f"activation {_q(op)} is not supported; use one of {', '.join(ACTIVATIONS)}", "activation"
            )
        return op

    def refs(self, key: str) -> list[int]:
        """Layer indices of a ``layers=``/``from=`` list, relative ones resolved."""
        entry = self.section.options.get(key)
        if entry is None or not entry[0]:
            raise self.error(f"the required key {_q(key)} is missing; add e.g. '{key}=-1'")
        out = []
        for part in entry[0].split(","):
            try:
                ref = int(part)
            except ValueError:
                raise self.error(f"{key}={_q(entry[0])}: {_q(part)} is not a layer index", key) from None
            index = self.index + ref if ref < 0 else ref
            if not 0 <= index < self.index:
                raise self.error(
                    f"{key}={entry[0]} refers to layer {index}, which does not exist: layer "
                    f"{self.index} can only read layers 0..{self.index - 1} (or -1..-{self.index})",
                    key,
                )
            out.append(index)
        return out

    def check_keys(self) -> None:
        allowed = SECTIONS[self.section.name]
        for key in self.section.options:
            if key not in allowed and key not in _TRAINING_KEYS:
                raise self.error(
                    f"key {_q(key)} is not supported in [{_cut(self.section.name)}] (it reads "
                    f"{', '.join(allowed) or 'no keys'})",
                    key,
                )

    # --- the walk ---------------------------------------------------------------------------

    def network_input(self) -> Shape:
        net = self.sections[0]
        if net.name != "net":
            raise self.error("the first section must be [net] (or [network]) with width, height and channels")
        channels = self.positive("channels", 3)
        if self.input_size is not None:
            return Shape(channels, self.input_size, self.input_size)
        for key in ("width", "height"):
            if key not in net.options:
                raise self.error(f"[net] has no {key}; add '{key}=256' or pass an input size")
        return Shape(channels, self.positive("height"), self.positive("width"))

    def run(self, name: str) -> CfgModel:
        shape = self.network_input()
        if self.input_size is not None and self.input_size <= 0:
            raise SpecError(f"input size {self.input_size} must be a positive integer, e.g. 256")
        self.g = GraphBuilder(name, shape)
        if len(self.sections) == 1:
            raise self.error("the file has a [net] section but no layers; add layer sections")
        for index, section in enumerate(self.sections[1:]):
            self.section, self.index = section, index
            handler = self.HANDLERS.get(section.name)
            if handler is None:
                supported = ", ".join(f"[{s}]" for s in SECTIONS)
                raise self.error(f"unsupported section [{_cut(section.name)}]; cspcost reads {supported}")
            self.check_keys()
            src = self.outputs[-1] if self.outputs else INPUT
            self.g.stage = "{1}×{2}".format(*self.g.shape(src))
            try:
                out = handler(self, f"layers.{index}", src)
            except CfgError:
                raise
            except SpecError as err:  # the builder's error, placed at this section
                raise self.error(str(err)) from None
            self.outputs.append(out)
        return CfgModel(
            self.g.build(), tuple(self.outputs), self.aliases, tuple(self.cost_layers), self.source
        )

    # --- sections ---------------------------------------------------------------------------

    def builder(self) -> GraphBuilder:
        if self.g is None:  # pragma: no cover - run() sets it first
            raise RuntimeError("reader used before run()")
        return self.g

    def act(self, prefix: str, x: str, op: str) -> str:
        return x if op == "linear" else self.builder().act(f"{prefix}.act", x, op)

    def convolutional(self, prefix: str, src: str) -> str:
        g = self.builder()
        filters = self.positive("filters")
        size = self.positive("size", 1)
        stride = self.positive("stride", 1)
        padding = size // 2 if self.integer("pad", 0) else self.positive("padding", 0, least=0)
        groups = self.positive("groups", 1)
        c = g.shape(src).c
        if c % groups or filters % groups:
            raise self.error(
                f"groups={groups} must divide both the {c} input channels and "
                f"filters={filters}; use a common divisor",
                "groups",
            )
        bn = self.integer("batch_normalize", 0) != 0
        return conv_norm_act(
            g, prefix, src, filters, size, stride, padding, groups, self.activation("logistic"), bn
        )

    def maxpool(self, prefix: str, src: str) -> str:
        stride = self.positive("stride", 1)
        size = self.positive("size", stride)
        padding = self.positive("padding", size - 1, least=0)
        return darknet_maxpool(self.builder(), f"{prefix}.pool", src, size, stride, padding)

    def avgpool(self, prefix: str, src: str) -> str:
        return self.builder().gap(f"{prefix}.pool", src)

    def route(self, prefix: str, src: str) -> str:
        g = self.builder()
        indices = self.refs("layers")
        groups = self.positive("groups", 1)
        group_id = self.integer("group_id", 0)
        if not 0 <= group_id < groups:
            raise self.error(
                f"group_id={group_id} must be in 0..{groups - 1} for groups={groups}", "group_id"
            )
        parts = [self.outputs[i] for i in indices]
        if groups > 1:
            chunks = []
            for j, (i, part) in enumerate(zip(indices, parts, strict=True)):
                c = g.shape(part).c
                if c % groups:
                    raise self.error(
                        f"groups={groups} does not divide the {c} channels of layer "
                        f"{i}; use a divisor of {c}",
                        "groups",
                    )
                step = c // groups
                name = f"{prefix}.split" + (str(j) if len(parts) > 1 else "")
                chunks.append(g.split(name, part, step * group_id, step * (group_id + 1)))
            parts = chunks
        if len(parts) == 1:
            if groups == 1:
                self.aliases[self.index] = parts[0]
            return parts[0]
        return g.concat(f"{prefix}.cat", parts)

    def shortcut(self, prefix: str, src: str) -> str:
        g = self.builder()
        others = [self.outputs[i] for i in self.refs("from")]
        try:
            x = g.shortcut(f"{prefix}.add", src, others)
        except SpecError as err:
            raise self.error(str(err), "from") from None
        return self.act(prefix, x, self.activation("linear"))

    def connected(self, prefix: str, src: str) -> str:
        g = self.builder()
        if self.integer("batch_normalize", 0):
            raise self.error(
                "batch_normalize=1 in [connected] is not supported; remove it", "batch_normalize"
            )
        x = g.flatten(f"{prefix}.flatten", src)
        x = g.linear(f"{prefix}.fc", x, self.positive("output", 1))
        return self.act(prefix, x, self.activation("logistic"))

    def softmax(self, prefix: str, src: str) -> str:
        if self.integer("groups", 1) != 1:
            raise self.error("grouped softmax (groups > 1) is not supported; use groups=1", "groups")
        # darknet's softmax runs over the whole flattened input (C·H·W values), and a classifier's
        # output is then (batch, classes), as torch losses expect.
        g = self.builder()
        return g.softmax(f"{prefix}.softmax", g.flatten(f"{prefix}.flatten", src))

    def dropout(self, prefix: str, src: str) -> str:
        return self.builder().dropout(f"{prefix}.dropout", src)

    def cost(self, prefix: str, src: str) -> str:
        self.cost_layers.append(self.index)
        self.aliases[self.index] = src
        return src

    HANDLERS: ClassVar[dict[str, Callable[[_Reader, str, str], str]]] = {
        "convolutional": convolutional,
        "maxpool": maxpool,
        "avgpool": avgpool,
        "route": route,
        "shortcut": shortcut,
        "connected": connected,
        "softmax": softmax,
        "dropout": dropout,
        "cost": cost,
    }


def read(text: str, source: str = "<cfg>", input_size: int | None = None) -> CfgModel:
    """Parse cfg ``text`` (``source`` names it in errors and gives the network its name)."""
    if input_size is not None and (isinstance(input_size, bool) or input_size <= 0):
        raise SpecError(f"input size {input_size!r} must be a positive integer, e.g. 256")
    sections = read_text(text, source)
    return _Reader(sections, source, input_size).run(Path(source).stem or "cfg")


def parse(text: str, source: str = "<cfg>", input_size: int | None = None) -> Network:
    """The ``Network`` of cfg ``text``; ``input_size`` None keeps the ``[net]`` width and height."""
    return read(text, source, input_size).network


def load(path: str | Path, input_size: int | None = None) -> Network:
    """The ``Network`` of the cfg file at ``path`` (square ``input_size``, or the cfg's own)."""
    p = Path(path)
    return parse(read_file(p), str(p), input_size)


def read_file(p: Path) -> str:
    """The text of cfg file ``p``: a regular file of at most ``MAX_CFG_BYTES`` (a named pipe would
    block and ``/dev/zero`` never ends, so neither is read)."""
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; fstat then refuses it
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise SpecError(f"{p}: no such cfg file; check the path") from None
    except OSError as err:
        raise SpecError(f"{p}: cannot read the cfg file ({err.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SpecError(f"{p} is not a regular file (a pipe, device or folder); give a darknet .cfg file")
    with os.fdopen(fd, "rb") as fh:
        if info.st_size > MAX_CFG_BYTES:
            raise SpecError(
                f"{p} is {info.st_size / 2**20:,.1f} MiB; a cfg file is at most "
                f"{MAX_CFG_BYTES // 2**20} MiB (is it really a darknet cfg?)"
            )
        try:
            data = fh.read(MAX_CFG_BYTES + 1)
        except OSError as err:
            raise SpecError(f"{p}: cannot read the cfg file ({err.strerror})") from None
    if len(data) > MAX_CFG_BYTES:  # it grew after fstat
        raise SpecError(f"{p} is over {MAX_CFG_BYTES // 2**20} MiB; a cfg file is at most that")
    return data.decode("utf-8", errors="replace")
