"""Pins for the mutants the mutation run left alive in the darknet cfg reader (``costmodel/darknet.py``).

Each test names the mutants it kills (``mutmut`` names, ``x…__mutmut_N``); each was applied by hand
and seen to fail the test. Expected values are arithmetic written here or darknet's rules quoted from
its source (``src/parser.c``, ``src/maxpool_layer.c``), never the reader's own output.

Survivors left without a test are equivalent: ``_cut`` with ``quote=None`` (falsy, as ``False``);
``self.g = ""`` and ``self.index = -2``
at construction (``run`` sets ``g`` before any use, and only ``index >= 0`` is ever tested); the
ten-digit cap of ``integer`` raised to eleven (an eleven-digit value is ≥ 10¹⁰ > 2³¹, refused by the
range check anyway); ``refs`` with ``< 10``/``<= 11`` (a ten- or eleven-digit reference is out of
range whichever way it resolves, and the message quotes the digits, not the resolved value); the
``(default, 0)`` line of a default activation/``weights_type`` (never read); the ``"LOGISTIC"``/
``"LINEAR"`` defaults (lower-cased); ``stride_x``/``stride_y`` defaults ``-2`` (any value < 1 falls
back to ``stride``); ``share_index`` ``<= self.index`` (a conv is added to ``convs`` only after it is
read, so naming itself is refused either way); ``if shares or True`` in the norm (``"".replace`` is
``""``); the ``zip(..., strict=…)`` of route (``parts`` is built from ``indices``: same length);
``index_costs`` ``split``/``rsplit`` variants (every layer name is ``layers.N.kind``, three parts);
``run``'s own ``input_size <= 0`` check (``read`` refuses the same values first); the unreachable
``builder`` ``RuntimeError``; ``decode()``/``"UTF-8"`` (UTF-8 either way); and the messages padded
with ``XX`` at both ends (``network_input``'s "first section must be [net]", ``run``'s "no layers").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from costmodel import SpecError, analyze
from costmodel.darknet import SECTIONS, _first, load, parse, read
from costmodel.kinds import ACTIVATIONS

NET = "[net]\nwidth=8\nheight=8\nchannels=3\n"  # lines 1-4; the first layer section is line 5


def _refused(text: str, **kwargs: int) -> str:
    """The one-line message of the ``SpecError`` that parsing ``text`` raises."""
    with pytest.raises(SpecError) as info:
        parse(text, "bad.cfg", **kwargs)
    return str(info.value)


# --- _first: the first ten names and how many more ---------------------------------------------


@pytest.mark.parametrize(
    ("count", "suffix"),
    [(9, ""), (10, ""), (11, ", … (1 more)"), (12, ", … (2 more)")],
    ids=["nine", "ten", "eleven", "twelve"],
)
def test_first_shows_ten_names_and_counts_the_rest(count: int, suffix: str) -> None:
    """Kills x__first__mutmut_1 (shown=11), _4 ("XX, XX" join), _6 (never a suffix), _7 (always
    one), _8 (len + shown), _9 (>=) and _10 ("XXXX" when none are left out)."""
    names = [f"n{i}" for i in range(count)]
    head = "n0, n1, n2, n3, n4, n5, n6, n7, n8" + (", n9" if count >= 10 else "")
    assert _first(names) == head + suffix


def test_unknown_key_lists_the_first_ten_keys_the_section_reads() -> None:
    """Kills xǁ_Readerǁcheck_keys__mutmut_13 (``and 'no keys'`` replaces the listing)."""
    keys = SECTIONS["convolutional"]
    message = _refused(NET + "[convolutional]\nfilters=4\nfiltres=2\n")
    assert f"(it reads {', '.join(keys[:10])}, … ({len(keys) - 10} more))" in message, message


@pytest.mark.parametrize("section", ["avgpool", "batchnorm", "empty"])
def test_unknown_key_in_a_section_without_keys_says_no_keys(section: str) -> None:
    """Kills xǁ_Readerǁcheck_keys__mutmut_13 (an empty listing), _15 ('XXno keysXX') and _16
    ('NO KEYS')."""
    message = _refused(NET + f"[convolutional]\nfilters=4\n[{section}]\nsize=2\n")
    assert message.endswith(f"key 'size' is not supported in [{section}] (it reads no keys)"), message


# --- read_text: comment lines and what a malformed line names ----------------------------------


def test_a_key_starting_with_x_is_read_not_taken_for_a_comment() -> None:
    """Only '#' and ';' start a comment (darknet's ``read_cfg``): 'Xnor=1' is an unknown key.
    Kills x_read_text__mutmut_20 (``"XX#;XX"``: a line starting with X skipped)."""
    message = _refused(NET + "[convolutional]\nfilters=4\nXnor=1\n")
    assert message.startswith("bad.cfg:7: ") and "key 'Xnor' is not supported" in message, message


def test_a_line_that_is_not_key_value_is_quoted() -> None:
    """Kills x_read_text__mutmut_56 (``_q(None)``)."""
    message = _refused(NET + "[convolutional]\nfilters\n")
    assert message == "bad.cfg:6: 'filters' is not 'key=value' or a [section] header", message


def test_a_key_before_any_section_is_named() -> None:
    """Kills x_read_text__mutmut_59 (``_q(None)``)."""
    message = _refused("width=8\n[net]\n")
    assert message.startswith("bad.cfg:1: 'width' comes before the first section"), message


# --- integers: C's int range, exactly -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (str(-(2**31)), True),  # INT_MIN
        (str(2**31 - 1), True),  # INT_MAX
        (str(2**31), False),
        (str(-(2**31) - 1), False),
        ("-63", True),  # below −(2·31) = −62, still a C int
        ("9999999999", False),  # ten digits, above INT_MAX
        ("99999999999", False),  # eleven digits
        ("00000000001", True),  # eleven characters, one digit
    ],
    ids=["int-min", "int-max", "int-max+1", "int-min-1", "minus-63", "ten-digits", "eleven-digits", "zeros"],
)
def test_integers_are_cs_int_range(value: str, accepted: bool) -> None:
    """``pad`` is read with ``atoi`` and only tested for non-zero, so any C int is accepted.
    Kills xǁ_Readerǁinteger__mutmut_23 (lower bound −(2·31)) and _26 (INT_MIN refused)."""
    text = NET + f"[convolutional]\nfilters=4\nsize=3\npad={value}\n"
    if accepted:
        # pad ≠ 0: padding size//2 = 1, so the 3×3 keeps 8×8
        assert tuple(parse(text, "ok.cfg").layers[0].out_shape) == (4, 8, 8)
    else:
        message = _refused(text)
        assert message.endswith(f"pad='{value}' is outside darknet's int range"), message


def test_a_layer_reference_too_long_for_int_is_refused_not_a_crash() -> None:
    """A reference of thousands of digits is refused with the usual message; converting it with
    ``int`` would raise Python's ValueError (over 4300 digits). Kills xǁ_Readerǁrefs__mutmut_26
    (``or True``: always ``int(digits)``)."""
    digits = "9" * 5000
    message = _refused(NET + f"[convolutional]\nfilters=4\n[route]\nlayers={digits}\n")
    assert message.startswith("bad.cfg:8: [route] layer 1: layers=") and "which does not exist" in message


# --- [net] ----------------------------------------------------------------------------------------


def test_net_without_channels_reads_three() -> None:
    """An RGB image by default (darknet itself defaults to 0 and refuses the file). A 3×3 conv of 4
    filters then has 3·4·9 weights. Kills xǁ_Readerǁnetwork_input__mutmut_11 (None: the key
    required), _13 (no default) and _16 (4)."""
    net = parse("[net]\nwidth=8\nheight=8\n[convolutional]\nfilters=4\nsize=3\npad=1\n", "rgb.cfg")
    assert net.input_shape.c == 3
    assert analyze(net).totals.params_conv == 3 * 4 * 9


@pytest.mark.parametrize("missing", ["width", "height"])
def test_net_without_a_side_names_it(missing: str) -> None:
    """Kills xǁ_Readerǁnetwork_input__mutmut_29 (the message replaced by None)."""
    given = "height" if missing == "width" else "width"
    message = _refused(f"[net]\n{given}=8\nchannels=3\n[convolutional]\nfilters=4\n")
    assert message.endswith(f"[net] has no {missing}; add '{missing}=256' or pass an input size"), message


def test_input_size_zero_is_refused_before_the_file_is_read() -> None:
    """Kills x_read__mutmut_6 (``< 0``: 0 passes read(), and an empty file is then reported instead)."""
    assert _refused("", input_size=0) == "input size 0 must be a positive integer, e.g. 256"


def test_out_of_scope_lists_every_out_of_scope_section() -> None:
    """Kills xǁ_Readerǁout_of_scope__mutmut_7 ("XX, XX" join)."""
    message = _refused(NET + "[rnn]\noutput=4\n")
    listing = "[rnn], [gru], [lstm], [crnn], [conv_lstm], [history], [local], [normalization]"
    assert f"(out of scope: {listing}); remove it" in message, message


def test_bad_activation_lists_the_supported_ones_comma_separated() -> None:
    """Kills xǁ_Readerǁactivation__mutmut_18 ("XX, XX" join)."""
    message = _refused(NET + "[convolutional]\nfilters=4\nactivation=tanhh\n")
    assert message.split("use one of ", 1)[1].split(", ") == list(ACTIVATIONS), message


# --- errors from the graph builder, placed at the section ----------------------------------------


def test_a_builder_error_keeps_its_text() -> None:
    """A 5×5 conv without padding on a 2×2 map: (2 − 5)//1 + 1 = −2 rows. Kills
    xǁ_Readerǁrun__mutmut_42 (``self.error(None)``) and _43 (``str(None)``)."""
    message = _refused("[net]\nwidth=2\nheight=2\nchannels=3\n[convolutional]\nfilters=4\nsize=5\n")
    assert message.startswith("bad.cfg:5: [convolutional] layer 0: layer 'layers.0.conv'"), message
    assert "would produce an empty" in message, message


def test_cfg_model_keeps_its_source() -> None:
    """Kills xǁ_Readerǁrun__mutmut_49 (source None)."""
    assert read(NET + "[convolutional]\nfilters=4\n", "mine.cfg").source == "mine.cfg"


# --- [convolutional] -------------------------------------------------------------------------------


@pytest.mark.parametrize("share", ["0", "-1", "5"], ids=["itself", "before-the-first", "later"])
def test_share_index_error_points_at_its_line(share: str) -> None:
    """Line 7 holds ``share_index``; the section header is line 5. Kills
    xǁ_Readerǁconvolutional__mutmut_143 (key None), _145 (no key), _146 ('XXshare_indexXX') and
    _147 ('SHARE_INDEX'): each points at the header instead."""
    message = _refused(NET + f"[convolutional]\nfilters=4\nshare_index={share}\n")
    assert message == (
        f"bad.cfg:7: [convolutional] layer 0: share_index={share} must name an earlier [convolutional] layer"
    ), message


def test_a_conv_without_share_index_shares_nothing() -> None:
    """``Layer.shares`` is the empty string when a layer has its own weights. Kills
    xǁ_Readerǁconvolutional__mutmut_121 (``shares = None``)."""
    (conv,) = parse(NET + "[convolutional]\nfilters=4\nactivation=linear\n", "c.cfg").layers
    assert conv.shares == ""


def test_dilated_conv_message_gives_height_then_width() -> None:
    """An 10×8 (h×w) map, 3×3 dilation 2, no padding: darknet sizes the output (10 − 3 + 1)×(8 − 3 + 1)
    = 8×6; the dilated kernel spans 5, so torch gives (10 − 5 + 1)×(8 − 5 + 1) = 6×4. Kills
    xǁ_Readerǁconvolutional__mutmut_206 (want[1]×want[1]) and _208 (got[1]×got[1])."""
    message = _refused(
        "[net]\nwidth=8\nheight=10\nchannels=3\n[convolutional]\nfilters=4\nsize=3\ndilation=2\n"
    )
    assert "darknet sizes the output 8×6 but a dilated conv gives 6×4;" in message, message


@pytest.mark.parametrize(
    ("strides", "shape", "stride_w"),
    [
        ("stride=2", (4, (8 + 2 - 3) // 2 + 1, (8 + 2 - 3) // 2 + 1), 0),
        ("stride_x=1\nstride_y=2", (4, (8 + 2 - 3) // 2 + 1, (8 + 2 - 3) // 1 + 1), 1),
    ],
    ids=["square", "wide"],
)
def test_conv_width_stride_is_recorded_only_where_it_differs(
    strides: str, shape: tuple[int, int, int], stride_w: int
) -> None:
    """``Layer.stride_w`` is 0 when the width stride is the height's. Kills
    xǁ_Readerǁconvolutional__mutmut_260 (``or True``: always the width stride)."""
    (conv,) = parse(
        NET + f"[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n{strides}\n", "c.cfg"
    ).layers
    assert (tuple(conv.out_shape), conv.stride_w) == (shape, stride_w)


# --- pools: darknet's total padding P, P//2 of it top/left --------------------------------------


@pytest.mark.parametrize(
    ("section", "h", "w", "padding", "stride_w"),
    [
        # size 3, stride 1, P = size − 1 = 2: top/left 1, bottom/right 1; (8 + 2 − 3)//1 + 1 = 8
        ("[local_avgpool]\nsize=3\nstride=1", (8 + 2 - 3) // 1 + 1, (8 + 2 - 3) // 1 + 1, 2, 0),
        # odd P = 5 on a 6×6 window, stride 2 down and 1 across: top/left 5//2 = 2, the other 3
        # bottom/right; h (8 + 5 − 6)//2 + 1 = 4, w (8 + 5 − 6)//1 + 1 = 8
        (
            "[maxpool]\nsize=6\nstride_x=1\nstride_y=2\npadding=5",
            (8 + 5 - 6) // 2 + 1,
            (8 + 5 - 6) // 1 + 1,
            5,
            1,
        ),
        ("[local_avgpool]\nsize=6\nstride_x=1\nstride_y=2\npadding=5", 4, 8, 5, 1),
    ],
    ids=["local-avgpool-square", "maxpool-odd-wide", "local-avgpool-odd-wide"],
)
def test_pool_splits_darknets_padding(section: str, h: int, w: int, padding: int, stride_w: int) -> None:
    """darknet's ``maxpool_layer.c``: ``out = (in + pad − size)/stride + 1`` and the window starts
    ``pad/2`` before the map. Kills xǁ_Readerǁ_pool__mutmut_76 (``padding // 3`` top/left), _83
    (``padding − padding // 3`` bottom/right) and _78 (``or True``: a square stride recorded as a
    width stride)."""
    (pool,) = parse(NET + section + "\n", "p.cfg").layers
    assert tuple(pool.out_shape) == (3, h, w)
    assert (pool.padding, pool.pad_end) == (padding // 2, padding - padding // 2)
    assert pool.stride_w == stride_w


# --- route, sam, empty ------------------------------------------------------------------------------


def test_route_size_mismatch_quotes_the_layers_value() -> None:
    """Layer 0 is 8×8, layer 1 (3×3 stride 2, no padding) (8 − 3)//2 + 1 = 3×3. Kills
    xǁ_Readerǁroute__mutmut_49 (``_q(None)``) and _52 (the line number quoted instead)."""
    text = (
        NET
        + "[convolutional]\nfilters=4\n[convolutional]\nfilters=4\nsize=3\nstride=2\n[route]\nlayers=-1,-2\n"
    )
    message = _refused(text)
    assert "layers='-1,-2': layer 0 is 8×8 but layer 1 is 3×3" in message, message


def test_sam_mismatch_names_the_shape_it_needs() -> None:
    """``[sam]`` multiplies maps of one shape: layer 0 is 4×8×8, the input (layer 1) 2×8×8. Kills
    xǁ_Readerǁ_multiply__mutmut_41 (``str(None)``)."""
    text = NET + "[convolutional]\nfilters=4\n[convolutional]\nfilters=2\n[sam]\nfrom=-2\n"
    message = _refused(text)
    assert "layer 0 is 4×8×8, so the input must be 4×8×8, but it is 2×8×8" in message, message


@pytest.mark.parametrize("section", ["empty", "silence"])
def test_empty_is_an_alias_of_its_input(section: str) -> None:
    """Kills xǁ_Readerǁempty__mutmut_1 (the alias None)."""
    model = read(NET + f"[convolutional]\nfilters=4\nactivation=linear\n[{section}]\n", "e.cfg")
    assert model.aliases == {1: "layers.0.conv"}


# --- read_file ------------------------------------------------------------------------------------


def test_a_folder_is_refused_with_the_fix(tmp_path: Path) -> None:
    """Kills x_read_file__mutmut_5 (fix None), _12 ('XX…XX') and _13 (upper case)."""
    with pytest.raises(SpecError) as info:
        load(tmp_path)
    assert str(info.value).endswith(
        "is not a regular file (a pipe, device or folder); give a darknet .cfg file"
    )
