"""Helpers of the API tests: tokens, JSON clients and valid record data for any registered entity."""

import json

from django.test import Client

from crm_site.api import tokens
from tests.factories import post_data


def make_token(user, scopes=None, **extra):
    from crm_site.api.models import ApiToken

    scopes = scopes or {"*": ["read", "write"]}
    if user.is_superuser or extra.pop("force", True):
        # past the "may make tokens" right: a factory
        import secrets

        prefix = secrets.token_hex(4)
        raw = f"{tokens.KEY_PREFIX}{prefix}_{secrets.token_urlsafe(16)}"
        token = ApiToken.objects.create(user=user, name=extra.get("name", "test"), prefix=prefix,
                                        key_hash=tokens.hash_key(raw), scopes=scopes,
                                        expires_at=extra.get("expires_at"))
        return token, raw
    return tokens.token_create(actor=user, user=user, name="test", scopes=scopes)


class Api:
    """A JSON client with a token: api.get(path, **params), api.post(path, data, **headers)..."""

    def __init__(self, raw=None, client=None):
        self.client = client or Client(headers={"accept-language": "en"})
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}

    def get(self, path, params=None, **headers):
        return self.client.get(path, params or {}, **self.headers, **headers)

    def _send(self, method, path, data, headers):
        return getattr(self.client, method)(path, json.dumps(data), content_type="application/json",
                                            **self.headers, **headers)

    def post(self, path, data=None, **headers):
        return self._send("post", path, data if data is not None else {}, headers)

    def patch(self, path, data=None, **headers):
        return self._send("patch", path, data if data is not None else {}, headers)

    def delete(self, path, **headers):
        return self.client.delete(path, **self.headers, **headers)


def api_for(user, scopes=None):
    _token, raw = make_token(user, scopes)
    return Api(raw)


def record_data(entity_key, owner=None):
    """Valid JSON data for POST /api/v1/<entity>/ (the form's data, typed: ids as numbers)."""
    data = post_data(entity_key, owner, channels=False)
    out = {}
    for name, value in data.items():
        if isinstance(value, list):
            out[name] = [int(v) if str(v).isdigit() else v for v in value]
        elif name == "opened":
            out[name] = value == "on"
        else:
            out[name] = value
    return out
