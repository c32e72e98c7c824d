"""Image decoding: whichever library decodes a file, the pixels are Pillow's conversion of
it, for every PNG colour type and bit depth, grey/colour/CMYK JPEGs and other formats; the
fixed-size resize is torchvision's, one image at a time or a batch at once."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F

from unshift.data.decoding import _decode_direct, decode, torchcodec_decoder
from unshift.data.image_files import ImageFiles
from unshift.data.image_transforms import transforms
from unshift.data.streamed import UnreadableSample

RNG = np.random.default_rng(0)
RGBA = Image.fromarray(RNG.integers(0, 256, (23, 31, 4), dtype=np.uint8), "RGBA")


def saved(mode: str, fmt: str, **options) -> bytes:
    image = RGBA.convert(mode)
    if mode == "I;16":
        image = Image.fromarray(RNG.integers(0, 65536, (23, 31), dtype=np.uint16))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


FILES = {
    "png-1bit": saved("1", "PNG"),
    "png-2bit": saved("L", "PNG", bits=2),
    "png-grey": saved("L", "PNG"),
    "png-grey-transparency": saved("L", "PNG", transparency=7),
    "png-grey-alpha": saved("LA", "PNG"),
    "png-palette": saved("P", "PNG"),
    "png-palette-transparency": saved("P", "PNG", transparency=3),
    "png-rgb": saved("RGB", "PNG"),
    "png-rgba": saved("RGBA", "PNG"),
    "png-16bit": saved("I;16", "PNG"),
    "jpeg-grey": saved("L", "JPEG"),
    "jpeg-rgb": saved("RGB", "JPEG", quality=90),
    "jpeg-cmyk": saved("CMYK", "JPEG"),
    "bmp": saved("RGB", "BMP"),
    "gif": saved("P", "GIF"),
}
DIRECT = {"png-1bit", "png-2bit", "png-grey", "png-grey-transparency", "png-grey-alpha"}
DIRECT |= {"png-rgb", "png-rgba", "jpeg-grey", "jpeg-rgb"}


def pillow(data: bytes, channels: int) -> torch.Tensor:
    with Image.open(io.BytesIO(data)) as image:
        array = np.array(image.convert("L" if channels == 1 else "RGB"))
    return torch.from_numpy(array).reshape(*array.shape[:2], channels).permute(2, 0, 1)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("kind", sorted(FILES))
def test_every_kind_of_file_decodes_to_pillows_pixels(kind, channels, tmp_path):
    path = tmp_path / kind
    path.write_bytes(FILES[kind])
    x = decode(path, channels)
    assert x.dtype == torch.uint8 and torch.equal(x, pillow(FILES[kind], channels))


def test_torchcodec_decodes_the_files_whose_conversion_it_does_as_pillow():
    assert torchcodec_decoder() is not None, "the [vision] extra installs torchcodec"
    direct = {k for k, data in FILES.items() for c in (1, 3) if _decode_direct(data, c) is not None}
    assert direct == DIRECT
    # colour to grey is Pillow's luma, never libpng's or libjpeg's
    assert _decode_direct(FILES["png-rgb"], 1) is None
    assert _decode_direct(FILES["jpeg-rgb"], 1) is None


def test_a_truncated_jpeg_or_png_is_unreadable_and_named(tmp_path):
    for kind in ("jpeg-rgb", "png-rgb"):
        path = tmp_path / kind
        path.write_bytes(FILES[kind][: len(FILES[kind]) // 2])
        with pytest.raises(UnreadableSample, match=kind):
            decode(path, 3)


SHAPES = [(1, 16, 16), (3, 23, 31), (3, 40, 30), (1, 16, 16), (3, 28, 28)]


@pytest.mark.parametrize("shape", SHAPES[:3])
def test_the_fixed_size_resize_is_torchvisions(shape):
    image = torch.from_numpy(RNG.integers(0, 256, shape, dtype=np.uint8))
    for size in (28, 12):
        resize = transforms(size, None, [], train=False)
        assert torch.equal(resize(image), F.resize(image, [size, size], antialias=True))
    grey_as_colour = image[:1].expand(3, -1, -1)
    assert torch.equal(
        transforms(28, None, [], train=False)(grey_as_colour),
        F.resize(grey_as_colour.contiguous(), [28, 28], antialias=True),
    )


def test_a_batch_of_mixed_sizes_is_resized_as_one_by_one():
    images = [torch.from_numpy(RNG.integers(0, 256, s, dtype=np.uint8)) for s in SHAPES]
    for train, augment in ((False, []), (True, ["hflip"])):
        resize = transforms(28, None, augment, train=train)
        torch.manual_seed(0)
        together = resize.many(images)
        torch.manual_seed(0)
        assert all(torch.equal(a, resize(x)) for a, x in zip(together, images, strict=True))


def test_image_files_read_a_batch_at_once_with_unreadable_files_in_place(tmp_path):
    names = ["png-grey", "jpeg-rgb", "png-palette", "png-rgba"]
    for name in names:
        (tmp_path / name).write_bytes(FILES[name])
    (tmp_path / "broken").write_bytes(FILES["png-rgb"][:40])
    files = ImageFiles(
        [tmp_path / n for n in [*names, "broken"]], 3, transforms(28, None, [], False)
    )
    assert not files.draws
    *read, broken = files.read_many(range(5))
    assert all(torch.equal(a, files[i]) for i, a in enumerate(read))
    assert isinstance(broken, UnreadableSample) and "broken" in str(broken)
    assert ImageFiles([], 3, transforms(28, None, ["hflip"], True)).draws
