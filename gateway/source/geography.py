"""Where members live: Dutch cities by province, and the countries beyond.

The generator draws a province by its share of the Dutch population and then
a city within it by size, so province counts in a source look like the
Netherlands. The extract builder maps ``accounts.city`` to a province with
``CITY_PROVINCE``; a city it does not know (abroad, or missing) is not Dutch.
"""

from __future__ import annotations

PROVINCE_POPULATION: dict[str, int] = {
    "Drenthe": 500_000,
    "Flevoland": 450_000,
    "Friesland": 660_000,
    "Gelderland": 2_170_000,
    "Groningen": 600_000,
    "Limburg": 1_130_000,
    "Noord-Brabant": 2_640_000,
    "Noord-Holland": 2_960_000,
    "Overijssel": 1_180_000,
    "Utrecht": 1_410_000,
    "Zeeland": 390_000,
    "Zuid-Holland": 3_860_000,
}
"""Inhabitants per province (rounded, mid-2020s); members follow these shares."""

CITIES: dict[str, dict[str, int]] = {
    "Drenthe": {
        "Emmen": 108_000,
        "Assen": 69_000,
        "Hoogeveen": 56_000,
        "Meppel": 35_000,
        "Coevorden": 35_000,
        "Roden": 22_000,
    },
    "Flevoland": {
        "Almere": 220_000,
        "Lelystad": 82_000,
        "Dronten": 42_000,
        "Emmeloord": 27_000,
        "Zeewolde": 23_000,
    },
    "Friesland": {
        "Leeuwarden": 125_000,
        "Drachten": 46_000,
        "Sneek": 34_000,
        "Heerenveen": 30_000,
        "Harlingen": 16_000,
        "Franeker": 13_000,
    },
    "Gelderland": {
        "Nijmegen": 182_000,
        "Apeldoorn": 166_000,
        "Arnhem": 166_000,
        "Ede": 120_000,
        "Doetinchem": 59_000,
        "Harderwijk": 49_000,
        "Zutphen": 48_000,
        "Tiel": 42_000,
        "Wageningen": 40_000,
        "Winterswijk": 29_000,
    },
    "Groningen": {
        "Groningen": 238_000,
        "Hoogezand": 35_000,
        "Stadskanaal": 32_000,
        "Veendam": 28_000,
        "Delfzijl": 24_000,
        "Winschoten": 18_000,
    },
    "Limburg": {
        "Maastricht": 122_000,
        "Venlo": 102_000,
        "Sittard": 91_000,
        "Heerlen": 87_000,
        "Roermond": 59_000,
        "Weert": 51_000,
        "Kerkrade": 45_000,
    },
    "Noord-Brabant": {
        "Eindhoven": 240_000,
        "Tilburg": 225_000,
        "Breda": 186_000,
        "'s-Hertogenbosch": 160_000,
        "Helmond": 95_000,
        "Oss": 93_000,
        "Roosendaal": 78_000,
        "Bergen op Zoom": 68_000,
        "Veghel": 33_000,
    },
    "Noord-Holland": {
        "Amsterdam": 930_000,
        "Haarlem": 165_000,
        "Zaandam": 160_000,
        "Alkmaar": 111_000,
        "Amstelveen": 93_000,
        "Purmerend": 93_000,
        "Hilversum": 93_000,
        "Hoorn": 74_000,
        "Den Helder": 56_000,
    },
    "Overijssel": {
        "Enschede": 160_000,
        "Zwolle": 132_000,
        "Deventer": 102_000,
        "Hengelo": 82_000,
        "Almelo": 74_000,
        "Kampen": 55_000,
        "Oldenzaal": 32_000,
    },
    "Utrecht": {
        "Utrecht": 367_000,
        "Amersfoort": 160_000,
        "Veenendaal": 67_000,
        "Zeist": 66_000,
        "Nieuwegein": 63_000,
        "Houten": 50_000,
        "IJsselstein": 34_000,
    },
    "Zeeland": {
        "Terneuzen": 55_000,
        "Middelburg": 49_000,
        "Vlissingen": 45_000,
        "Goes": 39_000,
        "Zierikzee": 11_000,
    },
    "Zuid-Holland": {
        "Rotterdam": 664_000,
        "Den Haag": 562_000,
        "Leiden": 127_000,
        "Zoetermeer": 127_000,
        "Dordrecht": 120_000,
        "Alphen aan den Rijn": 115_000,
        "Delft": 105_000,
        "Schiedam": 80_000,
        "Gouda": 75_000,
        "Spijkenisse": 72_000,
    },
}
"""Cities per province with their inhabitants; every province has several."""

CITY_PROVINCE: dict[str, str] = {
    city: province for province, cities in CITIES.items() for city in cities
}
"""Dutch city -> province; what the extract builder uses to derive ``province``."""

COUNTRY_SHARE: dict[str, float] = {
    "NL": 0.925,
    "BE": 0.04,
    "DE": 0.018,
    "FR": 0.004,
    "GB": 0.004,
    "ES": 0.004,
    "CW": 0.003,
    "SR": 0.002,
}
"""Members' countries (ISO 3166-1 alpha-2): mostly Dutch, some neighbours."""

ABROAD_CITIES: dict[str, tuple[str, ...]] = {
    "BE": ("Antwerpen", "Gent", "Brussel", "Brugge", "Leuven", "Hasselt", "Mechelen"),
    "DE": ("Düsseldorf", "Köln", "Aachen", "Münster", "Kleve", "Emmerich", "Berlin"),
    "FR": ("Paris", "Lille", "Lyon", "Nice"),
    "GB": ("London", "Manchester", "Norwich"),
    "ES": ("Alicante", "Málaga", "Barcelona", "Valencia"),
    "CW": ("Willemstad",),
    "SR": ("Paramaribo",),
}
"""Cities of members abroad; none of them is in ``CITY_PROVINCE``."""

PHONE_PREFIX: dict[str, str] = {
    "NL": "+316",
    "BE": "+324",
    "DE": "+4917",
    "FR": "+336",
    "GB": "+447",
    "ES": "+346",
    "CW": "+5999",
    "SR": "+5978",
}
"""Mobile-number prefix per country; eight random digits follow."""
