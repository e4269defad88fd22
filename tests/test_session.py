"""Drawing session: history, toggles, imports, URL form and drafts (two users, the ARS), on the Pyrénées-Orientales data."""

from __future__ import annotations

from functools import partial

import pytest

from cpts_geo.data.codes import resolve_codes
from cpts_geo.errors import InputError
from cpts_geo.web.session import DrawingSession, decode_selection, encode_selection, iris_regions, selection_query
from cpts_geo.storage.store import AlreadySaved, DraftChanged, TerritoryStore
from cpts_geo.territory.model import Territory
from cpts_geo.storage.users import SINGLE_USER, Drafts, User, user_from_login
from tests.conftest import RUSCINO_CODES


@pytest.fixture
def session(dep66) -> DrawingSession:
    return DrawingSession(dep66)


def test_toggle_iris_and_commune_with_undo_redo(session, dep66):
    assert session.toggle("660280101")
    assert session.selection == {"660280101"}
    session.mode = "commune"
    session.toggle("661860000")
    assert session.selection == {"660280101", *dep66.iris_by_commune["66186"]}
    session.undo()
    assert session.selection == {"660280101"} and session.can_redo
    session.redo()
    assert "661860000" in session.selection
    session.undo()
    session.toggle("660280102")  # a new step drops what could be redone
    assert not session.can_redo
    session.mode = "iris"
    assert not session.toggle("999999999")


def test_add_and_remove_commune_are_explicit_a_repeat_is_harmless(session, dep66):
    """« Ajouter » of the search box adds, « Retirer » removes: the second click of a double click changes nothing."""
    cabestany = frozenset(dep66.iris_by_commune["66028"])
    session.toggle("660280101")                       # one IRIS of Cabestany already in
    assert not session.has_commune("66028")
    assert session.add_commune("66028") and session.selection == cabestany and session.has_commune("66028")
    assert not session.add_commune("66028") and session.selection == cabestany
    assert session.position == 2                      # the repeat made no step of the history
    assert session.remove_commune("66028") and session.selection == frozenset()
    assert not session.remove_commune("66028") and session.selection == frozenset()


def test_selection_outside_the_area_after_a_change_of_region(france):
    session = DrawingSession(france)
    session.add_commune("66028")
    session.toggle("661860000")
    assert session.outside_area() == frozenset()
    session.show_region("32")                          # Hauts-de-France: the selection stays, in the 66
    assert session.area == ("59",)
    assert session.outside_area() == frozenset(france.iris_by_commune["66028"]) | {"661860000"}
    session.area = ("59", "66")
    assert session.outside_area() == frozenset()


def test_import_keeps_selection_on_unknown_codes(session):
    session.import_codes(RUSCINO_CODES)
    before = session.selection
    with pytest.raises(InputError, match="66999.*conservée"):
        session.import_codes(["66028", "66999"])
    assert session.selection == before and len(before) == 16


@pytest.mark.parametrize("name, data, message", [
    ("liste.csv", b"commune;population\nCabestany;9000\n", "colonne de codes"),
    ("liste.xlsx", b"PK\x03\x04 binary", "CSV ou TXT"),
    ("liste.csv", b"", "vide"),
])
def test_bad_code_file_keeps_selection(session, name, data, message):
    session.import_codes(["66028"])
    with pytest.raises(InputError, match=message):
        session.import_file(data, name)
    assert {c[:5] for c in session.selection} == {"66028"}


def test_import_file_in_windows_encoding(session):
    session.import_file("code_insee;nom\n66186;Saint-Nazaire\n66189;Saleilles\n".encode("cp1252"), "codes.csv")
    assert {c[:5] for c in session.selection} == {"66186", "66189"}


def test_url_round_trip_is_compact(session, dep66):
    session.import_codes(RUSCINO_CODES)
    session.name = "CPTS Ruscino"
    text = encode_selection(dep66, session.selection)
    assert text.startswith("66028-66136.0801.0901.") and len(text) < 80
    assert set(decode_selection(text)) >= {"66028", "661360801", "66186"}
    reopened = DrawingSession(dep66)
    reopened.open_query(session.query())
    assert reopened.selection == session.selection and reopened.name == "CPTS Ruscino"


def test_registry_cpts_opens_in_the_drawing_page(dep66):
    """The link of the ARS page: a CPTS of the registry reopened in a fresh drawing session."""
    from pathlib import Path

    from cpts_geo.region.registry import read_registry

    example = Path(__file__).resolve().parent.parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"
    perpignan = read_registry(dep66, example).cpts["CPTS Perpignan"]
    params = selection_query(dep66, perpignan, " CPTS Perpignan ")     # area: the départements of the CPTS
    assert set(params) == {"zones", "nom", "dep"} and params["nom"] == "CPTS Perpignan"
    reopened = DrawingSession(dep66)
    reopened.open_query(params)
    assert reopened.selection == perpignan and len(perpignan) > 37     # 37 IRIS of Perpignan + whole communes
    assert reopened.area == ("66",)


