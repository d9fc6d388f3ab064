"""Images of a run (screenshots a ``browse`` took, plots a command saved) and the files it spilled.

A run's executor writes into its output directory (``<log>.outputs/`` beside the event log):
outputs too big for an observation, screenshots, anything an action saved. A page shows the
images where the observation that names them is, and the rest in a gallery at the end. Small
images are inlined as ``data:`` URIs so the page stays one file that works from a CI artifact;
large ones are linked relative to the page, so a page does not balloon with a video's frames.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

#: Images up to this size are inlined; bigger ones are linked.
INLINE_IMAGE_BYTES = 256 * 1024
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
#: The start of a base64-encoded PNG or JPEG, for extras that carry the image itself.
BASE64_IMAGES = {"iVBORw0KGgo": "image/png", "/9j/": "image/jpeg"}


@dataclass
class Media:
    """One image or file as a page shows it: ``src`` is a data URI or a link relative to the page."""

    name: str
    src: str
    size: int
    inline: bool
    image: bool


def output_dir_of(log_path: Path) -> Path:
    """Where ``agentexec run`` puts an executor's output files for this log."""
    return log_path.with_name(log_path.name + ".outputs")


class MediaFinder:
    """Finds the files an observation names and remembers them, so the gallery shows only the rest."""

    def __init__(self, output_dir: Path, page_dir: Path, workspace: Optional[str]) -> None:
        self.output_dir = output_dir
        self.page_dir = page_dir
        self.roots = [output_dir] + ([Path(workspace)] if workspace else [])
        self.seen: set[Path] = set()

    def of_extras(self, extras: dict[str, Any]) -> list[Media]:
        """Images and spilled files an observation's extras point to (paths or base64 images)."""
        found: list[Media] = []
        for key, value in extras.items():
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, str) or not item:
                    continue
                media = self._inline_base64(key, item) or self._file(item, images_only=key != "output_path")
                if media is not None:
                    found.append(media)
        return found

    def leftovers(self) -> list[Media]:
        """Files of the output directory that no observation named, images first."""
        if not self.output_dir.is_dir():
            return []
        files = sorted(p for p in self.output_dir.rglob("*") if p.is_file() and p.resolve() not in self.seen)
        media = [self._media(path) for path in files]
        return sorted(media, key=lambda m: not m.image)

    def _inline_base64(self, key: str, value: str) -> Optional[Media]:
        if value.startswith("data:image/") and ";base64," in value[:40]:
            return Media(key, value, len(value) * 3 // 4, True, True)
        if len(value) > 40 and "\n" not in value[:100]:
            for start, mime in BASE64_IMAGES.items():
                if value.startswith(start):
                    return Media(key, f"data:{mime};base64,{value}", len(value) * 3 // 4, True, True)
        return None

    def _file(self, value: str, images_only: bool) -> Optional[Media]:
        if "\n" in value or len(value) > 4096:
            return None
        if images_only and Path(value).suffix.lower() not in IMAGE_TYPES:
            return None
        candidate = Path(value)
        paths = [candidate] if candidate.is_absolute() else [root / candidate for root in self.roots]
        for path in paths:
            try:
                if path.is_file():
                    return self._media(path)
            except OSError:
                continue
        return None

    def _media(self, path: Path) -> Media:
        self.seen.add(path.resolve())
        size = path.stat().st_size
        mime = IMAGE_TYPES.get(path.suffix.lower())
        try:
            name = str(path.relative_to(self.output_dir))
        except ValueError:
            name = path.name
        if mime is not None and size <= INLINE_IMAGE_BYTES:
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            return Media(name, f"data:{mime};base64,{data}", size, True, True)
        return Media(
            name, quote(os.path.relpath(path.resolve(), self.page_dir.resolve())), size, False, mime is not None
        )
