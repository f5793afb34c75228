"""`import`: baselines for the import issue (COPY in, django-import-export), and the import's phase A: reading a
file into typed, normalised rows (dedup.importing), the part of the import that runs in Python per row.

Parse figures: a contacts CSV as the issue's workload describes it (names, two phones in mixed formats, email,
company, position; Windows-1251, ";"), 100,000 rows at the default scale (20 rows a seeded contact, at least
2,000), read by `open_import_file` + `auto_map` + `RowMapper` against `csv.reader` alone on the same file. Peak
memory: the same reader on that file and on one ten times longer (1,000,000 rows at the default scale): the
file is streamed, so the peak should hardly move (goal: at most 1.3x). The phone figure compares the fast path
for Russian/Ukrainian shapes with phonenumbers on the same values.
"""

import csv
import os
import random
import tempfile
import time

from django.test.utils import override_settings

from contacts.models import Contact

from ..baselines import copy_in, copy_out, import_export_contacts
from ..harness import peak_rss_mb, reset_peak_rss
from .seed import CONTACT_COLUMNS

NAME = "import"
IMPORT_EXPORT_SAMPLE = 2000  # ~445 rows/s: keep the default run short
HEADER = ["Фамилия", "Имя", "Отчество", "Телефон", "Мобильный", "E-mail", "Компания", "Должность"]
LAST_NAMES = ["Иванов", "Петрова", "Сидоренко", "Кузнецов", "Смирнова", "Шевченко", "Попов", "Коваленко"]
FIRST_NAMES = ["Иван", "Мария", "Олег", "Анна", "Сергей", "Олена", "Дмитрий", "Татьяна"]


def run(ctx):
    ctx.ensure_seeded()
    data, rows, _ = copy_out("contacts_contact", CONTACT_COLUMNS)
    copy_seconds = copy_in("contacts_contact", CONTACT_COLUMNS, data)
    ctx.emit(NAME, "copy_in_rows_per_s", rows / copy_seconds, unit="rows/s", note="PostgreSQL COPY: the physical limit")
    sample = list(
        Contact.objects.values_list("last_name", "first_name", "middle_name", "position")[: min(ctx.scale, IMPORT_EXPORT_SAMPLE)]
    )
    owner = Contact.objects.select_related("owner").first().owner
    imported, seconds = import_export_contacts(sample, owner)
    ctx.emit(NAME, "import_export_rows_per_s", imported / seconds, unit="rows/s",
             baseline="PostgreSQL COPY into a staging table", baseline_value=rows / copy_seconds,
             note="plain django-import-export ModelResource, defaults; our importer comes with the import issue")
    parse_figures(ctx)


def parse_figures(ctx):
    rows = min(100_000, max(2_000, ctx.scale * 20))
    with tempfile.TemporaryDirectory(prefix="crm-bench-import-") as directory:
        small = os.path.join(directory, "contacts.csv")
        large = os.path.join(directory, "contacts-x10.csv")
        write_contacts_csv(small, rows, seed=ctx.seed)
        raw_seconds = _best(lambda: _raw_csv(small), ctx.repeat)
        parsed_rows, seconds = _best_timed(lambda: parse_file(small), ctx.repeat)
        ctx.emit(NAME, "parse_rows_per_s", parsed_rows / seconds, unit="rows/s",
                 baseline="csv.reader alone on the same file", baseline_value=rows / raw_seconds, rows=rows,
                 note="file checks, encoding and delimiter detection, mapping, typed values, names, phones to E.164, "
                      "emails, company links; the ratio is the share of csv.reader's speed kept")
        _phone_figure(ctx)
        reset_peak_rss()
        parse_file(small)
        small_peak = peak_rss_mb()
        write_contacts_csv(large, rows * 10, seed=ctx.seed + 1)
        # 1M rows of this file are ~100 MB: over the default 50 MB limit, raised for the measurement only.
        with override_settings(CRM_IMPORT_MAX_FILE_SIZE=os.path.getsize(large), CRM_IMPORT_MAX_ROWS=rows * 10):
            reset_peak_rss()
            parse_file(large)
            large_peak = peak_rss_mb()
        ctx.emit(NAME, "parse_peak_rss_x10_rows_mb", large_peak, unit="MB",
                 baseline=f"peak RSS reading {rows:,} rows", baseline_value=small_peak, goal="<= 1.3",
                 rows=rows * 10, file_mb=round(os.path.getsize(large) / 1024 / 1024, 1),
                 note="whole-process peak; the file is streamed row by row")


def write_contacts_csv(path, rows, *, seed):
    """Windows-1251, ";": what Russian Excel writes. Phones in the shapes people type them."""
    rnd = random.Random(seed)
    with open(path, "w", encoding="cp1251", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for number in range(rows):
            writer.writerow([
                rnd.choice(LAST_NAMES), rnd.choice(FIRST_NAMES), "Петрович" if number % 3 else "",
                _phone(rnd), _phone(rnd), f"client{number}@example.ru", f"ООО Компания {number % 5000}",
                "Менеджер" if number % 2 else "Директор",
            ])


def _phone(rnd):
    code = rnd.choice(["495", "499", "812", "916", "903", "926", "977"])
    digits = f"{rnd.randrange(10_000_000):07d}"
    shapes = (f"8 ({code}) {digits[:3]}-{digits[3:5]}-{digits[5:]}", f"+7 {code} {digits[:3]} {digits[3:5]} {digits[5:]}",
              f"8{code}{digits}", f"+7({code}){digits}", f"{code}-{digits[:3]}-{digits[3:5]}-{digits[5:]}",
              f"+7 {code} {digits} доб. {rnd.randrange(100)}", f"+380 44 {digits[:3]} {digits[3:]}")
    return rnd.choice(shapes)


def parse_file(path):
    from dedup.importing import RowMapper, auto_map, guess_file_locale, open_import_file

    count = 0
    with open_import_file(path) as parsed:
        mapping = auto_map(parsed.headers, "contact", file_format=parsed.format)
        mapper = RowMapper("contact", mapping, locale=guess_file_locale(parsed, mapping))
        for _row in mapper.rows(parsed):
            count += 1
    return count


def _raw_csv(path):
    with open(path, encoding="cp1251", newline="") as handle:
        for _row in csv.reader(handle, delimiter=";"):
            pass


def _phone_figure(ctx):
    from crm_site.normalize import normalize_phone as slow
    from dedup.importing.values import normalize_phone as fast

    rnd = random.Random(ctx.seed)
    values = [_phone(rnd) for _ in range(20_000)]
    fast_seconds = _best(lambda: [fast(value, "RU") for value in values], ctx.repeat)
    slow_seconds = _best(lambda: [slow(value, "RU") for value in values], max(1, ctx.repeat // 2))
    ctx.emit(NAME, "phones_per_s", len(values) / fast_seconds, unit="phones/s",
             baseline="phonenumbers parse + format (crm_site.normalize)", baseline_value=len(values) / slow_seconds,
             note="same E.164 result; the shortcut takes +7/8/7 + 10 digits and +380/0 + 9 digits")


def _best(fn, repeat):
    return _best_timed(lambda: (fn(), None)[1], repeat)[1]


def _best_timed(fn, repeat):
    best = None
    result = None
    for _ in range(max(1, min(repeat, 3))):
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    return result, best
