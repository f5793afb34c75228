"""`seed_demo_data()`: the registered generators' rows written in one transaction, and the after-seed steps."""

import queue
import threading
import time
from dataclasses import dataclass, field

from django.db import transaction

from .generators import DemoRun
from .owners import demo_owners
from .registry import after_seed_steps, discover, scale_unit, write_order
from .tables import CHANNELS
from .writers import writer_for


@dataclass
class SeedResult:
    counts: dict
    seconds: float
    writer: str
    fast: bool
    phases: dict = field(default_factory=dict)  # what took how long (s): rows, reference check, indexes, ANALYZE


def _produce(run, writer, out, stop):
    """Worker thread: generate and prepare slices; hand over the end (None) or the error."""

    def put(item):
        while not stop.is_set():
            try:
                out.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    try:
        for slice_ in run:
            slice_.prepared = writer.prepare(slice_)
            if slice_.prepared is not None:
                slice_.rows = None  # the COPY text is all the writer needs
            if not put(slice_):
                return
        put(None)
    except BaseException as error:  # handed to the main thread, which re-raises it
        put(error)


def seed_demo_data(*, users, scale, seed, chunk=20_000, progress=None, connection=None, rebuild_indexes=None):
    """Generate and write the demo records (users must exist) for a scale of `scale` units. Returns a `SeedResult`.

    Generation (and COPY text formatting) runs in a worker thread while the main thread writes, so on
    PostgreSQL the database and Python work in parallel. Everything is one transaction.
    """
    from django.db import connection as default_connection

    connection = connection or default_connection
    writer = writer_for(connection, rebuild_indexes=rebuild_indexes)
    started = time.perf_counter()
    with transaction.atomic(using=connection.alias):
        run = DemoRun(seed=seed, scale=scale, owners=demo_owners(users), chunk=chunk)
        totals = {spec.key: 0 for spec in run.tables}
        run.ids.update(writer.begin(run.layout, {u.pk: u for u in users.values()}, scale=run.scale))
        slices = queue.Queue(maxsize=2)
        stop = threading.Event()
        worker = threading.Thread(target=_produce, args=(run, writer, slices, stop), daemon=True,
                                  name="seed-demo-generator")
        worker.start()
        try:
            while True:
                item = slices.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                writer.write(item)
                for key in totals:
                    totals[key] += item.counts.get(key, 0)
                if progress:
                    progress(item.index + 1, run.slices, dict(totals), time.perf_counter() - started)
        finally:
            stop.set()
            worker.join()
        phases = {"rows and history": time.perf_counter() - started}
        writer.finish()
    phases.update(writer.timings)
    if writer.fast:
        analyzed = time.perf_counter()
        writer.analyze()
        phases["ANALYZE"] = time.perf_counter() - analyzed
    return SeedResult(totals, time.perf_counter() - started, writer.label, writer.fast, phases)


def scale_generator():
    """The generator class whose records the scale counts (its `unit_option` names seed_demo's size option)."""
    return scale_unit(discover())


def tables():
    """Every table the installed apps' generators fill, in write order."""
    return write_order(discover())


def existing_units():
    """How many records of the scale unit are already there, the bin included."""
    return scale_generator().tables[0].model._base_manager.count()


def summary(counts, *, entities_only=False):
    """'<n> <label>, <n> <label>, …': the scale unit's records first, then each generator's main records, then
    (unless `entities_only`) their phones/e-mails/links and the generators' other tables that have a label."""
    classes = discover()
    unit = scale_unit(classes)
    specs = [unit.tables[0]] + [cls.tables[0] for cls in classes if cls is not unit]
    if not entities_only:
        specs += [CHANNELS] + [spec for cls in classes for spec in cls.tables[1:]]
    return ", ".join(f"{counts.get(spec.key, 0)} {spec.label}" for spec in specs if spec.label)


def run_after_seed(*, users, seed, scale):
    """The after-seed steps of the installed apps (timeline activity, match keys...); their summaries."""
    notes = (step(users=users, seed=seed, scale=scale) for step in after_seed_steps())
    return [note for note in notes if note]
