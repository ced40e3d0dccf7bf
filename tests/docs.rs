//! The docs against the code: every config key (`doku::config::KEYS`) is described in doku.h's
//! comment of `doku_client_new` and in README.md's configuration table, each with the default
//! the parser uses (`doku::config::DEFAULTS`); the same for the token issuer's options
//! (`doku::merchant::ISSUER_KEYS`, `ISSUER_DEFAULTS`), `doku_issue_token` and README.md's token
//! issuer table. (README.md's fault table is checked by tests/faults.rs, against the fault
//! matrix itself.)

mod common;

use common::markdown;
use doku::config::{DefaultValue, DEFAULTS, KEYS};
use doku::merchant::notification::{CALLS, VERIFY_DEFAULTS, VERIFY_KEYS};
use doku::merchant::{ISSUER_DEFAULTS, ISSUER_KEYS};

const README: &str = include_str!("../README.md");
const HEADER: &str = include_str!("../include/doku.h");
const PYTHON_README: &str = include_str!("../bindings/python/README.md");
const PHP_README: &str = include_str!("../bindings/php/README.md");

/// The doc comment right above `function`'s prototype in a cbindgen header, as plain text.
fn doc_comment(header: &str, function: &str) -> String {
    // The prototype, not a mention in a comment: its line starts with the return type.
    let prototype = header
        .match_indices(&format!(" {function}("))
        .map(|(at, _)| at)
        .find(|&at| !header[header[..at].rfind('\n').map_or(0, |n| n + 1)..at].trim_start().starts_with(['*', '/']))
        .unwrap_or_else(|| panic!("no prototype of {function} in doku.h"));
    let before = &header[..prototype];
    let start = before.rfind("/**").expect("a comment above the prototype");
    let end = start + before[start..].find("*/").expect("the comment's end");
    assert!(before[end + 2..].trim().lines().count() <= 1, "the comment above {function} is not right above it");
    before[start + 3..end].lines().map(|l| l.trim().trim_start_matches('*').trim()).collect::<Vec<_>>().join(" ")
}

/// What the comment says about each key: from its `"key"` to the next key's.
fn described_keys(comment: &str, function: &str, keys: &[&str]) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut found: Vec<(usize, &str)> = Vec::new();
    let mut missing = Vec::new();
    for &key in keys {
        match comment.find(&format!("\"{key}\"")) {
            Some(at) => found.push((at, key)),
            None => missing.push(format!("doku.h: the comment of {function} does not describe \"{key}\"")),
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    found.sort();
    let ends: Vec<usize> = found.iter().skip(1).map(|&(at, _)| at).chain([comment.len()]).collect();
    Ok(found.iter().zip(ends).map(|(&(at, key), end)| (key.to_owned(), comment[at..end].to_owned())).collect())
}

/// Every key of `keys` in the comment of `function`, and each default of `defaults` in the words
/// about its key ("default 30000", "\"sandbox\" default").
fn header_problems(function: &str, keys: &[&str], defaults: &[(&str, DefaultValue)]) -> Vec<String> {
    let described = match described_keys(&doc_comment(HEADER, function), function, keys) {
        Ok(d) => d,
        Err(missing) => return missing,
    };
    let mut problems = Vec::new();
    for (key, default) in defaults {
        let words = &described.iter().find(|(k, _)| k == key).expect("every default's key is a key").1;
        let value = default.to_string();
        if !(words.contains("default") && words.contains(&value)) {
            problems.push(format!("doku.h: {function}'s comment on \"{key}\" does not give its default {value}: {words}"));
        }
    }
    problems
}

/// The table under README's `heading` against `keys` (both ways: every key has a row, every key
/// named in the table's first column is a key) and `defaults` (the row's default column).
fn readme_problems(readme: &str, heading: &str, keys: &[&str], defaults: &[(&str, DefaultValue)]) -> Vec<String> {
    let table = heading.trim_start_matches('#').trim();
    let rows = markdown::table(markdown::section(readme, heading));
    let mut problems = Vec::new();
    let mut default_of = std::collections::BTreeMap::new();
    for row in &rows {
        assert_eq!(row.len(), 3, "README {table} row: {row:?}");
        for key in markdown::code_spans(&row[0]) {
            if !keys.contains(&key) {
                problems.push(format!("README.md: the {table} table has `{key}`, which is no key of it"));
            }
            default_of.insert(key, row[1].replace('`', ""));
        }
    }
    for key in keys {
        if !default_of.contains_key(key) {
            problems.push(format!("README.md: the {table} table has no row for `{key}`"));
        }
    }
    for (key, default) in defaults {
        if let Some(cell) = default_of.get(key) {
            if *cell != default.to_string() {
                problems.push(format!("README.md: the {table} table gives `{key}` the default {cell:?}, the code {default}"));
            }
        }
    }
    problems
}

/// A table of keys: the words the bindings' READMEs use for it, its keys and defaults, the
/// function whose header comment describes it, and its README heading.
struct KeyTable {
    words: &'static str,
    keys: &'static [&'static str],
    defaults: &'static [(&'static str, DefaultValue)],
    function: &'static str,
    heading: &'static str,
}

