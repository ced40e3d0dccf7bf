//! Just enough Markdown for the tests that check README.md against the code: a section, and the
//! rows of its table.

/// The text under `heading` (a whole heading line, e.g. `"### Configuration"`) up to the next
/// heading of the same or a higher level. Panics when the heading is missing.
pub fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let start = text.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("no heading {heading:?}")) + heading.len() + 2;
    let rest = &text[start..];
    let (mut offset, mut in_code) = (0, false);
    for line in rest.split_inclusive('\n') {
        in_code ^= line.starts_with("```");
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !in_code && (1..=level).contains(&hashes) && line[hashes..].starts_with(' ') {
            return &rest[..offset];
        }
        offset += line.len();
    }
    rest
}

/// The body rows of the first table in `text`, as trimmed cells (header and `|---|` lines
/// dropped). `\|` inside a cell is a literal bar.
pub fn table(text: &str) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with('|'))
        .take_while(|l| l.trim_start().starts_with('|'))
        .map(|l| {
            let inner = l.trim().trim_start_matches('|');
            let inner = inner.strip_suffix('|').unwrap_or(inner);
            inner.replace("\\|", "\u{0}").split('|').map(|c| c.trim().replace('\u{0}', "|")).collect()
        })
        .collect();
    assert!(rows.len() >= 2 && rows[1].iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')), "not a Markdown table: {text}");
    rows[2..].to_vec()
}

/// The `code spans` of a cell, e.g. `["client_secret", "channel_id"]`.
pub fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}
