"""A FUSE file system that behaves like Cloud Storage FUSE on a flat (non-hierarchical) bucket.

It passes every call through to a backing folder, except the ones gcsfuse refuses there: renaming a
folder that holds anything fails with EMFILE ("too many objects to be renamed"), as gcsfuse does with
its default ``--rename-dir-limit 0``; hard links fail with ENOSYS. Renaming a file works (gcsfuse
copies the object, then deletes the old one), and so does renaming an empty folder.

For fault tests, a *control file* (given at mount time, outside the mount) may name a file: moving a
file of that name from one folder into another then fails with EIO, as a Cloud Storage error in the
middle of a publication would.

Run as root (libfuse2 mounts with mount(2) itself; see ``scripts/ensure-fuse.sh``)::

    python -m tests.fakes.flat_bucket_fuse BACKING MOUNTPOINT [--errno EMFILE] [--control FILE]

It serves in the foreground until the mount point is unmounted (``umount MOUNTPOINT``). The test
helper :class:`FlatBucketMount` starts it in a child process and unmounts it afterwards.
"""

from __future__ import annotations

import argparse
import errno
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class FlatBucketMount:
    """Context manager: mount a :mod:`flat_bucket_fuse` file system in a child process.

    Attributes:
        mountpoint: where the file system is mounted.
        backing: the folder holding its files.
        control: the fault-injection control file (see the module docstring).
    """

    def __init__(self, root: Path, refuse_errno: str = "EMFILE") -> None:
        self.backing = root / "bucket"
        self.mountpoint = root / "gcs"
        self.control = root / "fault"
        self.refuse_errno = refuse_errno
        self.log = root / "fuse.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FlatBucketMount:
        self.backing.mkdir(parents=True)
        self.mountpoint.mkdir(parents=True)
        self.control.write_text("")
        repo = Path(__file__).resolve().parents[2]
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.fakes.flat_bucket_fuse", str(self.backing),
                 str(self.mountpoint), "--errno", self.refuse_errno, "--control", str(self.control)],
                cwd=repo, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while not os.path.ismount(self.mountpoint):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self._stop()
                raise RuntimeError(f"the FUSE file system did not mount: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def fail_moves_of(self, name: str) -> None:
        """From now on, moving a file called ``name`` into another folder fails with EIO."""
        self.control.write_text(name)

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if os.path.ismount(self.mountpoint):
            subprocess.run(["umount", str(self.mountpoint)], check=False, capture_output=True)
            if os.path.ismount(self.mountpoint):
                subprocess.run(["umount", "-l", str(self.mountpoint)], check=False, capture_output=True)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)


def _operations(backing: str, refuse: int, control: str | None) -> Any:
    from fuse import FuseOSError, Operations

    class FlatBucket(Operations):  # type: ignore[misc]
        """Passthrough to ``backing`` with gcsfuse's flat-bucket refusals."""

        def __init__(self) -> None:
            self.root = os.path.realpath(backing)

        def _full(self, path: str) -> str:
            return os.path.join(self.root, path.lstrip("/"))

        # (fusepy turns an OSError raised below into its errno for the kernel.)

        # -- what gcsfuse refuses on a flat bucket ------------------------------------------------
        def rename(self, old: str, new: str) -> None:
            src, dst = self._full(old), self._full(new)
            if os.path.isdir(src) and not os.path.islink(src) and os.listdir(src):
                raise FuseOSError(refuse)
            if control and os.path.isfile(src) and os.path.dirname(old) != os.path.dirname(new):
                with open(control) as fh:
                    fail = fh.read().strip()
                if fail and os.path.basename(new) == fail:
                    raise FuseOSError(errno.EIO)
            os.rename(src, dst)

        def link(self, target: str, source: str) -> None:
            raise FuseOSError(errno.ENOSYS)

        # -- passthrough ------------------------------------------------------------------------
        def access(self, path: str, mode: int) -> None:
            if not os.access(self._full(path), mode):
                raise FuseOSError(errno.EACCES)

        def chmod(self, path: str, mode: int) -> None:
            os.chmod(self._full(path), mode)

        def chown(self, path: str, uid: int, gid: int) -> None:
            os.chown(self._full(path), uid, gid)

        def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
            st = os.lstat(self._full(path))
            keys = ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid")
            return {k: getattr(st, k) for k in keys}

        def readdir(self, path: str, fh: int) -> list[str]:
            return [".", "..", *os.listdir(self._full(path))]

        def readlink(self, path: str) -> str:
            return os.readlink(self._full(path))

        def mkdir(self, path: str, mode: int) -> None:
            os.mkdir(self._full(path), mode)

        def rmdir(self, path: str) -> None:
            os.rmdir(self._full(path))

        def unlink(self, path: str) -> None:
            os.unlink(self._full(path))

        def symlink(self, name: str, target: str) -> None:
            os.symlink(target, self._full(name))

        def statfs(self, path: str) -> dict[str, Any]:
            st = os.statvfs(self._full(path))
            keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files",
                    "f_flag", "f_frsize", "f_namemax")  # fmt: skip
            return {k: getattr(st, k) for k in keys}

        def utimens(self, path: str, times: tuple[float, float] | None = None) -> None:
            os.utime(self._full(path), times)

        def open(self, path: str, flags: int) -> int:
            return os.open(self._full(path), flags)

        def create(self, path: str, mode: int, fi: Any = None) -> int:
            return os.open(self._full(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            return os.pread(fh, size, offset)

        def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
            return os.pwrite(fh, data, offset)

        def truncate(self, path: str, length: int, fh: int | None = None) -> None:
            if fh is not None:
                os.ftruncate(fh, length)
            else:
                os.truncate(self._full(path), length)

        def flush(self, path: str, fh: int) -> None:
            pass

        def release(self, path: str, fh: int) -> None:
            os.close(fh)

        def fsync(self, path: str, fdatasync: int, fh: int) -> None:
            os.fsync(fh)

    return FlatBucket()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("backing")
    parser.add_argument("mountpoint")
    parser.add_argument("--errno", default="EMFILE", help="errno name a folder rename fails with")
    parser.add_argument("--control", default=None, help="fault-injection control file")
    args = parser.parse_args(argv)
    from fuse import FUSE

    refuse = getattr(errno, args.errno)
    # Threads: the commands under test read and write several files at once (as on gcsfuse).
    FUSE(_operations(args.backing, refuse, args.control), args.mountpoint, foreground=True, nothreads=False)


if __name__ == "__main__":
    main()
