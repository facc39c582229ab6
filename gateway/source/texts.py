"""Free text members write: sentence pools for tips and support requests.

Bodies are built by drawing sentence numbers (vectorised) and joining the
sentences, so the text has to exist as pools first. Templates are expanded
once over their fillers (``{dur}``, ``{cond}``, ``{time}``), which gives a few
thousand distinct sentences. Some mention health conditions, as real tips do:
that is free text the extract must never let out.
"""

from __future__ import annotations

import itertools
import string
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gateway.source.schema import SUPPORT_CATEGORIES, THEMES

LANGUAGES: tuple[str, ...] = ("nl", "en")

FILLERS: dict[str, dict[str, tuple[str, ...]]] = {
    "nl": {
        "dur": ("twee weken", "een maand", "drie maanden", "een half jaar", "een jaar", "jaren"),
        "time": ("'s ochtends", "in de middagpauze", "'s avonds", "vlak voor het slapengaan"),
        "cond": (
            "diabetes type 2",
            "reuma",
            "fibromyalgie",
            "COPD",
            "astma",
            "hoge bloeddruk",
            "een burn-out",
            "migraine",
            "artrose",
            "long covid",
            "een depressie",
            "hartfalen",
            "ME/CVS",
            "een hernia",
        ),
    },
    "en": {
        "dur": ("two weeks", "a month", "three months", "half a year", "a year", "years"),
        "time": ("in the morning", "at lunch", "in the evening", "right before bed"),
        "cond": (
            "type 2 diabetes",
            "rheumatoid arthritis",
            "fibromyalgia",
            "COPD",
            "asthma",
            "high blood pressure",
            "burnout",
            "migraines",
            "osteoarthritis",
            "long covid",
            "depression",
            "heart failure",
            "ME/CFS",
            "a herniated disc",
        ),
    },
}

