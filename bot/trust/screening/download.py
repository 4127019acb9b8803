"""Download a screening list atomically: a failed or unrecognised download keeps the previous file."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bot.trust.screening.lists import ScreeningError, detect_format, read_text


def fetch_list(url: str, dest_dir: str | Path, timeout: float = 60.0) -> Path:
    """Download ``url`` into ``dest_dir`` (atomically: a failed or unrecognised download keeps the
    previous file) and return the file's path. Only http(s) URLs are accepted."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ScreeningError(f"screening list URL must be http(s): {url}")
    name = Path(urllib.parse.unquote(parsed.path)).name or "screening-list.csv"
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    part = dest / f".{name}.part"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as out:
            shutil.copyfileobj(response, out)
        detect_format(read_text(part))
    except (OSError, urllib.error.URLError, ScreeningError) as e:
        part.unlink(missing_ok=True)
        if isinstance(e, ScreeningError):
            raise ScreeningError(f"{url}: {e}") from e
        raise ScreeningError(f"could not fetch screening list {url}: {e}") from e
    target = dest / name
    os.replace(part, target)
    return target
