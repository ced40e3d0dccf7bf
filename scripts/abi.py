#!/usr/bin/env python3
"""The ABI of libdoku, as a text to commit and compare (README.md, "ABI policy").

The ABI is what include/doku.h declares and libdoku.so exports: each function's prototype
(parameter names left out: they are not part of the ABI), each enum with its values, each type.
It is recorded in abi/doku-<SONAME>.txt, since the SONAME names an ABI.

  LIB is the built library, or its SONAME (libdoku.so.0.1).

  abi.py check LIB   the ABI of include/doku.h (whose functions LIB must export, see
                     check-exports.sh) against abi/doku-<SONAME of LIB>.txt; fails with the
                     diff when they differ and the version did not change the SONAME
  abi.py update LIB  writes abi/doku-<SONAME of LIB>.txt; refused when it would record a
                     change to a SONAME whose ABI is already recorded (from 1.0, additions
                     only: new lines, none changed or removed)
  abi.py print       the ABI of include/doku.h
"""
import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# DOKU_ABI_HEADER and DOKU_ABI_DIR: another header and record directory, for tests/abi.rs.
HEADER = Path(os.environ.get("DOKU_ABI_HEADER", ROOT / "include" / "doku.h"))
RECORDS = Path(os.environ.get("DOKU_ABI_DIR", ROOT / "abi"))


def declarations(header: str) -> list:
    """The header's declarations, one normalized line each, sorted."""
    text = re.sub(r"/\*.*?\*/", " ", header, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    text = re.sub(r'extern\s+"C"\s*\{', " ", text)
    lines = []
    for statement in text.split(";"):
        statement = " ".join(statement.replace("}", "} ").split()).strip()
        statement = statement.lstrip("} ").strip()
        enum = re.fullmatch(r"typedef enum (\w+) \{(.*)\} (\w+)", statement)
        if enum:
            # A value per line: a new one is an addition, not a change of the enum.
            lines.append(f"typedef enum {enum.group(1)} {enum.group(3)}")
            lines.extend(f"enum {enum.group(1)}: {value.strip()}" for value in enum.group(2).split(",") if value.strip())
        elif statement:
            lines.append(without_names(statement))
    return sorted(lines)


def without_names(statement: str) -> str:
    """A prototype's (or a function pointer type's) parameter names dropped: `void
    doku_free(char *s)` becomes `void doku_free(char *)`. Other declarations stay as they are."""
    match = re.fullmatch(r"(.*?\bdoku_\w+)\((.*)\)", statement) or re.fullmatch(r"(typedef .*\(\*\w+\))\((.*)\)", statement)
    if not match:
        return statement
    params = [re.sub(r"\s*\b[A-Za-z_]\w*$", "", p.strip()) if re.search(r"[\w*]\s*\*?\s*[A-Za-z_]\w*$", p.strip()) and " " in p.strip() else p.strip()
              for p in split_params(match.group(2))]
    return f"{match.group(1)}({', '.join(params)})"


def split_params(text: str) -> list:
    """Top-level commas only (a function-pointer parameter has its own list)."""
    params, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            params.append(current)
            current = ""
        else:
            current += ch
    return params + [current] if current.strip() else params


def soname(lib: str) -> str:
    """LIB's SONAME, or LIB itself when it is a SONAME (libdoku.so.0.1) rather than a file."""
    if re.fullmatch(r"libdoku\.so\.\d+(\.\d+)?", lib):
        return lib
    out = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True, check=True).stdout
    found = re.search(r"\(SONAME\).*\[(.+)\]", out)
    if not found:
        sys.exit(f"{lib} has no SONAME")
    return found.group(1)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("check", "update", "print") or (sys.argv[1] != "print" and len(sys.argv) != 3):
        sys.exit(__doc__)
    current = declarations(HEADER.read_text())
    if sys.argv[1] == "print":
        print("\n".join(current))
        return
    name = soname(sys.argv[2])
    recorded_file = RECORDS / f"doku-{name}.txt"
    recorded = recorded_file.read_text().splitlines() if recorded_file.exists() else None
    diff = "\n".join(difflib.unified_diff(recorded or [], current, f"abi/{recorded_file.name}", HEADER.name, lineterm=""))
    major = int(re.search(r"\.so\.(\d+)", name).group(1))
    additions_only = recorded is not None and set(recorded) <= set(current)
    if sys.argv[1] == "update":
        if recorded is not None and recorded != current and not (major >= 1 and additions_only):
            sys.exit(f"{name}'s ABI is recorded, and this would change it:\n{diff}\n"
                     "A changed ABI needs a new SONAME: bump the version in Cargo.toml (the minor while 0.x, the major from 1.0)")
        recorded_file.parent.mkdir(exist_ok=True)
        recorded_file.write_text("\n".join(current) + "\n")
        print(f"wrote abi/{recorded_file.name} ({len(current)} declarations)")
        return
    if recorded is None:
        sys.exit(f"no abi/doku-{name}.txt: a new SONAME's ABI is recorded with `python3 scripts/abi.py update {sys.argv[2]}`")
    if recorded != current:
        hint = ("additions only, which 1.x allows: record them with `python3 scripts/abi.py update LIB`" if major >= 1 and additions_only
                else "bump the version in Cargo.toml (the minor while 0.x, the major from 1.0) so that the SONAME changes, "
                     "then record the new ABI with `python3 scripts/abi.py update LIB`; or undo the change")
        sys.exit(f"the ABI of {name} changed:\n{diff}\n{hint}")
    print(f"{name}: the ABI is the recorded one ({len(current)} declarations, abi/doku-{name}.txt)")


if __name__ == "__main__":
    main()
