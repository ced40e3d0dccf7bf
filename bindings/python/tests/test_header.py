"""The binding against include/doku.h: the status enum, and every function's ctypes declaration.

A changed value or signature in the header fails here, naming the function, instead of
crashing (or silently misreading) at run time.
"""

from __future__ import annotations

import ctypes
import re
from typing import Dict, List, Optional, Tuple

import pytest

from doku_snap import _native
from doku_snap.errors import Status

from conftest import REPO

HEADER = REPO / "include" / "doku.h"

# Functions of the header that the binding deliberately does not declare, with the reason.
# Empty today: the binding declares every function.
UNUSED: Dict[str, str] = {}

# C type (as cbindgen spells it, whitespace normalised) -> the ctypes type the binding uses.
# Owned strings (`char **` out-parameters, the `char *` that doku_free takes) are read as
# c_void_p so that the pointer itself can go back to doku_free; borrowed `const char *` is
# c_char_p, which ctypes copies into bytes at once.
C_TYPES = {
    "void": None,
    "int": ctypes.c_int,
    "unsigned int": ctypes.c_uint,
    "size_t": ctypes.c_size_t,
    "int *": ctypes.POINTER(ctypes.c_int),
    "enum DokuStatus": ctypes.c_int,
    "const char *": ctypes.c_char_p,
    "char *": ctypes.c_void_p,
    "char **": ctypes.POINTER(ctypes.c_void_p),
    "struct DokuClient *": ctypes.c_void_p,
    "const struct DokuClient *": ctypes.c_void_p,
    "struct DokuClient **": ctypes.POINTER(ctypes.c_void_p),
    "void *": ctypes.c_void_p,
    "DokuLogCallback": _native.LOG_CALLBACK,
}


