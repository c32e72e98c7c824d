"""One image file → ``uint8`` pixels ``(C, H, W)``, as Pillow converts them.

PNG and JPEG files whose pixels need no conversion Pillow would do differently are decoded
by TorchCodec (``torchcodec.decoders.decode_image``, the successor of torchvision's
deprecated decoders; libpng and libjpeg-turbo) where it is installed and loads: about half of
Pillow's CPU time per small image, and the same pixels (tested). Everything else goes through
Pillow: palette and 16-bit PNGs, CMYK JPEGs, colour to grey (Pillow's ITU-R 601 luma), every
other format, and any file TorchCodec cannot read (so that a corrupt file is named in
Pillow's words).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from unshift.data.streamed import UnreadableSample

_PNG, _JPEG = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
_PNG_DIRECT = {0: 1, 2: 3, 4: 2, 6: 4}
"""PNG colour types libpng decodes as Pillow does (grey, RGB, grey + alpha, RGBA; not
palette) and their channels."""


def decode(path: str | Path, channels: int) -> Tensor:
    """The image at ``path`` as ``uint8`` ``(channels, H, W)``: grey, colour, palette or with
    alpha, all converted as Pillow converts them (alpha dropped, grey repeated, colour to grey
    by ITU-R 601 luma); an unreadable file raises :class:`UnreadableSample` naming it."""
    try:
        with open(path, "rb") as file:  # one read: Pillow's many small reads cost more
            data = file.read()
    except OSError as err:
        raise UnreadableSample(f"cannot read image {path} ({err})") from None
    direct = _decode_direct(data, channels)
    return direct if direct is not None else _decode_pillow(data, path, channels)


@functools.cache
def torchcodec_decoder() -> Callable | None:
    """TorchCodec's ``decode_image``, or None where TorchCodec is not installed or does not
    load (a build for another torch)."""
    try:
        from torchcodec.decoders import decode_image
    except Exception:  # ImportError, or OSError/RuntimeError from its libraries: use Pillow
        return None
    return decode_image


def _decode_direct(data: bytes, channels: int) -> Tensor | None:
    """``data`` decoded by TorchCodec if it is a PNG or JPEG whose conversion to
    ``channels`` is only dropping alpha or repeating grey; otherwise None."""
    if data.startswith(_PNG) and len(data) > 25:
        bit_depth, colour_type = data[24], data[25]  # IHDR, the first chunk
        if bit_depth > 8 or colour_type not in _PNG_DIRECT:
            return None
        expected: tuple[int, ...] = (_PNG_DIRECT[colour_type],)
    elif data.startswith(_JPEG):
        expected = (1, 3)  # grey or colour; CMYK (4) is left to Pillow
    else:
        return None
    decode_image = torchcodec_decoder()
    if decode_image is None:
        return None
    try:
        x = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode="UNCHANGED")
    except (RuntimeError, ValueError):
        return None
    if x.dtype != torch.uint8 or x.shape[0] not in expected:
        return None
    colours = x[:3] if x.shape[0] in (3, 4) else x[:1]  # alpha dropped
    if len(colours) == channels:
        return colours
    return colours.expand(channels, -1, -1) if len(colours) == 1 else None


def _decode_pillow(data: bytes, path: str | Path, channels: int) -> Tensor:
    from PIL import Image, UnidentifiedImageError

    mode = "L" if channels == 1 else "RGB"
    try:
        with Image.open(io.BytesIO(data)) as image:
            converted = image if image.mode == mode else image.convert(mode)
            width, height = converted.size
            pixels = bytearray(converted.tobytes())  # writable, as torch wants; no NumPy copy
    except UnidentifiedImageError:
        raise UnreadableSample(f"cannot read image {path} (not an image Pillow knows)") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise UnreadableSample(f"cannot read image {path} ({err})") from None
    x = torch.frombuffer(pixels, dtype=torch.uint8).view(height, width, channels)
    return x.permute(2, 0, 1)
