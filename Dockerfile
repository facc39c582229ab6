# syntax=docker/dockerfile:1
# Build: docker build -t health-thing-gateway .   Run: docker run -p 8000:8000 health-thing-gateway
FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY gateway ./gateway
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 gateway
COPY --from=build /opt/venv /opt/venv
COPY policies /app/policies
COPY analyses /app/analyses
ENV PATH=/opt/venv/bin:$PATH GATEWAY_DATA_DIR=/data GATEWAY_ENVIRONMENT=production
RUN mkdir -p /data && chown gateway /data
USER gateway
WORKDIR /app
VOLUME ["/data"]
EXPOSE 8000
CMD ["gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
