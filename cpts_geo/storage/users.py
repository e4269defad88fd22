"""Who uses the app, and which drafts each person may see and change.

Two modes:

* **single user** (a laptop, the default): nobody logs in; the one user owns the drafts saved
  without an owner and acts as the ARS of every région (sees every draft, saves the registry);
* **shared server**: people log in through Streamlit's OpenID Connect login (``st.login``,
  configured in the ``[auth]`` section of ``.streamlit/secrets.toml``); their e-mail identifies
  them, once the provider says it has verified it (claim ``email_verified``). A porteur sees and
  changes his own drafts and those shared with him; the ARS people see the drafts that touch their
  régions and alone save the registry of the ARS. ARS people are named in the ``[cpts_geo.ars]``
  section (verified e-mail → codes of their régions) or by a value of the provider's ``groups`` or
  ``roles`` claim listed in ``[cpts_geo.ars_groups]`` (e.g. ``"ars-76" = ["76"]``).

Plain Python (no Streamlit): the app reads the login and the roles and builds a :class:`User`
(see :func:`user_from_login`), tests build one directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cpts_geo.errors import InputError
from cpts_geo.formatting import fr_int
from cpts_geo.data.sources.readers import listed
from cpts_geo.storage.store import NO_OWNER, StoredTerritory, TerritoryStore, Version, labelled
from cpts_geo.territory.model import Territory
from cpts_geo.user_text import clean_text

#: Section of the secrets that lists the ARS people: ``"e-mail" = ["76", …]`` (codes of their régions).
ARS_SECTION = "ars"
#: An e-mail address as people type it, strictly: ``local@domain.tld`` (ASCII, no space, dotted domain).
EMAIL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                   r"@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}")
#: Longest list of e-mails a draft is shared with, in characters (longer: refused, never cut).
MAX_SHARE_LENGTH = 10_000
#: Section of the secrets that gives ARS régions to the members of groups: ``"ars-76" = ["76"]``.
ARS_GROUPS_SECTION = "ars_groups"
#: Claims of the provider read for group or role names (Keycloak ``groups``, Entra ID ``groups`` / ``roles``).
GROUP_CLAIMS = ("groups", "roles")
#: Setting of the ``[cpts_geo]`` section: people whose e-mail the provider does not say verified log in as porteurs.
ACCEPT_UNVERIFIED = "accept_unverified_email"


@dataclass(frozen=True)
class User:
    """A person using the app: e-mail (the owner of his drafts), name, régions where he acts for the ARS."""

    email: str
    name: str = ""
    ars_regions: frozenset[str] = frozenset()
    all_regions: bool = False   # the single user of a laptop: the ARS of every région

    @property
    def label(self) -> str:
        return self.name or self.email or "utilisateur local"

    @property
    def is_ars(self) -> bool:
        return self.all_regions or bool(self.ars_regions)

    def is_ars_of(self, regions) -> bool:
        """Whether the user acts for the ARS of one of these régions."""
        return self.all_regions or bool(self.ars_regions & set(regions))


#: The one user of the single-user mode (no login): owns the drafts saved without an owner.
SINGLE_USER = User(email=NO_OWNER, name="Utilisateur local", all_regions=True)


def user_from_login(info: Mapping, roles: Mapping | None = None) -> User:
    """The user of an OpenID Connect login (``st.user``: ID token claims) with his ARS régions from ``roles``.

    ``roles``: the ``[cpts_geo]`` section of the secrets. The e-mail identifies the user only when the provider
    says it is verified (``email_verified`` true); otherwise the login is refused, or, with
    ``accept_unverified_email = true``, the user is a porteur whom only a group can make ARS. ARS régions come
    from the ``ars`` table (verified e-mail → régions) and the ``ars_groups`` table (value of the ``groups`` or
    ``roles`` claim → régions).
    """
    roles = roles or {}
    email = clean_text(info.get("email") or "").lower()
    if not email:
        raise InputError("Votre compte ne donne pas d'adresse e-mail : l'application ne peut pas savoir à qui "
                         "sont vos brouillons. Demandez à l'administrateur d'ajouter « email » aux informations "
                         "transmises par la connexion.")
    verified = str(info.get("email_verified")).lower() == "true"   # a JSON boolean, or "true" for some providers
    if not verified and roles.get(ACCEPT_UNVERIFIED) is not True:
        raise InputError(f"Votre adresse {email} n'est pas vérifiée par le service de connexion : l'application ne "
                         "peut pas être sûre qu'elle est à vous. Confirmez-la auprès de ce service (lien reçu par "
                         "e-mail), puis reconnectez-vous.")
    claims = [info.get(claim) for claim in GROUP_CLAIMS]
    names = {clean_text(name) for value in claims for name in (value if isinstance(value, list) else [value]) if name}
    regions = _regions(roles.get(ARS_GROUPS_SECTION), names, fold=False)
    if verified:
        regions |= _regions(roles.get(ARS_SECTION), {email}, fold=True)
    return User(email=email, name=clean_text(info.get("name") or ""), ars_regions=frozenset(regions))


def _regions(table: Mapping | None, keys: set[str], fold: bool) -> set[str]:
    """The région codes that a table of the secrets (key → codes, or one code) gives to some keys (e-mails, with
    ``fold``: compared without case; group names: as written)."""
    regions = set()
    for key, codes in (table or {}).items():
        if (clean_text(key).lower() if fold else clean_text(key)) in keys:
            regions.update(clean_text(code) for code in ([codes] if isinstance(codes, str) else codes))
    return regions


@dataclass(frozen=True)
class Drafts:
    """The drafts of a store as one user may see and change them.

    ``regions_of``: the régions of some IRIS codes (from the data bundle), to show an ARS user
    the drafts of his régions. A draft the user may not see is reported as missing, whoever owns it.
    """

    store: TerritoryStore
    user: User
    regions_of: Callable[[frozenset[str]], set[str]]

    def can_see(self, draft: StoredTerritory) -> bool:
        return self.can_change(draft) or self.user.is_ars_of(self.regions_of(draft.iris))

    def can_change(self, draft: StoredTerritory) -> bool:
        return draft.owner == self.user.email or self.user.email in draft.shared_with

    def visible(self) -> list[StoredTerritory]:
        """The drafts the user may see, most recent first."""
        return [draft for draft in self.store.entries("draft") if self.can_see(draft)]

    def load_all(self, kind: str = "draft") -> dict[str, frozenset[str]]:
        """The visible drafts, name → IRIS codes (what :func:`cpts_geo.region.registry.registry_from_store` reads)."""
        if kind != "draft":
            raise InputError("Seuls les brouillons sont lus par utilisateur.")
        return labelled(self.visible())

    def get(self, name: str, owner: str | None = None, change: bool = False) -> StoredTerritory:
        """One draft the user may see (``change``: may change); the user's own by default."""
        owner = self.user.email if owner is None else owner
        drafts = self.store.entries("draft", owners=[owner], name=name)
        if not drafts or not self.can_see(drafts[0]):
            raise InputError(f"Aucun brouillon « {name} » accessible.")
        if change and not self.can_change(drafts[0]):
            raise InputError(f"Le brouillon « {name} » est à {owner or 'l’utilisateur local'} : vous pouvez le "
                             "rouvrir et l'enregistrer sous votre nom, pas le modifier.")
        return drafts[0]

    def save(self, territory: Territory, owner: str | None = None, replace: bool = False,
             loaded_version: int | None = None) -> int:
        """Save a draft of the user (or of ``owner``, who shared it with him); an existing one is replaced
        only when ``replace`` (else :class:`~cpts_geo.storage.store.AlreadySaved`). ``loaded_version``: the version
        the user started from (someone else's save since: :class:`~cpts_geo.storage.store.DraftChanged`, nothing
        saved). Returns the number of the version saved."""
        owner = self.user.email if owner is None else owner
        if owner != self.user.email:
            self.get(territory.name, owner, change=True)
        return self.store.save(territory, kind="draft", owner=owner, author=self.user.email, replace=replace,
                               loaded_version=loaded_version)

    def delete(self, name: str, owner: str | None = None) -> None:
        """Delete a draft (only its owner may)."""
        draft = self.get(name, owner)
        if draft.owner != self.user.email:
            raise InputError(f"Seul son auteur peut supprimer le brouillon « {name} ».")
        self.store.delete(name, kind="draft", owner=draft.owner)

    def share(self, name: str, emails: str) -> list[str]:
        """Share one of the user's drafts with the e-mails of a text (comma, semicolon or space between them;
        replacing the list); returns them. A text over :data:`MAX_SHARE_LENGTH` characters or holding an address
        that is not ``local@domain.tld`` is refused, naming the limit or the bad addresses: nothing changes."""
        self.get(name)
        if len(emails) > MAX_SHARE_LENGTH:
            raise InputError(f"La liste d'adresses est trop longue ({fr_int(len(emails))} caractères ; maximum "
                             f"{fr_int(MAX_SHARE_LENGTH)}) : partagez avec moins de personnes. Le partage est inchangé.")
        cleaned = sorted({email.lower() for email in re.split(r"[,;\s]+", clean_text(emails, MAX_SHARE_LENGTH))}
                         - {"", self.user.email})
        invalid = [email for email in cleaned if not EMAIL.fullmatch(email)]
        if invalid:
            raise InputError(f"Adresse(s) e-mail non valable(s) : {listed(invalid)} (attendu : nom@domaine.fr, "
                             "séparées par des virgules). Le partage est inchangé.")
        self.store.share(name, cleaned, owner=self.user.email)
        return cleaned

    def versions(self, name: str, owner: str | None = None) -> list[Version]:
        draft = self.get(name, owner)
        return self.store.versions(name, owner=draft.owner)

    def restore(self, name: str, number: int, owner: str | None = None) -> StoredTerritory:
        """Make an earlier version the current one (the current one stays in the history); returns the draft."""
        draft = self.get(name, owner, change=True)
        version = self.store.version(name, number, owner=draft.owner)
        self.store.save(Territory(version.iris, name), kind="draft", owner=draft.owner, author=self.user.email)
        return self.get(name, draft.owner)
