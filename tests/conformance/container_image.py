"""The suite's container images, built from this checkout without pulling anything.

``docker/reference-node.Dockerfile`` and ``docker/harness.Dockerfile`` take their base as a
build argument; no base image can be pulled on the build machines, so the tests import one
from this interpreter (``build_python_base``). Images are tagged with a hash of the sources
they are built from, so a checkout never runs a stale image another checkout left on the
engine. Docker's vfs storage copies everything, so a first build takes minutes.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from tests.support import REPO_ROOT

SKIPPED_PARTS = {"test", "tests", "__pycache__", "tkinter", "idlelib", "ensurepip"}


def docker_binary() -> str:
    """The docker CLI's full path ("docker" when none is on PATH, which then fails)."""
    return shutil.which("docker") or "docker"


def docker_engine_answers() -> bool:
    """Whether a docker CLI exists and an engine answers it within a few seconds."""
    binary = shutil.which("docker")
    if binary is None:
        return False
    try:
        done = subprocess.run(
            [binary, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def image_exists(tag: str) -> bool:
    """Whether the engine already holds an image with this tag."""
    done = subprocess.run(
        [docker_binary(), "image", "inspect", tag], capture_output=True, timeout=30, check=False
    )
    return done.returncode == 0


def _shared_libraries(files: list[Path]) -> set[Path]:
    libraries: set[Path] = set()
    for path in files:
        out = subprocess.run(
            [shutil.which("ldd") or "/usr/bin/ldd", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
        for match in re.finditer(r"=> (/\S+)|^\s+(/\S+) \(", out, re.MULTILINE):
            libraries.add(Path(match.group(1) or match.group(2)))
    return libraries


def build_python_base(tag: str) -> None:
    """Build ``tag``: a minimal base with this machine's Python and pip, via ``docker import``.

    It stands in for ``python:3.11-slim`` where no registry can be reached: the interpreter's
    installation (readable by any user), the shared libraries its extension modules load, and
    ``python3`` on PATH; no shell, so Dockerfiles built on it use exec-form ``RUN``.
    """
    base = Path(sys.base_prefix).resolve()
    extensions = list(base.rglob("*.so"))
    libraries = sorted(_shared_libraries(extensions))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"

    def readable(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if SKIPPED_PARTS & set(Path(info.name).parts):
            return None
        info.uid = info.gid = 0
        info.mode |= 0o755 if info.isdir() else 0o444
        return info

    with tempfile.TemporaryDirectory(prefix="twin-base-") as folder:
        rootfs = Path(folder) / "rootfs.tar"
        directories: set[str] = set()

        def parents_of(archive: tarfile.TarFile, name: str) -> None:
            # Every directory on the way, readable by any user (a missing one would be 0600).
            parts = name.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                directory = "/".join(parts[:depth])
                if directory not in directories:
                    directories.add(directory)
                    entry = tarfile.TarInfo(directory)
                    entry.type, entry.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(entry)

        with tarfile.open(rootfs, "w") as archive:
            temporary = tarfile.TarInfo("tmp")
            temporary.type, temporary.mode = tarfile.DIRTYPE, 0o1777
            archive.addfile(temporary)
            directories.add("tmp")
            for name in (str(base).lstrip("/"), "usr/local/bin/x"):
                parents_of(archive, name)
            archive.add(base, arcname=str(base).lstrip("/"), filter=readable)
            added = set()
            for path in libraries:
                name = str(path).lstrip("/")
                if path.is_relative_to(base) or name in added:
                    continue
                added.add(name)
                parents_of(archive, name)
                # The file itself under the name the loader looks for (no dangling symlink).
                archive.add(path.resolve(), arcname=name, filter=readable)
            for name in ("python3", f"python{version}"):
                link = tarfile.TarInfo(f"usr/local/bin/{name}")
                link.type, link.linkname = tarfile.SYMTYPE, str(base / "bin" / f"python{version}")
                archive.addfile(link)
        subprocess.run(
            [
                docker_binary(), "import",
                "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin",
                str(rootfs), tag,
            ],
            capture_output=True, timeout=1800, check=True,
        )  # fmt: skip


BASE_TAG = "twin-test-python-base:latest"
SOURCES = ("spec", "reference", "conformance", "vectors", "docker", "pyproject.toml")


def source_hash() -> str:
    """A short hash of the tracked files the images are built from."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", *SOURCES],  # noqa: S607 - git from PATH
        cwd=REPO_ROOT, capture_output=True, timeout=60, check=True,
    ).stdout.decode()  # fmt: skip
    digest = hashlib.sha256()
    for name in sorted(filter(None, listed.split("\0"))):
        path = REPO_ROOT / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def suite_image(dockerfile: str, name: str) -> str:
    """The image of ``dockerfile`` for these sources (built once per source hash); its tag."""
    tag = f"{name}:src-{source_hash()}"
    if image_exists(tag):
        return tag
    if not image_exists(BASE_TAG):
        build_python_base(BASE_TAG)
    with tempfile.TemporaryDirectory(prefix="twin-image-") as folder:
        context = Path(folder)
        shutil.copy(REPO_ROOT / "docker" / dockerfile, context / dockerfile)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(context / "wheels"),
             str(REPO_ROOT)],
            capture_output=True, timeout=1800, check=True,
        )  # fmt: skip
        subprocess.run(
            [docker_binary(), "build", "--quiet", "--network", "none",
             "--build-arg", f"BASE={BASE_TAG}", "-f", str(context / dockerfile),
             "-t", tag, str(context)],
            capture_output=True, timeout=3600, check=True,
        )  # fmt: skip
    return tag


def reference_node_image() -> str:
    """The reference node's image (docker/reference-node.Dockerfile) for these sources."""
    return suite_image("reference-node.Dockerfile", "twin-reference-node")


def harness_image() -> str:
    """The harness's image (docker/harness.Dockerfile) for these sources."""
    return suite_image("harness.Dockerfile", "twin-conformance")
