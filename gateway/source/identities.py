"""Dutch identities, built column-wise: usernames, emails, phones, IBANs, hashes.

Everything here is direct identifying data that the extract must drop; it is
synthetic but shaped like the real thing (``sanne.devries``, ``+316...``,
``NL91ABNA0417164300`` with valid check digits), so tests of the extract can
look for it. Functions take pre-drawn random arrays and return Arrow arrays;
no Python loop runs per member.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

FEMALE_NAMES: tuple[str, ...] = (
    "Emma", "Julia", "Sophie", "Anna", "Sanne", "Lisa", "Eva", "Fleur", "Lotte", "Iris",
    "Anouk", "Maud", "Noa", "Tess", "Sara", "Femke", "Ilse", "Marieke", "Linda", "Esther",
    "Monique", "Petra", "Sandra", "Anja", "Ingrid", "Marja", "Annemiek", "Yvonne", "Wilma",
    "Karin", "Mirjam", "Ellen", "Hanneke", "Nicole", "Joke", "Riet", "Truus", "Gerda",
    "Ria", "Fatima", "Yasmina", "Naima", "Elif", "Zeynep", "Saskia", "Renske", "Roos",
    "Meike", "Nienke", "Hilde", "Lieke", "Jet", "Mila", "Nora", "Evi",
)  # fmt: skip
MALE_NAMES: tuple[str, ...] = (
    "Daan", "Sem", "Lucas", "Levi", "Finn", "Milan", "Bram", "Thijs", "Ruben", "Jesse",
    "Lars", "Tim", "Niels", "Koen", "Sander", "Martijn", "Jeroen", "Mark", "Dennis", "Bas",
    "Erik", "Peter", "Hans", "Jan", "Kees", "Henk", "Gerrit", "Wim", "Piet", "Johan",
    "Frank", "Marco", "Rob", "Paul", "Arjen", "Wouter", "Joost", "Pieter", "Hendrik",
    "Mohammed", "Youssef", "Mehmet", "Emre", "Ahmed", "Stijn", "Teun", "Jurre", "Gijs",
    "Jelle", "Sjoerd", "Hidde", "Willem", "Dirk", "Ties", "Noah",
)  # fmt: skip
SURNAMES: tuple[str, ...] = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
    "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
    "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
    "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
    "van den Heuvel", "van der Veen", "van den Broek", "de Bruijn", "de Bruin",
    "van der Heijden", "Schouten", "van Beek", "Willems", "van Vliet", "van de Ven",
    "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal", "Prins", "Blom",
    "Huisman", "Peeters", "de Jonge", "Kuipers", "van Veen", "Post", "Kuiper", "Veenstra",
    "Kramer", "van den Brink", "Scholten", "van Wijk", "Postma", "Martens", "Vink",
    "de Ruiter", "Timmermans", "Groen", "Gerritsen", "Jonker", "van Loon", "Boer",
    "van der Velde", "Willemsen", "Smeets", "de Lange", "de Vos", "Bosch", "van Dongen",
    "Schipper", "de Koning", "van der Laan", "Koning", "Driessen", "van Doorn", "Hermans",
    "Evers", "van den Bosch", "van der Meulen", "Hofman", "Bosman", "Wolters", "Sanders",
    "van der Horst", "Mol", "Kuijpers", "Molenaar", "van de Pol", "de Leeuw", "Verbeek",
    "Yılmaz", "El Amrani", "Öztürk", "Kaya", "Bouzid", "Nguyen", "Ramdin", "Martina",
)  # fmt: skip
"""Common surnames, most frequent first (draws follow a Zipf-like weight)."""

NICKNAMES: tuple[str, ...] = (
    "wandelaar", "fietsfan", "slaapkop", "groentefan", "hardloper", "zwemmer", "yogamoeder",
    "stoppertje", "suikerspin", "rustzoeker", "fitopa", "fitoma", "dagjemensen", "zonnetje",
    "bergop", "puzzelaar", "theeleut", "tuinier", "stapper", "nachtuil",
)  # fmt: skip
"""Handles some members choose instead of their name."""

EMAIL_DOMAINS: dict[str, float] = {
    "gmail.com": 0.34,
    "hotmail.com": 0.18,
    "outlook.com": 0.10,
    "live.nl": 0.07,
    "ziggo.nl": 0.07,
    "kpnmail.nl": 0.06,
    "icloud.com": 0.05,
    "xs4all.nl": 0.04,
    "planet.nl": 0.03,
    "hetnet.nl": 0.03,
    "telenet.be": 0.02,
    "web.de": 0.01,
}
"""Mail providers and their share among members."""

BANKS: tuple[str, ...] = ("ABNA", "INGB", "RABO", "SNSB", "ASNB", "TRIO", "KNAB", "BUNQ")
"""Dutch bank codes as they appear in an IBAN."""

PASSWORD_PREFIX = "$argon2id$v=19$m=65536,t=3,p=4$"  # noqa: S105 (a format, not a secret)
BASE64 = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", dtype=np.uint8
)
DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)

USERNAME_PATTERNS = 6
EMAIL_PATTERNS = 4


def slug(name: str) -> str:
    """``'van den Berg'`` -> ``'vandenberg'``: how a name looks in a handle."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_name.lower() if ch.isalnum())


