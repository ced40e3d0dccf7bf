//! SNAP timestamps: ISO-8601 to the second, `2020-09-22T01:51:00Z` or with a numeric offset such
//! as `2022-10-07T14:18:39+07:00`. Offsets are validated, never assembled by hand from floats,
//! so `-00:00` or `+5.5:30` cannot be produced.

use std::time::SystemTime;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

use crate::error::{Error, Result};

/// The zone an outgoing `X-TIMESTAMP` is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offset {
    /// `None` writes `Z`.
    fixed: Option<FixedOffset>,
}

impl Offset {
    pub const UTC: Offset = Offset { fixed: None };

    /// `"Z"`, or `±HH:MM` with HH ≤ 14 and MM < 60 (e.g. `"+07:00"` for WIB). `-00:00` is refused:
    /// RFC 3339 reserves it for "offset unknown".
    pub fn parse(text: &str) -> Result<Offset> {
        if text == "Z" {
            return Ok(Offset::UTC);
        }
        let b = text.as_bytes();
        let well_formed = b.len() == 6
            && (b[0] == b'+' || b[0] == b'-')
            && b[1].is_ascii_digit()
            && b[2].is_ascii_digit()
            && b[3] == b':'
            && b[4].is_ascii_digit()
            && b[5].is_ascii_digit();
        let bad = || Error::invalid("config: timestamp_offset must be \"Z\" or \"+HH:MM\"/\"-HH:MM\" (e.g. \"+07:00\")");
        if !well_formed {
            return Err(bad());
        }
        let hours = i32::from(b[1] - b'0') * 10 + i32::from(b[2] - b'0');
        let minutes = i32::from(b[4] - b'0') * 10 + i32::from(b[5] - b'0');
        if hours > 14 || minutes > 59 || text == "-00:00" {
            return Err(bad());
        }
        let secs = (hours * 3600 + minutes * 60) * if b[0] == b'-' { -1 } else { 1 };
        Ok(Offset { fixed: Some(FixedOffset::east_opt(secs).ok_or_else(bad)?) })
    }

    /// `time` written in this zone, to the second.
    pub fn format(&self, time: DateTime<Utc>) -> String {
        match self.fixed {
            None => time.to_rfc3339_opts(SecondsFormat::Secs, true),
            Some(off) => time.with_timezone(&off).to_rfc3339_opts(SecondsFormat::Secs, false),
        }
    }

    pub fn now(&self) -> String {
        self.format(Utc::now())
    }
}

/// Now, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_utc() -> String {
    Offset::UTC.now()
}

/// A `SystemTime` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(time: SystemTime) -> String {
    Offset::UTC.format(DateTime::<Utc>::from(time))
}

/// Strict SNAP timestamp: `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `±HH:MM`.
/// Lowercase `t`/`z`, a space separator or a missing zone are refused.
pub fn parse(text: &str) -> Option<DateTime<FixedOffset>> {
    // The text comes from the network. SNAP timestamps are ASCII, and refusing anything else
    // first makes every byte index below a char boundary: slicing can never panic.
    let b = text.as_bytes();
    if !text.is_ascii() || b.len() < 20 || b[10] != b'T' {
        return None;
    }
    let zone = &text[19..];
    let zone = match zone.strip_prefix('.') {
        Some(frac) => {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            &frac[digits..]
        }
        None => zone,
    };
    if zone != "Z" {
        Offset::parse(zone).ok()?;
    }
    DateTime::parse_from_rfc3339(text).ok()
}

/// An HTTP `Date` header (IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text.trim()).ok().map(|d| d.with_timezone(&Utc))
}

/// `time` as an HTTP `Date` header value.
pub fn format_http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2022, 10, 7, 7, 18, 39).unwrap()
    }

    #[test]
    fn formats_utc_and_offsets() {
        assert_eq!(Offset::UTC.format(at()), "2022-10-07T07:18:39Z");
        assert_eq!(Offset::parse("+07:00").unwrap().format(at()), "2022-10-07T14:18:39+07:00");
        assert_eq!(Offset::parse("+05:30").unwrap().format(at()), "2022-10-07T12:48:39+05:30");
        assert_eq!(Offset::parse("-03:00").unwrap().format(at()), "2022-10-07T04:18:39-03:00");
        assert_eq!(Offset::parse("+00:00").unwrap().format(at()), "2022-10-07T07:18:39+00:00");
    }

    #[test]
    fn bad_offsets_are_refused() {
        for bad in ["", "z", "UTC", "+7", "+07", "+0700", "+5.5:30", "-00:00", "+15:00", "+07:60", "07:00", "+07:00 "] {
            let e = Offset::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message().contains("timestamp_offset"));
        }
    }

    #[test]
    fn now_is_well_formed() {
        let ts = now_utc();
        assert_eq!(ts.len(), 20);
        assert!(ts.ends_with('Z'));
        let parsed = parse(&ts).unwrap();
        assert!((Utc::now() - parsed.with_timezone(&Utc)).num_seconds().abs() <= 2);
        let wib = Offset::parse("+07:00").unwrap().now();
        assert!(wib.ends_with("+07:00") && parse(&wib).is_some());
    }

    #[test]
    fn strict_parse() {
        for good in ["2020-09-22T01:51:00Z", "2022-10-07T14:18:39+07:00", "2022-10-07T14:18:39.123Z", "2022-10-07T14:18:39.5-03:00"] {
            assert!(parse(good).is_some(), "{good}");
        }
        for bad in [
            "2020-09-22 01:51:00Z",
            "2020-09-22t01:51:00z",
            "2020-09-22T01:51:00",
            "2020-09-22T01:51:00-00:00",
            "2020-09-22T01:51Z",
            "2020-13-22T01:51:00Z",
            "22-09-2020T01:51:00Z",
            "2020-09-22T01:51:00+0700",
            "",
            "2020-09-22T01:51:00.Z",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert_eq!(parse("2022-10-07T14:18:39+07:00").unwrap().with_timezone(&Utc), parse("2022-10-07T07:18:39Z").unwrap().with_timezone(&Utc));
    }

    #[test]
    fn non_ascii_is_refused_not_a_panic() {
        // A multi-byte character across byte 19 (where the zone starts) or byte 10 (the `T`).
        for bad in [
            "2022-10-07T14:18:3é",
            "2022-10-07T14:18:3é+07:00",
            "2022-10-07T14:18:39é",
            "2022-10-07T14:18:39.é",
            "2022-10-07T14:18:39+07:0é",
            "2022-10-0éT14:18:39Z",
            "2022-10-07T14:18:😀Z",
            "２０２２-10-07T14:18:39Z",
            "2022-10-07T14:18:39\u{a0}Z",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_http_date("Fri, 07 Oct 2022 07:18:3é GMT"), None);
    }

    #[test]
    fn http_dates_round_trip() {
        assert_eq!(format_http_date(at()), "Fri, 07 Oct 2022 07:18:39 GMT");
        assert_eq!(parse_http_date("Fri, 07 Oct 2022 07:18:39 GMT"), Some(at()));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn system_time_formats_as_utc() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_739_460);
        assert_eq!(format_utc(t), "2020-09-22T01:51:00Z");
    }
}