def _code(text: str) -> str:
    """The header without comments and preprocessor lines."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)


def _normalise(c_type: str) -> str:
    c_type = re.sub(r"\s+", " ", c_type).strip()
    c_type = re.sub(r"\s*\*", " *", c_type)  # "char**" / "char **" -> "char **"
    return re.sub(r"\* \*", "**", c_type)


def header_statuses(text: str) -> Dict[str, int]:
    """`typedef enum DokuStatus { NAME = value, ... }` as {NAME: value}."""
    body = re.search(r"typedef\s+enum\s+DokuStatus\s*\{(.*?)\}", _code(text), flags=re.S)
    assert body, f"no `typedef enum DokuStatus {{...}}` in {HEADER}"
    entries = [e.strip() for e in body.group(1).split(",") if e.strip()]
    out = {}
    for entry in entries:
        m = re.fullmatch(r"(\w+)\s*=\s*(-?\d+)", entry)
        assert m, f"DokuStatus entry without an explicit value: {entry!r}"
        out[m.group(1)] = int(m.group(2))
    return out


Prototype = Tuple[Optional[str], List[str]]  # (return type, argument types); None: void


def header_prototypes(text: str) -> Dict[str, Prototype]:
    """Every `doku_*` prototype as {name: (return type, [argument types])}."""
    out: Dict[str, Prototype] = {}
    for m in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(doku_\w+)\s*\(([^)]*)\)\s*;", _code(text)):
        ret, name, args = _normalise(m.group(1)), m.group(2), m.group(3).strip()
        assert name not in out, f"{name} is declared twice in {HEADER}"
        types = []
        if args != "void":
            for arg in args.split(","):
                # The parameter's name is the last identifier: `const char *client_id`.
                a = re.fullmatch(r"(.*?)\s*\b\w+", arg.strip(), flags=re.S)
                assert a and a.group(1), f"{name}: cannot read the parameter {arg.strip()!r}"
                types.append(_normalise(a.group(1)))
        out[name] = (ret, types)
    return out


def ctypes_of(c_type: str, where: str) -> object:
    assert c_type in C_TYPES, f"{where}: C type {c_type!r} has no ctypes mapping in this test: add it"
    return C_TYPES[c_type]


def name_of(t: object) -> str:
    return "None" if t is None else getattr(t, "__name__", repr(t))


def status_mismatches(header: Dict[str, int]) -> List[str]:
    """Both directions: every header value has its Status member, and no member is extra."""
    ours = {("DOKU_OK" if s.name == "OK" else f"DOKU_ERR_{s.name}"): int(s) for s in Status}
    problems = []
    for name, value in header.items():
        if name not in ours:
            problems.append(f"{name} = {value} is in doku.h but not in doku_snap.Status")
        elif ours[name] != value:
            problems.append(f"{name} is {value} in doku.h but {ours[name]} in doku_snap.Status")
    problems += [f"doku_snap.Status has {name} = {value}, which doku.h does not have"
                 for name, value in ours.items() if name not in header]
    return problems


def declaration_mismatches(header: Dict[str, Prototype], declared: Dict[str, tuple]) -> List[str]:
    problems = []
    for name, (ret, args) in sorted(header.items()):
        if name in UNUSED:
            if name in declared:
                problems.append(f"{name} is listed as unused ({UNUSED[name]}) but is declared")
            continue
        if name not in declared:
            problems.append(f"{name} is in doku.h but not declared in _native._FUNCTIONS")
            continue
        argtypes, restype = declared[name]
        want_ret = ctypes_of(ret, name)
        if restype != want_ret:
            problems.append(f"{name}: returns {ret} ({name_of(want_ret)}) in doku.h, "
                            f"restype is {name_of(restype)}")
        if len(argtypes) != len(args):
            problems.append(f"{name}: {len(args)} argument(s) in doku.h ({', '.join(args) or 'void'}), "
                            f"{len(argtypes)} in argtypes")
            continue
        for i, (c_type, declared_type) in enumerate(zip(args, argtypes), 1):
            want = ctypes_of(c_type, f"{name} argument {i}")
            if declared_type != want:
                problems.append(f"{name}: argument {i} is {c_type} ({name_of(want)}) in doku.h, "
                                f"argtypes has {name_of(declared_type)}")
    problems += [f"{name} is declared in _native._FUNCTIONS but doku.h has no such function"
                 for name in declared if name not in header]
    problems += [f"{name} is listed in UNUSED but doku.h has no such function"
                 for name in UNUSED if name not in header]
    return problems


@pytest.fixture(scope="module")
def header_text() -> str:
    return HEADER.read_text()


def test_status_enum_matches_the_header(header_text):
    header = header_statuses(header_text)
    assert "DOKU_OK" in header and len(header) >= 10, header
    problems = status_mismatches(header)
    assert not problems, "\n".join(problems)


def test_the_library_names_every_status_as_the_header_does(header_text):
    for name, value in header_statuses(header_text).items():
        assert _native.lib.doku_status_name(value).decode() == name, f"doku_status_name({value})"


def test_every_prototype_matches_its_ctypes_declaration(header_text):
    header = header_prototypes(header_text)
    assert {"doku_version", "doku_client_new", "doku_issue_token"} <= header.keys(), sorted(header)
    problems = declaration_mismatches(header, _native._FUNCTIONS)
    assert not problems, "\n".join(problems)


def test_the_loaded_functions_carry_the_declarations():
    for name, (argtypes, restype) in _native._FUNCTIONS.items():
        fn = getattr(_native.lib, name)
        assert (fn.argtypes, fn.restype) == (argtypes, restype), name


# The checks themselves: each mismatch kind is reported, naming the function.

def test_a_changed_status_is_reported(header_text):
    header = header_statuses(header_text)
    assert status_mismatches({**header, "DOKU_ERR_TLS": 70}) == [
        "DOKU_ERR_TLS is 70 in doku.h but 7 in doku_snap.Status"]
    assert status_mismatches({**header, "DOKU_ERR_NEW": 11}) == [
        "DOKU_ERR_NEW = 11 is in doku.h but not in doku_snap.Status"]
    del header["DOKU_ERR_PANIC"]
    assert status_mismatches(header) == ["doku_snap.Status has DOKU_ERR_PANIC = 99, which doku.h does not have"]


def test_a_changed_signature_is_reported(header_text):
    header = header_prototypes(header_text)
    declared = dict(_native._FUNCTIONS)
    sign_args, sign_ret = declared["doku_sign"]
    issue_args, issue_ret = declared["doku_issue_token"]
    cases = {
        "doku_sign: 4 argument(s) in doku.h (const char *, const char *, const char *, char **), 3 in argtypes":
            {"doku_sign": (sign_args[:3], sign_ret)},
        "doku_sign: argument 4 is char ** (LP_c_void_p) in doku.h, argtypes has c_char_p":
            {"doku_sign": (sign_args[:3] + [ctypes.c_char_p], sign_ret)},
        "doku_sign: returns enum DokuStatus (c_int) in doku.h, restype is c_char_p":
            {"doku_sign": (sign_args, ctypes.c_char_p)},
        # a pointer to the wrong integer type: same size, so only the declaration check sees it
        "doku_issue_token: argument 4 is int * (LP_c_int) in doku.h, argtypes has LP_c_uint":
            {"doku_issue_token": (issue_args[:3] + [ctypes.POINTER(ctypes.c_uint)] + issue_args[4:],
                                  issue_ret)},
        "doku_issue_token: argument 1 is const char * (c_char_p) in doku.h, argtypes has c_void_p":
            {"doku_issue_token": ([ctypes.c_void_p] + issue_args[1:], issue_ret)},
        "doku_gone is declared in _native._FUNCTIONS but doku.h has no such function":
            {"doku_gone": ([], None)},
    }
    for message, change in cases.items():
        assert declaration_mismatches(header, {**declared, **change}) == [message]
    missing = {k: v for k, v in declared.items() if k != "doku_minify"}
    assert declaration_mismatches(header, missing) == ["doku_minify is in doku.h but not declared in _native._FUNCTIONS"]


def test_the_parser_reads_cbindgen_style_prototypes():
    text = """
    /** A comment with doku_fake(int) in it; */
    const char *doku_version(void);
    // doku_line_comment(int x);
    enum DokuStatus doku_x(const char *a,
                           /* inline */ struct DokuClient **b,
                           unsigned int c);
    void doku_client_free(struct DokuClient *client);
    """
    assert header_prototypes(text) == {
        "doku_version": ("const char *", []),
        "doku_x": ("enum DokuStatus", ["const char *", "struct DokuClient **", "unsigned int"]),
        "doku_client_free": ("void", ["struct DokuClient *"]),
    }


def test_log_levels_match_the_header(header_text):
    """doku_snap's level map covers exactly the header's DokuLogLevel values, by name."""
    import logging

    from doku_snap import _log

    body = re.search(r"typedef\s+enum\s+DokuLogLevel\s*\{(.*?)\}", _code(header_text), flags=re.S)
    assert body, f"no `typedef enum DokuLogLevel {{...}}` in {HEADER}"
    header = {m.group(1): int(m.group(2)) for m in re.finditer(r"(DOKU_LOG_\w+)\s*=\s*(\d+)", body.group(1))}
    by_name = {"DOKU_LOG_ERROR": logging.ERROR, "DOKU_LOG_WARN": logging.WARNING,
               "DOKU_LOG_INFO": logging.INFO, "DOKU_LOG_DEBUG": logging.DEBUG}
    assert header.keys() == by_name.keys(), header
    assert _log.LEVELS == {value: by_name[name] for name, value in header.items()}
