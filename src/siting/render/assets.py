"""Leaflet, the only third-party code a map needs: inlined from its PyPI package, or CDN links.

Maps inline Leaflet's JS and CSS by default, so that a page works with no network. The
code comes from the ``xstatic-leaflet`` package (a dependency, installed from PyPI with
the project): nothing third-party is committed to the repository, and nothing is
downloaded when a map is drawn. ``--cdn`` maps link the same version on its CDN instead.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import xstatic.pkg.leaflet as xstatic_leaflet

from siting.errors import SitingError

LEAFLET_VERSION = xstatic_leaflet.VERSION
LEAFLET_CDN = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist"


class AssetError(SitingError):
    """Leaflet's installed package is incomplete."""


@dataclass(frozen=True)
class Leaflet:
    """Leaflet's code, ready to place in an HTML page."""

    js: str
    css: str


def leaflet_links() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return folium-style ``(name, url)`` lists of Leaflet's JS and CSS on the CDN."""
    return ([("leaflet", f"{LEAFLET_CDN}/leaflet.js")],
            [("leaflet_css", f"{LEAFLET_CDN}/leaflet.css")])


def leaflet_inline(folder: Path | str = xstatic_leaflet.BASE_DIR) -> Leaflet:
    """Return Leaflet's JS and CSS (images inlined as data URIs) from its installed package.

    Raises
    ------
    AssetError
        If a file of the package is missing from ``folder``.
    """
    folder = Path(folder)

    def read(name: str) -> bytes:
        try:
            return (folder / name).read_bytes()
        except OSError as err:
            raise AssetError(f"{folder / name}: missing from Leaflet's package; reinstall "
                             "it with `pip install --force-reinstall xstatic-leaflet`") from err

    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", read("leaflet.js").decode())
    return Leaflet(js=js, css=_inline_css_images(read("leaflet.css").decode(), read))


def _inline_css_images(css: str, read: Callable[[str], bytes]) -> str:
    def data_uri(match: re.Match[str]) -> str:
        png = base64.b64encode(read(match.group(1))).decode()
        return f"url(data:image/png;base64,{png})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
