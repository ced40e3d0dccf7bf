//! Criterion microbenchmarks of the core, in-process: `cargo bench --bench core` (part of
//! `make bench`). The side-by-side ratios of BENCHMARKS.md come from tests/bench/run.sh.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use doku::key::{PrivateKey, PublicKey};
use doku::signature::{minify::minify, sign_rsa_sha256, symmetric};

fn core(c: &mut Criterion) {
    let rsa = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let pem = String::from_utf8(rsa.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let key = PrivateKey::cached(&pem, None).unwrap();
    let public = PublicKey::parse(&key.public_key_pem().unwrap()).unwrap();
    let body = format!(
        "{{\n  \"partnerServiceId\": \"  888994\",\n  \"items\": [{}]\n}}",
        vec!["{ \"name\": \"Śantoso / 日本\", \"qty\": 1 }"; 20].join(",\n    ")
    );

    c.bench_function("key: OpenSSL's generic PEM decoder (PKey::private_key_from_pem)", |b| {
        b.iter(|| openssl::pkey::PKey::private_key_from_pem(black_box(pem.as_bytes())).unwrap())
    });
    c.bench_function("key: first use of a PKCS#8 PEM: parse + pairwise sign/verify check (then cached)", |b| {
        b.iter(|| PrivateKey::parse(black_box(&pem), None).unwrap())
    });
    c.bench_function("key: cached lookup by digest of the text", |b| b.iter(|| PrivateKey::cached(black_box(&pem), None).unwrap()));
    c.bench_function("signature: SHA256withRSA + base64 (parsed key)", |b| {
        b.iter(|| sign_rsa_sha256(&key, black_box(b"MCH-0008-1296507211683|2026-11-28T14:18:39+07:00")).unwrap())
    });
    let token = doku::jwt::sign_rs256(&key, &serde_json::json!({"iss": "b", "exp": 4_000_000_000u64, "clientId": "c"})).unwrap();
    c.bench_function("jwt: verify RS256", |b| b.iter(|| doku::jwt::verify_rs256(black_box(&token), &public, 1_800_000_000).unwrap()));
    c.bench_function("minify: 1.3 KiB pretty-printed body", |b| b.iter(|| minify(black_box(&body)).unwrap()));
    let request =
        symmetric::Request { method: "POST", path: "/v1/x", access_token: &token, body: Some(&body), timestamp: "2026-11-28T14:18:39+07:00" };
    c.bench_function("signature: HMAC-SHA512 transaction signature (1.3 KiB body)", |b| {
        b.iter(|| symmetric::sign(black_box(b"secret"), &request).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = core
}
criterion_main!(benches);