def test_link_keeps_what_it_knows_and_names_the_rest(session, dep66):
    """A link typed by hand: commas, spaces or semicolons between codes; an unknown code or département is left
    out and named, the rest is opened."""
    warnings = session.open_query({"zones": "66028, 66186;66999 661360801", "dep": "66,99"})
    assert session.selection == frozenset({*dep66.iris_by_commune["66028"], *dep66.iris_by_commune["66186"],
                                           "661360801"})
    assert session.area == ("66",)
    assert len(warnings) == 2 and "département(s) 99 absent(s) des données" in warnings[0]
    assert warnings[1].startswith("Lien : 1 code(s) non reconnu(s), laissé(s) de côté — 66999 : ")
    assert session.address() is None                 # the address bar keeps the user's link…
    session.add_commune("66189")
    assert session.address()["zones"] == "66028-66136.0801-66186-66189"   # … until the selection changes
    assert session.address() is not None
    assert DrawingSession(dep66).open_query({"zones": "66999"}) == [
        f"Lien : 1 code(s) non reconnu(s), laissé(s) de côté — {resolve_codes(dep66, ['66999']).message()}."]


def test_back_and_forward_of_the_browser_reopen_the_address_as_a_step(session, dep66):
    """Back to an earlier address of the page: its selection (none without ``zones``) and name become the session's,
    one step that « Annuler » undoes; the map stays where it is and the address bar as it is."""
    assert session.open_query({}) == [] and session.address() is None   # a bare address stays bare until a change
    session.add_commune("66028")
    session.name = "CPTS A"
    first = session.address()
    session.add_commune("66186")
    session.zoom_to(["66186"])
    views = session.view_requests
    assert session.open_query(first, history=True) == []
    assert session.selection == frozenset(dep66.iris_by_commune["66028"]) and session.name == "CPTS A"
    assert session.view_requests == views and session.address() is None
    assert session.open_query({"dep": "66"}, history=True) == []   # the page's first address: nothing selected
    assert session.selection == frozenset() and session.name == ""
    session.undo()
    assert session.selection == frozenset(dep66.iris_by_commune["66028"])


def drafts_of(store, bundle, email: str = "", ars_regions=()) -> Drafts:
    user = SINGLE_USER if not email else User(email, ars_regions=frozenset(ars_regions))
    return Drafts(store, user, partial(iris_regions, bundle))


def test_drafts(session, tmp_path):
    drafts = drafts_of(TerritoryStore(tmp_path / "store.sqlite"), session.bundle)
    with pytest.raises(InputError, match="vide"):
        session.save_draft(drafts)
    session.import_codes(RUSCINO_CODES)
    session.name = "CPTS Ruscino"
    assert session.save_draft(drafts)
    assert not session.save_draft(drafts)   # a double click: nothing new stored
    session.toggle("661860000")
    assert session.save_draft(drafts)       # the draft being drawn: saved again, its first state kept
    assert not session.save_draft(drafts)
    other = DrawingSession(session.bundle)
    other.open_draft(drafts, "CPTS Ruscino")
    assert other.selection == session.selection and other.name == "CPTS Ruscino"
    assert [len(v.iris) for v in drafts.versions("CPTS Ruscino")] == [15, 16]


def test_saving_under_the_name_of_another_draft_asks_first(session, tmp_path):
    drafts = drafts_of(TerritoryStore(tmp_path / "store.sqlite"), session.bundle)
    session.import_codes(["66028"])
    session.name = "CPTS Ruscino"
    session.save_draft(drafts)
    fresh = DrawingSession(session.bundle)
    fresh.import_codes(["66186"])
    fresh.name = "  CPTS\tRuscino "                 # cleaned: the same name
    with pytest.raises(AlreadySaved, match="confirmez"):
        fresh.save_draft(drafts)
    assert {c[:5] for c in drafts.get("CPTS Ruscino").iris} == {"66028"}
    fresh.save_draft(drafts, replace=True)
    assert {c[:5] for c in drafts.get("CPTS Ruscino").iris} == {"66186"}
    fresh.restore_version(drafts, "CPTS Ruscino", 1)
    assert {c[:5] for c in drafts.get("CPTS Ruscino").iris} == {"66028"} == {c[:5] for c in fresh.selection}
    assert [v.number for v in drafts.versions("CPTS Ruscino")] == [3, 2, 1]


