"""The paper's claims beside our figures, the bottleneck per scope, and the README rows whose cfg is
found in one of several folders (REFERENCE.md §1, §2, §4). Expected values are the arithmetic of
the layers that carry them."""

from __future__ import annotations

import csv
from itertools import pairwise

import pytest
from typer.testing import CliRunner

from cli import app
from costmodel import SpecError, analyze, expand, resolve
from costmodel.bottleneck import DENSE_LAYERS, NETWORK, bottleneck_reduction
from costmodel.reproduce import bottleneck_scopes, claims, reproduce

# PeleeNet's stage 1: the 1×1 transition reads 32 + 3·32 = 128 channels at 56²; CSPPeleeNet's partial
# transition reads part 2 only, 16 + 3·32 = 112. Stage 2: 256 against 64 + 4·32 = 192 at 28².
PELEE_NET_CUT = 1 - (112 * 112) / (128 * 128)
PELEE_STAGE2_CUT = 1 - (192 * 192) / (256 * 256)
# DenseNet-201's stage 3: the transition reads 256 + 48·32 = 1792 channels and writes 896 at 14²;
# CSPDenseNet-201's partial transition reads 128 + 48·32 = 1664 and writes 832.
DENSE201_NET_CUT = 1 - (1664 * 832) / (1792 * 896)


def _profiles(base: str, csp: str):  # type: ignore[no-untyped-def]
    return analyze(expand(resolve(base), 224)), analyze(expand(resolve(csp), 224))


@pytest.mark.parametrize(
    ("base", "csp", "scope", "cut"),
    [
        ("peleenet", "csppeleenet", NETWORK, PELEE_NET_CUT),
        ("peleenet", "csppeleenet", "stage2", PELEE_STAGE2_CUT),
        # both peaks are a 3×3 conv 16 → 16 at 56² in a stage-1 dense layer: CSP leaves it
        ("peleenet", "csppeleenet", DENSE_LAYERS, 0.0),
        ("densenet201", "cspdensenet201", NETWORK, DENSE201_NET_CUT),
        # a stage-1 dense layer's 3×3 conv 128 → 32 at 56² in both
        ("densenet201", "cspdensenet201", DENSE_LAYERS, 0.0),
    ],
    ids=["pelee-network", "pelee-stage2", "pelee-dense", "densenet201-network", "densenet201-dense"],
)
def test_bottleneck_cut_per_scope(base: str, csp: str, scope: str, cut: float) -> None:
    a, b = _profiles(base, csp)
    assert bottleneck_reduction(a.bottleneck(scope), b.bottleneck(scope)) == pytest.approx(cut)


def test_dense_layer_peaks_are_the_arithmetic_of_one_layer() -> None:
    pelee, _ = _profiles("peleenet", "csppeleenet")
    assert pelee.bottleneck(DENSE_LAYERS).peak_macs == 16 * 16 * 9 * 56 * 56
    assert pelee.bottleneck(NETWORK).peak_macs == 128 * 128 * 56 * 56


def test_an_unknown_scope_names_the_choices() -> None:
    pelee, _ = _profiles("peleenet", "csppeleenet")
    with pytest.raises(SpecError, match="use network, dense layers or one of the stages"):
        pelee.bottleneck("stage9")


def test_scope_rows_cover_both_pairs_and_every_stage() -> None:
    rows = bottleneck_scopes()
    pairs = {r.pair for r in rows}
    assert pairs == {"peleenet → csppeleenet", "densenet201 → cspdensenet201"}
    scopes = [r.scope for r in rows if r.pair.startswith("peleenet")]
    assert scopes == [NETWORK, DENSE_LAYERS, "stage1", "stage2", "stage3", "stage4"]
    first = rows[0]
    assert first.peak_cut_pct == pytest.approx(PELEE_NET_CUT * 100)


def test_every_claim_has_the_paper_and_ours_side_by_side() -> None:
    rows = {c.key: c for c in claims()}
    assert set(rows) >= {"pelee_bottleneck", "pelee_efm_bottleneck", "imagenet_compute", "pelee_fusion_last"}
    for claim in rows.values():
        assert claim.paper and claim.ours and claim.explanation
    assert f"{PELEE_NET_CUT * 100:.1f}% (network)" in rows["pelee_bottleneck"].ours
    assert rows["pelee_bottleneck"].paper == "≈ 50%"


def test_readme_rows_of_darknets_folder_reproduce_the_printed_figures() -> None:
    rows = {r.key: r for r in reproduce()}
    eff = rows["efficientnet_b0"]
    if "absent" in eff.source:
        pytest.skip("darknet's cfg folder is not in ../shared/reference")
    # README: EfficientNet-B0* 4.81M / 0.915, Darknet Ref. 7.31M (REFERENCE.md §1)
    assert (f"{eff.params_m:.2f}", f"{eff.bflops:.3f}") == ("4.81", "0.915")
    assert f"{rows['darknet_ref'].params_m:.2f}" == "7.31"
    assert rows["darknet_ref"].note.startswith("not reproduced: ")
    assert "another convention" in rows["res2netlite72"].note