const TABLES: &[KeyTable] = &[
    KeyTable { words: "config keys", keys: KEYS, defaults: DEFAULTS, function: "doku_client_new", heading: "### Configuration" },
    KeyTable {
        words: "token options",
        keys: ISSUER_KEYS,
        defaults: ISSUER_DEFAULTS,
        function: "doku_issue_token",
        heading: "### Token issuer options",
    },
    KeyTable {
        words: "verify options",
        keys: VERIFY_KEYS,
        defaults: VERIFY_DEFAULTS,
        function: "doku_merchant_verify",
        heading: "### Notification verifier options",
    },
];

/// Each call DOKU makes to a merchant has its row in README.md (operation, path, success code)
/// and is named, with its path, in doku_merchant_verify's comment.
#[test]
fn the_calls_are_documented() {
    let section = README.split("### DOKU's calls to the merchant").nth(1).unwrap().split("\n### ").next().unwrap();
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/doku.h")).unwrap();
    let comment = header.split("doku_merchant_verify(").next().unwrap().rsplit("/**").next().unwrap();
    for call in &CALLS {
        let row = format!("| `{}` | `{}` | `{}` |", call.operation, call.path, call.success_code());
        assert!(section.contains(&row), "README.md has no row {row}");
        assert!(
            comment.contains(&format!("\"{}\"", call.path)) && comment.contains(&format!("\"{}\"", call.operation)),
            "doku.h does not name {}",
            call.operation
        );
    }
}

#[test]
fn every_default_belongs_to_a_key() {
    for table in TABLES {
        for (key, _) in table.defaults {
            assert!(table.keys.contains(key), "{}: the defaults have {key}, which is not a key", table.words);
        }
    }
}

