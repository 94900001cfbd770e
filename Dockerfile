# The purchase planner in a container: the CLI as entry point, `serve` for the HTTP API.
#   docker build -t purchase-planner .
#   docker run --rm -v "$PWD/scenarios:/work/scenarios" -v "$PWD/out:/work/out" purchase-planner plan scenarios/base.yaml --out out/base
#   docker run --rm -p 8000:8000 -e PLANNER_API_TOKEN=... purchase-planner serve --host 0.0.0.0
# The install step is the package's own `pip install` (with the PostgreSQL driver), the one CI runs.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/planner
WORKDIR /src
COPY pyproject.toml README.md ./
COPY planner ./planner
COPY forecast ./forecast
RUN /opt/planner/bin/pip install --quiet ".[postgres]"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 planner \
    && apt-get update -qq && apt-get install -y -qq --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/planner /opt/planner
COPY --chown=planner scenarios /work/scenarios
COPY --chown=planner planner/sample_data /work/planner/sample_data
ENV PATH=/opt/planner/bin:$PATH \
    PLANNER_DATA_DIR=/work/data-dir \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2
USER planner
WORKDIR /work
EXPOSE 8000
ENTRYPOINT ["planner"]
CMD ["--help"]
