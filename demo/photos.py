"""After-photos for the demo's results: small generated pictures (a street scene in flat colours),
made once per process; attachments are stored by content, so each is one file on disk."""
from __future__ import annotations

import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw

from models.tickets.attachments import Upload
from models.vocabulary import AttachmentKind

SIZE = (480, 360)
PALETTES = [((186, 208, 226), (120, 124, 128), (96, 150, 88)),
            ((214, 222, 230), (140, 136, 130), (70, 120, 160)),
            ((240, 226, 200), (110, 110, 116), (160, 110, 70)),
            ((200, 214, 200), (128, 132, 120), (200, 170, 60))]


@lru_cache(maxsize=None)
def _pictures() -> tuple[bytes, ...]:
    rng = random.Random(7)
    pictures = []
    for sky, road, thing in PALETTES:
        image = Image.new("RGB", SIZE, sky)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 220, SIZE[0], SIZE[1]), fill=road)
        for _ in range(3):  # buildings
            x = rng.randint(0, 400)
            draw.rectangle((x, rng.randint(60, 140), x + rng.randint(60, 120), 220),
                           fill=tuple(c - 40 for c in sky))
        x = rng.randint(80, 360)
        draw.ellipse((x, 230, x + 90, 300), fill=thing)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=70)
        pictures.append(buffer.getvalue())
    return tuple(pictures)


def after_photo(rng: random.Random) -> Upload:
    data = rng.choice(_pictures())
    name = f"现场照片{rng.randint(1, 99):02d}.jpg"
    return Upload(kind=AttachmentKind.AFTER, filename=name, data=data)
