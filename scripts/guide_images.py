"""Take the pictures of the user guides (docs/guide-porteur.md, docs/guide-ars.md) in headless Chromium (run by hand).

    python scripts/guide_images.py [--out docs/images] [--only porteur-page,ars-plan]

Starts the app on a temporary store holding the example registry (docs/registry_example, two versions) and a
draft « CPTS Ruscino », opens the pages as a user on a laptop screen (1366 px wide) and saves each picture cut to
the part of the page the guide describes, in 256 colours (a few tens of kB each). Look at them before committing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

from PIL import Image
from websockets.asyncio.client import connect

from headless import ROOT, DevTools, app_server, chromium, evaluate, page_targets
from screenshot import READY_SCRIPT, RUSCINO, open_tab, show_layers

sys.path.insert(0, str(ROOT))
from cpts_geo.data.bundle import Bundle  # noqa: E402
from cpts_geo.web.session import DrawingSession, iris_regions  # noqa: E402
from cpts_geo.storage.store import open_store  # noqa: E402
from cpts_geo.territory.model import Territory  # noqa: E402
from cpts_geo.storage.users import SINGLE_USER, Drafts  # noqa: E402
from cpts_geo.web.webmap import OPTIONAL_LAYERS  # noqa: E402

WINDOW = (1366, 2400)   # a laptop's width; tall, so that the whole page is drawn without scrolling
REGISTRY = ROOT / "docs" / "registry_example" / "registre_cpts_66_11.csv"
#: A territory that fails the checks: a ring of communes around Casefabre (enclave, overlap with CPTS Aspres)
#: with Céret and Saleilles apart (three pieces), compared with the stored registry.
FAULTY = {"zones": "66022-66023-66029-66185-66049-66189", "nom": "CPTS des Aspres (essai)", "dep": "66",
          "registre": "1"}

#: Bounding box (page pixels) of an element found by a JavaScript expression; null when it is not there.
RECT_SCRIPT = """(() => {
  const element = %s;
  if (!element) return null;
  const r = element.getBoundingClientRect();
  return [r.left, r.top, r.width, r.height];
})()"""
HEADING = "[...document.querySelectorAll('h1, h2, h3')].find(h => h.textContent.trim().startsWith(%s))"
SIDEBAR = "document.querySelector('[data-testid=\"stSidebarUserContent\"]')"
#: The row of the drawing page holding the map and the summary panel.
MAP_AND_PANEL = f"({HEADING % json.dumps('Résumé')}).closest('[data-testid=\"stHorizontalBlock\"]')"
PANEL = f"({HEADING % json.dumps('Résumé')}).closest('[data-testid=\"stColumn\"]')"
#: The last download button of the page.
DOWNLOADS = "[...document.querySelectorAll('[data-testid=\"stDownloadButton\"]')].at(-1)"


def button(label: str) -> str:
    return f"[...document.querySelectorAll('button')].find(b => b.textContent.includes({json.dumps(label)}))"


def expander(title: str) -> str:
    return (f"[...document.querySelectorAll('[data-testid=\"stExpander\"]')]"
            f".find(e => e.querySelector('summary').textContent.includes({json.dumps(title)}))")


def alert(title: str) -> str:
    return (f"[...document.querySelectorAll('[data-testid=\"stAlert\"]')]"
            f".find(e => e.textContent.includes({json.dumps(title)}))")


#: Clicks the element of the given selector whose text starts with the given label; true once done.
CLICK_SCRIPT = """(() => {
  const element = [...document.querySelectorAll(%s)].find(e => e.textContent.includes(%s));
  if (element) (element.querySelector('input') || element).click();
  return Boolean(element);
})()"""
IDLE_SCRIPT = "!document.querySelector('[data-stale=\"true\"], [data-testid^=\"stStatusWidgetRunning\"]')"


def make_store(path: Path) -> None:
    """The store of the pictures: the example registry saved twice (Porté-Puymorens added to CPTS Cerdagne - Capcir
    the second time) and the draft « CPTS Ruscino » saved twice (a version to restore)."""
    changed = path.with_name("registre_cpts_66_11_v2.csv")
    changed.write_text(REGISTRY.read_text(encoding="utf-8") + "CPTS Cerdagne - Capcir;66147;;\n", encoding="utf-8")
    for registry, comment in ((REGISTRY, "Registre de départ"),
                              (changed, "Porté-Puymorens rattachée à la CPTS Cerdagne - Capcir")):
        subprocess.run([sys.executable, "-m", "cpts_geo", "coverage", "--registry", str(registry), "--region", "76",
                        "--departement", "66", "--save", "--db", str(path), "--author", "ars-occitanie",
                        "--comment", comment, "--out", str(path.parent / "report")],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    bundle = Bundle.load()
    drafts = Drafts(open_store(path), SINGLE_USER, partial(iris_regions, bundle))
    ruscino = decode_ruscino(bundle)
    drafts.save(Territory(ruscino - {"661361903"}, "CPTS Ruscino"))
    drafts.save(Territory(ruscino, "CPTS Ruscino"), replace=True)


def decode_ruscino(bundle) -> frozenset[str]:
    """The IRIS of the Ruscino link (the URL form of a selection)."""
    session = DrawingSession(bundle)
    session.open_query({"zones": RUSCINO})
    return session.selection


class Page:
    """One browser page of the app: navigation, waiting, clicks and pictures of parts of it."""

    def __init__(self, devtools: DevTools, out: Path, only: set[str]):
        self.devtools, self.out, self.only = devtools, out, only

    async def open(self, url: str, timeout: float = 120) -> None:
        start = time.monotonic()
        await self.devtools.call("Page.navigate", url=url)
        while not await evaluate(self.devtools, READY_SCRIPT):
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{url} did not show its map")
            await asyncio.sleep(0.5)
        await self.settle(3)

    async def settle(self, seconds: float = 1.5) -> None:
        """Wait until the page has finished its run, then a little more (tiles, animations)."""
        await asyncio.sleep(0.5)
        while not await evaluate(self.devtools, IDLE_SCRIPT):
            await asyncio.sleep(0.2)
        await asyncio.sleep(seconds)
        await self.devtools.call("Input.dispatchMouseEvent", type="mouseMoved", x=2, y=2)   # no hover style

    async def click(self, selector: str, label: str, shows: str, timeout: float = 120) -> None:
        """Click the element of ``selector`` labelled ``label`` and wait until the page shows the text ``shows``."""
        if not await evaluate(self.devtools, CLICK_SCRIPT % (json.dumps(selector), json.dumps(label))):
            raise RuntimeError(f"nothing to click: {selector} « {label} »")
        await self.wait_for(shows, f"clicking « {label} »", timeout)

    async def type_into(self, placeholder: str, text: str, shows: str, timeout: float = 60) -> None:
        """Type ``text`` and Enter in the text box of ``placeholder``; wait until the page shows ``shows``."""
        await evaluate(self.devtools, f"document.querySelector('input[placeholder={json.dumps(placeholder)}]').focus()")
        await self.devtools.call("Input.insertText", text=text)
        for kind in ("keyDown", "keyUp"):
            await self.devtools.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                                     windowsVirtualKeyCode=13)
        await self.wait_for(shows, f"typing « {text} »", timeout)

    async def wait_for(self, shows: str, after: str, timeout: float) -> None:
        """Wait until the page shows the text ``shows`` and has finished its run (``after``: what the user did)."""
        start = time.monotonic()
        while not await evaluate(self.devtools, f"document.body.innerText.includes({json.dumps(shows)})"):
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"« {shows} » not shown after {after}")
            await asyncio.sleep(0.3)
        await self.settle()

    async def shoot(self, name: str, top: str | None = None, bottom: str | None = None, frame: str | None = None,
                    width: int | None = None, margin: int = 8) -> None:
        """Save ``name``.png: the page from the element of the JavaScript expression ``top`` down to the element
        ``bottom`` (default: ``top`` itself), as wide as the element ``frame`` (default: ``top``), scrolled into view
        first; the top of the window when ``top`` is None. At most ``width`` px wide (scaled down)."""
        if self.only and name not in self.only:
            return
        if top is None:
            left, upper, right, lower = 0, 0, WINDOW[0], 900
        else:
            await evaluate(self.devtools, f"({top}).scrollIntoView({{block: 'start'}})")
            await asyncio.sleep(1.5)   # the tables are drawn once in view
            _, upper, _, _ = await self.rect(top)
            _, y, _, h = await self.rect(bottom or top)
            left, _, w, _ = await self.rect(frame or top)
            left, upper, right, lower = left - margin, upper - margin, left + w + margin, y + h + margin
        clip = {"x": max(left, 0), "y": max(upper, 0), "width": min(right, WINDOW[0]) - max(left, 0),
                "height": min(lower, WINDOW[1]) - max(upper, 0), "scale": 1}
        shot = await self.devtools.call("Page.captureScreenshot", format="png", clip=clip)
        picture = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
        if width and picture.width > width:
            picture = picture.resize((width, round(picture.height * width / picture.width)), Image.LANCZOS)
        path = self.out / f"{name}.png"
        picture.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
        print(f"{path.relative_to(ROOT)}: {picture.width}×{picture.height} px, {path.stat().st_size / 1e3:.0f} kB")

    async def rect(self, element: str) -> list[float]:
        found = await evaluate(self.devtools, RECT_SCRIPT % element)
        if not found:
            raise RuntimeError(f"not on the page: {element}")
        return found


async def take_pictures(debug_port: int, app_port: int, out: Path, only: set[str]) -> None:
    async with connect(page_targets(debug_port)[0], max_size=64 << 20) as connection:
        devtools = DevTools(connection)
        await devtools.call("Emulation.setDeviceMetricsOverride", width=WINDOW[0], height=WINDOW[1],
                            deviceScaleFactor=1, mobile=False)
        await devtools.call("Emulation.setLocaleOverride", locale="fr-FR")   # numbers as a French user sees them
        user_agent = (await devtools.call("Browser.getVersion"))["userAgent"]
        await devtools.call("Emulation.setUserAgentOverride", userAgent=user_agent, acceptLanguage="fr-FR")
        page, app = Page(devtools, out, only), f"http://127.0.0.1:{app_port}"

        await page.open(f"{app}/?" + urlencode({"zones": RUSCINO, "nom": "CPTS Ruscino", "dep": "66"}))
        await page.shoot("porteur-page", width=1100)
        await page.type_into("nom, code INSEE ou code postal", "Canet", "Communes trouvées")
        await page.shoot("porteur-barre-laterale", HEADING % json.dumps("Zone de travail"),
                         button("Ajouter toute l'EPCI"), frame=SIDEBAR)
        await page.shoot("porteur-brouillons", HEADING % json.dumps("Brouillons"), expander("CPTS voisines"),
                         frame=SIDEBAR)
        await page.shoot("porteur-exports", HEADING % json.dumps("Tableau de la lettre"), DOWNLOADS, width=1000)
        await open_tab(devtools, "Taille et âges", 60)
        await page.settle()
        await page.shoot("porteur-taille", "document.querySelector('[role=\"tablist\"]')",
                         f"[...({PANEL}).querySelectorAll('[data-testid=\"stTable\"]')].at(-1)")
        await show_layers(devtools, [OPTIONAL_LAYERS["apl"], OPTIONAL_LAYERS["finess"]], 60)
        await open_tab(devtools, "Offre de soins", 60)
        await page.settle(2.5)
        await page.shoot("porteur-offre", MAP_AND_PANEL, expander("Médico-social"), width=1100)

        await page.open(f"{app}/?" + urlencode(FAULTY))
        await page.shoot("porteur-verifications", MAP_AND_PANEL, alert("Zones isolées"), width=1100)

        await page.open(f"{app}/Vue_ARS?dep=66")
        await page.shoot("ars-page", width=1100)
        await page.shoot("ars-tableaux", expander("Zones blanches"), DOWNLOADS, width=1000)
        await page.click('[data-testid="stCheckbox"] label', "Proposer qui prend chaque zone", "Propositions refusées")
        await page.shoot("ars-plan", HEADING % json.dumps("Plan de couverture"), DOWNLOADS, width=1000)
        await page.click('[data-testid="stExpander"] summary', "Historique du registre", "Comparer la version")
        await page.shoot("ars-historique", expander("Historique du registre"), width=1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--port", type=int, help="port of the app (default: a free one); Chromium's is the next")
    parser.add_argument("--only", default="", help="names of the pictures to take (comma-separated; default: all)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "territoires.sqlite"
        make_store(store)
        with app_server({"CPTS_GEO_STORE": str(store)}, args.port) as (app_port, _), \
                chromium(WINDOW, debug_port=args.port and args.port + 1) as debug_port:
            asyncio.run(take_pictures(debug_port, app_port, args.out, set(filter(None, args.only.split(",")))))
    total = sum(path.stat().st_size for path in args.out.glob("*.png"))
    print(f"{args.out.relative_to(ROOT)}: {total / 1e6:.2f} MB in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
