"""Phones, tax ids and bank accounts the way people type them, with valid check digits.

Phones come as (as typed, E.164): the normalised value is known without parsing (`normalize_phone()` costs
~13 µs a row).
"""

from .pools import RU, RU_MOBILE_CODES, UA_MOBILE_CODES, UK, US_AREA_CODES


def digits(rng, n):
    """n random decimal digits."""
    return f"{rng.randrange(10**n):0{n}d}"


def _checksum(digits, weights, modulo=11):
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % modulo % 10


def inn_legal(rng, region):
    """Russian INN of an organisation: 10 digits, the last a check digit."""
    body = region + digits(rng, 7)
    return body + str(_checksum(body, (2, 4, 10, 3, 5, 9, 4, 6, 8)))


def inn_person(rng, region):
    """Russian INN of a person (individual entrepreneur): 12 digits, two check digits."""
    body = region + digits(rng, 8)
    body += str(_checksum(body, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))
    return body + str(_checksum(body, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))


def ogrn(rng, region, individual=False):
    """OGRN (13 digits) or OGRNIP (15 digits) with its check digit."""
    year = f"{rng.randint(2, 23):02d}"
    if individual:
        body = "3" + year + region + digits(rng, 9)
        return body + str(int(body) % 13 % 10)
    body = rng.choice("15") + year + region + digits(rng, 7)
    return body + str(int(body) % 11 % 10)


def edrpou(rng):
    """Ukrainian EDRPOU code of a legal entity: 8 digits, the last a check digit."""
    body = str(rng.randint(2000000, 4499999))
    number = int(body)
    weights = (1, 2, 3, 4, 5, 6, 7) if number < 3000000 or number > 6000000 else (7, 1, 2, 3, 4, 5, 6)
    check = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
    if check == 10:
        check = sum(int(d) * (w + 2) for d, w in zip(body, weights, strict=True)) % 11 % 10
    return body + str(check)


def rnokpp(rng):
    """Ukrainian individual tax number (РНОКПП) of a sole proprietor: 10 digits, the last a check digit."""
    body = str(rng.randint(200000000, 399999999))
    weights = (-1, 5, 7, 9, 4, 6, 10, 5, 7)
    return body + str(sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10)


def iban_ua(rng, mfo):
    account = "0000026" + digits(rng, 12)
    bban = mfo + account
    check = 98 - int(bban + "3010" + "00") % 97  # U=30, A=10
    return f"UA{check:02d}{bban}"


def _sub(rng, n=7):
    """n subscriber digits, not starting with 0 or 1."""
    return str(rng.randint(2 * 10 ** (n - 1), 10**n - 1))


def phone_ru(rng, code):
    """(as typed, E.164) for a Russian number with a 3-digit area/operator code."""
    s = _sub(rng)
    a, b, c = s[:3], s[3:5], s[5:]
    style = rng.randrange(4)
    if code[0] == "9":
        value = (f"+7 {code} {a}-{b}-{c}", f"8 ({code}) {a}-{b}-{c}", f"8-{code}-{a}-{b}-{c}", f"+7{code}{s}")[style]
    else:
        value = (f"8 ({code}) {a}-{b}-{c}", f"+7 ({code}) {a}-{b}-{c}", f"+7 {code} {a}-{b}-{c}", f"8 {code} {s}")[style]
    return value, f"+7{code}{s}"


def phone_ua(rng, code):
    """(as typed, E.164) for a Ukrainian number: always with +380/+38 so region RU cannot misread it."""
    s = _sub(rng)
    style = rng.randrange(4)
    value = (f"+380 {code} {s[:3]} {s[3:]}", f"+38 (0{code}) {s[:3]}-{s[3:5]}-{s[5:]}",
             f"+38 0{code} {s[:3]} {s[3:5]} {s[5:]}", f"+380{code}{s}")[style]
    return value, f"+380{code}{s}"


def phone_us(rng, area):
    line = f"{rng.randrange(10000):04d}"
    style = rng.randrange(3)
    value = (f"+1 {area} 555 {line}", f"+1 ({area}) 555-{line}", f"+1-{area}-555-{line}")[style]
    return value, f"+1{area}555{line}"


def mobile_phone(rng, locale):
    if locale == RU:
        return phone_ru(rng, rng.choice(RU_MOBILE_CODES))
    if locale == UK:
        return phone_ua(rng, rng.choice(UA_MOBILE_CODES))
    return phone_us(rng, rng.choice(US_AREA_CODES))


def city_phone(rng, locale, city):
    code = rng.choice(city[1])
    if locale == RU:
        return phone_ru(rng, code)
    if locale == UK:
        return phone_ua(rng, code)
    return phone_us(rng, code)

