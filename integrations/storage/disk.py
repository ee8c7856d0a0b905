"""Photos on the local disk, under UPLOAD_DIR, by the key the attachment rule chose."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO


class DiskStorage:
    """The PhotoStorage of models/tickets/attachments.py on a local (or mounted) folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def save(self, content: bytes, name: str) -> str:
        """Write once: a content-addressed name that exists already holds the same bytes.
        Written to a temporary file first, so a reader never sees half a photo."""
        target = self._path(name)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(".part")
            temporary.write_bytes(content)
            temporary.replace(target)
        return name

    def open(self, key: str) -> BinaryIO:
        """The stored file for reading; FileNotFoundError when it is not there."""
        return self._path(key).open("rb")

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise FileNotFoundError(key)  # a key never leaves the folder
        return path
