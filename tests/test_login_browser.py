"""Login for real: the app on a shared server (``[auth]`` in its secrets), a real OpenID Connect provider
(``oidc-provider-mock``, on a free localhost port) and headless Chromium (Debian ``chromium``; skipped without it,
except in CI: see the ``chromium`` fixture), driven through the DevTools protocol as a user does: « Se connecter »,
the provider's form, back to the app. One app process, one provider and one browser for the module, a browser
profile of its own (cookies) for each person. About 45 s on 2 busy cores (the bundle of the 66 apart).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import oidc_provider_mock
import pytest
from websockets.asyncio.client import connect

from cpts_geo.storage.store import open_store
from tests.test_drawmap_gestures import browser_bench

pytestmark = pytest.mark.usefixtures("chromium")
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"
#: The people of the provider (``sub`` → claims of their ID token). Pyrénées-Orientales is in Occitanie (76).
PEOPLE = {
    "porteur": {"email": "porteur@msp-cabestany.fr", "email_verified": True, "name": "Porteur Ruscino"},
    "autre": {"email": "autre@msp-ceret.fr", "email_verified": True, "name": "Autre porteur"},
    "ars76": {"email": "Agent.CPTS@ars.sante.fr", "email_verified": True, "name": "ARS Occitanie"},  # by e-mail
    "ars93": {"email": "cpts@ars-paca.fr", "email_verified": True, "name": "ARS PACA", "groups": ["ars-93"]},
    "usurpateur": {"email": "agent.cpts@ars.sante.fr", "email_verified": False, "name": "Usurpateur"},
}
SECRETS = """[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "{cookie_secret}"
client_id = "cpts-geo"
client_secret = "test-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[cpts_geo.ars]
"agent.cpts@ars.sante.fr" = ["76"]

[cpts_geo.ars_groups]
"ars-93" = ["93"]
"""
RUSCINO = {"zones": "66028-66136.0801.0901.0902.1001.1101.1202.1203.1901.1902.1903-66186-66189",
           "nom": "CPTS Ruscino", "dep": "66"}
TIMEOUT = 120
SAVE_REGISTRY = "Enregistrer comme registre (nouvelle version du registre enregistré)"
#: The text of the page (sidebar and main part), once Streamlit has finished its run.
TEXT_JS = """(() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const busy = document.querySelector('[data-stale="true"], [data-testid^="stStatusWidgetRunning"]');
  return app && !busy ? app.innerText : null;
})()"""
#: True once the drawing page's sidebar is drawn past the drafts, its widgets included (Streamlit shows the headers
#: first, the widgets once their code is loaded): the list of drafts, when there is one, is shown by then.
SIDEBAR_DRAWN_JS = """(() => {
  const text = %s;
  return Boolean(text && text.includes('Enregistrer le brouillon') && text.includes('Importer une liste de codes')
    && document.querySelector('input[aria-label="Région"]')
    && document.querySelector('input[aria-label="Nom de la CPTS"]'));
})()""" % TEXT_JS
#: Clicks the button (or radio choice) whose text, icon apart, is the given JSON string; false when there is none.
CLICK_JS = """(label => {
  const found = [...document.querySelectorAll('button, label')].find(
    e => e.innerText.split('\\n').map(s => s.trim()).includes(label));
  if (found) found.click();
  return Boolean(found);
})(%s)"""
#: Clicks the label (a check box's) whose text starts with the given words.
TICK_JS = """(start => {
  const found = [...document.querySelectorAll('label')].find(e => e.innerText.trim().startsWith(start));
  const box = found && found.querySelector('input[type=checkbox]');
  if (box && !box.checked) box.click();
  return Boolean(box && box.checked);
})(%s)"""
#: The state of the page's buttons: label → disabled.
BUTTONS_JS = """Object.fromEntries([...document.querySelectorAll('button')].map(b =>
  [b.innerText.split('\\n').pop().trim(), b.disabled]))"""
FIGURES_JS = """Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')].map(m =>
  [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
   m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""
#: The draft chosen in « Brouillons enregistrés » (null when the list is not shown: no draft to see).
DRAFT_CHOICE_JS = """(box => box && box.value)(document.querySelector('input[aria-label="Brouillons enregistrés"]'))"""


@pytest.fixture(scope="module")
def site(dep66_dir, tmp_path_factory):
    """The provider, the app logging in through it (bundle of the 66, a store of its own) and Chromium: yields
    (DevTools port, address of the app, store path)."""
    folder = tmp_path_factory.mktemp("login")
    users = [oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in PEOPLE.items()]
    with oidc_provider_mock.run_server_in_thread(user_claims=users) as provider:
        secrets_file = folder / "secrets.toml"
        secrets_file.write_text(SECRETS.format(cookie_secret=secrets.token_hex(32),
                                               provider=f"http://localhost:{provider.server_port}"))
        store = folder / "drafts.sqlite"
        with browser_bench().running_page("66", dep66_dir, TIMEOUT, store=store, secrets=secrets_file) as (port, url):
            parts = urlsplit(url)
            yield port, f"{parts.scheme}://{parts.netloc}", store


class Person:
    """One person in a browser profile of his own (own cookies), on one page driven through DevTools."""

    def __init__(self, bench, devtools, app: str):
        self.bench, self.devtools, self.app = bench, devtools, app

    async def evaluate(self, expression: str):
        return await self.bench.evaluate(self.devtools, expression)

    async def wait(self, expression: str, what: str):
        """The value of ``expression`` once it is truthy (polled); fails naming ``what`` after the time limit."""
        start = time.monotonic()
        while not (value := await self.evaluate(expression)):
            if time.monotonic() - start > TIMEOUT:
                text = await self.evaluate("document.body && document.body.innerText")
                raise AssertionError(f"{what}: not seen within {TIMEOUT} s; the page shows:\n{text}")
            await asyncio.sleep(0.3)
        return value

    async def text_with(self, *expected: str) -> str:
        """The text of the page once Streamlit has finished its run and it holds all of ``expected``."""
        checks = " && ".join(f"text.includes({json.dumps(e)})" for e in expected) or "true"
        return await self.wait(f"(() => {{ const text = {TEXT_JS}; return text && {checks} ? text : null; }})()",
                               " / ".join(expected))

    async def open(self, path: str = "/", **query) -> None:
        await self.devtools.call("Page.navigate", url=self.app + path + ("?" + urlencode(query) if query else ""))
        await asyncio.sleep(0.5)   # the previous document may still answer

    async def click(self, label: str) -> None:
        await self.wait(CLICK_JS % json.dumps(label), f"the button « {label} »")

    async def log_in(self, sub: str, *expected: str) -> str:
        """« Se connecter », then the provider's form as ``sub``; returns the app's page once back and showing
        ``expected`` (default: who is logged in)."""
        await self.open()
        await self.text_with("Se connecter")
        await self.click("Se connecter")
        await self.wait("Boolean(document.querySelector('input[name=sub]'))", "the provider's login form")
        await self.evaluate(f"(input => {{ input.value = {json.dumps(sub)}; input.form.submit(); }})"
                            "(document.querySelector('input[name=sub]'))")
        await self.wait(f"location.href.startsWith({json.dumps(self.app)})", "the app after the login")
        return await self.text_with(*(expected or ["Connecté :"]))

    async def upload_registry(self) -> str:
        """On the « Vue ARS » page: the example registry (66 and 11) as a file; returns the page once read."""
        await self.open("/Vue_ARS", dep="66")
        await self.text_with("Registre des CPTS")
        await self.click("Fichier (CSV, GeoJSON, GeoPackage, Shapefile zippé)")
        await self.wait("Boolean(document.querySelector('input[type=file]'))", "the registry's file input")
        root = (await self.devtools.call("DOM.getDocument"))["root"]["nodeId"]
        node = (await self.devtools.call("DOM.querySelector", nodeId=root, selector="input[type=file]"))["nodeId"]
        await self.devtools.call("DOM.setFileInputFiles", files=[str(EXAMPLE)], nodeId=node)
        return await self.text_with("Population couverte")


@contextlib.asynccontextmanager
async def person(debug_port: int, app: str):
    """A new person: a browser profile of his own (no cookie) and its page."""
    bench = browser_bench()
    version = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json/version").read())
    async with connect(version["webSocketDebuggerUrl"], max_size=64 << 20) as browser_connection:
        browser = bench.DevTools(browser_connection)
        context = (await browser.call("Target.createBrowserContext"))["browserContextId"]
        target = (await browser.call("Target.createTarget", url="about:blank", browserContextId=context))["targetId"]
        try:
            async with connect(f"ws://127.0.0.1:{debug_port}/devtools/page/{target}", max_size=64 << 20) as page:
                devtools = bench.DevTools(page)
                await devtools.call("Emulation.setDeviceMetricsOverride", width=1600, height=1150,
                                    deviceScaleFactor=1, mobile=False)
                yield Person(bench, devtools, app)
        finally:
            await browser.call("Target.disposeBrowserContext", browserContextId=context)


def run(scenario, site) -> dict:
    """What a scenario saw; what it waited for in vain fails the test (said outside the event loop: pytest 8 on
    Python 3.11.7 cannot show a traceback through it, « AST constructor recursion depth mismatch »)."""
    debug_port, app, _ = site
    try:
        return asyncio.run(asyncio.wait_for(scenario(debug_port, app), 600))
    except (AssertionError, TimeoutError) as err:
        pytest.fail(f"{type(err).__name__}: {err}", pytrace=False)


async def nobody_logged_in(debug_port: int, app: str) -> dict:
    seen = {}
    async with person(debug_port, app) as visitor:
        for path, query in (("/", RUSCINO), ("/Vue_ARS", {"dep": "66"})):
            await visitor.open(path, **query)
            seen[path] = (await visitor.text_with("Se connecter"), await visitor.evaluate(BUTTONS_JS),
                          await visitor.evaluate("document.querySelectorAll('iframe, canvas').length"))
    async with person(debug_port, app) as impostor:   # types the ARS agent's address, never verified
        seen["usurpateur"] = (await impostor.log_in("usurpateur", "n'est pas vérifiée", "Se déconnecter"),
                              await impostor.evaluate(BUTTONS_JS))
    return seen


def test_logged_out_nothing_is_reachable_and_an_unverified_email_is_refused(site):
    seen = run(nobody_logged_in, site)
    for path in ("/", "/Vue_ARS"):
        text, buttons, frames = seen[path]
        assert "Connectez-vous pour retrouver vos brouillons." in text and "Se connecter" in buttons
        assert "Ruscino" not in text and "Brouillons" not in text and "Registre" not in text and frames == 0
    text, buttons = seen["usurpateur"]
    assert "agent.cpts@ars.sante.fr n'est pas vérifiée par le service de connexion" in text
    assert "Se déconnecter" in buttons and "Connecté" not in text and "Brouillons" not in text


async def drafts_and_registry(debug_port: int, app: str) -> dict:
    seen = {}
    async with person(debug_port, app) as porteur:
        seen["porteur login"] = await porteur.log_in("porteur")
        await porteur.open("/", **RUSCINO)
        await porteur.wait(f"(f => f.IRIS === '16' && f.Communes === '4')({FIGURES_JS})", "the 16 IRIS of the link")
        await porteur.click("Enregistrer le brouillon")
        seen["porteur saved"] = await porteur.text_with("Brouillon « CPTS Ruscino » enregistré.")
        await porteur.open("/Vue_ARS", dep="66")
        seen["porteur registry"] = await porteur.text_with("est réservée à l'ARS")
        await porteur.open("/")
        await porteur.text_with("Se déconnecter")
        await porteur.click("Se déconnecter")
        # the provider's page « End session » (RP-initiated logout), then back to the app
        await porteur.wait("Boolean(document.querySelector('form button[type=submit]'))"
                           f" && !location.href.startsWith({json.dumps(app)})", "the provider's end of session")
        await porteur.evaluate("document.querySelector('form button[type=submit]').click()")
        await porteur.wait(f"location.href.startsWith({json.dumps(app)})", "the app after the logout")
        await porteur.open("/", **RUSCINO)
        seen["porteur logged out"] = await porteur.text_with("Se connecter")
    for sub in ("autre", "ars76", "ars93"):
        async with person(debug_port, app) as someone:
            await someone.log_in(sub)
            await someone.open("/", dep="66")
            await someone.wait(SIDEBAR_DRAWN_JS, "the sidebar of the drawing page")
            seen[f"{sub} page"] = await someone.evaluate(TEXT_JS)
            seen[f"{sub} draft"] = await someone.evaluate(DRAFT_CHOICE_JS)
            seen[f"{sub} buttons"] = await someone.evaluate(BUTTONS_JS)
            if sub.startswith("ars"):
                seen[f"{sub} registry"] = await someone.upload_registry()
                if SAVE_REGISTRY in await someone.evaluate(BUTTONS_JS):
                    # the example registry's Aude rows are outside the 66 bundle: saved without them, knowingly
                    await someone.wait(TICK_JS % json.dumps("Enregistrer sans les "), "the box accepting ignored rows")
                    await someone.wait(f"{BUTTONS_JS}[{json.dumps(SAVE_REGISTRY)}] === false", "the save button on")
                    await someone.click(SAVE_REGISTRY)
                    seen[f"{sub} registry saved"] = await someone.text_with("Registre de la région enregistré")
    return seen


def test_a_private_draft_is_seen_by_its_author_and_the_ars_of_its_region_only(site):
    seen = run(drafts_and_registry, site)
    store = open_store(site[2])
    assert "Connecté : Porteur Ruscino" in seen["porteur login"] and "(ARS)" not in seen["porteur login"]
    [draft] = store.entries("draft")
    assert (draft.owner, draft.name, len(draft.iris)) == ("porteur@msp-cabestany.fr", "CPTS Ruscino", 16)
    # the « Vue ARS » page is refused to a porteur before any upload or computation
    assert ("La « Vue ARS » est réservée à l'ARS : Porteur Ruscino n'est l'ARS d'aucune région"
            in seen["porteur registry"])
    assert "Registre des CPTS" not in seen["porteur registry"] and SAVE_REGISTRY not in seen["porteur registry"]
    assert "Connectez-vous pour retrouver vos brouillons." in seen["porteur logged out"]
    assert "Ruscino" not in seen["porteur logged out"]
    # the second porteur: no draft at all
    assert "Connecté : Autre porteur" in seen["autre page"] and seen["autre draft"] is None
    assert "Ruscino" not in seen["autre page"]
    # the ARS of Occitanie (by its verified e-mail): the draft, read-only; saves the registry
    assert "Connecté : ARS Occitanie (ARS)" in seen["ars76 page"]
    assert seen["ars76 draft"] == "CPTS Ruscino — porteur@msp-cabestany.fr"
    assert seen["ars76 buttons"]["Supprimer"] is True and "Versions précédentes" not in seen["ars76 page"]
    assert "Registre de la région enregistré" in seen["ars76 registry saved"]
    registry = store.latest_registry()
    assert registry.author == "agent.cpts@ars.sante.fr" and len(registry.cpts) == 10
    # the ARS of PACA (by the group of the provider): ARS, but not of this draft's région
    assert "Connecté : ARS PACA (ARS)" in seen["ars93 page"] and seen["ars93 draft"] is None
    assert "Seule l'ARS de la région enregistre le registre (ARS PACA n'en fait pas partie" in seen["ars93 registry"]
    assert "ars93 registry saved" not in seen