TIP_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "sleep": {
        "nl": (
            "Ik leg mijn telefoon {time} in een andere kamer en slaap sindsdien veel beter.",
            "Al {dur} ga ik elke dag op dezelfde tijd naar bed, ook in het weekend.",
            "Een koele, donkere slaapkamer maakt voor mij het grootste verschil.",
            "Door {cond} lig ik vaak wakker; een vast ritueel helpt me weer in slaap te komen.",
            "Geen koffie meer na twee uur 's middags, dat scheelt echt.",
            "Als ik niet kan slapen sta ik op en lees ik even bij gedimd licht.",
            "Een korte wandeling {time} maakt mijn hoofd rustig.",
            "Ik schrijf mijn zorgen op een briefje zodat ze niet in mijn hoofd blijven malen.",
        ),
        "en": (
            "I put my phone away {time} and I have slept much better since.",
            "For {dur} I have gone to bed at the same time every day, weekends included.",
            "Because of {cond} I often lie awake; a fixed routine helps me fall asleep again.",
            "A cool, dark bedroom made the biggest difference for me.",
        ),
    },
    "stress": {
        "nl": (
            "Drie keer diep ademhalen voordat ik een mail beantwoord helpt me enorm.",
            "Ik plan {time} tien minuten voor mezelf, zonder scherm.",
            "Na {cond} heb ik geleerd eerder op de rem te trappen.",
            "Nee zeggen voelde eerst ongemakkelijk, maar het geeft zoveel rust.",
            "Al {dur} doe ik aan yoga en ik merk dat ik minder snel gespannen ben.",
            "Een lijstje met drie dingen per dag is genoeg; de rest mag wachten.",
            "Even naar buiten {time} werkt bij mij beter dan welke app ook.",
        ),
        "en": (
            "Three deep breaths before answering an email help me a lot.",
            "After {cond} I learned to slow down much earlier.",
            "I block ten minutes for myself {time}, no screens allowed.",
            "Saying no felt awkward at first, but it brings so much calm.",
        ),
    },
    "nutrition": {
        "nl": (
            "Ik maak op zondag een pan soep voor de hele week.",
            "Bij elke maaltijd de helft van het bord groente, dat is mijn vuistregel.",
            "Met {cond} let ik extra op zout; kruiden geven net zoveel smaak.",
            "Al {dur} neem ik fruit mee naar mijn werk in plaats van koek.",
            "Water met een schijfje citroen vervangt bij mij de frisdrank.",
            "Boodschappen doen met een lijstje voorkomt dat ik zomaar snoep koop.",
            "Peulvruchten zijn goedkoop en vullen echt goed.",
        ),
        "en": (
            "I cook a big pot of soup on Sunday for the whole week.",
            "With {cond} I watch my salt; herbs give just as much flavour.",
            "Half of every plate is vegetables, that is my rule of thumb.",
            "For {dur} I have brought fruit to work instead of biscuits.",
        ),
    },
    "movement": {
        "nl": (
            "Ik fiets naar mijn werk, ook als het een beetje regent.",
            "Elke dag tienduizend stappen lukt niet altijd, maar {time} een rondje lopen wel.",
            "Met {cond} begon ik heel rustig; nu wandel ik al {dur} elke dag.",
            "De trap nemen in plaats van de lift is een kleine moeite.",
            "Samen sporten met een buurvrouw houdt me gemotiveerd.",
            "Ik zet een wekker om elk uur even op te staan van mijn bureau.",
            "Zwemmen is voor mijn gewrichten het prettigst.",
            "Met mooi weer ga ik {time} hardlopen in het park.",
        ),
        "en": (
            "I cycle to work, even when it rains a little.",
            "With {cond} I started very slowly; now I have walked every day for {dur}.",
            "Taking the stairs instead of the lift is a small effort.",
            "When the weather is nice I go running in the park {time}.",
        ),
    },
    "chronic pain": {
        "nl": (
            "Met {cond} heb ik geleerd mijn energie over de dag te verdelen.",
            "Een warme douche {time} maakt mijn spieren soepeler.",
            "Ik houd een pijndagboek bij; zo zie ik wat wel en niet helpt.",
            "Fysiotherapie heeft me na {dur} echt verder geholpen.",
            "Op slechte dagen is een kleine wandeling al een overwinning.",
            "Ontspanningsoefeningen maken de pijn niet weg, maar wel draaglijker.",
        ),
        "en": (
            "With {cond} I learned to spread my energy over the day.",
            "A pain diary shows me what helps and what does not.",
            "A warm shower {time} loosens my muscles.",
        ),
    },
    "diabetes": {
        "nl": (
            "Ik meet mijn suiker {time} en schrijf het op, zo zie ik patronen.",
            "Sinds ik {dur} geleden diabetes type 2 kreeg, wandel ik na elke maaltijd.",
            "Volkoren in plaats van wit brood maakte mijn waardes rustiger.",
            "Met {cond} erbij is het soms puzzelen, maar de praktijkondersteuner helpt goed.",
            "Ik heb altijd een paar druivensuikers bij me voor een hypo.",
            "Koolhydraten tellen leek eerst lastig, maar na een paar weken ging het vanzelf.",
        ),
        "en": (
            "I check my glucose {time} and log it, so I can see patterns.",
            "Since my type 2 diagnosis {dur} ago I walk after every meal.",
            "I always carry glucose tablets in case of a hypo.",
        ),
    },
    "mental health": {
        "nl": (
            "Praten met een vriend(in) helpt mij meer dan ik had verwacht.",
            "Na {cond} ben ik {dur} in therapie geweest; het heeft me veel gebracht.",
            "Ik schrijf {time} drie dingen op waar ik dankbaar voor ben.",
            "Het is oké om hulp te vragen; de huisarts is een goed begin.",
            "Daglicht in de ochtend helpt mij door de donkere maanden.",
            "Ik merk dat minder social media mijn stemming goed doet.",
        ),
        "en": (
            "Talking to a friend helps me more than I expected.",
            "After {cond} I was in therapy for {dur}; it really helped.",
            "I write down three things I am grateful for {time}.",
        ),
    },
    "heart health": {
        "nl": (
            "Met {cond} laat ik elk halfjaar mijn bloeddruk controleren.",
            "Stevig wandelen {time} is goed voor mijn conditie en mijn hart.",
            "Ik gebruik minder zout en merk het na {dur} al niet meer.",
            "Een hartrevalidatieprogramma gaf me weer vertrouwen in mijn lijf.",
            "Ongezouten noten zijn mijn vaste tussendoortje geworden.",
        ),
        "en": (
            "With {cond} I have my blood pressure checked every six months.",
            "A brisk walk {time} is good for my fitness and my heart.",
            "Cardiac rehab gave me back confidence in my body.",
        ),
    },
    "weight": {
        "nl": (
            "Kleinere borden gebruiken klinkt gek, maar het werkt voor mij.",
            "In {dur} ben ik rustig afgevallen zonder streng dieet.",
            "Met {cond} is bewegen lastig, dus ik let vooral op wat ik eet.",
            "Ik weeg mezelf één keer per week, niet elke dag.",
            "Langzaam eten en {time} geen tussendoortjes heeft veel gescheeld.",
            "Een stappenteller maakt het een soort spelletje.",
        ),
        "en": (
            "Using smaller plates sounds silly, but it works for me.",
            "Over {dur} I slowly lost weight without a strict diet.",
            "I weigh myself once a week, not every day.",
        ),
    },
    "smoking cessation": {
        "nl": (
            "Ik ben nu {dur} gestopt met roken en de trek wordt steeds minder.",
            "Bij trek ga ik even een glas water drinken en een rondje lopen.",
            "Met {cond} was stoppen met roken het beste wat ik kon doen.",
            "Ik zet het geld dat ik bespaar op een aparte rekening.",
            "De Stoptober-groep hielp me door de eerste weken.",
            "Vooral {time} was het moeilijk; nu heb ik daar een nieuwe gewoonte voor.",
        ),
        "en": (
            "I quit smoking {dur} ago and the cravings keep getting weaker.",
            "With {cond} quitting smoking was the best thing I could do.",
            "I put the money I save into a separate account.",
        ),
    },
    "pregnancy": {
        "nl": (
            "Foliumzuur ben ik al gaan slikken voordat ik zwanger was.",
            "Rustig zwemmen was in het laatste trimester heerlijk.",
            "Met {cond} had ik extra controles; de verloskundige dacht goed mee.",
            "Kleine maaltijden verspreid over de dag hielpen tegen de misselijkheid.",
            "Ik sliep {time} met een kussen tussen mijn knieën, dat scheelde veel.",
        ),
        "en": (
            "I started taking folic acid before I was pregnant.",
            "With {cond} I had extra check-ups; the midwife was very helpful.",
            "Small meals spread over the day helped with the nausea.",
        ),
    },
    "ageing well": {
        "nl": (
            "Ik doe {time} balansoefeningen, zo blijf ik stevig op mijn benen.",
            "Elke week koffie drinken met de buren houdt me sociaal actief.",
            "Met {cond} blijf ik toch in beweging, al is het maar een rondje om de kerk.",
            "Al {dur} zit ik op een seniorengym en ik voel me fitter dan ooit.",
            "Puzzels en een nieuwe taal leren houden mijn hoofd scherp.",
        ),
        "en": (
            "I do balance exercises {time} to stay steady on my feet.",
            "With {cond} I keep moving, even if it is just a short walk.",
            "Coffee with the neighbours every week keeps me socially active.",
        ),
    },
}
"""Theme -> language -> sentence templates; every theme of ``THEMES`` is here."""

