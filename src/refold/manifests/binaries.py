"""Which CPU an executable is built for, read from its header bytes, and inside archives.

A matrix job labelled ``ppc64le`` that actually ran on an x64 runner builds x64 binaries,
names the archive ``...-ppc64le.tar.gz`` and publishes it; every field in the manifest
agrees and the file is still wrong. Only the binary itself tells the truth, so this
module reads the few header bytes that name the machine (ELF ``e_machine``, Mach-O
``cputype`` including universal binaries, PE ``Machine``) and maps them to the arches
manifests use.

Archives are read with the standard library only (tarfile in streaming mode, zipfile),
never extracted to disk, and every read is bounded: a few kilobytes per member, a
member count, and a total of bytes passed through, so a hostile or runaway archive
costs a bounded amount of work.
"""

from __future__ import annotations

import lzma
import os
import posixpath
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

import msgspec

from refold.manifests.artifacts import VARIANTS
from refold.manifests.errors import PolicyError

__all__ = [
    "ArchiveCheck",
    "Binary",
    "Finding",
    "Limits",
    "base_arch",
    "check_archive",
    "identify",
    "runs_on",
    "scan_archive",
]

HEAD_BYTES = 4096
"""Enough for ELF, Mach-O (with up to 200 universal slices) and nearly every PE header."""
MAX_HEADER_BYTES = 64 * 1024
"""PE headers sit at ``e_lfanew``; beyond this a file is not worth reading further."""


class Binary(msgspec.Struct, frozen=True):
    """What a header says: its format, the machine in words, and the manifest arches it runs as.

    ``arches`` is empty for a machine no manifest publishes (MIPS, SPARC ...), and holds
    several entries for a universal Mach-O binary or a 32-bit ARM ELF (v6 and v7 share
    one ``e_machine``).
    """

    format: str
    machine: str
    arches: tuple[str, ...]

    def describe(self) -> str:
        shown = ", ".join(self.arches) if self.arches else "no published arch"
        return f"{self.format} {self.machine} ({shown})"


class Finding(msgspec.Struct, frozen=True):
    path: str
    binary: Binary
    primary: bool
    """In a ``bin`` directory, or a top-level ``.exe``/``.dll``: what a user runs."""


class Limits(msgspec.Struct, frozen=True):
    """Bounds on one archive scan; reaching one stops the scan and says so."""

    max_members: int = 200_000
    max_bytes: int = 8 * 1024**3
    """Uncompressed bytes passed through (tar must stream past every member)."""
    max_header_bytes: int = 256 * 1024**2
    """Bytes read out of members to identify them, all members together."""


DEFAULT_LIMITS = Limits()


class Scan(msgspec.Struct, frozen=True):
    findings: tuple[Finding, ...]
    members: int
    bytes_read: int
    stopped: str = ""
    """Why the scan stopped early (a limit), or empty when it read the whole archive."""


class ArchiveCheck(msgspec.Struct, frozen=True):
    """The outcome of checking one archive against the arch its name claims."""

    filename: str
    arch: str
    checked: tuple[Finding, ...]
    skipped: str = ""
    """Why nothing was checked (an archive format the standard library cannot open)."""
    stopped: str = ""


_ELF_MACHINES: dict[int, tuple[str, tuple[str, ...]]] = {
    3: ("Intel 80386", ("x86",)),
    20: ("PowerPC", ()),
    40: ("ARM", ("armv7l", "armv6l")),
    62: ("x86-64", ("x64",)),
    183: ("AArch64", ("arm64",)),
    243: ("RISC-V", ()),
    258: ("LoongArch", ()),
    8: ("MIPS", ()),
    43: ("SPARC V9", ()),
}
_ABI64 = 0x01000000
_ABI64_32 = 0x02000000
_MACHO_CPUS: dict[int, tuple[str, tuple[str, ...]]] = {
    7: ("i386", ("x86",)),
    7 | _ABI64: ("x86_64", ("x64",)),
    12: ("arm", ("armv7l", "armv6l")),
    12 | _ABI64: ("arm64", ("arm64",)),
    12 | _ABI64_32: ("arm64_32", ()),
    18: ("ppc", ()),
    18 | _ABI64: ("ppc64", ("ppc64",)),
}
_PE_MACHINES: dict[int, tuple[str, tuple[str, ...]]] = {
    0x014C: ("i386", ("x86",)),
    0x8664: ("x86-64 (AMD64)", ("x64",)),
    0xAA64: ("ARM64", ("arm64",)),
    0xA641: ("ARM64EC", ("arm64",)),
    0xA64E: ("ARM64X", ("arm64",)),
    0x01C4: ("ARM Thumb-2 (ARMNT)", ("armv7l",)),
    0x01C0: ("ARM", ("armv7l",)),
    0x0200: ("Itanium", ()),
}

_ALIASES = {"amd64": "x64", "386": "x86", "aarch64": "arm64", "arm": "armv7l"}


