# The TWIN reference node as a container image: the image that the container-target tests of
# `twin-conformance run` and the interop scenarios start.
#
# Built from this checkout's wheel and its dependencies' wheels, put in the build context by
#   pip wheel . -w docker/wheels
#   docker build -f docker/reference-node.Dockerfile -t twin-reference-node docker/
# so the build installs with --no-index and the container needs no network at run time. The
# base is an argument: a slim Python image for users; the tests build on a base imported from
# this machine's interpreter, as no registry can be reached there (../shared/FACTS.md).
ARG BASE=python:3.11-slim
FROM ${BASE}

COPY wheels/ /tmp/wheels/
RUN ["python3", "-m", "pip", "install", "--no-index", "--no-cache-dir", \
     "--find-links", "/tmp/wheels", "twin-conformance"]
RUN ["python3", "-c", "import os, shutil; shutil.rmtree('/tmp/wheels'); os.makedirs('/data', exist_ok=True); os.chown('/data', 10001, 10001); os.chmod('/data', 0o700)"]

# A user of its own, never root; the node keeps its keys and ledger under /data (a volume).
USER 10001:10001
VOLUME ["/data"]
ENV TWIN_NODE_PORT=8080
EXPOSE 8080

# The admin password comes from $TWIN_NODE_PASSWORD (or is generated into /data/admin-password).
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('TWIN_NODE_PORT', '8080') + '/health', timeout=2)"]

ENTRYPOINT ["python3", "-m", "twin_reference", "serve", "--host", "0.0.0.0", "--data-dir", "/data/node"]
CMD ["--port", "8080"]