def test_draft_saved_elsewhere_since_it_was_opened(session, tmp_path):
    """Two tabs (or two app processes) open the same draft; the second to save is told to reopen it."""
    drafts = drafts_of(TerritoryStore(tmp_path / "store.sqlite"), session.bundle)
    session.import_codes(["66028"])
    session.name = "CPTS Ruscino"
    session.save_draft(drafts)
    first, second = DrawingSession(session.bundle), DrawingSession(session.bundle)
    for tab in (first, second):
        tab.open_draft(drafts, "CPTS Ruscino")
        tab.add_commune("66186")
    first.save_draft(drafts)
    first.add_commune("66189")
    first.save_draft(drafts)               # the tab that saved last saves again: its own version is the last one
    for tab in (second, session):
        with pytest.raises(DraftChanged, match="^Le brouillon « CPTS Ruscino » a été modifié par quelqu'un d'autre "
                                               "depuis son chargement ; rechargez-le .*version 3 .*version 1 que vous"):
            tab.save_draft(drafts)
    second.open_draft(drafts, "CPTS Ruscino")
    assert second.selection == first.selection and second.draft_version == 3
    second.remove_commune("66189")
    second.save_draft(drafts)
    assert [v.number for v in drafts.versions("CPTS Ruscino")] == [4, 3, 2, 1]
    second.restore_version(drafts, "CPTS Ruscino", 1)
    second.add_commune("66186")
    second.save_draft(drafts)             # after a restore, the restored version is the one loaded
    assert second.draft_version == 6 and {c[:5] for c in drafts.get("CPTS Ruscino").iris} == {"66028", "66186"}


def test_two_porteurs_and_the_ars(dep66, tmp_path):
    """A sees and changes only hers (and what B shares with her); the ARS of Occitanie sees both; a porteur
    never learns the name of another's draft, even by guessing it."""
    store = TerritoryStore(tmp_path / "store.sqlite")
    alice, bob = drafts_of(store, dep66, "a@ex.fr"), drafts_of(store, dep66, "b@ex.fr")
    ars, other_ars = drafts_of(store, dep66, "ars@ex.fr", {"76"}), drafts_of(store, dep66, "ars@ex.fr", {"84"})
    for drafts, codes in ((alice, ["66028"]), (bob, ["66186"])):
        session = DrawingSession(dep66)
        session.import_codes(codes)
        session.name = "CPTS Ruscino"
        session.save_draft(drafts)
    bob_session = DrawingSession(dep66)
    bob_session.import_codes(["66189"])
    bob_session.name = "Brouillon de Bob"
    bob_session.save_draft(bob)

    assert [(d.owner, d.name) for d in alice.visible()] == [("a@ex.fr", "CPTS Ruscino")]
    assert {c[:5] for c in alice.get("CPTS Ruscino").iris} == {"66028"}
    for attempt in (lambda: alice.get("Brouillon de Bob", "b@ex.fr"), lambda: alice.delete("Brouillon de Bob", "b@ex.fr"),
                    lambda: alice.versions("Brouillon de Bob", "b@ex.fr"),
                    lambda: alice.restore("Brouillon de Bob", 1, "b@ex.fr"),
                    lambda: DrawingSession(dep66).open_draft(alice, "Brouillon de Bob", "b@ex.fr")):
        with pytest.raises(InputError, match="Aucun brouillon « Brouillon de Bob » accessible"):
            attempt()
    assert set(alice.load_all()) == {"CPTS Ruscino"}
    assert {c[:5] for c in store.load("Brouillon de Bob", owner="b@ex.fr").iris} == {"66189"}   # untouched

    assert {(d.owner, d.name) for d in ars.visible()} == {("a@ex.fr", "CPTS Ruscino"), ("b@ex.fr", "CPTS Ruscino"),
                                                          ("b@ex.fr", "Brouillon de Bob")}
    assert set(ars.load_all()) == {"CPTS Ruscino (a@ex.fr)", "CPTS Ruscino (b@ex.fr)", "Brouillon de Bob"}
    assert other_ars.visible() == []                  # ARS of another région
    with pytest.raises(InputError, match="pas le modifier"):
        ars.save(Territory(frozenset({"661890000"}), "Brouillon de Bob"), owner="b@ex.fr", replace=True)
    with pytest.raises(InputError, match="Seul son auteur"):
        ars.delete("Brouillon de Bob", "b@ex.fr")
    reading = DrawingSession(dep66)
    reading.open_draft(ars, "Brouillon de Bob", "b@ex.fr")
    reading.save_draft(ars)                           # the ARS saves a copy of its own
    assert store.load("Brouillon de Bob", owner="ars@ex.fr") == store.load("Brouillon de Bob", owner="b@ex.fr")

    assert bob.share("Brouillon de Bob", "A@ex.fr; c@ex.fr ,") == ["a@ex.fr", "c@ex.fr"]
    shared = DrawingSession(dep66)
    shared.open_draft(alice, "Brouillon de Bob", "b@ex.fr")
    shared.add_commune("66028")
    shared.save_draft(alice)                          # changes Bob's draft, which he shared with her
    assert {c[:5] for c in store.load("Brouillon de Bob", owner="b@ex.fr").iris} == {"66028", "66189"}
    assert bob.versions("Brouillon de Bob")[0].author == "a@ex.fr"
    with pytest.raises(InputError, match="Seul son auteur"):
        alice.delete("Brouillon de Bob", "b@ex.fr")
    with pytest.raises(InputError, match="non valable"):
        bob.share("Brouillon de Bob", "pas-une-adresse")
    bob.delete("Brouillon de Bob")
    assert [(d.owner, d.name) for d in alice.visible()] == [("a@ex.fr", "CPTS Ruscino")]


