//! No secret is freed unwiped by Rust code. A global allocator looks, while armed on the test
//! thread, at every block that is freed or reallocated (which may move it and free the old
//! block as it is: this allocator always does) for any 16-character window of the secrets: the
//! keys' base64, the passphrase, the client secret. Unlike the heap scan of tests/c/test_heap.c it does not depend
//! on malloc leaving a freed block alone until the scan; it sees Rust's allocations only.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashSet;
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use common::{openssl, TestDir};
use doku::ffi::DokuStatus;

static NEEDLES: OnceLock<HashSet<[u8; 16]>> = OnceLock::new();
/// Blocks freed or moved with a secret in them, and the largest one's size.
static UNWIPED: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Looks into a block about to be freed or moved. Allocates nothing.
fn inspect(ptr: *const u8, size: usize) {
    let (true, Some(needles)) = (ARMED.with(Cell::get), NEEDLES.get()) else { return };
    // SAFETY: the allocator hands back a block of `size` bytes that is still live.
    let block = unsafe { std::slice::from_raw_parts(ptr, size) };
    if block.windows(16).any(|w| needles.contains(<&[u8; 16]>::try_from(w).unwrap())) {
        UNWIPED.fetch_add(1, Ordering::Relaxed);
        LARGEST.fetch_max(size, Ordering::Relaxed);
    }
}

/// Hands out zeroed blocks, so that what a block holds when it is freed was written during its
/// own life, not left over from an earlier one; and always moves a reallocated block.
struct Watch;

// SAFETY: blocks come from System with the caller's layout; `inspect` only reads live blocks;
// realloc copies the smaller of the two sizes, as GlobalAlloc's own default does.
unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        inspect(ptr, layout.size());
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[global_allocator]
static WATCH: Watch = Watch;

const PASSPHRASE: &str = "freed-memory-passphrase-51e0c4d2";
const SECRET: &str = "freed-memory-client-secret-8b3a7f60";

/// Runs `call` armed and returns how many blocks it freed or moved with a secret in them.
fn unwiped_during(call: impl FnOnce()) -> (usize, usize) {
    UNWIPED.store(0, Ordering::Relaxed);
    LARGEST.store(0, Ordering::Relaxed);
    ARMED.with(|a| a.set(true));
    call();
    ARMED.with(|a| a.set(false));
    (UNWIPED.load(Ordering::Relaxed), LARGEST.load(Ordering::Relaxed))
}

#[test]
fn no_secret_is_freed_unwiped() {
    let dir = TestDir::new("freed-memory");
    let k = dir.path("pkcs8.pem");
    let p = k.to_str().unwrap();
    let pass = format!("pass:{PASSPHRASE}");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &k);
    openssl(&["pkcs8", "-topk8", "-in", p, "-v2", "aes-256-cbc", "-passout", &pass, "-out"], &dir.path("enc.pem"));
    openssl(&["rsa", "-in", p, "-traditional", "-aes128", "-passout", &pass, "-out"], &dir.path("legacy.pem"));
    openssl(&["pkey", "-in", p, "-outform", "DER", "-out"], &dir.path("key.der"));
    let read = |name: &str| std::fs::read_to_string(dir.path(name)).unwrap();
    let (pem, enc, legacy) = (read("pkcs8.pem"), read("enc.pem"), read("legacy.pem"));
    let bare = common::base64_one_line(&std::fs::read(dir.path("key.der")).unwrap());

    let mut needles = HashSet::new();
    for text in [&pem, &enc, &legacy, &bare] {
        let body: String = text.lines().filter(|l| !l.starts_with("-----") && !l.contains(':')).collect();
        needles.extend(body.as_bytes().windows(16).map(|w| <[u8; 16]>::try_from(w).unwrap()));
    }
    for secret in [PASSPHRASE, SECRET] {
        needles.extend(secret.as_bytes().windows(16).map(|w| <[u8; 16]>::try_from(w).unwrap()));
    }
    NEEDLES.set(needles).unwrap();

    // Parsed keys are cached by a digest of their text: leading newlines make each case's text
    // distinct, so that every case parses its key.
    let distinct = |n: usize, text: &str| format!("{}{text}", "\n".repeat(n));
    let file = |n: usize, text: &str| {
        let path = dir.write(&format!("case-{n}.pem"), &distinct(n, text));
        format!(r#""private_key_file":{}"#, serde_json::to_string(&path).unwrap())
    };
    let inline = |n: usize, text: &str| format!(r#""private_key":{}"#, serde_json::to_string(&distinct(n, text)).unwrap());
    let secrets = format!(r#","private_key_passphrase":"{PASSPHRASE}","client_secret":"{SECRET}""#);
    let cases = [
        ("inline PEM", inline(1, &pem)),
        ("PEM file", file(2, &pem)),
        ("inline bare base64", inline(3, &bare)),
        ("inline encrypted PKCS#8", inline(4, &enc) + &secrets),
        ("encrypted PKCS#8 file", file(5, &enc) + &secrets),
        ("inline encrypted PKCS#1", inline(6, &legacy) + &secrets),
    ];
    for (what, key) in cases {
        let config = CString::new(format!(r#"{{"client_id":"MCH",{key},"proxy":""}}"#)).unwrap();
        let mut status = DokuStatus::DOKU_ERR_PANIC;
        let (unwiped, largest) = unwiped_during(|| {
            let mut client = std::ptr::null_mut();
            status = doku::ffi::doku_client_new(config.as_ptr(), &mut client);
            doku::ffi::doku_client_free(client);
        });
        assert_eq!(status, DokuStatus::DOKU_OK, "{what}");
        assert_eq!(unwiped, 0, "{what}: {unwiped} blocks (the largest {largest} bytes) freed or moved with a secret in them");
    }

    let key = CString::new(distinct(7, &pem)).unwrap();
    let (id, ts) = (CString::new("MCH").unwrap(), CString::new("2020-09-22T01:51:00Z").unwrap());
    let mut sig = std::ptr::null_mut();
    let mut status = DokuStatus::DOKU_ERR_PANIC;
    let (unwiped, largest) = unwiped_during(|| status = doku::ffi::doku_sign(id.as_ptr(), ts.as_ptr(), key.as_ptr(), &mut sig));
    doku::ffi::doku_free(sig);
    assert_eq!(status, DokuStatus::DOKU_OK);
    assert_eq!(unwiped, 0, "doku_sign: {unwiped} blocks (the largest {largest} bytes) freed or moved with key text in them");
}
