"""Word pools for the seeder, drawn once from Faker (es_ES and en_US) with a fixed seed.

Calling Faker per row costs ~30 µs a call; drawing ~10 values for a million customers that
way takes minutes. The seeder instead combines values from these pools with its own
``random.Random``, which is fast and, given the same seed, gives the same data."""

from __future__ import annotations

from dataclasses import dataclass, field

from faker import Faker

from vinculo.core.normalize import fold

POOL_SIZE = 400

# Real area codes so that every generated US number is a valid one.
US_AREAS = {
    "New York": ("NY", "212"),
    "Los Angeles": ("CA", "213"),
    "Chicago": ("IL", "312"),
    "Houston": ("TX", "713"),
    "Phoenix": ("AZ", "602"),
    "Philadelphia": ("PA", "215"),
    "San Antonio": ("TX", "210"),
    "San Diego": ("CA", "619"),
    "Dallas": ("TX", "214"),
    "Austin": ("TX", "512"),
    "Miami": ("FL", "305"),
    "Seattle": ("WA", "206"),
    "Boston": ("MA", "617"),
    "Denver": ("CO", "303"),
    "Atlanta": ("GA", "404"),
    "San Francisco": ("CA", "415"),
}
ES_CITIES = {
    "Madrid": ("Madrid", "28", "91"),
    "Barcelona": ("Barcelona", "08", "93"),
    "Valencia": ("Valencia", "46", "96"),
    "Sevilla": ("Sevilla", "41", "95"),
    "Zaragoza": ("Zaragoza", "50", "976"),
    "Málaga": ("Málaga", "29", "952"),
    "Murcia": ("Murcia", "30", "968"),
    "Palma": ("Illes Balears", "07", "971"),
    "Bilbao": ("Bizkaia", "48", "94"),
    "Alicante": ("Alicante", "03", "965"),
    "Córdoba": ("Córdoba", "14", "957"),
    "Valladolid": ("Valladolid", "47", "983"),
    "Vigo": ("Pontevedra", "36", "986"),
    "Gijón": ("Asturias", "33", "985"),
    "A Coruña": ("A Coruña", "15", "981"),
    "Granada": ("Granada", "18", "958"),
    "Oviedo": ("Asturias", "33", "985"),
    "Santander": ("Cantabria", "39", "942"),
    "Pamplona": ("Navarra", "31", "948"),
    "San Sebastián": ("Gipuzkoa", "20", "943"),
    "Salamanca": ("Salamanca", "37", "923"),
    "Cáceres": ("Cáceres", "10", "927"),
    "Logroño": ("La Rioja", "26", "941"),
    "Toledo": ("Toledo", "45", "925"),
}
# Weighted towards the big cities, like a real customer base.
ES_CITY_WEIGHTS = [30, 22, 9, 8, 6, 6, 4, 4, 5, 4] + [2] * (len(ES_CITIES) - 10)
US_CITY_WEIGHTS = [14, 12, 9, 7, 5, 5, 4, 4, 5, 5, 6, 5, 5, 4, 4, 6]

PERSONAL_DOMAINS = {
    "es": ["gmail.com", "hotmail.com", "yahoo.es", "outlook.es", "telefonica.net", "icloud.com"],
    "en": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "hotmail.com"],
}
PERSONAL_DOMAIN_WEIGHTS = [45, 20, 10, 12, 5, 8]
COMPANY_SUFFIXES = {
    "es": ["SL", "SA", "SLU", "Sociedad Cooperativa"],
    "en": ["Inc.", "LLC", "Corp."],
}

OCCUPATIONS = {
    "es": [
        "Profesor",
        "Enfermera",
        "Ingeniera",
        "Abogado",
        "Administrativo",
        "Comercial",
        "Arquitecta",
        "Médico",
        "Electricista",
        "Diseñadora",
        "Contable",
        "Farmacéutica",
        "Programador",
        "Autónomo",
        "Estudiante",
        "Jubilado",
    ],
    "en": [
        "Teacher",
        "Nurse",
        "Engineer",
        "Lawyer",
        "Accountant",
        "Sales manager",
        "Architect",
        "Physician",
        "Electrician",
        "Designer",
        "Software developer",
        "Consultant",
        "Student",
        "Retired",
    ],
}
BRANDS = [
    "Zara",
    "Mango",
    "El Corte Inglés",
    "Mercadona",
    "Decathlon",
    "Apple",
    "Samsung",
    "Nike",
    "Adidas",
    "IKEA",
    "Seat",
    "Movistar",
    "Amazon",
    "Patagonia",
    "Levi's",
]
TAGS = [
    "vip",
    "newsletter",
    "b2b",
    "feria-2025",
    "referido",
    "recompra",
    "moroso",
    "prensa",
    "partner",
    "beta",
    "black-friday",
    "fidelizacion",
]
SOURCES = ["web", "referral", "event", "cold_call", "advertising", "social", "partner", "import"]
SOURCE_WEIGHTS = [30, 15, 10, 10, 12, 10, 5, 8]


@dataclass
class LocalePool:
    lang: str
    country: str
    male_first: list[str] = field(default_factory=list)
    female_first: list[str] = field(default_factory=list)
    last: list[str] = field(default_factory=list)
    streets: list[str] = field(default_factory=list)
    company_words: list[str] = field(default_factory=list)


def _unique(values, limit: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for v in values:
        v = v.strip()
        if v and v not in seen:
            seen.add(v)
            out.append(v)
        if len(out) >= limit:
            break
    return out


def build_pools(seed: int) -> dict[str, LocalePool]:
    pools = {}
    for lang, locale, country in (("es", "es_ES", "ES"), ("en", "en_US", "US")):
        fake = Faker(locale)
        fake.seed_instance(seed)
        pool = LocalePool(lang=lang, country=country)
        pool.male_first = _unique((fake.first_name_male() for _ in range(POOL_SIZE * 3)), 200)
        pool.female_first = _unique((fake.first_name_female() for _ in range(POOL_SIZE * 3)), 200)
        pool.last = _unique((fake.last_name() for _ in range(POOL_SIZE * 4)), POOL_SIZE)
        pool.streets = _unique((fake.street_name() for _ in range(POOL_SIZE * 2)), POOL_SIZE)
        words = (fake.last_name() if i % 2 else fake.word().capitalize() for i in range(900))
        pool.company_words = _unique(words, 300)
        pools[lang] = pool
    return pools


def slug(text: str) -> str:
    """ "Núñez García" -> "nunezgarcia" (for email local parts and domains)."""
    return "".join(c for c in fold(text) if c.isalnum())
