//! The ABI check (`scripts/abi.py`, README's "ABI policy"): the committed record is the header's
//! ABI, and the check fails, with the diff, on a change the version does not allow: under 0.x any
//! change without a new SONAME; from 1.0 anything but additions.

mod common;

use std::process::{Command, Output};

use common::TestDir;

const HEADER: &str = include_str!("../include/doku.h");
const SONAME: &str = concat!("libdoku.so.", env!("CARGO_PKG_VERSION_MAJOR"), ".", env!("CARGO_PKG_VERSION_MINOR"));

/// `python3 scripts/abi.py ARGS` with `header` as include/doku.h and `dir` as abi/.
fn abi(header: &std::path::Path, dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/abi.py"))
        .args(args)
        .env("DOKU_ABI_HEADER", header)
        .env("DOKU_ABI_DIR", dir)
        .output()
        .expect("python3")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn the_committed_record_is_the_header_s_abi() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/abi"));
    let header = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/include/doku.h"));
    let o = abi(header, dir, &["check", SONAME]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).starts_with(&format!("{SONAME}: the ABI is the recorded one")), "{}", text(&o));
}

#[test]
fn a_change_without_a_new_soname_fails_with_the_diff() {
    let t = TestDir::new("abi");
    let (header, dir) = (t.write("doku.h", HEADER), t.path("abi"));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(abi(&header, &dir, &["update", "libdoku.so.0.9"]).status.success());
    assert!(abi(&header, &dir, &["update", "libdoku.so.1"]).status.success());

    // A parameter's name is no part of the ABI.
    let renamed = t.write("renamed.h", &HEADER.replace("void doku_free(char *s);", "void doku_free(char *string);"));
    assert_ne!(std::fs::read_to_string(&renamed).unwrap(), HEADER, "the header still declares doku_free(char *s)");
    assert!(abi(&renamed, &dir, &["check", "libdoku.so.0.9"]).status.success());

    // A changed type, under 0.x and from 1.0: the diff, and what to do.
    let changed = t.write("changed.h", &HEADER.replace("void doku_free(char *s);", "void doku_free(const char *s);"));
    for soname in ["libdoku.so.0.9", "libdoku.so.1"] {
        let o = abi(&changed, &dir, &["check", soname]);
        let said = text(&o);
        assert!(!o.status.success(), "{soname}: {said}");
        assert!(said.contains(&format!("the ABI of {soname} changed:")), "{said}");
        assert!(said.contains("-void doku_free(char *)\n") && said.contains("+void doku_free(const char *)\n"), "{said}");
        assert!(said.contains("bump the version in Cargo.toml"), "{said}");
        let o = abi(&changed, &dir, &["update", soname]);
        assert!(!o.status.success() && text(&o).contains("A changed ABI needs a new SONAME"), "{}", text(&o));
    }

    // An addition: a change under 0.x; from 1.0 allowed, once recorded.
    let added =
        t.write("added.h", &HEADER.replace("void doku_free(char *s);", "void doku_free(char *s);\n\nenum DokuStatus doku_new_function(char **out);"));
    let o = abi(&added, &dir, &["check", "libdoku.so.0.9"]);
    assert!(!o.status.success() && text(&o).contains("+enum DokuStatus doku_new_function(char **)"), "{}", text(&o));
    let o = abi(&added, &dir, &["check", "libdoku.so.1"]);
    assert!(!o.status.success() && text(&o).contains("additions only, which 1.x allows"), "{}", text(&o));
    assert!(abi(&added, &dir, &["update", "libdoku.so.1"]).status.success());
    assert!(abi(&added, &dir, &["check", "libdoku.so.1"]).status.success());
    // A new status value is an addition too.
    let with_function = std::fs::read_to_string(&added).unwrap();
    let status = t.write("status.h", &with_function.replace("DOKU_ERR_PANIC = 99,", "DOKU_ERR_PANIC = 99,\n  DOKU_ERR_NEW = 12,"));
    let o = abi(&status, &dir, &["check", "libdoku.so.1"]);
    assert!(text(&o).contains("+enum DokuStatus: DOKU_ERR_NEW = 12") && text(&o).contains("additions only"), "{}", text(&o));

    // A SONAME with no record yet.
    let o = abi(&header, &dir, &["check", "libdoku.so.0.10"]);
    assert!(!o.status.success() && text(&o).contains("no abi/doku-libdoku.so.0.10.txt"), "{}", text(&o));
}
