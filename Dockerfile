# Built the way Airbyte builds Python connectors: the pinned python-connector-base image
# (metadata.yaml connectorBuildOptions.baseImage), the package installed into it, and the
# console script as entry point.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73

FROM ${BASE_IMAGE} AS builder
WORKDIR /airbyte/integration_code
COPY pyproject.toml README.md ./
COPY destination_hubspot_lago ./destination_hubspot_lago
RUN pip install --no-cache-dir .

FROM ${BASE_IMAGE}
WORKDIR /airbyte/integration_code
COPY --from=builder /usr/local /usr/local
ENV AIRBYTE_ENTRYPOINT="destination-hubspot-lago"
ENTRYPOINT ["destination-hubspot-lago"]
LABEL io.airbyte.name=airbyte/destination-hubspot-lago
LABEL io.airbyte.version=0.2.0
USER airbyte
