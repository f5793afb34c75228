"""The deployment files hold together: compose parses, production settings pass `check --deploy`,
Celery's beat schedule loads, and the Makefile and .ci/run do what the README says."""

import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SERVICES = {"postgres", "redis", "web", "worker", "beat"}


def run(args, env=None, **kwargs):
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=kwargs.pop("timeout", 120), **kwargs
    )


def production_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        CRM_PRODUCTION="1",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="crm.example.com",
        CSRF_TRUSTED_ORIGINS="https://crm.example.com",
        DJANGO_SETTINGS_MODULE="crm_site.settings",
    )
    env.update(extra)
    return env


# --- docker-compose.yml -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    """The docker-compose command, reading an empty env file so a local .env can't change the result."""
    binary = shutil.which("docker-compose")
    if binary is None:
        if IN_CI:
            pytest.fail(
                "docker-compose is not installed: .ci/run installs it (apt-get install docker-compose)"
            )
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    env_file = tmp_path_factory.mktemp("compose") / "empty.env"
    env_file.write_text("")
    return [binary, "--env-file", str(env_file), "-f", "docker-compose.yml"]


def service_blocks(config_text):
    """Service name -> its lines, from the normalised YAML that `docker-compose config` prints."""
    blocks, current, in_services = {}, None, False
    for line in config_text.splitlines():
        if re.match(r"^\S", line):
            in_services = line.rstrip() == "services:"
            current = None
            continue
        if not in_services:
            continue
        match = re.match(r"^  ([\w.-]+):\s*$", line)
        if match:
            current = match.group(1)
            blocks[current] = []
        elif current:
            blocks[current].append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def test_compose_file_parses(compose):
    env = production_env()
    result = run([*compose, "config"], env=env)
    assert result.returncode == 0, result.stderr
    blocks = service_blocks(result.stdout)
    assert set(blocks) == SERVICES
    for name, block in blocks.items():
        assert "healthcheck:" in block, f"service {name} has no healthcheck"
    for name in ("web", "worker", "beat"):
        assert "CRM_PRODUCTION: '1'" in blocks[name]
        assert "DATABASE_URL: postgres://" in blocks[name] and "@postgres:5432/" in blocks[name]
        assert "REDIS_URL: redis://redis:6379/" in blocks[name]
        assert "condition: service_healthy" in blocks[name]
    assert "migrate --noinput" in blocks["web"] and "gunicorn crm_site.wsgi" in blocks["web"]
    assert "worker" in blocks["worker"] and "beat" in blocks["beat"]

    volumes = run([*compose, "config", "--volumes"], env=env)
    assert volumes.returncode == 0, volumes.stderr
    assert {"pgdata", "media"} <= set(volumes.stdout.split())


def test_compose_requires_a_secret_key(compose):
    env = production_env()
    del env["SECRET_KEY"]
    result = run([*compose, "config"], env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_dockerfile_runs_unprivileged_and_collects_static():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert "collectstatic --noinput" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env", "db.sqlite3"} <= ignored


# --- production settings ----------------------------------------------------------------------


def test_check_deploy_is_clean_in_production_mode():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=production_env()
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "ERRORS" not in output, output


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    env.pop("DEBUG")
    result = run([sys.executable, "manage.py", "check"], env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# --- Celery -----------------------------------------------------------------------------------


def test_celery_beat_schedule_names_registered_tasks():
    from crm_site.celery import app

    schedule = app.conf.beat_schedule
    assert isinstance(schedule, dict)
    app.loader.import_default_modules()  # autodiscovers every app's tasks.py
    for name, entry in schedule.items():
        assert "schedule" in entry, f"beat entry {name} has no schedule"
        assert entry["task"] in app.tasks, f"beat entry {name} runs unknown task {entry['task']}"


# --- Makefile, .ci/run, README ------------------------------------------------------------------


def test_ci_script_is_executable_and_parses():
    script = ROOT / ".ci" / "run"
    assert script.stat().st_mode & stat.S_IXUSR, ".ci/run is not executable"
    result = run(["bash", "-n", str(script)])
    assert result.returncode == 0, result.stderr
    text = script.read_text()
    assert "set -euo pipefail" in text
    assert re.search(r"^\s*(if ! )?make test\b", text, re.M), ".ci/run must run README's `make test`"


@pytest.mark.parametrize(
    "target, expected",
    [
        ("run", ["migrate --noinput", "seed_demo", "runserver 127.0.0.1:8000"]),
        ("test", ["-m pytest"]),
        ("bench", ["-m bench"]),
        ("lint", ["ruff check"]),
    ],
)
def test_make_targets(target, expected):
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    result = run(["make", "-n", target, "PORT=8000"])
    assert result.returncode == 0, result.stderr
    for fragment in expected:
        assert fragment in result.stdout, f"`make -n {target}` does not run {fragment!r}:\n{result.stdout}"


def test_make_passes_pytest_args_through():
    result = run(["make", "-n", "test", "PYTEST_ARGS=-k infra_marker_probe"])
    assert result.returncode == 0, result.stderr
    assert "-m pytest -n 2 -k infra_marker_probe" in result.stdout  # two parallel workers by default
    result = run(["make", "-n", "test", "PYTEST_WORKERS=0", "PYTEST_ARGS=-k infra_marker_probe"])
    assert "-m pytest -n 0 -k infra_marker_probe" in result.stdout


def test_readme_quick_start_commands_are_make_targets():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("make run", "make test", "make bench", "make messages"):
        assert command in readme
    for login in ("admin", "head", "manager1", "manager2", "marketer"):
        assert login in readme


def test_the_test_cache_clears_only_its_own_keys(settings):
    """tests/cache.py: clearing the cache must not flush the Redis database the Celery broker and the other test
    processes use."""
    from django.core.cache import cache

    if not settings.REDIS_URL:
        pytest.skip("the cache is Redis only with REDIS_URL")
    client = cache._cache.get_client(write=True)
    client.set("not-this-process:key", "kept")
    cache.set("mine", 1)
    try:
        cache.clear()
        assert cache.get("mine") is None
        assert client.get("not-this-process:key") == b"kept"
    finally:
        client.delete("not-this-process:key")
