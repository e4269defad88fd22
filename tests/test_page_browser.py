"""The drawing page's texts and buttons as a browser shows them (headless Chromium, Debian ``chromium``; skipped
without it, except in CI: see the ``chromium`` fixture): export labels whole on a laptop and a desktop screen,
Streamlit's English texts (file uploader, table toolbar, failed download) drawn in French by the page's CSS.
Slow (a Streamlit server and a browser): about 30 s."""

from __future__ import annotations

import asyncio
import base64
import time
from urllib.parse import urlencode

import pytest

from tests.test_drawmap_gestures import browser_bench

pytestmark = pytest.mark.usefixtures("chromium")
#: Buttons whose label does not fit: an element inside the button that is cut (ellipsis).
CUT_LABELS_JS = """[...document.querySelectorAll('[data-testid="stDownloadButton"] button, [data-testid="stButton"] button')]
  .filter(b => b.offsetParent && [...b.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1))
  .map(b => b.innerText.trim())"""
#: The text a reader sees of an element replaced by the French CSS (its ``::after``), or its own when not replaced.
SHOWN_JS = """((selector) => [...document.querySelectorAll(selector)].map(e => {
  const after = getComputedStyle(e, '::after').content;
  return getComputedStyle(e).fontSize === '0px' && after.startsWith('"') ? JSON.parse(after) : e.innerText.trim();
}))(%s)"""
TOOLBAR_BUTTONS = ("Show/hide columns", "Download as CSV", "Search", "Fullscreen")


def shown(bench, devtools, selector: str):
    return bench.evaluate(devtools, SHOWN_JS % repr(selector))


async def page_checks(bench, debug_port: int, url: str, upload: str, shots: dict) -> dict:
    found = {}
    async with bench.map_page(debug_port, url, 120) as devtools:
        for width in (1366, 1600):
            await devtools.call("Emulation.setDeviceMetricsOverride", width=width, height=3000, deviceScaleFactor=1,
                                mobile=False)
            await asyncio.sleep(1.5)
            found[f"cut_{width}"] = await bench.evaluate(devtools, CUT_LABELS_JS)
            found[f"exports_{width}"] = await bench.evaluate(devtools, """[...document.querySelectorAll(
                '[data-testid=stDownloadButton] [data-testid=stMarkdownContainer]')].map(b => b.innerText.trim())""")
            shot = await devtools.call("Page.captureScreenshot", format="png")
            shots[width].write_bytes(base64.b64decode(shot["data"]))
        # the file uploader of « Importer une liste de codes », before and after a file
        await bench.evaluate(devtools, """[...document.querySelectorAll('[data-testid=stExpander] summary')]
            .find(s => s.innerText.includes('Importer une liste de codes')).click() || true""")
        await asyncio.sleep(1)
        found["dropzone"] = {*await shown(bench, devtools, '[data-testid="stFileUploaderDropzone"] button p'),
                             *await shown(bench, devtools, '[data-testid="stFileUploaderDropzoneInstructions"] span')}
        document = await devtools.call("DOM.getDocument")
        file_input = await devtools.call("DOM.querySelector", nodeId=document["root"]["nodeId"],
                                         selector='[data-testid="stFileUploader"] input[type=file]')
        await devtools.call("DOM.setFileInputFiles", nodeId=file_input["nodeId"], files=[upload])
        start = time.monotonic()
        while not await bench.evaluate(devtools, "Boolean(document.querySelector('[data-testid=stFileChipName]')) "
                                                 "&& window.__cptsIdle()"):
            assert time.monotonic() - start < 30, "the file was not taken"
            await asyncio.sleep(0.2)
        found["chip"] = await bench.evaluate(devtools, """[...document.querySelectorAll('[data-testid=stFileChip]')]
            .map(c => c.innerText.trim())""")
        # the toolbar of the letter table: each button's tooltip, as Streamlit draws it while the button is hovered
        # (a tooltip of the page's body; the button's hover forced: the toolbar shows only under a real pointer)
        await devtools.call("DOM.enable")
        await devtools.call("CSS.enable")
        x, y = await bench.evaluate(devtools, """(() => { const r = document.querySelector('[data-testid=stDataFrame]')
            .getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()""")
        await devtools.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)   # the toolbar comes on hover
        await asyncio.sleep(0.5)
        await bench.evaluate(devtools, """(() => { const tip = document.createElement('div');
            tip.dataset.testid = 'stTooltipContent'; tip.innerHTML = '<p>English</p>'; document.body.appendChild(tip); })()""")
        document = await devtools.call("DOM.getDocument")
        found["toolbar"] = []
        for label in TOOLBAR_BUTTONS:
            button = await devtools.call("DOM.querySelector", nodeId=document["root"]["nodeId"],
                                         selector=f'button[aria-label="{label}"]')
            await devtools.call("CSS.forcePseudoState", nodeId=button["nodeId"], forcedPseudoClasses=["hover"])
            found["toolbar"].append((await shown(bench, devtools, '[data-testid="stTooltipContent"] p'))[-1])
            await devtools.call("CSS.forcePseudoState", nodeId=button["nodeId"], forcedPseudoClasses=[])
        # a download that fails (Streamlit shows its fixed English message under the button, 5 s) is said in French
        await bench.evaluate(devtools, """(() => { const error = document.createElement('small');
            error.dataset.testid = 'stDownloadButtonError'; error.textContent = 'Failed to generate file for download';
            document.querySelector('[data-testid=stDownloadButton]').appendChild(error); })()""")
        found["download_error"] = await shown(bench, devtools, '[data-testid="stDownloadButtonError"]')
    return found


def test_export_labels_whole_and_streamlit_texts_in_french(dep66_dir, tmp_path):
    bench = browser_bench()
    upload = tmp_path / "codes.csv"
    upload.write_text("code\n" + "66028\n" * 3000)   # 18 kB: Streamlit would write « 18.0KB »
    shots = {width: tmp_path / f"page_{width}.png" for width in (1366, 1600)}
    with bench.running_page("66", dep66_dir, 120) as (debug_port, url):
        link = url.split("?")[0] + "?" + urlencode(bench.RUSCINO_QUERY)
        found = asyncio.run(page_checks(bench, debug_port, link, str(upload), shots))
    assert found["cut_1366"] == [] and found["cut_1600"] == [], found   # « Périmètre (GeoPackage, Lambert-93 ; p… »
    assert len(found["exports_1366"]) == 9 and "Périmètre (Shapefile zippé)" in found["exports_1600"]
    assert found["dropzone"] == {"Choisir un fichier", "ou le glisser ici"}    # « Upload », « 200MB per file »
    assert found["chip"] == ["codes.csv"]                                       # no « 18.0KB »
    assert found["toolbar"] == ["Afficher ou masquer des colonnes", "Télécharger en CSV", "Rechercher", "Plein écran"]
    assert found["download_error"] == [
        "Le fichier n'a pas pu être produit. Réessayez ; si cela dure, prévenez l'administrateur du serveur (le détail "
        "est dans son journal)."]
