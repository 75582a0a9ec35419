# One image for every process of the platform; a container picks its process from the Procfile by name:
#   docker run nmd-platform python -m infra.process pages
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 NMD_VAR_DIR=/var/lib/nmd
WORKDIR /app

# Runtime dependencies only: requirements.in lists the test tooling after its "# test and tooling" line.
COPY requirements.in constraints.txt ./
RUN sed '/^# test and tooling/,$d' requirements.in > runtime.txt \
    && pip install -c constraints.txt -r runtime.txt

COPY shared shared
COPY services services
RUN pip install --no-deps ./shared ./services/pages ./services/partners ./services/stories ./services/newsletter

COPY Procfile ./
COPY infra/__init__.py infra/process.py infra/migrate.py infra/gunicorn_config.py infra/sample_content.py infra/routes.yaml infra/
COPY infra/gateway infra/gateway

RUN useradd --system --uid 10001 --home-dir /var/lib/nmd nmd && mkdir -p /var/lib/nmd && chown nmd /var/lib/nmd
USER nmd
EXPOSE 8080 8101 8102 8103 8104
CMD ["python", "-m", "infra.process", "gateway"]