GENERIC_TEMPLATES: dict[str, tuple[str, ...]] = {
    "nl": (
        "Het kost even tijd, maar het loont.",
        "Probeer het gewoon een week en kijk wat het met je doet.",
        "Mijn huisarts raadde dit ook aan.",
        "Begin klein, dan hou je het langer vol.",
        "Succes allemaal!",
        "Wie heeft hier ook ervaring mee?",
        "Sinds {dur} doe ik dit en ik merk echt verschil.",
        "Ik heb {cond}, dus voor mij is dit extra belangrijk.",
        "Schrijf op wat je doet, dan zie je je vooruitgang.",
        "Zoek iemand om het samen mee te doen.",
        "Niet elke dag lukt het, en dat is ook prima.",
        "Dit is wat voor mij werkt, misschien heb jij er ook iets aan.",
    ),
    "en": (
        "It takes a while, but it pays off.",
        "Just try it for a week and see what it does for you.",
        "My GP recommended this too.",
        "Start small and you will keep it up longer.",
        "Good luck, everyone!",
        "Does anyone else have experience with this?",
        "I have done this for {dur} and it really makes a difference.",
        "I have {cond}, so for me this matters even more.",
    ),
}
"""Sentences that fit any theme, used after a tip's first sentence."""

SUPPORT_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "account": {
        "nl": (
            "Ik kan niet meer inloggen op mijn account.",
            "Hoe verander ik het e-mailadres van mijn account?",
            "Ik wil mijn account verwijderen, hoe doe ik dat?",
            "Mijn wachtwoord resetten lukt niet, ik krijg geen mail.",
        ),
        "en": (
            "I cannot log in to my account any more.",
            "How do I change the email address on my account?",
            "Please delete my account.",
        ),
    },
    "privacy": {
        "nl": (
            "Welke gegevens bewaren jullie over mij?",
            "Ik wil mijn toestemming voor onderzoek intrekken.",
            "Kunnen jullie mijn tips verwijderen?",
            "Wie kan zien dat ik {cond} heb genoemd in mijn tips?",
        ),
        "en": (
            "What data do you keep about me?",
            "I want to withdraw my consent for research.",
            "Who can see that I mentioned {cond} in my tips?",
        ),
    },
    "content": {
        "nl": (
            "Een tip in het thema bevat volgens mij onjuiste medische informatie.",
            "Iemand reageert steeds onaardig op mijn tips.",
            "Mijn tip is verdwenen, kunnen jullie kijken wat er gebeurd is?",
        ),
        "en": (
            "A tip in this theme contains what I think is wrong medical advice.",
            "Someone keeps replying rudely to my tips.",
        ),
    },
    "technical": {
        "nl": (
            "De app loopt vast als ik een tip wil plaatsen.",
            "Ik krijg geen meldingen meer sinds de laatste update.",
            "De website laadt heel traag {time}.",
            "Foto's uploaden lukt niet op mijn telefoon.",
        ),
        "en": (
            "The app freezes when I try to post a tip.",
            "I no longer get notifications since the last update.",
        ),
    },
    "billing": {
        "nl": (
            "Mijn donatie is twee keer afgeschreven.",
            "Hoe stop ik mijn maandelijkse bijdrage?",
            "Kan ik een factuur krijgen voor mijn bijdrage?",
        ),
        "en": (
            "My donation was charged twice.",
            "How do I stop my monthly contribution?",
        ),
    },
    "other": {
        "nl": (
            "Ik heb een idee voor een nieuw thema.",
            "Complimenten voor het platform, het helpt me echt.",
            "Werken jullie samen met huisartsen?",
        ),
        "en": (
            "I have an idea for a new theme.",
            "Compliments on the platform, it really helps me.",
        ),
    },
}
"""Support category -> language -> sentence templates; every category is here."""

