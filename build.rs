//! Generates include/doku.h from src/ffi with cbindgen (version pinned in Cargo.toml). The header
//! is committed; `make check-header` fails when the committed copy differs from this output.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    // Shared-library versioning for `make install`: libdoku.so -> libdoku.so.MAJOR -> file.
    // 0.x releases break the ABI at minor versions, so the SONAME carries both then.
    let soname = match std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap().as_str() {
        "0" => format!("libdoku.so.0.{}", std::env::var("CARGO_PKG_VERSION_MINOR").unwrap()),
        major => format!("libdoku.so.{major}"),
    };
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        // Never unmapped by dlclose: PHP-FPM without preloading closes the library after each
        // request, and the process-wide token cache must outlive that.
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }

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

    vendored_openssl_dir();

    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let header = generate(config.clone(), &dir, Some(defines));
    write_if_changed(&dir.join("include/doku.h"), &header);

    // PHP's FFI parser takes plain declarations only: no comments, no preprocessor lines
    // except FFI_SCOPE / FFI_LIB, no extern "C" guards. Same source, same cbindgen.
    let mut plain = config;
    plain.header = None;
    plain.include_guard = None;
    plain.cpp_compat = false;
    plain.documentation = false;
    plain.sys_includes = Vec::new();
    let declarations = String::from_utf8(generate(plain, &dir, None)).unwrap();
    // PHP reads FFI_SCOPE/FFI_LIB only as the file's first lines: no banner comment above them.
    // FFI_LIB: the SONAME, which the runtime package (libdoku0.1) installs without the -dev
    // symlink, and which names the ABI this header declares.
    let php = format!("#define FFI_SCOPE \"DOKU\"\n#define FFI_LIB \"{soname}\"\n\n{}\n", declarations.trim());
    // Only in a checkout: the crate as `cargo package` makes it (the Python sdist's copy) has no
    // bindings/, and creating them there would be writing outside the package's own files.
    let php_dir = dir.join("bindings/php");
    if php_dir.is_dir() {
        write_if_changed(&php_dir.join("doku.h"), php.as_bytes());
    }
}

fn generate(config: cbindgen::Config, dir: &std::path::Path, after_includes: Option<String>) -> Vec<u8> {
    let mut builder = cbindgen::Builder::new().with_config(config).with_src(dir.join("src/ffi/mod.rs"));
    if let Some(text) = after_includes {
        builder = builder.with_after_include(text);
    }
    let mut out = Vec::new();
    builder.generate().expect("cbindgen failed to generate the headers").write(&mut out);
    out
}

/// Write only on change: touching the file would make every build look like drift.
fn write_if_changed(path: &std::path::Path, contents: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(contents) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// The vendored-openssl build's OpenSSL must have /etc/ssl as its directory (.cargo/config.toml
/// sets it, but only for cargo run from inside this repository): openssl-src's /usr/local/ssl
/// is read when a TLS context is made, and is not root's alone everywhere. And it must be the
/// vendored OpenSSL: OPENSSL_NO_VENDOR would link the system's under code written for the other.
fn vendored_openssl_dir() {
    let target = std::env::var("TARGET").unwrap().to_uppercase().replace('-', "_");
    let prefixed = format!("{target}_OPENSSL_CONFIG_DIR");
    for name in [prefixed.as_str(), "OPENSSL_CONFIG_DIR", "OPENSSL_NO_VENDOR"] {
        println!("cargo:rerun-if-env-changed={name}");
    }
    if std::env::var_os("CARGO_FEATURE_VENDORED_OPENSSL").is_none() {
        return;
    }
    // openssl-sys reads the target's variable first.
    let dir = std::env::var(&prefixed).or_else(|_| std::env::var("OPENSSL_CONFIG_DIR"));
    if dir.as_deref() != Ok("/etc/ssl") {
        panic!("vendored-openssl needs OPENSSL_CONFIG_DIR=/etc/ssl (set by .cargo/config.toml when cargo runs in this repository), not {dir:?}");
    }
    if std::env::var_os("OPENSSL_NO_VENDOR").is_some() {
        panic!("vendored-openssl cannot be built with OPENSSL_NO_VENDOR set");
    }
}
