"""What the "how your data is protected" page says, in Dutch and English.

The privacy statement's promises, the gateway's safeguards and the members'
rights, each with how it is kept. The numbers (how long an extract lives, how
small a group is never shown, how much one query may cost) come from the
policy the gateway enforces, so the page cannot promise what the policy
does not do.
"""

from __future__ import annotations

from pydantic import BaseModel

from gateway.policy.model import Policy
from gateway.web.i18n import Lang
from gateway.web.numbers import number

Text = tuple[str, str]
"""One sentence in Dutch and in English."""


class Promise(BaseModel):
    promise: str
    kept_by: str


class Safeguard(BaseModel):
    safeguard: str
    protects_against: str


class Right(BaseModel):
    right: str
    how_to_use: str
    what_happens: str


class Protection(BaseModel):
    """The page's content: the same model is its JSON twin (``/privacy.json``)."""

    lang: Lang
    promises: list[Promise]
    safeguards: list[Safeguard]
    rights: list[Right]
    within_days: int
    contact: str | None


PROMISES: tuple[tuple[Text, Text], ...] = (
    (
        (
            "Inzichten zijn nooit tot u persoonlijk te herleiden.",
            "Insights are never traceable to you personally.",
        ),
        (
            "Elk getal dat de gateway vrijgeeft heeft differentiële privacy met het lid als "
            "eenheid: er is zoveel ruis toegevoegd dat het getal bijna hetzelfde zou zijn als u "
            "niet had meegedaan. Groepen van minder dan ongeveer {min_group_members} leden "
            "worden niet getoond.",
            "Every number the gateway releases is differentially private with the member as "
            "the unit: enough noise is added that it would be almost the same had you not "
            "taken part. Groups of fewer than about {min_group_members} members are not shown.",
        ),
    ),
    (
        (
            "Onderzoekers krijgen nooit rechtstreeks toegang tot uw gegevens.",
            "Researchers never get direct access to your data.",
        ),
        (
            "Onderzoekers sturen alleen vragen in. De gateway controleert elke vraag, voert "
            "haar afgeschermd uit en geeft alleen beschermde totalen terug; rijen, namen, "
            "e-mailadressen en teksten verlaten Health-Thing nooit.",
            "Researchers only send questions. The gateway checks each one, runs it shielded "
            "and returns only protected totals; rows, names, e-mail addresses and texts never "
            "leave Health-Thing.",
        ),
    ),
    (
        (
            "Uw gegevens worden alleen gebruikt voor projecten die onze missie en leerthema's "
            "dienen.",
            "Your data is only used for projects that serve our mission and learning themes.",
        ),
        (
            "Een project noemt de leerthema's die het dient en moet door een beoordelaar van "
            "Health-Thing zijn goedgekeurd voordat er één vraag draait. Alle goedgekeurde "
            "projecten staan in het openbare projectregister.",
            "A project names the learning themes it serves and must be approved by a "
            "Health-Thing reviewer before a single question runs. Every approved project is "
            "listed in the public project register.",
        ),
    ),
    (
        (
            "Voor andere doelen vragen we apart uw toestemming, en die kunt u altijd intrekken.",
            "Other purposes need your separate consent, which you can always withdraw.",
        ),
        (
            "Onderzoek buiten de missie gebruikt alleen leden die daar zelf ja op zeiden. "
            "Trekt u uw toestemming in, dan telt u vanaf de volgende bouw van de gegevens niet "
            "meer mee.",
            "Research beyond the mission only uses members who said yes to it themselves. If "
            "you withdraw, you no longer count from the next build of the data.",
        ),
    ),
    (
        (
            "Uw keuzes worden binnen een maand overal gerespecteerd.",
            "Your choices are honoured everywhere within a month.",
        ),
        (
            "Onderzoeksgegevens verlopen na hoogstens {expiry_days} dagen; een wijziging van "
            "uw keuzes maakt ze meteen verouderd, en verouderde gegevens worden opnieuw "
            "gebouwd voordat er nog een vraag over gaat.",
            "Research data expires after at most {expiry_days} days; a change of your choices "
            "makes it stale at once, and stale data is rebuilt before another question runs "
            "over it.",
        ),
    ),
)

