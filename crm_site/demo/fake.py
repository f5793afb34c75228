"""Quick seeded randomness and the entity-agnostic values every generator draws: people, places, money.

Everything here draws from the one `QuickRandom` of the run, in the order the generators call it: that
order is what makes a seed give the same data, so a helper must never draw more or less than it did.
"""

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from .pools import AMOUNT_RANGES, CURRENCIES, EN, FREE_MAIL, LOCALE_WEIGHTS, RU, UK


class QuickRandom(random.Random):
    """random.Random whose integer picks scale one random() float instead of drawing bits until one fits:
    several times cheaper per call; the bias (at most n / 2**53) does not matter for demo data."""

    def _randbelow(self, n):
        return int(self.random() * n)

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randrange(self, start, stop=None, step=1):
        if stop is None:
            start, stop = 0, start
        if step != 1 or stop <= start:
            return super().randrange(start, stop, step)
        return start + int(self.random() * (stop - start))

    def randint(self, a, b):
        return a + int(self.random() * (b - a + 1))


class Weighted:
    """Picks a value of [(value, weight)] by weight: cumulative weights computed once, then a bisection."""

    def __init__(self, pairs):
        self.values = [value for value, _weight in pairs]
        self.cumulative = list(itertools.accumulate(weight for _value, weight in pairs))

    def pick(self, rng):
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


@dataclass
class CoreRefs:
    """Ids of the core's seeded lists that records of any kind point at."""

    sources: list
    client_types: dict  # code -> id
    industries: list
    currencies: dict  # code -> id

    @classmethod
    def load(cls):
        from crm_site.models import ClientType, Currency, Industry, Source

        return cls(
            sources=list(Source.objects.order_by("order", "pk").values_list("pk", flat=True)),
            client_types=dict(ClientType.objects.values_list("code", "pk")),
            industries=list(Industry.objects.order_by("order", "pk").values_list("pk", flat=True)),
            currencies=dict(Currency.objects.values_list("code", "pk")),
        )


class Fake:
    """People, places and money for any record, from the run's random stream and the seed's pools."""

    def __init__(self, rng, pools, refs):
        self.rng, self.pools, self.refs = rng, pools, refs
        self.locales = Weighted(LOCALE_WEIGHTS)
        self.currencies = {locale: Weighted(pairs) for locale, pairs in CURRENCIES.items()}
        type_weights = [(refs.client_types.get(code), w) for code, w in
                        (("client", 70), ("partner", 12), ("supplier", 10), ("competitor", 3), ("other", 5))
                        if code in refs.client_types]
        self.type_weights = Weighted(type_weights) if type_weights else None

    def locale(self):
        return self.locales.pick(self.rng)

    def city(self, locale):
        rows, cum = self.pools.cities[locale]
        r = self.rng.random() * cum[-1]
        for row, c in zip(rows, cum, strict=True):
            if r < c:
                return row
        return rows[-1]

    def address(self, locale, city, office=True):
        rng = self.rng
        street = rng.choice(self.pools.streets[locale])
        postcode = rng.randint(*city[2])
        if locale == RU:
            text = f"{postcode}, г. {city[0]}, {street}, д. {rng.randint(1, 180)}"
            if office and rng.random() < 0.6:
                text += f", офис {rng.randint(1, 900)}"
            return text
        if locale == UK:
            text = f"{postcode:05d}, м. {city[0]}, {street}, {rng.randint(1, 180)}"
            if office and rng.random() < 0.6:
                text += f", оф. {rng.randint(1, 600)}"
            return text
        suite = f", Suite {rng.randint(100, 3900)}" if office and rng.random() < 0.4 else ""
        return f"{rng.randint(1, 2999)} {street}{suite}, {city[0]}, {city[4]} {postcode:05d}"

    def person(self, locale, gender=None):
        """(gender, last, first, middle, last in Latin, first in Latin)."""
        rng = self.rng
        gender = gender or ("m" if rng.random() < 0.55 else "f")
        first, first_lat = rng.choice(self.pools.first[locale, gender])
        last, last_lat = rng.choice(self.pools.last[locale, gender])
        middle = rng.choice(self.pools.middle[locale, gender]) if locale != EN else ""
        return gender, last, first, middle, last_lat, first_lat

    def personal_email(self, locale, last_lat, first_lat):
        rng = self.rng
        style = rng.randrange(4)
        number = rng.randint(1, 9999)
        local = (f"{first_lat}.{last_lat}{number}", f"{last_lat}.{first_lat}{number % 100}",
                 f"{first_lat[:1]}{last_lat}{number}", f"{last_lat}{number}")[style]
        return f"{local}@{rng.choice(FREE_MAIL[locale])}"

    def currency(self, locale):
        """(code, id) of a currency usual in the locale."""
        code = self.currencies[locale].pick(self.rng)
        return code, self.refs.currencies.get(code)

    def amount(self, code):
        """A round sum of money in the currency, log-uniform over its usual range."""
        rng = self.rng
        low, high = AMOUNT_RANGES.get(code, (1000, 1_000_000))
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
        step = 1000 if value > 100_000 else 100 if value > 5000 else 10
        return Decimal(int(value // step * step))

    def client_type(self):
        """A client type id (most are clients), None when the list is empty."""
        return self.type_weights.pick(self.rng) if self.type_weights else None
