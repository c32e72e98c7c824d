"""Captcha domains: fixed-length character codes rendered in two visual styles, seeded.

Every image shows ``length`` characters from ``alphabet``; its label is the ``(length,)``
vector of character indices (one softmax per position). Two styles make a source and a
target domain:

- ``plain``: dark grey characters in upright sans/serif fonts on a light, flat background.
- ``noisy``: coloured characters in other fonts (rounded, monospace), rotated and jittered,
  on a coloured gradient with speckle noise and random lines crossing the code.

Fonts are read from a directory (e.g. ``../shared/data/fonts``); each style names the font
files it uses and falls back to whatever ``.ttf``/``.otf`` files the directory holds. The
output is a pure function of the arguments (NumPy's seeded generator drives every random
choice; Pillow only draws).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from unshift.core.errors import DataError
from unshift.core.registry import DATASETS, PATH, require
from unshift.data.domains import DatasetConfig, Domain, TaskData

STYLES = ("plain", "noisy")
DEFAULT_ALPHABET = "0123456789"
STYLE_FONTS = {
    "plain": ("DejaVuSans.ttf", "LiberationSerif-Regular.ttf", "DejaVuSerif.ttf"),
    "noisy": ("ComicNeue-Bold.otf", "Inconsolata.otf", "LiberationMono-Regular.ttf"),
}


def _fonts(font_dir: Path, style: str) -> list[Path]:
    if not font_dir.is_dir():
        raise DataError(f"font directory {font_dir} does not exist")
    named = [font_dir / name for name in STYLE_FONTS[style] if (font_dir / name).is_file()]
    found = named or sorted(p for p in font_dir.iterdir() if p.suffix.lower() in (".ttf", ".otf"))
    if not found:
        raise DataError(f"no .ttf/.otf fonts in {font_dir}")
    return found


@lru_cache(maxsize=16)
def render_captchas(
    n: int,
    style: str,
    seed: int,
    font_dir: str,
    length: int = 3,
    alphabet: str = DEFAULT_ALPHABET,
    height: int = 24,
    width: int = 56,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` captchas of ``style``: images ``(n, 3, height, width)`` uint8 and codes
    ``(n, length)`` int64 (indices into ``alphabet``). Cached per argument set."""
    from PIL import Image, ImageDraw, ImageFont

    if style not in STYLES:
        raise DataError(f"unknown captcha style {style!r}; known: {', '.join(STYLES)}")
    if length < 1 or len(set(alphabet)) != len(alphabet) or len(alphabet) < 2:
        raise DataError("captchas need length >= 1 and an alphabet of >= 2 distinct characters")
    noisy = style == "noisy"
    rng = np.random.default_rng(np.random.SeedSequence([seed, STYLES.index(style)]))
    scale = 2  # draw at twice the size, then downsample: smooth edges
    fonts = [
        [ImageFont.truetype(str(p), size * scale) for size in (18, 20, 22)]
        for p in _fonts(Path(font_dir), style)
    ]
    big_h, big_w = height * scale, width * scale
    codes = rng.integers(len(alphabet), size=(n, length))
    images = np.empty((n, 3, height, width), dtype=np.uint8)
    slot = big_w / length
    for k in range(n):
        if noisy:
            top, bottom = rng.integers(60, 256, size=(2, 3))
            ramp = np.linspace(0, 1, big_w)[None, :, None]
            background = (top * (1 - ramp) + bottom * ramp).repeat(big_h, 0)
            background += rng.normal(0, 18, size=background.shape)
            canvas = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
        else:
            canvas = Image.new(
                "RGB", (big_w, big_h), tuple(int(v) for v in rng.integers(225, 256, 3))
            )
        for i, index in enumerate(codes[k]):
            font = fonts[rng.integers(len(fonts))][rng.integers(3)]
            glyph = Image.new("L", (int(slot) + 8, big_h), 0)
            centre = (glyph.width / 2, big_h / 2)
            ImageDraw.Draw(glyph).text(centre, alphabet[index], font=font, fill=255, anchor="mm")
            if noisy:
                glyph = glyph.rotate(float(rng.uniform(-25, 25)), resample=Image.BILINEAR)
                colour = tuple(int(v) for v in rng.integers(0, 140, 3))
                dx, dy = rng.integers(-4, 5, size=2)
            else:
                colour = tuple(int(v) for v in rng.integers(20, 70, 1).repeat(3))
                dx, dy = rng.integers(-1, 2, size=2)
            left = int(i * slot + dx) - 4
            canvas.paste(Image.new("RGB", glyph.size, colour), (left, int(dy)), glyph)
        if noisy:
            draw = ImageDraw.Draw(canvas)
            for _ in range(2):
                xy = rng.integers(0, [big_w, big_h, big_w, big_h])
                colour = tuple(int(v) for v in rng.integers(0, 256, 3))
                draw.line([tuple(xy[:2]), tuple(xy[2:])], fill=colour, width=3)
        small = canvas.resize((width, height), Image.BILINEAR)
        images[k] = np.asarray(small, dtype=np.uint8).transpose(2, 0, 1)
    return images, codes


