"""Read a darknet ``.cfg`` file into the engine's layer graph.

The CSPNet authors published their ImageNet models (CSPNet paper, Table 2 and the repository's
README) only as darknet cfg files; this reader lets the engine analyse those files, YOLO detectors
and darknet's own EfficientNet as they are. It reads every feed-forward section and key darknet's
``src/parser.c`` reads (AlexeyAB/darknet 59596d7) and is checked layer by layer against darknet's own
parse (``tests/test_darknet_parse.py``).

Each section after ``[net]`` is one darknet layer, numbered from 0, and the layers it makes are
named after that index (``layers.12.conv``, ``layers.12.norm``, ``layers.12.act``): these are also
the module names of the torch model ``costmodel.torch_build`` makes. Values are read as darknet reads
them: integers with C's ``atoi`` (the leading digits: ``filters=40#32`` is 40), the first of a key
given twice. Mapping:

- ``[convolutional]``: conv (bias only without ``batch_normalize``) → bn → act; ``pad=1`` means
  padding ``size//2``, else ``padding=``; ``stride_x``/``stride_y``, ``dilation`` (ignored for
  ``size=1``, as darknet does), ``groups``, ``xnor`` (darknet counts its BFLOPs ÷32),
  ``share_index`` (the weights of another conv, counted once), ``antialiasing`` (the conv at stride
  1, then darknet's fixed blur at the stride).
- ``[maxpool]``/``[local_avgpool]``: darknet's output ``(H + P − size)//stride + 1`` with total
  padding ``P`` (default ``size − 1``), ``P//2`` of it on the top/left; a torch ``MaxPool2d`` when
  one mirrors it, else the exact shape with the rest of the padding on the bottom/right.
- ``[avgpool]``: global average pool → ``gap``.
- ``[route]``: one layer is an alias and makes no layer; several make a ``concat``;
  ``groups``/``group_id`` take the ``group_id``-th of ``groups`` equal channel chunks (``split``).
- ``[shortcut]``: ``add`` of the input and every ``from`` layer → act; ``weights_type`` weighs each
  input. A source with fewer channels is zero-padded and one with an integer multiple of the size is
  subsampled, as darknet's ``shortcut_cpu`` does; more channels is an error.
- ``[scale_channels]`` (``scale_wh``) and ``[sam]``: ``mul`` of the ``from`` layer by the input.
- ``[upsample]``: ``upsample`` (a negative stride downsamples); ``[reorg3d]``/``[reorg]``:
  ``space_to_depth`` (``reverse=1``: ``depth_to_space``); ``[crop]``: the centre window.
- ``[yolo]``, ``[Gaussian_yolo]``, ``[region]``, ``[detection]``: ``detect``, after checking that the
  input has the channels their masks/anchors and classes need.
- ``[implicit]``: ``implicit``, a learned ``filters×atoms×1`` tensor that reads nothing (YOLOR's
  implicit knowledge), ``filters·atoms`` weights and 0 BFLOPs as darknet counts them
  (``representation_layer.c``). The next layer reads it as its input: a ``[scale_channels]``
  scales its ``from`` map by it; a ``[shortcut]`` adds maps of its size (darknet asserts that
  every ``from`` has the input's width and height).
- ``[connected]``: flatten → linear (with bias, or BN) → act; ``[batchnorm]``: bn;
  ``[activation]``: act; ``[softmax]``: flatten → softmax over all C·H·W values, as darknet's;
  ``[dropout]``: dropout; ``[empty]``/``[silence]``: nothing.
- ``[cost]`` and ``[contrastive]`` (training losses) make no layer (kept in ``CfgModel``).

Linear activations make no layer. Recurrent sections (``[rnn]``, ``[gru]``, ``[lstm]``,
``[crnn]``, ``[conv_lstm]``, ``[history]``) and ``[local]``, ``[normalization]`` are out of scope
and say so. Anything else the reader does not know (a section, a key, an activation) is
a ``SpecError`` of one line naming the file, the line and the problem; so is a cfg whose layers
contradict each other (a route to maps that cannot concatenate, a ``[yolo]`` whose input does not
have the channels its masks need).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from costmodel.cost import Cost
from costmodel.errors import EXCERPT, SpecError, excerpt
from costmodel.families.darknet_blocks import darknet_maxpool
from costmodel.files import read_capped
from costmodel.graph import INPUT, GraphBuilder, Network, Shape
from costmodel.kinds import ACTIVATIONS

__all__ = [
    "MAX_CFG_BYTES",
    "OUT_OF_SCOPE",
    "SECTIONS",
    "CfgError",
    "CfgModel",
    "Section",
    "index_costs",
    "load",
    "parse",
    "read",
    "read_file",
    "read_text",
]


# Keys darknet reads for every layer (``parse_network_cfg_custom``): training switches only.
_COMMON_KEYS = (
    "clip",
    "onlyforward",
    "dont_update",
    "burnin_update",
    "stopbackward",
    "train_only_bn",
    "dontload",
    "dontloadscales",
    "learning_rate",
)
_YOLO_LOSS = (
    "max",
    "max_delta",
    "counters_per_class",
    "label_smooth_eps",
    "scale_x_y",
    "objectness_smooth",
    "iou_normalizer",
    "obj_normalizer",
    "cls_normalizer",
    "delta_normalizer",
    "iou_loss",
    "iou_thresh_kind",
    "beta_nms",
    "nms_kind",
    "jitter",
    "resize",
    "ignore_thresh",
    "truth_thresh",
    "iou_thresh",
    "random",
    "map",
    "anchors",
)

SECTIONS: dict[str, tuple[str, ...]] = {
    "convolutional": (
        "filters",
        "size",
        "stride",
        "stride_x",
        "stride_y",
        "pad",
        "padding",
        "groups",
        "dilation",
        "antialiasing",
        "share_index",
        "batch_normalize",
        "cbn",
        "activation",
        "xnor",
        "binary",
        "bin_output",
        "assisted_excitation",
        "sway",
        "rotate",
        "stretch",
        "stretch_sway",
        "flipped",
        "dot",
        "angle",
        "grad_centr",
        "reverse",
        "coordconv",
        "stream",
        "wait_stream",
    ),
    "maxpool": ("size", "stride", "stride_x", "stride_y", "padding", "maxpool_zero_nonmax"),
    "local_avgpool": ("size", "stride", "stride_x", "stride_y", "padding"),
    "avgpool": (),
    "route": ("layers", "groups", "group_id", "stream", "wait_stream"),
    "shortcut": ("from", "activation", "weights_type", "weights_normalization"),
    "scale_channels": ("from", "scale_wh", "activation"),
    "sam": ("from", "activation"),
    "upsample": ("stride", "scale"),
    "reorg3d": ("stride", "reverse"),
    "reorg": ("stride", "reverse"),
    "crop": ("crop_height", "crop_width", "flip", "angle", "saturation", "exposure", "noadjust", "shift"),
    "yolo": (
        "classes",
        "num",
        "mask",
        "show_details",
        "new_coords",
        "focal_loss",
        "track_history_size",
        "sim_thresh",
        "dets_for_track",
        "dets_for_show",
        "track_ciou_norm",
        "embedding_layer",
        *_YOLO_LOSS,
    ),
    "gaussian_yolo": ("classes", "num", "mask", "uc_normalizer", "yolo_point", *_YOLO_LOSS),
    "region": (
        "coords",
        "classes",
        "num",
        "max",
        "log",
        "sqrt",
        "softmax",
        "focal_loss",
        "jitter",
        "resize",
        "rescore",
        "thresh",
        "classfix",
        "absolute",
        "random",
        "coord_scale",
        "object_scale",
        "noobject_scale",
        "mask_scale",
        "class_scale",
        "bias_match",
        "tree",
        "map",
        "anchors",
    ),
    "detection": (
        "coords",
        "classes",
        "rescore",
        "num",
        "side",
        "softmax",
        "sqrt",
        "max",
        "coord_scale",
        "forced",
        "object_scale",
        "noobject_scale",
        "class_scale",
        "jitter",
        "resize",
        "random",
        "reorg",
    ),
    "connected": ("output", "activation", "batch_normalize"),
    "implicit": ("filters", "atoms", "mean", "std"),
    "batchnorm": (),
    "activation": ("activation",),
    "softmax": ("groups", "temperature", "tree", "spatial", "noloss"),
    "dropout": ("probability", "dropblock", "dropblock_size_rel", "dropblock_size_abs"),
    "empty": (),
    "cost": ("type", "scale", "ratio"),
    "contrastive": (
        "classes",
        "yolo_layer",
        "temperature",
        "cls_normalizer",
        "max_delta",
        "contrastive_neg_max",
    ),
}
"""Supported layer sections and the keys darknet's ``parser.c`` reads in each (besides the
training switches it reads everywhere); ``[net]`` gives width, height and channels."""

_HEADS = frozenset({"yolo", "gaussian_yolo", "region", "detection", "contrastive"})
"""Detection and loss heads: keys darknet does not read there are training hyper-parameters it
ignores with a warning (``beta1``, ...), and are ignored here too."""

OUT_OF_SCOPE: dict[str, str] = {
    "rnn": "recurrent",
    "gru": "recurrent",
    "lstm": "recurrent",
    "crnn": "recurrent",
    "conv_lstm": "recurrent",
    "history": "recurrent",
    "local": "a locally connected layer",
    "normalization": "local response normalisation",
}
"""Sections darknet reads that cspcost does not model, and what they are."""

_ALIASES = {
    "conv": "convolutional",
    "max": "maxpool",
    "avg": "avgpool",
    "local_avg": "local_avgpool",
    "conn": "connected",
    "soft": "softmax",
    "lrn": "normalization",
    "silence": "empty",
    "network": "net",
}


class CfgError(SpecError):
    """A problem located in a cfg file: the message starts with ``file:line: [section]``."""


MAX_CFG_BYTES = 4 * 2**20
"""The largest cfg file read (4 MiB; the authors' largest cfg is about 30 KB): anything bigger is
refused before it is read, as are pipes, devices and folders."""
_EXCERPT = EXCERPT


def _cut(text: str) -> str:
    """At most ``_EXCERPT`` characters of a value from the file, for a one-line message."""
    return excerpt(text, quote=False)


def _q(text: str) -> str:
    """``repr`` of a short excerpt of a value from the file."""
    return excerpt(text)


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
    dropped; ``#`` and ``;`` start comment lines; of a key given twice, the first counts)."""
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
        sections[-1].options.setdefault(key, (value, number))  # darknet reads the first
    if not sections:
        raise SpecError(
            f"{source}:1: the file is empty (no [net] and no layer sections); give a darknet .cfg file"
        )
    return sections


_LEADING_INT = re.compile(r"[+-]?\d+")


def _first(names: Sequence[str], shown: int = 10) -> str:
    """The first ``shown`` of ``names``, comma-separated, and how many more there are."""
    head = ", ".join(names[:shown])
    return head + (f", … ({len(names) - shown} more)" if len(names) > shown else "")


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
        self.convs: set[str] = set()
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
        # C's atoi, as darknet reads it: the leading (signed) digits, the rest ignored (40#32 → 40)
        match = _LEADING_INT.match(entry[0])
        if match is None:
            raise self.error(f"{key}={_q(entry[0])} is not an integer", key)
        digits = match.group()
        # more than ten digits is beyond a C int whatever they say (and int() of a huge string is slow)
        if len(digits.lstrip("+-").lstrip("0")) > 10 or not -(2**31) <= int(digits) < 2**31:
            raise self.error(f"{key}={_q(entry[0])} is outside darknet's int range", key)
        return int(digits)

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
            match = _LEADING_INT.match(part)
            if match is None:
                raise self.error(f"{key}={_q(entry[0])}: {_q(part)} is not a layer index", key)
            digits = match.group()
            ref = int(digits) if len(digits.lstrip("+-").lstrip("0")) <= 10 else self.index
            index = self.index + ref if ref < 0 else ref
            if not 0 <= index < self.index:
                raise self.error(
                    f"{key}={_cut(entry[0])} refers to layer {_cut(digits)}, which does not exist: layer "
                    f"{self.index} can only read layers 0..{self.index - 1} (or -1..-{self.index})",
                    key,
                )
            out.append(index)
        return out

    def check_keys(self) -> None:
        name = self.section.name
        if name in _HEADS:
            return
        allowed = SECTIONS[name]
        for key in self.section.options:
            if key not in allowed and key not in _COMMON_KEYS:
                raise self.error(
                    f"key {_q(key)} is not supported in [{_cut(self.section.name)}] (it reads "
                    f"{_first(allowed) or 'no keys'})",
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

    def out_of_scope(self) -> None:
        """Refuse the first section cspcost does not model before anything else is checked: the
        recurrent cfgs often lack the [net] size too, and asking for one would not help."""
        for index, section in enumerate(self.sections[1:]):
            if section.name in OUT_OF_SCOPE:
                self.section, self.index = section, index
                raise self.error(
                    f"[{section.name}] is {OUT_OF_SCOPE[section.name]}, which cspcost does not model "
                    f"(out of scope: {', '.join(f'[{s}]' for s in OUT_OF_SCOPE)}); remove it"
                )

    def run(self, name: str) -> CfgModel:
        self.out_of_scope()
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
                supported = [f"[{s}]" for s in SECTIONS]
                raise self.error(
                    f"unsupported section [{_cut(section.name)}]; cspcost reads {_first(supported)}"
                )
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
        stride_x, stride_y = self.integer("stride_x", -1), self.integer("stride_y", -1)
        stride = self.positive("stride", 1)
        sy = stride_y if stride_y >= 1 else stride
        sx = stride_x if stride_x >= 1 else stride
        dilation = 1 if size == 1 else self.positive("dilation", 1)
        padding = size // 2 if self.integer("pad", 0) else self.positive("padding", 0, least=0)
        xnor = self.integer("xnor", 0) != 0
        groups = 1 if xnor else max(self.integer("groups", 1), 1)  # darknet: XNOR convs ignore groups
        c = g.shape(src).c
        if c % groups or filters % groups:
            raise self.error(
                f"groups={groups} must divide both the {c} input channels and "
                f"filters={filters}; use a common divisor",
                "groups",
            )
        shares = ""
        if "share_index" in self.section.options:
            ref = self.integer("share_index")
            index = ref if ref >= 0 else self.index + ref
            if not 0 <= index < self.index or f"layers.{index}.conv" not in self.convs:
                raise self.error(
                    f"share_index={ref} must name an earlier [convolutional] layer", "share_index"
                )
            shares = f"layers.{index}.conv"
        antialiasing = self.integer("antialiasing", 0)
        blur = (sy, sx)
        if antialiasing:
            sy = sx = 1  # darknet runs the conv at stride 1 and blurs at the stride
        h, w = g.shape(src).h, g.shape(src).w
        # darknet's output size ignores dilation: (H + 2·pad − size)//stride + 1; torch's, with the
        # dilated padding pad·dilation, agrees exactly when the padding is 'same' (pad = size//2, odd)
        want = ((h + 2 * padding - size) // sy + 1, (w + 2 * padding - size) // sx + 1)
        span = dilation * (size - 1) + 1
        got = ((h + 2 * padding * dilation - span) // sy + 1, (w + 2 * padding * dilation - span) // sx + 1)
        if want != got:
            raise self.error(
                f"dilation={dilation} with size={size} and padding={padding}: darknet sizes the output "
                f"{want[0]}×{want[1]} but a dilated conv gives {got[0]}×{got[1]}; use pad=1 with an odd size",
                "dilation",
            )
        bn = self.integer("batch_normalize", 0) != 0 or self.integer("cbn", 0) != 0
        x = g.conv(
            f"{prefix}.conv",
            src,
            filters,
            size,
            sy,
            padding * dilation,
            groups,
            bias=not bn,
            dilation=dilation,
            stride_w=sx if sx != sy else 0,
            op="xnor" if xnor else "",
            shares=shares,
        )
        self.convs.add(f"{prefix}.conv")
        if bn:
            x = g.bn(f"{prefix}.norm", x, shares=shares.replace(".conv", ".norm") if shares else "")
        x = self.act(prefix, x, self.activation("logistic"))
        if antialiasing:
            x = g.blur(f"{prefix}.blur", x, 2 if antialiasing == 2 else 3, *blur)
        return x

    def _pool(self, kind: str, prefix: str, src: str) -> str:
        stride = self.positive("stride", 1)
        sx = self.positive("stride_x", stride)
        sy = self.positive("stride_y", stride)
        size = self.positive("size", stride)
        padding = self.positive("padding", size - 1, least=0)
        if sx == sy and kind == "maxpool":
            return darknet_maxpool(self.builder(), f"{prefix}.pool", src, size, sy, padding)
        return self.builder().pool(
            kind,
            f"{prefix}.pool",
            src,
            size,
            sy,
            padding // 2,
            stride_w=sx if sx != sy else 0,
            pad_end=padding - padding // 2,
        )

    def maxpool(self, prefix: str, src: str) -> str:
        return self._pool("maxpool", prefix, src)

    def local_avgpool(self, prefix: str, src: str) -> str:
        return self._pool("avgpool", prefix, src)

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
        first = g.shape(parts[0])
        for i, part in zip(indices, parts):
            s = g.shape(part)
            if (s.h, s.w) != (first.h, first.w):
                raise self.error(
                    f"layers={_q(self.section.options['layers'][0])}: layer {i} is {s.h}×{s.w} but layer "
                    f"{indices[0]} is {first.h}×{first.w}; a route concatenates maps of one size",
                    "layers",
                )
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
        weights = self.section.options.get("weights_type", ("none", 0))[0]
        if weights == "per_layer":
            weights = "per_feature"
        if weights not in ("none", "per_feature", "per_channel"):
            raise self.error(
                f"weights_type={_q(weights)} is not one of none, per_feature, per_layer, per_channel",
                "weights_type",
            )
        try:
            x = g.shortcut(f"{prefix}.add", src, others, "" if weights == "none" else weights)
        except SpecError as err:
            raise self.error(str(err), "from") from None
        return self.act(prefix, x, self.activation("linear"))

    def _multiply(self, prefix: str, src: str) -> str:
        """``[scale_channels]`` and ``[sam]``: the ``from`` layer's map times the input (a C×1×1
        channel scale, with ``scale_wh`` a 1×H×W spatial one, for ``[sam]`` a map of one shape)."""
        g = self.builder()
        (index,) = self.refs("from")[:1]
        other = self.outputs[index]
        a, b = g.shape(other), g.shape(src)
        if self.section.name == "scale_channels":
            wh = self.integer("scale_wh", 0) != 0
            ok = (b.c == 1 and (b.h, b.w) == (a.h, a.w)) if wh else (b.h == b.w == 1 and b.c == a.c)
            need = f"1×{a.h}×{a.w}" if wh else f"{a.c}×1×1"
        else:
            ok, need = b == a, str(a)
        if not ok:
            raise self.error(
                f"from={_q(self.section.options['from'][0])}: layer {index} is {a}, so the input must be "
                f"{need}, but it is {b}",
                "from",
            )
        x = g.mul(f"{prefix}.mul", [other, src])
        return self.act(prefix, x, self.activation("linear"))

    scale_channels = _multiply
    sam = _multiply

    def upsample(self, prefix: str, src: str) -> str:
        return self.builder().upsample(f"{prefix}.upsample", src, self.integer("stride", 2))

    def reorg3d(self, prefix: str, src: str) -> str:
        reverse = self.integer("reverse", 0) != 0
        return self.builder().reorg(f"{prefix}.reorg", src, self.positive("stride", 1), reverse)

    reorg = reorg3d

    def crop(self, prefix: str, src: str) -> str:
        return self.builder().crop(
            f"{prefix}.crop", src, self.positive("crop_height", 1), self.positive("crop_width", 1)
        )

    def _head(self, prefix: str, src: str, per_box: int) -> str:
        """A YOLO-style head: its input must have ``boxes·per_box`` channels."""
        g = self.builder()
        total = self.positive("num", 1)
        boxes = total
        if "mask" in self.section.options:
            # darknet counts the mask entries up to a '#'
            boxes = self.section.options["mask"][0].split("#")[0].count(",") + 1
        c = g.shape(src).c
        if c != boxes * per_box:
            raise self.error(
                f"the input has {c} channels but {boxes} masks × {per_box} (classes + box terms) = "
                f"{boxes * per_box} are needed; set filters={boxes * per_box} in the [convolutional] "
                f"before it, or fix classes/mask",
            )
        return g.detect(f"{prefix}.detect", src)

    def yolo(self, prefix: str, src: str) -> str:
        return self._head(prefix, src, self.positive("classes", 20) + 5)

    def gaussian_yolo(self, prefix: str, src: str) -> str:
        return self._head(prefix, src, self.positive("classes", 20) + 9)

    def region(self, prefix: str, src: str) -> str:
        g = self.builder()
        per = self.positive("classes", 20) + self.positive("coords", 4) + 1
        num = self.positive("num", 1)
        if g.shape(src).c != num * per:
            raise self.error(
                f"the input has {g.shape(src).c} channels but num={num} × (classes + coords + 1) = "
                f"{num * per} are needed; set filters={num * per} in the [convolutional] before it"
            )
        return g.detect(f"{prefix}.detect", src)

    def detection(self, prefix: str, src: str) -> str:
        g = self.builder()
        side = self.positive("side", 7)
        need = (
            side
            * side
            * ((1 + self.positive("coords", 1)) * self.positive("num", 1) + self.positive("classes", 1))
        )
        have = g.shape(src).numel
        if have != need:
            raise self.error(
                f"the input has {have} values but side² × ((1 + coords)·num + classes) = {need} are "
                f"needed; make the layer before it output {need}"
            )
        return g.detect(f"{prefix}.detect", g.flatten(f"{prefix}.flatten", src))

    def connected(self, prefix: str, src: str) -> str:
        g = self.builder()
        bn = self.integer("batch_normalize", 0) != 0
        x = g.flatten(f"{prefix}.flatten", src)
        x = g.linear(f"{prefix}.fc", x, self.positive("output", 1), bias=not bn, op="connected")
        if bn:
            x = g.bn(f"{prefix}.norm", x)
        return self.act(prefix, x, self.activation("logistic"))

    def implicit(self, prefix: str, src: str) -> str:
        """A learned tensor that reads nothing: ``filters`` channels, ``atoms`` high, 1 wide
        (``make_implicit_layer``; darknet's defaults 128 and 1)."""
        filters = self.positive("filters", 128)
        return self.builder().implicit(f"{prefix}.implicit", filters, self.positive("atoms", 1))

    def batchnorm(self, prefix: str, src: str) -> str:
        return self.builder().bn(f"{prefix}.norm", src)

    def activation_layer(self, prefix: str, src: str) -> str:
        return self.act(prefix, src, self.activation("linear"))

    def softmax(self, prefix: str, src: str) -> str:
        if self.integer("groups", 1) != 1:
            raise self.error("grouped softmax (groups > 1) is not supported; use groups=1", "groups")
        # darknet's softmax runs over the whole flattened input (C·H·W values), and a classifier's
        # output is the flat vector torch losses expect.
        g = self.builder()
        return g.softmax(f"{prefix}.softmax", g.flatten(f"{prefix}.flatten", src))

    def dropout(self, prefix: str, src: str) -> str:
        return self.builder().dropout(f"{prefix}.dropout", src)

    def cost(self, prefix: str, src: str) -> str:
        """``[cost]`` and ``[contrastive]``: training losses; no layer, the input passes on."""
        self.cost_layers.append(self.index)
        self.aliases[self.index] = src
        return src

    contrastive = cost

    def empty(self, prefix: str, src: str) -> str:
        self.aliases[self.index] = src
        return src

    HANDLERS: ClassVar[dict[str, Callable[[_Reader, str, str], str]]] = {
        "convolutional": convolutional,
        "maxpool": maxpool,
        "local_avgpool": local_avgpool,
        "avgpool": avgpool,
        "route": route,
        "shortcut": shortcut,
        "scale_channels": scale_channels,
        "sam": sam,
        "upsample": upsample,
        "reorg3d": reorg3d,
        "reorg": reorg,
        "crop": crop,
        "yolo": yolo,
        "gaussian_yolo": gaussian_yolo,
        "region": region,
        "detection": detection,
        "connected": connected,
        "implicit": implicit,
        "batchnorm": batchnorm,
        "activation": activation_layer,
        "softmax": softmax,
        "dropout": dropout,
        "empty": empty,
        "cost": cost,
        "contrastive": contrastive,
    }


def index_costs(model: CfgModel, costs: Sequence[Cost]) -> list[Cost]:
    """The costs of ``model``'s layers summed per darknet layer index (``layers.N.*`` → N), one entry
    per section after ``[net]``: what darknet prints per layer. ``costs`` are the network's per-layer
    costs in order (``analyze(model.network).costs``)."""
    out = [Cost() for _ in model.outputs]
    for layer, cost in zip(model.network.layers, costs):
        index = int(layer.name.split(".", 2)[1])
        out[index] = out[index] + cost
    return out


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
    data = read_capped(p, MAX_CFG_BYTES, "cfg file", "give a darknet .cfg file")
    return data.decode("utf-8", errors="replace")
