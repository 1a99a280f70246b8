# The TWIN conformance harness as a container image: `twin-conformance` with the spec, the
# signed vectors and the embedded reference node inside, for pipelines that run containers.
#
#   pip wheel . -w docker/wheels
#   docker build -f docker/harness.Dockerfile -t twin-conformance docker/
#   docker run --rm -e TWIN_TARGET_PASSWORD -v "$PWD/reports:/reports" twin-conformance \
#       run --target https://node.vendor.example --email ops@vendor.example --out /reports/run
#
# Built from this checkout's wheels (no network at build or run time), a non-root user, and a
# health check that the command works. The base is an argument (a slim Python image).
ARG BASE=python:3.11-slim
FROM ${BASE}

COPY wheels/ /tmp/wheels/
RUN ["python3", "-m", "pip", "install", "--no-index", "--no-cache-dir", \
     "--find-links", "/tmp/wheels", "twin-conformance"]
RUN ["python3", "-c", "import os, shutil; shutil.rmtree('/tmp/wheels'); [os.makedirs(p, exist_ok=True) or os.chown(p, 10001, 10001) for p in ('/reports', '/work')]"]

USER 10001:10001
WORKDIR /work
ENV HOME=/work
VOLUME ["/reports"]

# The harness is a command, not a service: healthy when it can load and verify its vectors.
HEALTHCHECK --interval=30s --timeout=20s --start-period=5s --retries=1 \
  CMD ["python3", "-m", "twin_conformance", "vectors", "verify"]

ENTRYPOINT ["python3", "-m", "twin_conformance"]
CMD ["--help"]
