//! `X-EXTERNAL-ID` on the receiving side: its format, judged by `signed_request::check` for the
//! sandbox (judging merchants) and for merchants judging DOKU; and the day's ledger with which
//! the sandbox, as DOKU does, refuses a second use.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// DOKU documents a numeric string of at most this many characters.
pub const MAX_DOCUMENTED: usize = 36;
/// DOKU's own PHP and Node SDKs send 50-57 visible characters that are not digits (a UUID and
/// milliseconds; 32 hex digits and a timestamp), which DOKU evidently accepts; past this, or
/// with a byte that is not visible ASCII, an id is no id.
pub const MAX_LENIENT: usize = 128;

/// What an `X-EXTERNAL-ID` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Digits, at most [`MAX_DOCUMENTED`]: what DOKU documents.
    Documented,
    /// Visible ASCII up to [`MAX_LENIENT`]: what DOKU's SDKs send.
    Undocumented,
    /// Anything else: empty, too long, a space, a control or non-ASCII byte.
    Invalid,
}

pub fn format(id: &str) -> Format {
    if id.is_empty() || id.len() > MAX_LENIENT || !id.bytes().all(|b| b.is_ascii_graphic()) {
        Format::Invalid
    } else if id.len() <= MAX_DOCUMENTED && id.bytes().all(|b| b.is_ascii_digit()) {
        Format::Documented
    } else {
        Format::Undocumented
    }
}

/// SNAP's business day is WIB's (UTC+7): an id may be used again from midnight in Jakarta.
pub fn business_day(now: DateTime<Utc>) -> NaiveDate {
    (now + TimeDelta::hours(7)).date_naive()
}

/// The day's `X-EXTERNAL-ID`s per client, oldest first, bounded in total.
#[derive(Default)]
pub struct Ledger {
    day: Option<NaiveDate>,
    per_client: HashMap<String, (HashSet<String>, VecDeque<String>)>,
    total: usize,
}

impl Ledger {
    /// Records `id` for `client` on `day`; false when the client already used it that day. At
    /// most `cap` ids are kept: past it, the client's own oldest is forgotten, or else one of
    /// the client with the most (so that one client's flood cannot erase another's ids).
    pub fn record(&mut self, client: &str, id: &str, day: NaiveDate, cap: usize) -> bool {
        if self.day != Some(day) {
            self.per_client.clear();
            self.total = 0;
            self.day = Some(day);
        }
        if self.per_client.get(client).is_some_and(|(set, _)| set.contains(id)) {
            return false;
        }
        if self.total >= cap {
            let victim = if self.per_client.get(client).is_some_and(|(_, q)| !q.is_empty()) {
                Some(client.to_owned())
            } else {
                self.per_client.iter().max_by_key(|(_, (_, q))| q.len()).map(|(c, _)| c.clone())
            };
            if let Some((set, queue)) = victim.and_then(|c| self.per_client.get_mut(&c)) {
                if let Some(old) = queue.pop_front() {
                    set.remove(&old);
                    self.total -= 1;
                }
            }
        }
        let (set, queue) = self.per_client.entry(client.to_owned()).or_default();
        set.insert(id.to_owned());
        queue.push_back(id.to_owned());
        self.total += 1;
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format("123456789012345678901234567890123456"), Format::Documented);
        assert_eq!(format("1234567890123456789012345678901234567"), Format::Undocumented);
        assert_eq!(format("5f1c3e1a-6d3b-4e0e-9a53-2f1f7b1c9d201733000000000"), Format::Undocumented);
        assert_eq!(format(&"1".repeat(MAX_LENIENT)), Format::Undocumented);
        for bad in ["", "12 34", "12\n", "١٢٣", &"1".repeat(MAX_LENIENT + 1)] {
            assert_eq!(format(bad), Format::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn the_business_day_is_jakartas() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(business_day(at("2026-11-28T16:59:59Z")), NaiveDate::from_ymd_opt(2026, 11, 28).unwrap());
        assert_eq!(business_day(at("2026-11-28T17:00:00Z")), NaiveDate::from_ymd_opt(2026, 11, 29).unwrap());
    }

    #[test]
    fn ids_are_per_client_per_day_and_bounded() {
        let mut ids = Ledger::default();
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert!(ids.record("A", "1", day, 3));
        assert!(!ids.record("A", "1", day, 3));
        assert!(ids.record("B", "1", day, 3), "another client may use the same id");
        assert!(ids.record("A", "2", day, 3));
        // Full: A's oldest ("1") is forgotten to make room.
        assert!(ids.record("A", "3", day, 3));
        assert_eq!(ids.len(), 3);
        assert!(ids.record("A", "1", day, 3));
        assert!(!ids.record("B", "1", day, 3), "B's id survives A's flood");
        // C has none: the client with the most gives one up.
        assert!(ids.record("C", "9", day, 3));
        assert_eq!(ids.len(), 3);
        // A new day starts afresh.
        assert!(ids.record("A", "3", day.succ_opt().unwrap(), 3));
        assert_eq!(ids.len(), 1);
    }
}