SIGN_OFFS: dict[str, tuple[str, ...]] = {
    "nl": ("Groeten,", "Met vriendelijke groet,", "Alvast bedankt,", "Groetjes,"),
    "en": ("Regards,", "Kind regards,", "Thanks in advance,", "Cheers,"),
}
"""Support requests often end with a greeting and the member's first name."""


def expand(template: str, language: str) -> list[str]:
    """Every sentence a template yields when its placeholders are filled in."""
    fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    fillers = FILLERS[language]
    return [
        template.format(**dict(zip(fields, values, strict=True)))
        for values in itertools.product(*(fillers[field] for field in fields))
    ]


Ints = npt.NDArray[np.int64]


class Pools:
    """Sentence pools; a pool is a list of templates, a template a list of
    its expansions. All sentences sit in one Arrow array.

    A draw picks a template of the pool uniformly, then one of its
    expansions, so a template with many fillers is not drawn more often.
    """

    def __init__(self, pools: list[list[list[str]]]) -> None:
        templates = [template for pool in pools for template in pool]
        self.template_count: Ints = np.array([len(pool) for pool in pools], dtype=np.int64)
        self.first_template: Ints = np.cumsum(self.template_count) - self.template_count
        self.variant_count: Ints = np.array([len(t) for t in templates], dtype=np.int64)
        self.first_variant: Ints = np.cumsum(self.variant_count) - self.variant_count
        self.sentences = pa.array([s for template in templates for s in template], pa.string())

    def draw(self, pool: Ints, uniform: npt.NDArray[np.float64]) -> Ints:
        """Sentence numbers, one per entry of ``pool``, from ``uniform`` in [0, 1):
        its integer part over the templates picks one, the fraction a variant."""
        scaled = uniform * self.template_count[pool]
        template = self.first_template[pool] + scaled.astype(np.int64)
        variant = ((scaled % 1.0) * self.variant_count[template]).astype(np.int64)
        drawn: Ints = self.first_variant[template] + variant
        return drawn

    def texts(self, rng: np.random.Generator, pool: Ints, counts: Ints) -> pa.Array:
        """``len(counts)`` texts; text ``i`` joins ``counts[i]`` sentences, each
        drawn from its entry of ``pool`` (``len(pool) == counts.sum()``)."""
        sentences = self.sentences.take(pa.array(self.draw(pool, rng.random(len(pool)))))
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
        return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), sentences), " ")


def _pools(templates: dict[str, dict[str, tuple[str, ...]]], keys: tuple[str, ...]) -> Pools:
    return Pools(
        [
            [expand(template, language) for template in templates[key][language]]
            for key in keys
            for language in LANGUAGES
        ]
    )


@cache
def tip_pools() -> Pools:
    """Pools ``theme_index * 2 + language`` then ``len(THEMES) * 2 + language`` (generic)."""
    generic = {"generic": GENERIC_TEMPLATES}
    return _pools({**TIP_TEMPLATES, **generic}, (*THEMES, "generic"))


@cache
def support_pools() -> Pools:
    """Pools ``category * 2 + language``, then sign-offs ``len(categories) * 2 + language``."""
    sign_offs = {"sign-off": SIGN_OFFS}
    return _pools({**SUPPORT_TEMPLATES, **sign_offs}, (*SUPPORT_CATEGORIES, "sign-off"))