def zipf_weights(count: int, exponent: float = 0.8) -> npt.NDArray[np.float64]:
    """Probabilities ``~ rank**-exponent``: a few names are very common."""
    weights: npt.NDArray[np.float64] = np.arange(1, count + 1, dtype=np.float64) ** -exponent
    weights /= weights.sum()
    return weights


def ascii_strings(codes: npt.NDArray[np.uint8]) -> pa.StringArray:
    """An ``n x width`` matrix of ASCII codes -> ``n`` strings, without a row loop."""
    matrix = np.ascontiguousarray(codes, dtype=np.uint8)
    count, width = matrix.shape
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(matrix)]
    )


def _take(pool: tuple[str, ...] | list[str], index: np.ndarray) -> pa.StringArray:
    return pc.take(pa.array(pool, pa.string()), pa.array(index))


def _join(*parts: pa.Array | str) -> pa.StringArray:
    return pc.binary_join_element_wise(*parts, "")


def numbered_duplicates(stem: pa.StringArray, tail: pa.StringArray | str = "") -> pa.StringArray:
    """Append ``_2``, ``_3``, ... to ``stem`` where ``stem + tail`` repeats.

    The first occurrence (lowest row) keeps its value, like a platform that
    suggests ``sanne87_2`` to the second ``sanne87``. One pass is enough
    because no generated stem ends in ``_`` and digits.
    """
    codes = pc.dictionary_encode(_join(stem, tail)).indices.to_numpy()
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    rank = np.empty(len(codes), dtype=np.int64)
    rank[order] = np.arange(len(codes)) - np.repeat(first, np.diff(np.r_[first, len(codes)]))
    numbered = _join(stem, "_", pc.cast(pa.array(rank + 1), pa.string()))
    return pc.if_else(pa.array(rank > 0), numbered, stem)


def _name_slugs(
    first: np.ndarray, female: np.ndarray, surname: np.ndarray
) -> tuple[pa.StringArray, pa.StringArray, pa.StringArray]:
    """First name, surname and initial as handles and addresses spell them."""
    first_slug = _first_slugs(first, female)
    surname_slug = _take([slug(s) for s in SURNAMES], surname)
    return first_slug, surname_slug, pc.utf8_slice_codeunits(first_slug, 0, 1)


def usernames(
    rng: np.random.Generator,
    first: np.ndarray,
    female: np.ndarray,
    surname: np.ndarray,
    birth_year: np.ndarray,
) -> pa.StringArray:
    """Unique handles such as ``sannedevries``, ``s.devries``, ``bram84``, ``fietsfan12``."""
    n = len(first)
    first_slug, surname_slug, initial = _name_slugs(first, female, surname)
    year2 = pc.cast(pa.array(birth_year % 100), pa.string())
    small = pc.cast(pa.array(rng.integers(1, 100, n)), pa.string())
    nickname = _take(NICKNAMES, rng.integers(0, len(NICKNAMES), n))
    candidates = [
        _join(first_slug, surname_slug),
        _join(first_slug, ".", surname_slug),
        _join(first_slug, year2),
        _join(initial, surname_slug),
        _join(first_slug, "_", surname_slug, small),
        _join(nickname, small),
    ]
    pattern = rng.choice(USERNAME_PATTERNS, n, p=[0.2, 0.2, 0.2, 0.15, 0.1, 0.15])
    return numbered_duplicates(pc.choose(pa.array(pattern), *candidates))


