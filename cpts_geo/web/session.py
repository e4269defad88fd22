"""State of a drawing session, in plain Python (the app keeps one in ``st.session_state``).

The selection is a set of IRIS codes with a history for undo/redo; the area is the
départements shown on the map. Every operation that takes user input either succeeds or
raises :class:`~cpts_geo.errors.InputError` with a French message and leaves the
selection as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from cpts_geo.data.codes import CodeReport, read_code_file, resolve_codes
from cpts_geo.errors import InputError
from cpts_geo.formatting import fr_int
from cpts_geo.data.sources.readers import listed
from cpts_geo.territory.model import Territory, commune_iris
from cpts_geo.user_text import clean_text
from cpts_geo.storage.users import Drafts

DEFAULT_DEPARTEMENT = "66"
#: Click modes: what a click on an IRIS toggles.
MODES = {"iris": "l'IRIS cliqué", "commune": "la commune entière"}
#: Separators of the URL form of a selection: ``66028-66136.0801.0901`` (no escaping needed).
GROUP_SEPARATOR, IRIS_SEPARATOR = "-", "."
#: Separators also read in a link typed or pasted by hand: ``66028,66186``, ``66028 66186``, ``66028;66186``.
TYPED_SEPARATORS = re.compile(r"[-,;\s]+")
CODE_FILE_SUFFIXES = (".csv", ".txt", ".tsv", "")
#: Limit on the undo history (selections are small sets; this bounds memory on long sessions).
MAX_HISTORY = 200
#: Most codes (communes or IRIS) a link opens: a CPTS is written in a few hundred (whole communes as one code); a
#: link of 20 000 codes made the browser give up (« This page isn't working »).
MAX_LINK_CODES = 2_000


def encode_selection(bundle, iris: frozenset[str]) -> str:
    """Compact text of a selection: whole communes as INSEE codes, the IRIS of split ones as ``prefix.suffix.suffix``
    (an IRIS code is its prefix, the commune of the contours, and a 4-digit suffix)."""
    groups = []
    for commune in sorted(bundle.communes_of(iris)):
        chosen = [code for code in bundle.iris_by_commune[commune] if code in iris]
        if len(chosen) == len(bundle.iris_by_commune[commune]):
            groups.append(commune)
            continue
        prefixes = sorted({code[:5] for code in chosen})
        groups += [IRIS_SEPARATOR.join([prefix, *(code[5:] for code in chosen if code[:5] == prefix)])
                   for prefix in prefixes]
    return GROUP_SEPARATOR.join(groups)


def iris_departements(bundle, iris) -> set[str]:
    """Départements of some IRIS."""
    return set(bundle.communes.loc[sorted(bundle.communes_of(iris)), "departement"])


def iris_regions(bundle, iris) -> set[str]:
    """Régions of some IRIS."""
    return set(bundle.iris["region"].reindex(list(iris)).dropna())


def selection_query(bundle, iris: frozenset[str], name: str = "", area=None,
                    compare_registry: bool = False) -> dict[str, str]:
    """The URL parameters of the drawing page that open this selection, name and area (by default: the
    départements of the selection), and ``registre=1`` to compare it with the CPTS of the stored registry."""
    area = sorted(iris_departements(bundle, iris)) if area is None else area
    params = {"zones": encode_selection(bundle, iris), "nom": clean_text(name), "dep": GROUP_SEPARATOR.join(area),
              "registre": "1" if compare_registry else ""}
    return {key: value for key, value in params.items() if value}


def decode_selection(text: str) -> list[str]:
    """The codes (INSEE and IRIS) of the text made by :func:`encode_selection` (or typed with commas, spaces or
    semicolons between the codes)."""
    codes = []
    for group in filter(None, TYPED_SEPARATORS.split(text)):
        commune, *suffixes = group.split(IRIS_SEPARATOR)
        codes.extend([commune + suffix for suffix in suffixes] if suffixes else [commune])
    return codes


@dataclass
class DrawingSession:
    """The selection being drawn, its history, name, click mode, area and zone to look at."""

    bundle: object
    name: str = ""
    mode: str = "iris"
    area: tuple[str, ...] = (DEFAULT_DEPARTEMENT,)
    view: tuple[str, ...] = ()             # IRIS the map should show (after an import, a search…)
    focus: tuple[str, ...] = ()            # communes (or IRIS) outlined because a check or a search named them
    view_requests: int = 0                 # how many times the map was asked to move (the map moves on a new one)
    code_report: CodeReport | None = None  # of the last import, for the check of codes
    link_query: dict | None = None         # query() as the page's link opened it (see address())
    compare_registry: bool = False         # the CPTS of the stored registry checked as neighbours (registre=1)
    draft: tuple[str, str] | None = None   # (owner, name) of the draft last opened or saved
    draft_version: int = 0                 # its version then: a save by someone else since is refused
    history: list[frozenset[str]] = field(default_factory=lambda: [frozenset()])
    position: int = 0

    def __setattr__(self, attribute, value):
        # the name comes from the user (text box, link, draft): cleaned wherever it is set
        super().__setattr__(attribute, clean_text(value) if attribute == "name" else value)

    def __post_init__(self):
        present = sorted(self.bundle.departements["code_departement"])
        if not set(self.area) <= set(present):
            self.area = (DEFAULT_DEPARTEMENT,) if DEFAULT_DEPARTEMENT in present else tuple(present[:1])

    # --- selection and history -------------------------------------------------------
    @property
    def selection(self) -> frozenset[str]:
        return self.history[self.position]

    @property
    def territory(self) -> Territory:
        return Territory(self.selection, self.name)

    def select(self, iris: frozenset[str]) -> bool:
        """Make ``iris`` the selection as a new step (the steps after an undo are dropped)."""
        iris = frozenset(iris)
        if iris == self.selection:
            return False
        self.history = self.history[: self.position + 1][-MAX_HISTORY:] + [iris]
        self.position = len(self.history) - 1
        return True

    def toggle(self, iris_code: str) -> bool:
        """Add or remove the clicked IRIS, or its whole commune in commune mode."""
        if iris_code not in self.bundle.iris.index:
            return False
        territory = self.territory
        if self.mode == "commune":
            changed = territory.toggle_commune(self.bundle, self.bundle.commune_of_iris[iris_code])
        else:
            changed = territory.toggle_iris(iris_code)
        return self.select(changed.iris)

    def has_commune(self, code_insee: str) -> bool:
        """Whether a whole commune is in the selection."""
        return commune_iris(self.bundle, code_insee) <= self.selection

    def add_commune(self, code_insee: str) -> bool:
        """Add a whole commune (« Ajouter » of the search box) and bring it into view; a repeat changes nothing."""
        iris = commune_iris(self.bundle, code_insee)
        self.show(iris)
        return self.select(self.selection | iris)

    def remove_commune(self, code_insee: str) -> bool:
        """Remove a whole commune (« Retirer » of the search box); a repeat changes nothing."""
        return self.select(self.selection - commune_iris(self.bundle, code_insee))

    def has_epci(self, epci: str) -> bool:
        """Whether all the communes of an EPCI are in the selection."""
        return self.bundle.epci_iris(epci) <= self.selection

    def add_epci(self, epci: str) -> bool:
        """Add all the communes of an EPCI; a repeat changes nothing."""
        return self.select(self.selection | self.bundle.epci_iris(epci))

    def remove_epci(self, epci: str) -> bool:
        """Remove all the communes of an EPCI; a repeat changes nothing."""
        return self.select(self.selection - self.bundle.epci_iris(epci))

    def clear(self) -> bool:
        self.code_report = None
        return self.select(frozenset())

    @property
    def can_undo(self) -> bool:
        return self.position > 0

    @property
    def can_redo(self) -> bool:
        return self.position < len(self.history) - 1

    def undo(self) -> None:
        self.position = max(0, self.position - 1)

    def redo(self) -> None:
        self.position = min(len(self.history) - 1, self.position + 1)

    # --- area --------------------------------------------------------------------------
    def show(self, iris) -> None:
        """Move the map to these IRIS, extending the area to their départements."""
        iris = list(iris)
        self.area = tuple(sorted(set(self.area) | iris_departements(self.bundle, iris)))
        self.view = tuple(sorted(iris))
        self.view_requests += 1

    def show_region(self, region: str) -> None:
        """Move the map to a région: its départements the selection touches, or else its most populated one."""
        departements = self.bundle.departements
        in_region = departements.loc[departements["code_region"] == region, "code_departement"]
        touched = set(in_region) & iris_departements(self.bundle, self.selection)
        population = self.bundle.communes.groupby("departement")["population"].sum().reindex(in_region)
        self.area = tuple(sorted(touched)) or (population.fillna(0).idxmax(),)

    def outside_area(self) -> frozenset[str]:
        """The IRIS of the selection outside the départements shown (left there by a change of région)."""
        return frozenset(code for code in self.selection
                         if self.bundle.communes.at[self.bundle.commune_of_iris[code], "departement"] not in self.area)

    def zoom_to(self, communes, iris=()) -> None:
        """Look at some communes (Paris, Lyon, Marseille: their arrondissements): the map zooms to them and
        outlines them; a commune of which ``iris`` names only some IRIS (a check's enclaved IRIS) is shown by
        those IRIS alone."""
        named, focus, shown = set(iris), [], []
        for commune in sorted(part for code in communes for part in self.bundle.arrondissements_or_commune(code)):
            own = self.bundle.iris_by_commune[commune]
            some = [code for code in own if code in named]
            focus += some if 0 < len(some) < len(own) else [commune]
            shown += some if 0 < len(some) < len(own) else own
        self.focus = tuple(focus)
        self.show(shown)

    # --- imports -----------------------------------------------------------------------
    def import_codes(self, codes, source: str = "La liste") -> CodeReport:
        """Replace the selection with a list of INSEE/IRIS codes; refused as a whole if a code is unknown."""
        report = resolve_codes(self.bundle, codes)
        if not report.ok:
            raise InputError(f"{source} n'a pas été importée : {fr_int(len(report.problems))} code(s) non "
                             f"reconnu(s) — {report.message()}. La sélection en cours est conservée.")
        if not report.iris:
            raise InputError(f"{source} ne contient aucun code de commune ou d'IRIS. "
                             "La sélection en cours est conservée.")
        self.select(report.iris)
        self.code_report = report
        self.show(report.iris)
        return report

    def import_file(self, data: bytes, filename: str) -> CodeReport:
        """Import a CSV/TXT file of codes (see :func:`cpts_geo.data.codes.read_code_file`)."""
        if PurePath(filename).suffix.lower() not in CODE_FILE_SUFFIXES:
            raise InputError(f"Le fichier « {filename} » n'est pas une liste de codes CSV ou TXT (un classeur "
                             "Excel s'enregistre en CSV depuis Excel). La sélection en cours est conservée.")
        try:
            codes = read_code_file(data, label=f"Le fichier « {filename} »")
        except InputError as err:
            raise InputError(f"{err} La sélection en cours est conservée.") from err
        return self.import_codes(codes, source=f"La liste du fichier « {filename} »")

    # --- URL ---------------------------------------------------------------------------
    def query(self) -> dict[str, str]:
        """The page URL's parameters that reopen this session (selection, name, area, registry comparison); a
        selection of more than :data:`MAX_LINK_CODES` codes is left out (:meth:`open_query` would not open it)."""
        query = selection_query(self.bundle, self.selection, self.name, self.area, self.compare_registry)
        if self.link_code_count(query.get("zones", "")) > MAX_LINK_CODES:
            del query["zones"]
        return query

    def link_code_count(self, zones: str | None = None) -> int:
        """How many codes the link of the selection holds (a whole commune counts one; ``zones``: the selection's
        text in the link, if already made)."""
        return len(decode_selection(encode_selection(self.bundle, self.selection) if zones is None else zones))

    def open_query(self, params, *, history: bool = False) -> list[str]:
        """Reopen the session of a URL: the codes and départements known are taken, the others left out, each
        named in the French warnings returned. With ``history`` (the browser's Back or Forward to an address of the
        page), that address's state replaces the session's as a new step that « Annuler » undoes: its selection (empty
        without ``zones``), its name (none without ``nom``), the map left where it is."""
        known = set(self.bundle.departements["code_departement"])
        area = [d for d in TYPED_SEPARATORS.split(params.get("dep", "")) if d]
        warnings = []
        if unknown := [d for d in area if d not in known]:
            warnings.append(f"Lien : département(s) {listed(unknown)} absent(s) des données, laissé(s) de côté.")
        codes = decode_selection(params.get("zones", ""))
        if len(codes) > MAX_LINK_CODES:
            warnings.append(f"Lien trop long : {fr_int(len(codes))} codes de zones (au plus "
                            f"{fr_int(MAX_LINK_CODES)}) ; sa sélection n'est pas ouverte. Pour un grand territoire, "
                            "importez la liste des codes (fichier CSV ou TXT).")
        elif codes:
            report = resolve_codes(self.bundle, codes)
            if report.problems:
                warnings.append(f"Lien : {fr_int(len(report.problems))} code(s) non reconnu(s), laissé(s) de côté — "
                                f"{report.message()}." + (" Les autres zones du lien sont sélectionnées."
                                                          if report.iris else ""))
            if report.iris:
                self.select(report.iris)
                if not history:
                    self.show(report.iris)
        elif history:
            self.select(frozenset())
        self.name = params.get("nom", "" if history else self.name)
        self.compare_registry = params.get("registre") == "1" or (self.compare_registry and not history)
        area = [d for d in area if d in known]
        if area:
            self.area = tuple(sorted(set(area) | iris_departements(self.bundle, self.selection)))
        # the address stays as it is until the selection, the name or the area change: each change then adds one
        # entry to the browser's history, which Back and Forward go through
        self.link_query = self.query()
        return warnings

    def address(self) -> dict[str, str] | None:
        """The URL parameters the page should show, or ``None`` to leave the address bar as the user's link gave
        it (codes typed with commas, a code left out…) until the selection, the name or the area change."""
        query = self.query()
        if query == self.link_query:
            return None
        self.link_query = None
        return query

    # --- drafts ------------------------------------------------------------------------
    def save_draft(self, drafts: Drafts, replace: bool = False) -> bool:
        """Save the selection under the session's name; returns whether a new version was stored.

        Saving again the draft opened (or saved) last replaces it, its previous state kept as a
        version, unless someone else saved it since (:class:`~cpts_geo.storage.store.DraftChanged`); saving it unchanged
        (a double click) stores nothing. Any other existing draft of that name is replaced only when ``replace``
        (else :class:`~cpts_geo.storage.store.AlreadySaved`).
        """
        if not self.selection:
            raise InputError("La sélection est vide : rien à enregistrer.")
        territory = self.territory
        owner = self.draft[0] if self.draft and self.draft[1] == territory.name else drafts.user.email
        same = self.draft == (owner, territory.name)
        if same and self._stored_unchanged(drafts):
            return False
        self.draft_version = drafts.save(territory, owner, replace=replace or same,
                                         loaded_version=self.draft_version if same else None)
        self.draft = (owner, territory.name)
        return True

    def _stored_unchanged(self, drafts: Drafts) -> bool:
        """Whether the draft being drawn is stored as it is, in the version this session saved or opened last."""
        owner, name = self.draft
        try:
            stored = drafts.get(name, owner)
        except InputError:   # deleted since: saved again
            return False
        return stored.version == self.draft_version and stored.iris == self.selection

    def open_draft(self, drafts: Drafts, name: str, owner: str | None = None) -> None:
        """Reopen a saved draft as a new step of the history."""
        draft = drafts.get(name, owner)
        self._reopen(draft.territory)
        self.draft = (draft.owner, draft.name) if drafts.can_change(draft) else None
        self.draft_version = draft.version

    def restore_version(self, drafts: Drafts, name: str, number: int, owner: str | None = None) -> None:
        """Make version ``number`` of a draft its current state, and reopen it."""
        draft = drafts.restore(name, number, owner)
        self._reopen(draft.territory)
        self.draft, self.draft_version = (draft.owner, name), draft.version

    def _reopen(self, territory: Territory) -> None:
        self.name = territory.name
        self.code_report = None
        self.select(territory.iris)
        self.show(territory.iris)
