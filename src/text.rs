//! Outside text quoted in our messages and log lines: a server's `responseMessage`, a config
//! key we do not know, a request path. Bounded, so a hostile peer cannot make a message
//! megabytes long, and stripped of what could rewrite a terminal or a log.

/// For messages: control characters and invisible formatting characters (bidi overrides,
/// zero-width marks, which can make a message read as something else) become spaces; other
/// Unicode stays. Longer text is cut at `max_chars` and ends with `…`.
pub fn printable(text: &str, max_chars: usize) -> String {
    bounded(text, max_chars, |c| if c.is_control() || is_invisible_format(c) { ' ' } else { c }, "…")
}

/// For log lines, one record per line in any encoding: visible ASCII only, anything else `?`.
/// Longer text is cut at `max_chars` and ends with `...`.
pub fn log_safe(text: &str, max_chars: usize) -> String {
    bounded(text, max_chars, |c| if c.is_ascii_graphic() { c } else { '?' }, "...")
}

fn bounded(text: &str, max_chars: usize, map: impl Fn(char) -> char, cut: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(max_chars).map(map).collect();
    if chars.next().is_some() {
        out.push_str(cut);
    }
    out
}

/// Unicode format characters (category Cf) that change how surrounding text displays.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_unicode_but_lose_controls_and_bidi() {
        assert_eq!(printable("Transaksi ditolak: saldo kurang ✓", 100), "Transaksi ditolak: saldo kurang ✓");
        assert_eq!(printable("a\nb\r\u{1b}[31mc\u{7f}", 100), "a b  [31mc ");
        // U+202E would show what follows reversed.
        assert_eq!(printable("ok\u{202E}deliaf\u{202C}\u{200B}", 100), "ok deliaf  ");
        assert_eq!(printable(&"é".repeat(10), 4), "éééé…");
        assert_eq!(printable("abcd", 4), "abcd", "exactly the bound is not cut");
        assert_eq!(printable("", 4), "");
    }

    #[test]
    fn log_text_is_visible_ascii() {
        assert_eq!(log_safe("MCH 1\n\u{e9}", 64), "MCH?1??");
        assert_eq!(log_safe(&"x".repeat(100), 64), format!("{}...", "x".repeat(64)));
        assert_eq!(log_safe("/a b", 200), "/a?b");
    }
}
