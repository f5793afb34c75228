"""What an app's demo generator is (`Generator`) and what drives them all (`DemoRun`).

Determinism: the generators draw from one `QuickRandom(seed)` (unless one has `own_stream`), and `DemoRun`
calls them in a fixed order (slices, rounds, generators in dependency order), so a seed always gives the
same rows.
"""

import functools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone

from .fake import CoreRefs, Fake, QuickRandom
from .owners import OwnerSchedule, owner_quotas
from .pools import build_pools
from .registry import discover, scale_unit, write_order
from .tables import CHANNELS, Layout

# Scale units per round: small enough that what a generator made is still in its per-owner recent pools
# (300 records and up) when the generators after it link to it.
ROUND_SIZE = 300


class Generator:
    """One app's demo records. Subclass in the app's `demo.py`, set the class attributes, register it.

    `make(rows, window)` adds one record (and its links, phones...) to the slice's `rows` ({table key:
    [row tuple]}), created within `window` (epoch seconds). `DemoRun` calls it `requested(scale)` times in
    all (grown to the owners' minimums), round by round after the generators this one `depends` on, so it
    can link to what they made recently (`self.run.generator(key)` gives their instance). `__init__(run)`
    runs in the seed's transaction and may read the reference lists the generator points at.
    """

    key = ""  # the main table's key: how other generators and the seed's counts name it
    depends = ()  # keys of the generators whose records this one links to
    tables = ()  # its TableSpecs, the main one (key == self.key) first
    unit_option = None  # set on exactly one generator: its records are what `seed_demo --<unit_option> N` counts
    # False: draw from the run's one stream (the first four generators do, so their seeds keep their data).
    # True: from a stream of its own (seed and key), so that adding this generator changes nobody else's data.
    own_stream = False

    def __init__(self, run):
        from django.contrib.contenttypes.models import ContentType

        self.run = run
        if self.own_stream:
            self.rng = QuickRandom(f"{run.seed}:{self.key}")
            self.fake = Fake(self.rng, run.fake.pools, run.refs)
        else:
            self.rng, self.fake = run.rng, run.fake
        # Read here, not in make(): slices are made in a thread of their own, which must not open a connection.
        self.content_type_id = ContentType.objects.get_for_model(self.tables[0].model).pk
        quotas = owner_quotas(run.owners, self.requested(run.scale))
        self.schedule = OwnerSchedule(run.owners, quotas)
        self.total = self.schedule.total

    @classmethod
    def requested(cls, scale):
        """How many records a scale asks for, before the owners' minimums."""
        return scale

    def initial_states(self):
        """{table key: InitialState} of the records seeded in a later state than they were created in."""
        return {}

    def make(self, rows, window):
        raise NotImplementedError

    def after(self, moment, low, high):
        """A moment `low`..`high` seconds after `moment`, squeezed (not clipped) so it is never in the future."""
        high = min(high, self.run.now - moment)
        return moment + self.rng.randint(min(low, max(high, 0)), max(high, 0))

    def channel(self, rows, object_id, channel, kind, value, normalized, primary, position):
        """A phone, e-mail, messenger or web link of one of this generator's records."""
        rows[CHANNELS.key].append((self.run.next_id(CHANNELS.key), self.content_type_id, object_id, channel, kind,
                                   value, normalized, primary, position))


@dataclass
class Slice:
    index: int
    rows: dict  # table key -> [tuple]
    id_ranges: dict  # table key -> (first id, last id) for explicit-id tables with rows
    counts: dict = field(default_factory=dict)  # table key -> rows
    prepared: object = None  # what the writer made of the rows (COPY text), off the main thread


@functools.cache
def _times_of_day():
    """'HH:MM:SS+00:00' for every second of a day (built once: a lookup is 6x quicker than formatting)."""
    two = [f"{n:02d}" for n in range(60)]
    return [f"{h}:{m}:{s}+00:00" for h in two[:24] for m in two for s in two]


def _split(total, parts, index):
    return total * (index + 1) // parts - total * index // parts


class DemoRun:
    """One seed: the generators, what they share (random stream, pools, ids, moments, owners), the slices.

    Built inside the seed's transaction (generators read their reference lists); `ids` must be started
    from the writer's first ids (`ids.update(writer.begin(...))`) before iterating. Iterating yields
    `Slice`s of about `chunk` scale units; deterministic for a given seed, scale, owners, first ids and now.
    """

    def __init__(self, *, seed, scale, owners, chunk=20_000, now=None, pools=None, generators=None):
        self.seed = seed
        self.rng = QuickRandom(seed)
        self.scale = max(int(scale), 0)
        self.owners = owners
        now = now or timezone.now()
        self.now = int(now.timestamp())
        self.start = self.now - 730 * 86400
        self.day_prefix = {}
        self.times = _times_of_day()
        self.ids = {}
        self.refs = CoreRefs.load()
        self.fake = Fake(self.rng, pools or build_pools(seed), self.refs)
        classes = generators if generators is not None else discover()
        self.generators = {}
        for cls in classes:  # in dependency order: a generator may look at those before it
            self.generators[cls.key] = cls(self)
        self.unit = self.generators[scale_unit(classes).key]
        self.tables = write_order(classes)
        self.slices = max(1, math.ceil(self.unit.total / max(chunk, 1)))

    @property
    def layout(self):
        states = {}
        for generator in self.generators.values():
            states.update(generator.initial_states())
        return Layout(tables=self.tables, unit=self.unit.tables[0], states=states)

    def generator(self, key):
        return self.generators[key]

    def next_id(self, key):
        value = self.ids[key]
        self.ids[key] = value + 1
        return value

    def ts(self, seconds):
        """The moment as ISO 8601 text in UTC: COPY reads it as is (formatting 160,000 datetimes a slice was the
        costliest part of the COPY text), the ORM writer parses it back."""
        day, rest = divmod(seconds, 86400)
        prefix = self.day_prefix.get(day)
        if prefix is None:
            prefix = self.day_prefix[day] = self.date(seconds).isoformat() + " "
        return prefix + self.times[rest]

    def date(self, seconds):
        return datetime.fromtimestamp(seconds, UTC).date()

    def __iter__(self):
        """Slices of about `chunk` scale units; inside a slice, small rounds (each generator in turn) so that
        a record is still in its owner's recent pool when a later generator picks one to link to."""
        span = self.now - self.start
        generators = list(self.generators.values())
        for index in range(self.slices):
            rows = {spec.key: [] for spec in self.tables}
            first = dict(self.ids)
            counts = {g.key: _split(g.total, self.slices, index) for g in generators}
            lo = self.start + span * index // self.slices
            hi = self.start + span * (index + 1) // self.slices
            rounds = max(1, counts[self.unit.key] // ROUND_SIZE)
            for round_ in range(rounds):
                start = lo + (hi - lo) * round_ // rounds
                end = lo + (hi - lo) * (round_ + 1) // rounds
                window = (start, max(start, end - 1))
                for generator in generators:
                    make = generator.make
                    for _ in range(_split(counts[generator.key], rounds, round_)):
                        make(rows, window)
            id_ranges = {key: (first[key], self.ids[key] - 1) for key in first if self.ids[key] > first[key]}
            yield Slice(index, rows, id_ranges, {key: len(value) for key, value in rows.items()})
