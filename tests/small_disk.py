"""A small file system of its own for a test: a tmpfs mounted in a temporary folder (root,
as CI runs), filled to a given free space, made read-only, and unmounted after. Where the
machine does not allow mounting, `available()` says so and the callers use a child process
with a file size limit (RLIMIT_FSIZE) instead."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class SmallDisk:
    def __init__(self, root: Path, size: str = "4m"):
        self.path = Path(root)
        self.path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.path)], capture_output=True, text=True
        )
        self.mounted = done.returncode == 0
        self.why = done.stderr.strip()

    def free(self) -> int:
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def fill(self, leave: int) -> None:
        """Write a filler file so that about `leave` bytes stay free."""
        filler = self.path / "filler"
        filler.unlink(missing_ok=True)
        with filler.open("wb") as out:
            out.write(b"\0" * max(0, self.free() - leave))

    def unfill(self) -> None:
        (self.path / "filler").unlink(missing_ok=True)

    def read_only(self, on: bool = True) -> None:
        mode = "ro" if on else "rw"
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True, capture_output=True)

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


def available(tmp: Path) -> tuple[bool, str]:
    """Whether this machine lets a test mount a tmpfs (and why not)."""
    disk = SmallDisk(tmp / "probe", "64k")
    try:
        return disk.mounted, disk.why
    finally:
        disk.close()
