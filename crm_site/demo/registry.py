"""The demo generators' registry: each app's `demo.py` registers its own; the core names none of them.

`seed_demo` imports every installed app's `demo` module (Django's `autodiscover_modules`, as the admin
does) and runs the registered generators in the order of their `depends`, then the `after_seed` steps.
"""

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from .tables import CHANNELS

_registered = []  # Generator classes, as their modules register them
_after_seed = []  # (order, function)


def register(cls):
    """Class decorator: `cls` (a `Generator`) takes part in every `seed_demo` while its app is installed."""
    if cls not in _registered:
        _registered.append(cls)
    return cls


def after_seed(order=100):
    """Decorator: `func(*, users, seed, scale)` runs after the rows are in (lower `order` first) and returns
    a short summary for the command's output, or None."""

    def decorator(func):
        if all(f is not func for _o, f in _after_seed):
            _after_seed.append((order, func))
        return func

    return decorator


def _installed(obj):
    return apps.get_containing_app_config(obj.__module__) is not None


def discover():
    """The installed apps' generators in dependency order (importing each app's `demo` module registers them)."""
    autodiscover_modules("demo")
    app_order = {config.name: index for index, config in enumerate(apps.get_app_configs())}
    classes = sorted((cls for cls in _registered if _installed(cls)),
                     key=lambda cls: app_order[apps.get_containing_app_config(cls.__module__).name])
    return in_dependency_order(classes)


def after_seed_steps():
    autodiscover_modules("demo")
    return [func for _order, func in sorted(_after_seed, key=lambda item: item[0]) if _installed(func)]


def in_dependency_order(classes):
    """`classes` reordered so each comes after the ones it `depends` on; otherwise their order is kept."""
    by_key = {}
    for cls in classes:
        if cls.key in by_key:
            raise ImproperlyConfigured(f"two demo generators for '{cls.key}': {by_key[cls.key]} and {cls}")
        by_key[cls.key] = cls
    ordered, placed = [], set()

    def place(cls, path):
        if cls.key in placed:
            return
        if cls.key in path:
            raise ImproperlyConfigured(f"demo generators depend on each other in a circle: {' -> '.join(path)}")
        for key in cls.depends:
            if key not in by_key:
                raise ImproperlyConfigured(
                    f"demo generator {cls.__name__} depends on '{key}', which no installed app's demo module provides")
            place(by_key[key], (*path, cls.key))
        placed.add(cls.key)
        ordered.append(cls)

    for cls in classes:
        place(cls, ())
    return ordered


def write_order(classes):
    """The tables of the generators `classes`, in the order they are written (the core's channels last)."""
    return [spec for cls in classes for spec in cls.tables] + [CHANNELS]


def scale_unit(classes):
    """The one generator whose records `seed_demo --<its unit_option> N` counts."""
    units = [cls for cls in classes if cls.unit_option]
    if len(units) != 1:
        raise ImproperlyConfigured(f"exactly one demo generator must set unit_option, found {len(units)}")
    return units[0]
