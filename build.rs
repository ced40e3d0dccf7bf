//! Generates include/doku.h from src/ffi with cbindgen (version pinned in Cargo.toml). The header
//! is committed; `make check-header` fails when the committed copy differs from this output.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    // The C tests compile with the `cc` crate, which needs the target triple.
    println!("cargo:rustc-env=DOKU_BUILD_TARGET={}", std::env::var("TARGET").unwrap());

    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let patch = std::env::var("CARGO_PKG_VERSION_PATCH").unwrap();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap();
    let defines = format!(
        "\n/** The version of this header; doku_version() returns the library's, which must match. */\n\
         #define DOKU_VERSION \"{version}\"\n\
         #define DOKU_VERSION_MAJOR {major}\n\
         #define DOKU_VERSION_MINOR {minor}\n\
         #define DOKU_VERSION_PATCH {patch}\n"
    );

    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/ffi/mod.rs"))
        .with_after_include(defines)
        .generate()
        .expect("cbindgen failed to generate include/doku.h");
    let mut out = Vec::new();
    bindings.write(&mut out);
    let path = dir.join("include/doku.h");
    // Write only on change: touching the file would make every build look like drift to make.
    if std::fs::read(&path).ok().as_deref() != Some(&out[..]) {
        std::fs::create_dir_all(dir.join("include")).unwrap();
        std::fs::write(&path, &out).expect("write include/doku.h");
    }
}
