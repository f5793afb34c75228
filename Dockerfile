# Production image: gunicorn serves the app, WhiteNoise serves the static files collected at build.
# The same image runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=crm_site.settings \
    CRM_PRODUCTION=1 \
    MEDIA_ROOT=/data/media

WORKDIR /app

# Dependencies first, so code changes don't reinstall them. pyproject.toml declares no importable
# package (`packages = []`), so installing it installs just the dependencies (gunicorn among them).
COPY pyproject.toml /tmp/build/pyproject.toml
RUN pip install /tmp/build && rm -rf /tmp/build

COPY . /app

# Static files are collected into the image (STATIC_ROOT=/app/staticfiles) with the production
# storage (manifest + compression); the key is a throwaway used only for this step.
RUN SECRET_KEY=collectstatic-only-not-a-real-secret-key-0123456789abcdefghij \
    python manage.py collectstatic --noinput --verbosity 0

RUN groupadd --system --gid 1000 crm \
    && useradd --system --uid 1000 --gid crm --home-dir /app --shell /usr/sbin/nologin crm \
    && mkdir -p /data/media \
    && chown -R crm:crm /data
USER crm

EXPOSE 8000
CMD ["gunicorn", "crm_site.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