def base_arch(arch: str) -> str:
    """The CPU part of a manifest arch: ``x64-freethreaded`` runs x64 binaries, ``amd64`` is x64."""
    for variant in VARIANTS:
        arch = arch.removesuffix("-" + variant)
    return _ALIASES.get(arch, arch)


def runs_on(binary: Binary, arch: str) -> bool:
    return base_arch(arch) in binary.arches


def _elf(head: bytes) -> Binary | None:
    if len(head) < 20 or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    wide, little = head[4] == 2, head[5] == 1
    (machine,) = struct.unpack_from("<H" if little else ">H", head, 18)
    order = "little-endian" if little else "big-endian"
    if machine == 21:
        # One e_machine for both byte orders; the manifest's ppc64le is only the LE one.
        return Binary("ELF", f"PowerPC64 {order}", ("ppc64le",) if little else ("ppc64",))
    if machine == 22:
        return Binary("ELF", "IBM S/390" + (" 64-bit" if wide else " 31-bit"), ("s390x",) if wide else ())
    name, arches = _ELF_MACHINES.get(machine, (f"machine {machine:#x}", ()))
    if machine == 243 and wide:
        arches = ("riscv64",)
    if machine == 258 and wide:
        arches = ("loong64",)
    return Binary("ELF", name, arches)


def _macho_cpu(cputype: int) -> tuple[str, tuple[str, ...]]:
    return _MACHO_CPUS.get(cputype, (f"cputype {cputype:#x}", ()))


def _macho(head: bytes) -> Binary | None:
    magic = head[:4]
    if magic in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf"):
        order = ">"
    elif magic in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        order = "<"
    else:
        return None
    if len(head) < 8:
        return None
    (cputype,) = struct.unpack_from(order + "i", head, 4)
    name, arches = _macho_cpu(cputype & 0xFFFFFFFF)
    return Binary("Mach-O", name, arches)


def _fat(head: bytes) -> Binary | None:
    magic = head[:4]
    if magic not in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf") or len(head) < 8:
        return None
    (count,) = struct.unpack_from(">I", head, 4)
    # Java class files share 0xCAFEBABE; their version word reads as a count of 45 or more.
    if not 0 < count <= 40:
        return None
    size = 20 if magic == b"\xca\xfe\xba\xbe" else 32
    if len(head) < 8 + count * size:
        return None
    names: list[str] = []
    arches: list[str] = []
    for index in range(count):
        (cputype,) = struct.unpack_from(">I", head, 8 + index * size)
        name, slice_arches = _macho_cpu(cputype)
        names.append(name)
        arches += [a for a in slice_arches if a not in arches]
    return Binary("Mach-O universal", " + ".join(names), tuple(arches))


def _pe_offset(head: bytes) -> int | None:
    if head[:2] != b"MZ" or len(head) < 0x40:
        return None
    (offset,) = struct.unpack_from("<I", head, 0x3C)
    return int(offset)


def _pe(head: bytes) -> Binary | None:
    offset = _pe_offset(head)
    if offset is None or len(head) < offset + 6 or head[offset : offset + 4] != b"PE\0\0":
        return None
    (machine,) = struct.unpack_from("<H", head, offset + 4)
    name, arches = _PE_MACHINES.get(machine, (f"machine {machine:#06x}", ()))
    return Binary("PE", name, arches)


def identify(head: bytes) -> Binary | None:
    """The binary format and machine of a file from its first bytes; None for anything else.

    ``head`` should be at least ``header_size(head)`` bytes long for PE files, whose
    header can sit past the first few kilobytes.
    """
    if head[:4] == b"\x7fELF":
        return _elf(head)
    return _macho(head) or _fat(head) or _pe(head)


def header_size(head: bytes) -> int:
    """How many leading bytes ``identify`` needs for this file (only PE needs more)."""
    offset = _pe_offset(head)
    if offset is None:
        return len(head)
    return min(max(len(head), offset + 6), MAX_HEADER_BYTES)


_NATIVE_SUFFIXES = (".exe", ".dll", ".pyd", ".so", ".dylib", ".node", ".sys")
_TEST_DIRS = frozenset({"test", "tests", "testdata", "testing", "__pycache__"})


def _is_candidate(path: str, executable_mode: bool) -> bool:
    name = posixpath.basename(path).lower()
    return (
        executable_mode
        or name.endswith(_NATIVE_SUFFIXES)
        or ".so." in name
        or posixpath.basename(posixpath.dirname(path)) == "bin"
    )


def _is_primary(path: str) -> bool:
    parts = [p for p in path.strip("/").split("/") if p not in ("", ".")]
    if len(parts) >= 2 and parts[-2] == "bin":
        return True
    return len(parts) <= 2 and parts[-1].lower().endswith((".exe", ".dll"))


def _read_head(stream: IO[bytes]) -> bytes:
    head = stream.read(HEAD_BYTES)
    need = header_size(head)
    if need > len(head):
        head += stream.read(need - len(head))
    return head


