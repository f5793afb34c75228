"""The test suite's settings: the project's own, plus a fifth entity that lives only in tests/products (the proof
that a new entity plugs into the core without edits outside its folder)."""

from crm_site.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.products"]  # noqa: F405

# Each test process keeps its own keys in a shared Redis cache: parallel workers (pytest-xdist) and other
# checkouts on the machine must not see each other's cached figures or custom-field stamps.
import os  # noqa: E402

for _cache in CACHES.values():  # noqa: F405
    if _cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        _cache["BACKEND"] = "tests.cache.PrefixedRedisCache"  # clear() leaves the broker's and others' keys
    _cache["KEY_PREFIX"] = "test:{}:{}".format(DATABASES["default"].get("NAME", ""),  # noqa: F405
                                               os.environ.get("PYTEST_XDIST_WORKER", "main"))
