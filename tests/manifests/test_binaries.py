"""Binary architecture checks: headers the tests build byte by byte, inside real archives."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from refold.manifests.binaries import (
    HEAD_BYTES,
    Binary,
    Limits,
    base_arch,
    check_archive,
    identify,
    runs_on,
    scan_archive,
)
from refold.manifests.errors import PolicyError

EM_386, EM_PPC64, EM_S390, EM_ARM, EM_X86_64, EM_AARCH64, EM_RISCV = 3, 21, 22, 40, 62, 183, 243
CPU_X86, CPU_ARM, ABI64 = 7, 12, 0x01000000


def elf(machine: int, *, wide: bool = True, little: bool = True, size: int = 64) -> bytes:
    """An ELF header: e_ident (class, data), e_type EXEC, e_machine, e_version."""
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if little else 2, 1, 0]) + bytes(8)
    fields = struct.pack("<HHI" if little else ">HHI", 2, machine, 1)
    return (ident + fields).ljust(size, b"\0")


def macho(cputype: int, *, little: bool = True) -> bytes:
    """A thin Mach-O header (64-bit magic for 64-bit CPUs), as written on that CPU."""
    magic = 0xFEEDFACF if cputype & ABI64 else 0xFEEDFACE
    order = "<" if little else ">"
    return struct.pack(order + "IiiIIII", magic, cputype, 3, 2, 0, 0, 0).ljust(64, b"\0")


def fat(*cputypes: int) -> bytes:
    """A universal (fat) header: big-endian, one fat_arch of 20 bytes per slice."""
    head = struct.pack(">II", 0xCAFEBABE, len(cputypes))
    for index, cputype in enumerate(cputypes):
        head += struct.pack(">iiIII", cputype, 3, 4096 * (index + 1), 4096, 12)
    return head.ljust(4096, b"\0")


def pe(machine: int, *, offset: int = 0x80) -> bytes:
    """MZ stub with e_lfanew at 0x3C pointing at 'PE\\0\\0' and the COFF Machine field."""
    stub = bytearray(b"MZ".ljust(offset, b"\0"))
    struct.pack_into("<I", stub, 0x3C, offset)
    return bytes(stub) + b"PE\0\0" + struct.pack("<H", machine) + bytes(18)


Member = tuple[str, bytes, int]


def tar_gz(path: Path, members: Sequence[Member], *, mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
        for name, data, perm in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), perm
            archive.addfile(info, io.BytesIO(data))
    return path


def zip_file(path: Path, members: Sequence[Member]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, perm in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | perm) << 16 if perm else 0
            archive.writestr(info, data)
    return path


SCRIPT = b"#!/bin/sh\nexec python3 \"$@\"\n"


@pytest.mark.parametrize(
    ("header", "fmt", "machine", "arches"),
    [
        (elf(EM_X86_64), "ELF", "x86-64", ("x64",)),
        (elf(EM_386, wide=False), "ELF", "Intel 80386", ("x86",)),
        (elf(EM_AARCH64), "ELF", "AArch64", ("arm64",)),
        (elf(EM_PPC64), "ELF", "PowerPC64 little-endian", ("ppc64le",)),
        (elf(EM_PPC64, little=False), "ELF", "PowerPC64 big-endian", ("ppc64",)),
        (elf(EM_S390, little=False), "ELF", "IBM S/390 64-bit", ("s390x",)),
        (elf(EM_S390, wide=False, little=False), "ELF", "IBM S/390 31-bit", ()),
        (elf(EM_ARM, wide=False), "ELF", "ARM", ("armv7l", "armv6l")),
        (elf(EM_RISCV), "ELF", "RISC-V", ("riscv64",)),
        (elf(8), "ELF", "MIPS", ()),
        (macho(CPU_X86 | ABI64), "Mach-O", "x86_64", ("x64",)),
        (macho(CPU_ARM | ABI64), "Mach-O", "arm64", ("arm64",)),
        (macho(CPU_X86), "Mach-O", "i386", ("x86",)),
        (macho(CPU_ARM | ABI64, little=False), "Mach-O", "arm64", ("arm64",)),
        (fat(CPU_X86 | ABI64, CPU_ARM | ABI64), "Mach-O universal", "x86_64 + arm64", ("x64", "arm64")),
        (pe(0x8664), "PE", "x86-64 (AMD64)", ("x64",)),
        (pe(0x014C), "PE", "i386", ("x86",)),
        (pe(0xAA64), "PE", "ARM64", ("arm64",)),
        (pe(0x01C4), "PE", "ARM Thumb-2 (ARMNT)", ("armv7l",)),
    ],
    ids=[
        "elf-x86-64", "elf-i386", "elf-aarch64", "elf-ppc64le", "elf-ppc64-be", "elf-s390x",
        "elf-s390-31bit", "elf-arm", "elf-riscv64", "elf-mips", "macho-x86_64", "macho-arm64",
        "macho-i386", "macho-arm64-big-endian-magic", "macho-universal2", "pe-amd64", "pe-i386",
        "pe-arm64", "pe-armnt",
    ],
)
def test_identify_reads_the_machine_from_each_header_format(
    header: bytes, fmt: str, machine: str, arches: tuple[str, ...]
) -> None:
    assert identify(header) == Binary(fmt, machine, arches)


@pytest.mark.parametrize(
    "head",
    [
        SCRIPT,
        b"",
        b"\x7fELF\x02",  # truncated before e_machine
        b"\x7fELF" + bytes([3, 1]) + bytes(58),  # no such ELF class
        struct.pack(">IHH", 0xCAFEBABE, 0, 52).ljust(64, b"\0"),  # a Java 8 class file
        b"MZ".ljust(0x40, b"\0"),  # a DOS program: e_lfanew 0, no PE signature
        b"PK\x03\x04" + bytes(60),  # a zip inside the archive
    ],
    ids=["script", "empty", "truncated-elf", "bad-elf-class", "java-class", "dos-mz", "zip"],
)
def test_identify_says_none_for_files_that_are_not_native_executables(head: bytes) -> None:
    assert identify(head) is None


@pytest.mark.parametrize(
    ("arch", "base"),
    [
        ("x64-freethreaded", "x64"),
        ("arm64-freethreaded", "arm64"),
        ("x86-freethreaded", "x86"),
        ("ppc64le", "ppc64le"),
        ("amd64", "x64"),
        ("386", "x86"),
        ("aarch64", "arm64"),
        ("arm", "armv7l"),
    ],
)
def test_base_arch_drops_variants_and_maps_go_style_names(arch: str, base: str) -> None:
    assert base_arch(arch) == base


def test_a_universal_binary_runs_on_each_of_its_slices_only() -> None:
    universal = identify(fat(CPU_X86 | ABI64, CPU_ARM | ABI64))
    assert universal is not None
    assert runs_on(universal, "x64") and runs_on(universal, "arm64-freethreaded")
    assert not runs_on(universal, "ppc64le")


def test_ppc64le_archive_with_ppc64le_binary_passes(tmp_path: Path) -> None:
    archive = tar_gz(
        tmp_path / "python-3.13.1-linux-22.04-ppc64le.tar.gz",
        [
            ("bin/python3.13", elf(EM_PPC64), 0o755),
            ("bin/pip3", SCRIPT, 0o755),
            ("lib/libpython3.13.so.1.0", elf(EM_PPC64, size=200_000), 0o755),
            ("lib/python3.13/os.py", b"import abc\n", 0o644),
        ],
    )
    check = check_archive(archive, "ppc64le")
    assert [f.path for f in check.checked] == ["bin/python3.13"]
    assert check.checked[0].binary.describe() == "ELF PowerPC64 little-endian (ppc64le)"


def test_x86_64_binary_on_the_ppc64le_lane_is_refused_saying_what_was_found(tmp_path: Path) -> None:
    archive = tar_gz(
        tmp_path / "python-3.13.1-linux-22.04-ppc64le.tar.gz",
        [("bin/python3.13", elf(EM_X86_64), 0o755), ("bin/idle3", SCRIPT, 0o755)],
    )
    with pytest.raises(PolicyError) as caught:
        check_archive(archive, "ppc64le")
    assert caught.value.message == (
        "python-3.13.1-linux-22.04-ppc64le.tar.gz: bin/python3.13 is ELF x86-64 (x64),"
        " not built for ppc64le"
    )
    assert caught.value.location == "python-3.13.1-linux-22.04-ppc64le.tar.gz"
    assert "runner" in caught.value.hint


def test_every_wrong_executable_is_counted(tmp_path: Path) -> None:
    archive = tar_gz(
        tmp_path / "node-24.1.0-linux-arm64.tar.gz",
        [
            ("node-v24/bin/node", elf(EM_X86_64), 0o755),
            ("node-v24/bin/corepack", elf(EM_X86_64), 0o755),
            ("node-v24/bin/npx", elf(EM_AARCH64), 0o755),
        ],
    )
    with pytest.raises(PolicyError, match=r"\(2 of 3 executables checked are wrong\)"):
        check_archive(archive, "arm64")


def test_tar_xz_archives_are_read_too(tmp_path: Path) -> None:
    archive = tar_gz(
        tmp_path / "python-3.13.1-linux-24.04-s390x.tar.xz",
        [("bin/python3", elf(EM_S390, little=False), 0o755)],
        mode="w:xz",
    )
    assert check_archive(archive, "s390x").checked[0].binary.arches == ("s390x",)
    with pytest.raises(PolicyError, match=r"bin/python3 is ELF IBM S/390 64-bit \(s390x\), not built for x64"):
        check_archive(archive, "x64")


def test_zip_with_windows_executables_is_checked_by_pe_machine(tmp_path: Path) -> None:
    members = [
        ("python.exe", pe(0x014C), 0),
        ("python313.dll", pe(0x014C), 0),
        ("Lib/site-packages/pip/_vendor/distlib/t64-arm.exe", pe(0xAA64), 0),
        ("Lib/site-packages/pip/_vendor/distlib/t64.exe", pe(0x8664), 0),
    ]
    archive = zip_file(tmp_path / "python-3.12.4-win32-x86.zip", members)
    check = check_archive(archive, "x86")
    # pip's launchers for other machines are bundled helpers, not the toolchain.
    assert sorted(f.path for f in check.checked) == ["python.exe", "python313.dll"]
    with pytest.raises(PolicyError, match=r"python\.exe is PE i386 \(x86\), not built for x64"):
        check_archive(archive, "x64-freethreaded")


def test_pe_header_past_the_first_kilobytes_is_still_found(tmp_path: Path) -> None:
    far = pe(0xAA64, offset=HEAD_BYTES + 512)
    archive = zip_file(tmp_path / "go-1.27.0-win32-arm64.zip", [("go/bin/go.exe", far, 0)])
    assert check_archive(archive, "arm64").checked[0].binary.machine == "ARM64"


def test_macos_universal_binary_passes_on_both_of_its_arches(tmp_path: Path) -> None:
    archive = tar_gz(
        tmp_path / "python-3.14.7-darwin-x64.tar.gz",
        [("bin/python3.14", fat(CPU_X86 | ABI64, CPU_ARM | ABI64), 0o755)],
    )
    assert check_archive(archive, "x64").checked[0].binary.format == "Mach-O universal"
    assert check_archive(archive, "arm64").checked
    with pytest.raises(PolicyError, match=r"Mach-O universal x86_64 \+ arm64 \(x64, arm64\)"):
        check_archive(archive, "x86")


def test_without_a_bin_directory_every_executable_outside_tests_is_judged(tmp_path: Path) -> None:
    archive = tar_gz(
        tmp_path / "go-1.27.0-linux-arm64.tar.gz",
        [
            ("go/pkg/tool/linux_arm64/compile", elf(EM_AARCH64), 0o755),
            ("go/src/debug/elf/testdata/gcc-amd64-linux-exec", elf(EM_X86_64), 0o755),
        ],
    )
    check = check_archive(archive, "arm64")
    assert [f.path for f in check.checked] == ["go/pkg/tool/linux_arm64/compile"]


def test_an_archive_without_executables_is_refused(tmp_path: Path) -> None:
    archive = tar_gz(
        tmp_path / "python-3.13.1-linux-22.04-x64.tar.gz",
        [("bin/python3", SCRIPT, 0o755), ("README", b"hello\n", 0o644)],
    )
    with pytest.raises(PolicyError, match="found no executable to check among 2 members"):
        check_archive(archive, "x64")


def test_a_damaged_archive_is_refused_naming_the_file(tmp_path: Path) -> None:
    good = tar_gz(tmp_path / "good.tar.gz", [("bin/python3", elf(EM_X86_64), 0o755)])
    damaged = tmp_path / "python-3.13.1-linux-22.04-x64.tar.gz"
    damaged.write_bytes(good.read_bytes()[:40])
    with pytest.raises(PolicyError, match=r"python-3\.13\.1-linux-22\.04-x64\.tar\.gz is not a readable \.tar\.gz archive"):
        check_archive(damaged, "x64")
    not_zip = tmp_path / "python-3.13.1-win32-x64.zip"
    not_zip.write_bytes(b"not a zip at all")
    with pytest.raises(PolicyError, match=r"is not a readable \.zip archive"):
        check_archive(not_zip, "x64")


def test_archive_formats_the_standard_library_cannot_open_are_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "node-24.18.0-win32-x64.7z"
    archive.write_bytes(b"7z\xbc\xaf\x27\x1c")
    check = check_archive(archive, "x64")
    assert check.checked == ()
    assert check.skipped == ".7z archives cannot be opened with the Python standard library"


def test_reads_only_the_head_of_each_member(tmp_path: Path) -> None:
    big = elf(EM_X86_64, size=3 * 1024 * 1024)
    archive = tar_gz(tmp_path / "x.tar.gz", [("bin/a", big, 0o755), ("bin/b", big, 0o755)])
    scan = scan_archive(archive, "tar.gz")
    assert len(scan.findings) == 2
    assert scan.bytes_read == 2 * HEAD_BYTES
    assert scan.stopped == ""


def test_a_member_limit_stops_the_scan_and_says_so(tmp_path: Path) -> None:
    members = [(f"bin/tool{i}", elf(EM_X86_64), 0o755) for i in range(10)]
    archive = zip_file(tmp_path / "python-3.13.1-win32-x64.zip", members)
    scan = scan_archive(archive, "zip", Limits(max_members=3))
    assert len(scan.findings) == 3
    assert scan.stopped == "stopped after 3 members"
    check = check_archive(archive, "x64", limits=Limits(max_members=3))
    assert len(check.checked) == 3 and check.stopped == "stopped after 3 members"


def test_a_byte_limit_stops_a_tar_scan(tmp_path: Path) -> None:
    members = [(f"bin/tool{i}", elf(EM_X86_64, size=100_000), 0o755) for i in range(5)]
    archive = tar_gz(tmp_path / "x.tar.gz", members)
    scan = scan_archive(archive, "tar.gz", Limits(max_bytes=250_000))
    assert 0 < len(scan.findings) < 5
    assert scan.stopped == "stopped after 250,000 bytes"
