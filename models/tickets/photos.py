"""The image work behind attachments: decode within limits, read the GPS, re-encode without
metadata (orientation applied), and make the thumbnail. Which files are accepted, and the
messages, are decided in models/tickets/attachments.py (check_upload)."""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.ExifTags import GPS, IFD

# Decoded format → (MIME type, stored extension, extensions a file of it may be named with)
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
           "WEBP": ("image/webp", "webp")}
PHOTO_EXTENSIONS = {"jpg", "jpeg", "jpe", "jfif", "png", "webp"}
# Many phone cameras write MPO (a JPEG followed by more JPEGs, e.g. a depth map): it is a JPEG,
# and its first picture is the photo.
SAME_AS = {"MPO": "JPEG"}


class NotAPhoto(Exception):
    """Pillow cannot decode it, or it is no JPEG, PNG or WebP."""


class TooManyPixels(Exception):
    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"{width}×{height}")
        self.width, self.height = width, height


@dataclass
class Photo:
    format: str
    width: int
    height: int
    content: bytes  # re-encoded: orientation applied, no EXIF/XMP/text metadata
    thumbnail: bytes  # JPEG, longest side at most the thumbnail size
    gps: tuple[float, float] | None  # (lat, lon) in WGS-84, read before the EXIF was dropped


def process_photo(data: bytes, *, max_pixels: int, thumbnail_size: int) -> Photo:
    """Decode ``data`` and re-encode it; raise NotAPhoto or TooManyPixels."""
    # Pillow's own guard: a DecompressionBombWarning above Image.MAX_IMAGE_PIXELS (an exception
    # where warnings are errors) and a DecompressionBombError above twice that. Our limit is
    # never looser, and it is checked on the header, before any pixel is decoded. (No
    # warnings.catch_warnings here: it changes process-wide state, unsafe in threaded servers.)
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:  # MPO opens as JPEG
            width, height = image.size
            if width * height > limit:
                raise TooManyPixels(width, height)
            image.load()
            fmt = SAME_AS.get(image.format, image.format)
            gps = _gps(image)
            upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooManyPixels(0, 0) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise NotAPhoto() from None
    if fmt not in FORMATS:
        raise NotAPhoto()
    return Photo(fmt, upright.width, upright.height, _encode(upright, fmt),
                 _thumbnail(upright, thumbnail_size), gps)


def thumbnail_of(stored: bytes, size: int) -> bytes:
    """The thumbnail of a photo stored already (re-encoded, upright): for photos kept before
    their thumbnail was."""
    with Image.open(io.BytesIO(stored), formats=list(FORMATS)) as image:
        image.load()
        return _thumbnail(image, size)


def _encode(image: Image.Image, fmt: str) -> bytes:
    icc, mode = image.info.get("icc_profile"), image.mode
    if fmt == "JPEG":
        clean = image.convert("RGB") if image.mode not in ("RGB", "L") else image.copy()
    else:
        keep = ("RGB", "RGBA", "L", "LA") if fmt == "PNG" else ("RGB", "RGBA")
        clean = image.copy() if image.mode in keep else image.convert(
            "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    clean.info = {}  # no EXIF, XMP, comments or text chunks travel on
    options = {"JPEG": {"quality": 88, "optimize": True}, "PNG": {"optimize": True},
               "WEBP": {"quality": 88}}[fmt]
    if icc and clean.mode == mode:
        options["icc_profile"] = icc  # colours, not personal data (and only for the same mode)
    buffer = io.BytesIO()
    clean.save(buffer, fmt, **options)
    return buffer.getvalue()


def _thumbnail(image: Image.Image, size: int) -> bytes:
    small = image.copy()
    small.thumbnail((size, size))
    if small.mode in ("RGBA", "LA", "P"):
        small = small.convert("RGBA")
        background = Image.new("RGB", small.size, "white")
        background.paste(small, mask=small.getchannel("A"))
        small = background
    elif small.mode != "RGB":
        small = small.convert("RGB")
    small.info = {}
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _gps(image: Image.Image) -> tuple[float, float] | None:
    """Latitude and longitude from the EXIF GPS block, or None when absent or unreadable."""
    try:
        info = image.getexif().get_ifd(IFD.GPSInfo)
        lat = _degrees(info[GPS.GPSLatitude], info.get(GPS.GPSLatitudeRef, "N"), "S")
        lon = _degrees(info[GPS.GPSLongitude], info.get(GPS.GPSLongitudeRef, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError, IndexError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lat, lon


def _degrees(parts, ref, negative: str) -> float:
    d, m, s = (float(p) for p in parts)
    value = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    return -value if str(ref).strip().upper() == negative else value