def test_user_from_login():
    roles = {"ars": {"Agent@ARS.sante.fr": ["76"], "autre@ars.fr": "84"}}
    agent = user_from_login({"email": "agent@ars.sante.fr", "email_verified": True, "name": "Agent\x07 ARS"}, roles)
    assert agent == User("agent@ars.sante.fr", "Agent ARS", frozenset({"76"})) and agent.is_ars_of(["76"])
    assert user_from_login({"email": "autre@ars.fr", "email_verified": "true"}, roles).ars_regions == {"84"}
    porteur = user_from_login({"email": "p@ex.fr", "email_verified": True}, roles)
    assert not porteur.is_ars and not porteur.is_ars_of(["76"])
    with pytest.raises(InputError, match="e-mail"):
        user_from_login({"name": "sans adresse"}, roles)
    assert SINGLE_USER.is_ars_of(["01"]) and SINGLE_USER.email == ""


@pytest.mark.parametrize("verified", [{}, {"email_verified": False}, {"email_verified": "false"},
                                      {"email_verified": 1}])
def test_an_unverified_email_is_refused_and_never_ars(verified):
    """Anyone may type the address of an ARS agent at a provider that lets people register: refused by default;
    with ``accept_unverified_email`` a porteur, whom only a group of the provider makes ARS."""
    roles = {"ars": {"agent@ars.sante.fr": ["76"]}, "ars_groups": {"ars-11": ["11"]}}
    claims = {"email": "Agent@ARS.sante.fr", **verified}
    with pytest.raises(InputError, match="Agent@ARS.sante.fr|agent@ars.sante.fr") as refused:
        user_from_login(claims, roles)
    assert "n'est pas vérifiée" in str(refused.value)
    accepted = roles | {"accept_unverified_email": True}
    assert user_from_login(claims, accepted) == User("agent@ars.sante.fr")
    assert user_from_login(claims | {"groups": ["ars-11"]}, accepted).ars_regions == {"11"}
    with pytest.raises(InputError, match="n'est pas vérifiée"):   # only a TOML true accepts
        user_from_login(claims, roles | {"accept_unverified_email": "yes"})


def test_ars_regions_from_the_groups_or_roles_claim():
    roles = {"ars": {"agent@ars.sante.fr": ["76"]}, "ars_groups": {"ars-76": ["76"], "/ARS/ars-11": "11",
                                                                   "ARS-84": ["84"]}}
    verified = {"email": "agent@ars.sante.fr", "email_verified": True}
    assert user_from_login(verified | {"groups": ["/ARS/ars-11", "medecins"]}, roles).ars_regions == {"76", "11"}
    member = {"email": "m@ex.fr", "email_verified": True}
    assert user_from_login(member | {"roles": "ars-76"}, roles).ars_regions == {"76"}       # one value: a string
    assert user_from_login(member | {"groups": ["ars-84"], "roles": None}, roles).ars_regions == set()  # as written
    assert user_from_login(member | {"groups": [None, 76]}, roles).ars_regions == set()
    assert not user_from_login(member, roles).is_ars


def test_names_are_cleaned_when_they_enter(session):
    session.name = "  CPTS\x00 <b>Ruscino</b>\u200b\n "
    assert session.name == "CPTS <b>Ruscino</b>"
    session.open_query({"nom": "A\tB\x1b[31m"})
    assert session.name == "A B [31m"


def test_zoom_to_a_commune_or_to_some_of_its_iris(session, dep66):
    session.zoom_to(["66136"], ["661360102", "660280101"])   # a check naming one IRIS of Perpignan
    assert session.focus == ("661360102",) and session.view == ("661360102",)
    session.zoom_to(["66028"], dep66.iris_by_commune["66028"])  # all the IRIS of Cabestany: the commune
    assert session.focus == ("66028",) and session.view == dep66.iris_by_commune["66028"]
