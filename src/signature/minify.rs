//! JSON minification for the symmetric signature's body digest (snap-reference §3): whitespace
//! outside strings goes; everything else (key order, string contents and escapes, `/`,
//! non-ASCII, number spelling) stays byte for byte. The official SDKs re-serialize instead and
//! change escapes or numbers, so the digest they send differs from the bytes DOKU hashes.

use crate::error::{Error, Result};

/// `json` without insignificant whitespace. Invalid JSON is an `InvalidArgument` error.
pub fn minify(json: &str) -> Result<String> {
    // Validate with serde_json (no allocation for IgnoredAny), then strip in one pass: the
    // scanner below only has to know where strings start and end.
    serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(|e| Error::invalid(format!("body is not valid JSON ({e})")))?;
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_whitespace_outside_strings() {
        let pretty = "{\n  \"partnerServiceId\" : \"  888994\",\n\t\"amount\": {\"value\": 10000.00, \"currency\": \"IDR\"},\r\n  \"note\": \"a / b \\\" c\",  \"nama\": \"Budi Śantoso\", \"list\": [ 1 , 2e10, -0.5 ] }\n";
        assert_eq!(
            minify(pretty).unwrap(),
            "{\"partnerServiceId\":\"  888994\",\"amount\":{\"value\":10000.00,\"currency\":\"IDR\"},\"note\":\"a / b \\\" c\",\"nama\":\"Budi Śantoso\",\"list\":[1,2e10,-0.5]}"
        );
    }

    #[test]
    fn escapes_and_scalars_stay_as_written() {
        assert_eq!(minify(r#" "\u00e9\/\\" "#).unwrap(), r#""\u00e9\/\\""#);
        assert_eq!(minify(" 1.50 ").unwrap(), "1.50");
        assert_eq!(minify("[ true , null ]").unwrap(), "[true,null]");
        assert_eq!(minify(r#"{"a":"\\"}"#).unwrap(), r#"{"a":"\\"}"#, "an escaped backslash ends before the quote");
    }

    #[test]
    fn invalid_json_is_refused() {
        for bad in ["", "{", "{\"a\":1,}", "[1 2]", "{'a':1}", "\"unterminated", "01", "{\"a\":1} x"] {
            let e = minify(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message().starts_with("body is not valid JSON"), "{e}");
        }
    }
}
