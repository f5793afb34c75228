"""The test suite's settings: the project's own, plus a fifth entity that lives only in tests/products (the proof
that a new entity plugs into the core without edits outside its folder)."""

from crm_site.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.products"]  # noqa: F405
