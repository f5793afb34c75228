"""The test suite's Redis cache: `clear()` deletes this test process's keys only.

Django's RedisCache.clear() flushes the whole Redis database, and in the tests that database is also the Celery
broker's and the other test processes' (pytest-xdist): a test clearing the cache could drop a task another
process had just queued for its worker (seen: a worker killed mid-batch that had received nothing)."""

from django.core.cache.backends.redis import RedisCache


class PrefixedRedisCache(RedisCache):
    def clear(self):
        client = self._cache.get_client(write=True)
        keys = list(client.scan_iter(match=self.make_key("*"), count=1000))
        if keys:
            client.delete(*keys)
        return True