def captcha_domain(
    n: int, style: str, seed: int, font_dir: str | Path, name: str, **kwargs: object
) -> Domain:
    """A :class:`Domain` of ``n`` captchas (see :func:`render_captchas`)."""
    x, y = render_captchas(n, style, seed, str(font_dir), **kwargs)  # type: ignore[arg-type]
    return Domain(torch.from_numpy(x), torch.from_numpy(y), name)


def captcha_task(
    font_dir: str | Path,
    n_train: int = 20000,
    n_test: int = 2000,
    source: str = "plain",
    target: str = "noisy",
    seed: int = 0,
    length: int = 3,
    alphabet: str = DEFAULT_ALPHABET,
    test_only: bool = False,
) -> TaskData:
    """Source and target captcha domains; train and test sets drawn with different seeds.

    The data depend on ``seed`` only through the data seed, so runs with different training
    seeds can share the same data by passing the same ``seed`` here. ``test_only``: render
    the test sets alone and let them stand in for the training sets.
    """
    options = {"length": length, "alphabet": alphabet}

    def domain(style: str, n: int, part: int, split: str) -> Domain:
        return captcha_domain(n, style, 4 * seed + part, font_dir, f"{style}/{split}", **options)

    source_test, target_test = domain(source, n_test, 2, "test"), domain(target, n_test, 3, "test")
    return TaskData(
        [source_test if test_only else domain(source, n_train, 0, "train")],
        [target_test if test_only else domain(target, n_train, 1, "train")],
        num_classes=(len(alphabet),) * length,
        source_test=source_test,
        target_test=target_test,
        meta={"task": f"captcha {source} → {target}"},
    )


IMAGE_NORMS = ("none", "per_channel")


@dataclass
class CaptchaConfig(DatasetConfig):
    """``data: {name: captcha}``: codes of ``length`` characters from ``alphabet``; ``source``
    and ``target`` name styles (:data:`STYLES`); fonts from the directory ``fonts``;
    ``n_train``/``n_test`` images per domain drawn from ``data_seed`` (the training seed leaves
    the data unchanged); ``image_norm`` ``per_channel`` makes the network standardise each
    channel by the mean and deviation of all training images (no labels)."""

    source: str = "plain"
    target: str = "noisy"
    fonts: str | None = field(default=None, metadata=PATH)
    length: int = 3
    alphabet: str = DEFAULT_ALPHABET
    n_train: int = 20000
    n_test: int = 2000
    data_seed: int = 0
    image_norm: str = "none"

    def __post_init__(self) -> None:
        super().__post_init__()
        for role in ("source", "target"):
            value = getattr(self, role)
            require(value in STYLES, role, f"must be one of {list(STYLES)}; got {value!r}")
        require(
            self.fonts is not None,
            "fonts",
            "must name a directory of .ttf/.otf fonts, e.g. --set data.fonts=../shared/data/fonts",
        )
        require(self.length >= 1, "length", f"must be >= 1; got {self.length}")
        require(
            len(set(self.alphabet)) >= 2,
            "alphabet",
            f"needs >= 2 characters; got {self.alphabet!r}",
        )
        require(self.n_train >= 1, "n_train", f"must be >= 1; got {self.n_train}")
        require(self.n_test >= 1, "n_test", f"must be >= 1; got {self.n_test}")
        require(self.image_norm in IMAGE_NORMS, "image_norm", f"must be one of {list(IMAGE_NORMS)}")


@DATASETS.register("captcha", CaptchaConfig)
def captcha_task_from_config(cfg: CaptchaConfig, seed: int, test_only: bool = False) -> TaskData:
    """:func:`captcha_task` as the config says (``seed``, the run's, is not used: the data
    follow ``data_seed``). With ``test_only`` the training sets are not rendered: the test
    sets stand in for them."""
    assert cfg.fonts is not None
    data = captcha_task(
        cfg.fonts,
        cfg.n_train,
        cfg.n_test,
        cfg.source,
        cfg.target,
        cfg.data_seed,
        cfg.length,
        cfg.alphabet,
        test_only,
    )
    data.channel_norm = cfg.image_norm == "per_channel"
    return data