#[test]
fn the_header_describes_every_key_and_default() {
    let problems: Vec<String> = TABLES.iter().flat_map(|t| header_problems(t.function, t.keys, t.defaults)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_tables_describe_every_key_and_default() {
    let problems: Vec<String> = TABLES.iter().flat_map(|t| readme_problems(README, t.heading, t.keys, t.defaults)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The bindings' READMEs list the keys in the paragraph that says "config keys" (for their
/// `Client`) and the one that says "token options" (for issuing tokens), each pointing to the
/// main table.
#[test]
fn the_bindings_readmes_name_every_key() {
    for (readme, text) in [("bindings/python/README.md", PYTHON_README), ("bindings/php/README.md", PHP_README)] {
        for KeyTable { words, keys, .. } in TABLES {
            let paragraph = text.split("\n\n").find(|p| p.contains(words)).unwrap_or_else(|| panic!("{readme}: no paragraph on {words}"));
            let missing: Vec<&&str> = keys.iter().filter(|key| !paragraph.contains(&format!("`{key}`"))).collect();
            assert!(missing.is_empty(), "{readme}: the paragraph on {words} does not name {missing:?}");
        }
    }
}

/// The checks themselves: each kind of drift is reported, naming the key.
#[test]
fn drift_is_reported() {
    const CONFIG: &str = "### Configuration";
    let mut keys = KEYS.to_vec();
    keys.push("retries");
    assert_eq!(header_problems("doku_client_new", &keys, DEFAULTS), ["doku.h: the comment of doku_client_new does not describe \"retries\""]);
    assert_eq!(readme_problems(README, CONFIG, &keys, DEFAULTS), ["README.md: the Configuration table has no row for `retries`"]);

    let mut defaults = DEFAULTS.to_vec();
    let timeout = defaults.iter_mut().find(|(k, _)| *k == "timeout_ms").unwrap();
    timeout.1 = DefaultValue::Number(20000);
    let header = header_problems("doku_client_new", KEYS, &defaults);
    assert!(
        header.len() == 1 && header[0].starts_with("doku.h: doku_client_new's comment on \"timeout_ms\" does not give its default 20000"),
        "{header:?}"
    );
    assert_eq!(
        readme_problems(README, CONFIG, KEYS, &defaults),
        ["README.md: the Configuration table gives `timeout_ms` the default \"30000\", the code 20000"]
    );

    let without_ca_file: Vec<&str> = KEYS.iter().copied().filter(|&k| k != "ca_file").collect();
    assert_eq!(
        readme_problems(README, CONFIG, &without_ca_file, DEFAULTS),
        ["README.md: the Configuration table has `ca_file`, which is no key of it"]
    );

    // The token options' table, the same way.
    let issuer_defaults = [("ttl_s", DefaultValue::Number(600)), ("max_skew_s", DefaultValue::Number(300))];
    let header = header_problems("doku_issue_token", ISSUER_KEYS, &issuer_defaults);
    assert!(
        header.len() == 1 && header[0].starts_with("doku.h: doku_issue_token's comment on \"ttl_s\" does not give its default 600"),
        "{header:?}"
    );
    assert_eq!(
        readme_problems(README, "### Token issuer options", &[ISSUER_KEYS, &["retries"]].concat(), &issuer_defaults),
        [
            "README.md: the Token issuer options table has no row for `retries`",
            "README.md: the Token issuer options table gives `ttl_s` the default \"900\", the code 600"
        ]
    );
}

const CPP_HEADER: &str = include_str!("../bindings/cpp/doku.hpp");

/// Every log event (`doku::log::event::ALL`) with its level: in README's "Logs and stats" table
/// (both ways), in doku.h's comment of doku_set_log_callback, and named in the bindings' docs.
#[test]
fn every_log_event_is_documented_with_its_level() {
    use doku::log::{event, Level};
    let level_name = |l: Level| match l {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
    };
    let mut problems = Vec::new();
    let rows: Vec<(String, String)> = markdown::table(markdown::section(README, "### Logs and stats"))
        .into_iter()
        .map(|row| (row[0].trim_matches('`').to_owned(), row[1].trim_matches('`').to_owned()))
        .collect();
    let documented: Vec<(String, String)> = event::ALL.iter().map(|(e, l)| (e.to_string(), format!("DOKU_LOG_{}", level_name(*l)))).collect();
    if rows != documented {
        problems.push(format!("README.md's Logs and stats table: {rows:?}, the events are {documented:?}"));
    }
    let comment = doc_comment(HEADER, "doku_set_log_callback");
    for (name, level) in event::ALL {
        if !comment.contains(&format!("\"{name}\" ({}", level_name(*level))) {
            problems.push(format!("doku.h: the comment of doku_set_log_callback does not give \"{name}\" ({}", level_name(*level)));
        }
        for (doc, text) in [("bindings/python/README.md", PYTHON_README), ("bindings/php/README.md", PHP_README)] {
            if !text.contains(&format!("`{name}`")) {
                problems.push(format!("{doc} does not name `{name}`"));
            }
        }
        if !CPP_HEADER.contains(&format!("\"{name}\"")) {
            problems.push(format!("bindings/cpp/doku.hpp does not name \"{name}\""));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// README's Operations table is the catalog: one row per operation, in its order, with its
/// method and path, success codes and options; and doku_client_call's comment names, for each
/// per-operation option, exactly the operations that require and accept it.
#[test]
fn the_operations_are_documented_as_the_catalog_has_them() {
    use doku::operations::{Need, CATALOG};
    let rows = markdown::table(markdown::section(README, "## Operations"));
    assert_eq!(rows.len(), CATALOG.len(), "one row per operation: {rows:?}");
    let keys = |needs: &[Need]| needs.iter().map(|n| n.key()).collect::<Vec<_>>();
    for (row, op) in rows.iter().zip(CATALOG) {
        let cells: Vec<Vec<&str>> = row.iter().map(|cell| markdown::code_spans(cell)).collect();
        assert_eq!(cells[0], [op.name], "{row:?}");
        assert_eq!(row[0].contains("(moves money)"), op.moves_money, "{row:?}");
        assert_eq!(cells[1], [format!("{} {}", op.method, op.path).as_str()], "{row:?}");
        assert_eq!(cells[2], op.success, "{row:?}");
        assert_eq!(cells[3], keys(op.required), "{row:?}");
        assert_eq!(cells[4], keys(op.accepted), "{row:?}");
    }
    let comment = doc_comment(HEADER, "doku_client_call");
    let needs = [Need::CustomerToken, Need::IpAddress, Need::DeviceId];
    let described = described_keys(&comment, "doku_client_call", &needs.map(Need::key)).unwrap();
    for need in needs {
        let words = &described.iter().find(|(k, _)| k == need.key()).unwrap().1;
        let listed = |label: &str| -> Vec<String> {
            let Some(rest) = words.split(label).nth(1) else { return Vec::new() };
            let list = rest.split([';', ')']).next().unwrap();
            let mut names: Vec<String> = list.split(',').map(|n| n.trim().to_owned()).collect();
            names.sort();
            names
        };
        let mut required: Vec<String> = CATALOG.iter().filter(|op| op.required.contains(&need)).map(|op| op.name.to_owned()).collect();
        let mut accepted: Vec<String> = CATALOG.iter().filter(|op| op.accepted.contains(&need)).map(|op| op.name.to_owned()).collect();
        required.sort();
        accepted.sort();
        assert_eq!(listed("required by "), required, "doku.h on {}: {words}", need.key());
        assert_eq!(listed("accepted by "), accepted, "doku.h on {}: {words}", need.key());
    }
    for op in CATALOG {
        assert!(comment.contains(&format!("\"{}\"", op.name)), "doku_client_call's comment names {}", op.name);
    }
}