def emails(
    rng: np.random.Generator,
    first: np.ndarray,
    female: np.ndarray,
    surname: np.ndarray,
    birth_year: np.ndarray,
) -> pa.StringArray:
    """Unique addresses such as ``sanne.devries@gmail.com`` or ``bdejong1984@ziggo.nl``."""
    n = len(first)
    first_slug, surname_slug, initial = _name_slugs(first, female, surname)
    year = pc.cast(pa.array(birth_year), pa.string())
    candidates = [
        _join(first_slug, ".", surname_slug),
        _join(initial, ".", surname_slug),
        _join(first_slug, surname_slug, year),
        _join(initial, surname_slug),
    ]
    local = pc.choose(pa.array(rng.choice(EMAIL_PATTERNS, n, p=[0.4, 0.2, 0.2, 0.2])), *candidates)
    domain_names = list(EMAIL_DOMAINS)
    weights = np.array(list(EMAIL_DOMAINS.values()))
    domain = _take(domain_names, rng.choice(len(domain_names), n, p=weights / weights.sum()))
    tail = _join("@", domain)
    return _join(numbered_duplicates(local, tail), tail)


def _first_slugs(first: np.ndarray, female: np.ndarray) -> pa.StringArray:
    names = [slug(name) for name in (*FEMALE_NAMES, *MALE_NAMES)]
    return _take(names, np.where(female, first, first + len(FEMALE_NAMES)))


def first_names(first: np.ndarray, female: np.ndarray) -> pa.StringArray:
    """Display first names, as members sign their messages."""
    return _take((*FEMALE_NAMES, *MALE_NAMES), np.where(female, first, first + len(FEMALE_NAMES)))


def phones(rng: np.random.Generator, prefix: pa.StringArray) -> pa.StringArray:
    """Mobile numbers in E.164 form: the country's prefix and eight digits."""
    digits = ascii_strings(DIGITS[rng.integers(0, 10, (len(prefix), 8), dtype=np.uint8)])
    return _join(prefix, digits)


def dutch_ibans(rng: np.random.Generator, n: int) -> pa.StringArray:
    """``NLkk BANK 0123456789`` without spaces, with ISO 7064 mod-97 check digits."""
    bank = rng.integers(0, len(BANKS), n)
    account = rng.integers(0, 10, (n, 10), dtype=np.uint8)
    bank_codes = np.frombuffer("".join(BANKS).encode(), dtype=np.uint8).reshape(-1, 4)[bank]
    # Check digits: 98 - (BBAN + "NL00" as digits, letters A=10..Z=35) mod 97.
    remainder = np.zeros(n, dtype=np.int64)
    for column in range(4):
        remainder = (remainder * 100 + bank_codes[:, column] - ord("A") + 10) % 97
    for column in range(10):
        remainder = (remainder * 10 + account[:, column].astype(np.int64)) % 97
    for value in (ord("N") - ord("A") + 10, ord("L") - ord("A") + 10, 0):
        remainder = (remainder * 100 + value) % 97
    check = 98 - remainder
    codes = np.empty((n, 18), dtype=np.uint8)
    codes[:, 0:2] = np.frombuffer(b"NL", dtype=np.uint8)
    codes[:, 2] = DIGITS[check // 10]
    codes[:, 3] = DIGITS[check % 10]
    codes[:, 4:8] = bank_codes
    codes[:, 8:18] = DIGITS[account]
    return ascii_strings(codes)


def password_hashes(rng: np.random.Generator, n: int) -> pa.StringArray:
    """Argon2id-shaped strings with random salt and digest (no password behind them)."""
    prefix = np.frombuffer(PASSWORD_PREFIX.encode(), dtype=np.uint8)
    codes = np.empty((n, len(prefix) + 22 + 1 + 43), dtype=np.uint8)
    codes[:, : len(prefix)] = prefix
    random_bytes = np.frombuffer(rng.bytes(n * 66), dtype=np.uint8).reshape(n, 66)
    codes[:, len(prefix) :] = BASE64[random_bytes & 63]
    codes[:, len(prefix) + 22] = ord("$")
    return ascii_strings(codes)