class _Budget:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.members = 0
        self.header_bytes = 0
        self.stopped = ""

    def admit(self, passed: int) -> bool:
        self.members += 1
        if self.members > self.limits.max_members:
            self.stopped = f"stopped after {self.limits.max_members:,} members"
        elif passed > self.limits.max_bytes:
            self.stopped = f"stopped after {self.limits.max_bytes:,} bytes"
        elif self.header_bytes > self.limits.max_header_bytes:
            self.stopped = f"stopped after reading {self.limits.max_header_bytes:,} header bytes"
        return not self.stopped


def _tar_members(path: str, xz: bool, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    # Streaming mode: one forward pass, never a seek back through the compressed stream.
    with tarfile.open(path, mode="r|xz") if xz else tarfile.open(path, mode="r|gz") as archive:
        for member in archive:
            if not budget.admit(member.offset_data + member.size):
                return
            if not member.isreg() or not _is_candidate(member.name, bool(member.mode & 0o111)):
                continue
            stream = archive.extractfile(member)
            if stream is None:
                continue
            head = _read_head(stream)
            budget.header_bytes += len(head)
            yield member.name, head


def _zip_members(path: str, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not budget.admit(0):
                return
            mode = info.external_attr >> 16
            if info.is_dir() or not _is_candidate(info.filename, bool(mode & 0o111)):
                continue
            try:
                with archive.open(info) as stream:
                    head = _read_head(stream)
            except RuntimeError:
                continue  # an encrypted member: nothing to read without the password
            budget.header_bytes += len(head)
            yield info.filename, head


def archive_kind(filename: str) -> str | None:
    """The archive format refold can open for ``filename``, or None."""
    for ext in ("tar.gz", "tgz", "tar.xz", "zip"):
        if filename.endswith("." + ext):
            return ext
    return None


def scan_archive(path: str | os.PathLike[str], kind: str, limits: Limits = DEFAULT_LIMITS) -> Scan:
    """Every executable in the archive with the machine it is built for, within ``limits``.

    Raises PolicyError when the file is not a readable archive of that kind.
    """
    location = os.fspath(path)
    budget = _Budget(limits)
    findings: list[Finding] = []
    members = (
        _zip_members(location, budget)
        if kind == "zip"
        else _tar_members(location, kind == "tar.xz", budget)
    )
    read = 0
    try:
        for name, head in members:
            read += len(head)
            binary = identify(head)
            if binary is not None:
                findings.append(Finding(path=name, binary=binary, primary=_is_primary(name)))
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise PolicyError(
            f"{posixpath.basename(location)} is not a readable .{kind} archive ({exc})",
            location=location,
            hint="check that the build finished writing the archive and the extension is right",
        ) from None
    return Scan(findings=tuple(findings), members=budget.members, bytes_read=read, stopped=budget.stopped)


def _in_test_dir(path: str) -> bool:
    return any(part in _TEST_DIRS for part in path.split("/")[:-1])


_MISMATCH_HINT = (
    "the job's arch label and the runner's real architecture disagree: check the matrix"
    " entry and runs-on for this lane (or the cross-compiler target)"
)


def check_archive(
    path: str | os.PathLike[str], arch: str, *, filename: str = "", limits: Limits = DEFAULT_LIMITS
) -> ArchiveCheck:
    """Insist that the executables a user runs from this archive are built for ``arch``.

    The executables judged are those in a ``bin`` directory or top-level ``.exe``/``.dll``
    files; only when there are none, every executable outside test directories. Bundled
    helpers for other machines (pip's launchers, Go's debug/elf testdata) are thereby
    not mistaken for the toolchain itself.
    """
    location = os.fspath(path)
    name = filename or posixpath.basename(location.replace(os.sep, "/"))
    kind = archive_kind(name)
    if kind is None:
        ext = name.rsplit(".", 1)[-1]
        return ArchiveCheck(
            filename=name,
            arch=arch,
            checked=(),
            skipped=f".{ext} archives cannot be opened with the Python standard library",
        )
    scan = scan_archive(location, kind, limits)
    judged = [f for f in scan.findings if f.primary] or [
        f for f in scan.findings if not _in_test_dir(f.path)
    ]
    if not judged:
        where = f" ({scan.stopped})" if scan.stopped else ""
        raise PolicyError(
            f"{name}: found no executable to check among {scan.members:,} members{where}",
            location=name,
            hint="--check-binary needs native executables (ELF, Mach-O or PE) in the archive;"
            " drop it for archives without any",
        )
    wrong = [f for f in judged if not runs_on(f.binary, arch)]
    if wrong:
        first = wrong[0]
        more = f" ({len(wrong)} of {len(judged)} executables checked are wrong)" if len(wrong) > 1 else ""
        raise PolicyError(
            f"{name}: {first.path} is {first.binary.describe()}, not built for {arch}{more}",
            location=name,
            hint=_MISMATCH_HINT,
        )
    return ArchiveCheck(filename=name, arch=arch, checked=tuple(judged), stopped=scan.stopped)
