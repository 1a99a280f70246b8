"""Build a container image of the reference node without pulling anything, for Docker tests.

No base image can be pulled on the build machines, so the image is ``FROM scratch`` with a root
filesystem made of this interpreter, the shared libraries it and the installed extensions
load (found with ``ldd``), the virtual environment and the repository's sources; the node runs
with ``--network host``. Docker's default vfs storage copies it all, so a build takes minutes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from tests.support import REPO_ROOT

DOCKERFILE = """FROM scratch
ADD rootfs.tar /
ENTRYPOINT ["{python}", "-m", "twin_reference", "serve", "--host", "127.0.0.1", \
"--data-dir", "/data/node"]
CMD ["--port", "8080"]
"""
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


def build_reference_image(tag: str) -> None:
    """Build ``tag``: the reference node of this checkout, runnable with --network host."""
    base = Path(sys.base_prefix)
    venv = Path(sys.prefix)
    interpreter = Path(sys.executable).resolve()
    stdlib = base / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    extensions = [interpreter, *stdlib.rglob("*.so"), *venv.rglob("*.so")]
    trees = [stdlib, venv, *(REPO_ROOT / name for name in ("spec", "reference", "conformance"))]
    files = [interpreter, *base.joinpath("lib").glob("libpython*.so*")]
    files += sorted(_shared_libraries(extensions))
    with tempfile.TemporaryDirectory(prefix="twin-image-") as folder:
        context = Path(folder)
        with tarfile.open(context / "rootfs.tar", "w", dereference=True) as archive:
            for path in files:
                archive.add(path, arcname=str(path).lstrip("/"))
            for tree in trees:
                archive.add(
                    tree,
                    arcname=str(tree).lstrip("/"),
                    filter=lambda info: (
                        None if SKIPPED_PARTS & set(Path(info.name).parts) else info
                    ),
                )
            for name, mode in (("data", 0o755), ("tmp", 0o1777)):
                entry = tarfile.TarInfo(name)
                entry.type = tarfile.DIRTYPE
                entry.mode = mode
                archive.addfile(entry)
        python = venv / "bin" / "python"
        (context / "Dockerfile").write_text(DOCKERFILE.format(python=python))
        subprocess.run(
            [docker_binary(), "build", "--quiet", "--tag", tag, str(context)],
            capture_output=True,
            timeout=1800,
            check=True,
        )
