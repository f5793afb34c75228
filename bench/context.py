from dataclasses import dataclass, field

from .harness import Reporter


@dataclass
class BenchContext:
    scale: int
    reporter: Reporter
    seed: int = 42
    repeat: int = 5
    state: dict = field(default_factory=dict)

    def emit(self, *args, **kwargs):
        return self.reporter.emit(*args, **kwargs)

    def ensure_seeded(self):
        """The base the benchmarks measure: `seed_demo` at the chosen scale (once per run)."""
        if not self.state.get("seeded"):
            from contacts.models import Contact

            if Contact.all_objects.count() < self.scale:
                from bench.benches.seed import run_seed

                run_seed(self)
            self.state["seeded"] = True