SAFEGUARDS: tuple[tuple[Text, Text], ...] = (
    (
        (
            "Pseudoniemen per project, zonder naam, e-mail, telefoon, IBAN, geboortedatum, "
            "woonplaats of tekst.",
            "Pseudonyms per project, with no name, e-mail, phone, IBAN, birth date, city or text.",
        ),
        (
            "Herkenning via een bekend gegeven, en het koppelen van twee projecten aan elkaar.",
            "Recognition through a known detail, and linking two projects to each other.",
        ),
    ),
    (
        (
            "Versleutelde onderzoeksgegevens; de sleutels liggen apart.",
            "Encrypted research data; the keys are kept apart.",
        ),
        (
            "Een gestolen of verkeerd gekopieerd bestand.",
            "A stolen or wrongly copied file.",
        ),
    ),
    (
        (
            "Elke vraag draait in een afgeschermde omgeving zonder netwerk.",
            "Every question runs in a shielded environment without a network.",
        ),
        (
            "Code die gegevens probeert weg te sturen of ander werk probeert te lezen.",
            "Code that tries to send data away or to read other work.",
        ),
    ),
    (
        (
            "Ruis met differentiële privacy, met een grens aan hoeveel één lid kan meetellen.",
            "Noise with differential privacy, with a limit on how much one member can count.",
        ),
        (
            "Uit een uitkomst afleiden of u meedeed, of wat u deed.",
            "Working out from a result whether you took part, or what you did.",
        ),
    ),
    (
        (
            "Een privacybudget per project: één vraag kost hoogstens ε = {per_query_epsilon_cap}, "
            "een project krijgt er standaard ε = {default_project_epsilon} in totaal.",
            "A privacy budget per project: one question costs at most ε = "
            "{per_query_epsilon_cap}, a project gets ε = {default_project_epsilon} in all by "
            "default.",
        ),
        (
            "Met heel veel vragen de ruis wegmiddelen.",
            "Averaging the noise away with very many questions.",
        ),
    ),
    (
        (
            "Beoordeling door Health-Thing: projecten, vragen waar het beleid om vraagt, en "
            "alles wat leden te zien krijgen.",
            "Review by Health-Thing: projects, the questions the policy sends for review, and "
            "everything members get to see.",
        ),
        (
            "Onderzoek dat niet bij onze missie past.",
            "Research that does not fit our mission.",
        ),
    ),
    (
        (
            "Een auditlog van elke toegang, met een hashketen die elke wijziging verraadt.",
            "An audit log of every access, with a hash chain that betrays any change.",
        ),
        (
            "Misbruik dat ongezien blijft, ook door beheerders.",
            "Misuse that goes unseen, by administrators too.",
        ),
    ),
)

RIGHTS: tuple[tuple[Text, Text, Text], ...] = (
    (
        ("Toestemming intrekken", "Withdraw consent"),
        (
            "Zet in uw Health-Thing-account bij Privacy de toestemming voor onderzoek buiten "
            "de missie uit.",
            "In your Health-Thing account, under Privacy, switch off consent for research "
            "beyond the mission.",
        ),
        (
            "U zit niet meer in nieuwe onderzoeksgegevens voor dat doel; bestaande worden "
            "verouderd en opnieuw gebouwd zonder u.",
            "You are left out of new research data for that purpose; existing data becomes "
            "stale and is rebuilt without you.",
        ),
    ),
    (
        ("Bezwaar maken of verwerking beperken", "Object or restrict processing"),
        (
            "Vraag het aan via Privacy in uw account of bij de functionaris voor "
            "gegevensbescherming.",
            "Ask for it under Privacy in your account or from the data protection officer.",
        ),
        (
            "Zolang de beperking geldt, zit u in geen enkel onderzoek, ook niet in dat voor "
            "de missie.",
            "While the restriction holds, you are in no research at all, not even for the mission.",
        ),
    ),
    (
        ("Uw account verwijderen", "Delete your account"),
        ("Verwijder uw account in de instellingen.", "Delete your account in its settings."),
        (
            "Uw bijdragen worden van u losgekoppeld: in onderzoek blijft alleen een pseudoniem "
            "met de maand waarin u lid werd; leeftijd, provincie en land vervallen.",
            "Your contributions are unlinked from you: research keeps only a pseudonym with "
            "the month you joined; age, province and country are dropped.",
        ),
    ),
    (
        ("Uw bijdragen laten wissen", "Erase your contributions"),
        (
            "Vraag het wissen van uw tips en hulpvragen aan via Privacy in uw account.",
            "Ask for your tips and support requests to be erased under Privacy in your account.",
        ),
        (
            "Uw tips, gevolgde thema's en hulpvragen verdwijnen uit alle onderzoeksgegevens.",
            "Your tips, followed themes and support requests disappear from all research data.",
        ),
    ),
)


def protection(policy: Policy, lang: Lang, contact: str | None) -> Protection:
    """The page in ``lang``, with the policy's own numbers filled in."""
    facts = {
        "min_group_members": policy.release.min_group_members,
        "expiry_days": policy.extract.expiry_days,
        "per_query_epsilon_cap": number(policy.budget.per_query_epsilon_cap, lang, 2),
        "default_project_epsilon": number(policy.budget.default_project_epsilon, lang, 2),
    }

    def say(text: Text) -> str:
        return text[0 if lang == "nl" else 1].format(**facts)

    return Protection(
        lang=lang,
        promises=[Promise(promise=say(p), kept_by=say(k)) for p, k in PROMISES],
        safeguards=[Safeguard(safeguard=say(s), protects_against=say(a)) for s, a in SAFEGUARDS],
        rights=[Right(right=say(r), how_to_use=say(h), what_happens=say(w)) for r, h, w in RIGHTS],
        within_days=policy.extract.expiry_days,
        contact=contact,
    )