def _darknet_ref(size: int) -> tuple[list[int], int]:
    """darknet.cfg (darknet's folder), by arithmetic: six 3×3 convs 3→16→…→512, each followed by a
    2×2/2 maxpool with darknet's padding 1 (out = (h + 1 − 2)//2 + 1, maxpool_layer.c), then a
    3×3 conv 512→1024 and the 1×1 classifier conv 1024→1000. Conv FLOPs (2·MACs) in order, and
    the pools' k²·C·H_out·W_out."""
    widths = [3, 16, 32, 64, 128, 256, 512]
    h, convs, pools = size, [], 0
    for c_in, c_out in pairwise(widths):
        convs.append(2 * 9 * c_in * c_out * h * h)
        h = (h + 1 - 2) // 2 + 1
        pools += 4 * c_out * h * h
    convs += [2 * 9 * 512 * 1024 * h * h, 2 * 1024 * 1000 * h * h]
    return convs, pools


def test_darknet_ref_says_not_reproduced_with_both_of_our_figures() -> None:
    row = {r.key: r for r in reproduce()}["darknet_ref"]
    if "absent" in row.source:
        pytest.skip("darknet's cfg folder is not in ../shared/reference")
    convs, pools = _darknet_ref(224)
    assert row.input == 224
    assert row.bflops == pytest.approx((sum(convs) + pools) / 1e9)
    at_256, pools_256 = _darknet_ref(256)
    for figure in (
        (sum(convs) + pools) / 1e9,  # 0.807: conv + pool at the cfg's own 224
        sum(convs) / 1e9,  # 0.805 conv only, pjreddie's 0.81 Bn
        (sum(at_256) + pools_256) / 1e9,  # 0.997 at 256
        sum(at_256[:-1]) / 1e9,  # 0.963: 256 without the classifier
    ):
        assert f"{figure:.3f}" in row.note
    assert f"{sum(convs) / 1e9:.2f}" == "0.81"  # what pjreddie's Tiny Darknet page prints
    assert row.paper_bflops == "0.96"
    # 0.96 to the printed digits, conv + pool or conv only: only at 244–248 px; 0.967 never
    counts = {s: _darknet_ref(s) for s in range(64, 513)}
    sixty = {
        s for s, (c, p) in counts.items() if "0.96" in (f"{(sum(c) + p) / 1e9:.2f}", f"{sum(c) / 1e9:.2f}")
    }
    assert sixty == set(range(244, 249))
    assert "244–248 px" in row.note
    assert not any(f"{(sum(c) + p) / 1e9:.3f}" == "0.967" for c, p in counts.values())


# Stand-in cfgs: one conv at the row's input, so the row's figures are arithmetic written here.
# res2netlite72.cfg: a 3×3 conv 3 → 8 at 256² and a 2×2/2 maxpool; darknet.cfg: a 1×1 conv 3 → 4 at 224².
LITE = (
    "[net]\nwidth=256\nheight=256\nchannels=3\n"
    "[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n"
)
REF = "[net]\nwidth=224\nheight=224\nchannels=3\n[convolutional]\nfilters=4\nsize=1\nactivation=linear\n"


def _cfg_folders(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "darknet.cfg").write_text(REF)
    (second / "res2netlite72.cfg").write_text(LITE)
    return first, second


def test_absent_cfgs_are_listed_and_several_folders_are_searched(tmp_path) -> None:
    rows = {r.key: r for r in reproduce(_cfg_folders(tmp_path))}
    assert rows["mobilenet_v2"].bflops is None and "absent" in rows["mobilenet_v2"].source
    assert rows["resnet10"].source == "native resnet10"
    lite = rows["res2netlite72"]
    assert lite.source == "res2netlite72.cfg"
    assert lite.bflops == pytest.approx((2 * 3 * 8 * 9 * 256 * 256 + 4 * 8 * 128 * 128) / 1e9)
    ref = rows["darknet_ref"]
    assert ref.source == "darknet.cfg"
    assert ref.bflops == pytest.approx(2 * 3 * 4 * 1 * 224 * 224 / 1e9)


def test_an_explicit_folder_without_any_of_the_cfgs_is_refused(tmp_path) -> None:
    first, second = _cfg_folders(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a cfg")
    with pytest.raises(SpecError, match=r"--cfg-dir .*empty holds none of the 16 cfgs"):
        reproduce([first, empty, second])
    assert {r.source for r in reproduce(())} >= {
        "native resnet10",
        "darknet.cfg absent (searched no cfg folder given)",
    }


def test_cli_reproduce_takes_several_cfg_dirs_and_prints_the_claims(tmp_path) -> None:
    a, b = _cfg_folders(tmp_path)
    result = CliRunner().invoke(
        app, ["reproduce", "--cfg-dir", str(a), "--cfg-dir", str(b), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "claims, ours beside each" in result.output
    assert (tmp_path / "out" / "claims.md").is_file()
    with (tmp_path / "out" / "reproduce.csv").open() as fh:
        source = {r["key"]: r["source"] for r in csv.DictReader(fh)}
    assert (source["darknet_ref"], source["res2netlite72"]) == ("darknet.cfg", "res2netlite72.cfg")
    assert source["mobilenet_v2"] == f"mobilenet-v2.cfg absent (searched {a}, {b})"


def test_the_html_report_states_each_claim_beside_ours(tmp_path) -> None:
    from test_report import OPTIONS

    from cli import parse_specs
    from costmodel.overview import overview
    from reports.html import REPORT_PAGE, build_report

    page = build_report(overview(parse_specs(["peleenet"]), **OPTIONS))[REPORT_PAGE].decode()
    assert '<section id="claims">' in page
    claims_html = page[page.index('<section id="claims">') :]
    assert "into half" in claims_html
    assert f"{PELEE_NET_CUT * 100:.1f}% (network)" in claims_html
    assert "about in half" not in page
