//! Harbor's cron expressions: six fields, seconds first (`"0 0 0 * * 0"` = Sundays at
//! midnight), evaluated in UTC.
//!
//! Each field takes `*` (or `?`), a number, `a-b`, `*/n`, `a-b/n`, `a/n` (from `a` to the
//! end) and comma-separated lists of these; months and weekdays also take names (`JAN`,
//! `SUN`). Weekdays count from Sunday = 0 (7 is Sunday too). As in cron, when both the
//! day of the month and the day of the week are restricted, a day matching either runs.
//! The descriptors `@yearly`, `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly`
//! are accepted too.

use std::fmt;

/// A field's name and range, in expression order.
const FIELDS: [(&str, u32, u32); 6] = [
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// How far ahead [`Cron::next_after`] looks: long enough for February 29th across a
/// skipped leap year (2096 → 2104).
const MAX_DAYS_AHEAD: i64 = 12 * 366;

const MS_PER_DAY: i64 = 86_400_000;

/// A malformed cron expression; the message names the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression {expr:?}: {reason}")]
pub struct CronError {
    expr: String,
    reason: String,
}

/// A parsed cron expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    source: String,
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Day of month given as `*`/`?`.
    any_day: bool,
    /// Day of week given as `*`/`?`.
    any_weekday: bool,
}

impl Cron {
    /// Parses a 6-field expression (or a descriptor such as `@daily`).
    pub fn parse(expr: &str) -> Result<Cron, CronError> {
        let fail = |reason: String| CronError {
            expr: expr.to_owned(),
            reason,
        };
        let trimmed = expr.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 0 1 1 *",
            "@monthly" => "0 0 0 1 * *",
            "@weekly" => "0 0 0 * * 0",
            "@daily" | "@midnight" => "0 0 0 * * *",
            "@hourly" => "0 0 * * * *",
            _ if trimmed.starts_with('@') => {
                return Err(fail(format!("unknown descriptor {trimmed:?}")));
            }
            _ => trimmed,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != FIELDS.len() {
            return Err(fail(format!(
                "expected 6 fields (second minute hour day-of-month month day-of-week), found {}",
                parts.len()
            )));
        }
        let mut masks = [0u64; 6];
        for (i, (part, &(name, min, max))) in parts.iter().zip(FIELDS.iter()).enumerate() {
            let names: &[&str] = match i {
                4 => &MONTHS,
                5 => &WEEKDAYS,
                _ => &[],
            };
            masks[i] = field(part, min, max, names)
                .map_err(|why| fail(format!("the {name} field {part:?} {why}")))?;
        }
        // Sunday may be written 7.
        let mut weekdays = masks[5];
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays & !(1 << 7)) | 1;
        }
        let any = |p: &str| p == "*" || p == "?";
        Ok(Cron {
            source: trimmed.to_owned(),
            seconds: masks[0],
            minutes: masks[1],
            hours: masks[2],
            days: masks[3],
            months: masks[4],
            weekdays,
            any_day: any(parts[3]),
            any_weekday: any(parts[5]),
        })
    }

    /// Harbor's cron for a schedule type: `"Hourly"` `0 0 * * * *`, `"Daily"` `0 0 0 * * *`,
    /// `"Weekly"` `0 0 0 * * 0`; `None` for other types (`"Custom"` carries its own).
    pub fn default_for_type(schedule_type: &str) -> Option<&'static str> {
        match schedule_type {
            "Hourly" => Some("0 0 * * * *"),
            "Daily" => Some("0 0 0 * * *"),
            "Weekly" => Some("0 0 0 * * 0"),
            _ => None,
        }
    }

    /// The parsed [`Cron::default_for_type`].
    pub fn for_type(schedule_type: &str) -> Option<Cron> {
        Cron::default_for_type(schedule_type).and_then(|c| Cron::parse(c).ok())
    }

    /// The expression as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The first time (ms, UTC, on a whole second) strictly after `ms` that matches, or
    /// `None` if none does within about twelve years (e.g. `"0 0 0 31 2 *"`).
    pub fn next_after(&self, ms: i64) -> Option<i64> {
        // The first whole second after `ms`.
        let start = ms.div_euclid(1000).checked_add(1)?;
        let first_day = start.div_euclid(86_400);
        let mut from = start.rem_euclid(86_400);
        for day in first_day..first_day.checked_add(MAX_DAYS_AHEAD)? {
            if self.day_matches(day)
                && let Some(second) = self.time_of_day(from)
            {
                return day.checked_mul(MS_PER_DAY)?.checked_add(second * 1000);
            }
            from = 0;
        }
        None
    }

    fn day_matches(&self, day: i64) -> bool {
        let (_, month, dom) = civil_from_days(day);
        if !has(self.months, month) {
            return false;
        }
        let weekday = (day + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday.
        let by_day = has(self.days, dom);
        let by_weekday = has(self.weekdays, weekday);
        match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (true, false) => by_weekday,
            (false, true) => by_day,
            (false, false) => by_day || by_weekday,
        }
    }

    /// The first matching second of the day at or after `from` (seconds since midnight).
    fn time_of_day(&self, from: i64) -> Option<i64> {
        let (h0, m0, s0) = (
            (from / 3600) as u32,
            (from / 60 % 60) as u32,
            (from % 60) as u32,
        );
        let mut h = next_bit(self.hours, h0)?;
        loop {
            let m_from = if h == h0 { m0 } else { 0 };
            if let Some(mut m) = next_bit(self.minutes, m_from) {
                loop {
                    let s_from = if h == h0 && m == m0 { s0 } else { 0 };
                    if let Some(s) = next_bit(self.seconds, s_from) {
                        return Some(i64::from(h * 3600 + m * 60 + s));
                    }
                    m = next_bit(self.minutes, m + 1)?;
                }
            }
            h = next_bit(self.hours, h + 1)?;
        }
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Cron {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cron::parse(s)
    }
}

fn has(mask: u64, n: u32) -> bool {
    n < 64 && mask & (1 << n) != 0
}

/// The smallest set bit at or above `from`.
fn next_bit(mask: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = mask >> from;
    (rest != 0).then(|| from + rest.trailing_zeros())
}

/// One field's set of values as a bit mask; the error completes "the X field "..." ...".
fn field(spec: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let mut mask = 0u64;
    for item in spec.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| format!("has an invalid step {s:?}"))?;
                if step == 0 {
                    return Err("has a step of 0".into());
                }
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, min, max, names)?, value(b, min, max, names)?)
        } else {
            let v = value(range, min, max, names)?;
            // `a/n` runs from `a` to the end of the range.
            (v, if step.is_some() { max } else { v })
        };
        if lo > hi {
            return Err(format!("has a backwards range {range:?}"));
        }
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            mask |= 1 << v;
            v += step;
        }
    }
    Ok(mask)
}

fn value(s: &str, min: u32, max: u32, names: &[&str]) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(min + i as u32);
    }
    let v: u32 = s
        .parse()
        .map_err(|_| format!("has an invalid value {s:?}"))?;
    if v < min || v > max {
        return Err(format!("has {v} outside {min}-{max}"));
    }
    Ok(v)
}

/// `(year, month 1-12, day 1-31)` of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's `days_from_civil`).
#[cfg(test)]
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ms of a UTC date and time.
    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
        (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1000
    }

    fn next(expr: &str, from: i64) -> Option<i64> {
        Cron::parse(expr).unwrap().next_after(from)
    }

    #[test]
    fn calendar_math_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for day in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        // 2024-02-29 is a Thursday, like 1970-01-01.
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!((days_from_civil(2024, 2, 29) + 4).rem_euclid(7), 4);
    }

    #[test]
    fn harbor_defaults() {
        let from = at(2024, 5, 17, 13, 45, 12);
        let hourly = Cron::for_type("Hourly").unwrap();
        assert_eq!(hourly.as_str(), "0 0 * * * *");
        assert_eq!(hourly.next_after(from), Some(at(2024, 5, 17, 14, 0, 0)));
        let daily = Cron::for_type("Daily").unwrap();
        assert_eq!(daily.next_after(from), Some(at(2024, 5, 18, 0, 0, 0)));
        // 2024-05-17 is a Friday; the next Sunday is the 19th.
        let weekly = Cron::for_type("Weekly").unwrap();
        assert_eq!(weekly.next_after(from), Some(at(2024, 5, 19, 0, 0, 0)));
        assert!(Cron::for_type("Custom").is_none());
        assert!(Cron::for_type("None").is_none());
    }

    #[test]
    fn strictly_after() {
        let t = at(2024, 1, 1, 0, 0, 0);
        assert_eq!(next("0 0 0 * * *", t), Some(at(2024, 1, 2, 0, 0, 0)));
        assert_eq!(next("0 0 0 * * *", t - 1), Some(t));
        assert_eq!(next("* * * * * *", t), Some(t + 1000));
        assert_eq!(next("* * * * * *", t + 999), Some(t + 1000));
    }

    #[test]
    fn steps_ranges_and_lists() {
        let t = at(2023, 7, 4, 10, 7, 30);
        assert_eq!(next("0 */15 * * * *", t), Some(at(2023, 7, 4, 10, 15, 0)));
        assert_eq!(
            next("0 */15 * * * *", at(2023, 7, 4, 23, 50, 0)),
            Some(at(2023, 7, 5, 0, 0, 0))
        );
        assert_eq!(next("30 5/20 * * * *", t), Some(at(2023, 7, 4, 10, 25, 30)));
        assert_eq!(next("0 0 9-17/4 * * *", t), Some(at(2023, 7, 4, 13, 0, 0)));
        assert_eq!(next("0 0 8,12,18 * * *", t), Some(at(2023, 7, 4, 12, 0, 0)));
        assert_eq!(next("0 0 0 ? * ?", t), Some(at(2023, 7, 5, 0, 0, 0)));
        // Monday to Friday at 02:00; 2023-07-07 is a Friday.
        assert_eq!(
            next("0 0 2 * * 1-5", at(2023, 7, 7, 3, 0, 0)),
            Some(at(2023, 7, 10, 2, 0, 0))
        );
        assert_eq!(
            next("0 0 2 * * MON-FRI", at(2023, 7, 7, 3, 0, 0)),
            Some(at(2023, 7, 10, 2, 0, 0))
        );
    }

    #[test]
    fn month_ends_and_leap_years() {
        // The 31st skips 30-day months.
        assert_eq!(
            next("0 0 0 31 * *", at(2023, 4, 1, 0, 0, 0)),
            Some(at(2023, 5, 31, 0, 0, 0))
        );
        // February 29th: 2024, then 2028; across 2100 (not a leap year) to 2104.
        assert_eq!(
            next("0 0 0 29 2 *", at(2023, 3, 1, 0, 0, 0)),
            Some(at(2024, 2, 29, 0, 0, 0))
        );
        assert_eq!(
            next("0 0 0 29 2 *", at(2024, 2, 29, 0, 0, 0)),
            Some(at(2028, 2, 29, 0, 0, 0))
        );
        assert_eq!(
            next("0 0 0 29 2 *", at(2096, 3, 1, 0, 0, 0)),
            Some(at(2104, 2, 29, 0, 0, 0))
        );
        // Year end.
        assert_eq!(
            next("0 0 0 1 1 *", at(2023, 12, 31, 23, 59, 59)),
            Some(at(2024, 1, 1, 0, 0, 0))
        );
        assert_eq!(
            next("@monthly", at(2024, 2, 15, 0, 0, 0)),
            Some(at(2024, 3, 1, 0, 0, 0))
        );
    }

    #[test]
    fn sunday_is_zero_or_seven() {
        let from = at(2024, 5, 13, 0, 0, 0); // a Monday
        let sunday = Some(at(2024, 5, 19, 0, 0, 0));
        assert_eq!(next("0 0 0 * * 0", from), sunday);
        assert_eq!(next("0 0 0 * * 7", from), sunday);
        assert_eq!(next("0 0 0 * * SUN", from), sunday);
        assert_eq!(next("@weekly", from), sunday);
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // Both restricted: the 15th or any Friday; 2024-05-10 is a Friday.
        let from = at(2024, 5, 1, 0, 0, 0);
        assert_eq!(next("0 0 0 15 * 5", from), Some(at(2024, 5, 3, 0, 0, 0)));
        assert_eq!(
            next("0 0 0 15 * 5", at(2024, 5, 10, 0, 0, 0)),
            Some(at(2024, 5, 15, 0, 0, 0))
        );
        // Only the day of month restricted.
        assert_eq!(next("0 0 0 15 * *", from), Some(at(2024, 5, 15, 0, 0, 0)));
    }

    #[test]
    fn impossible_dates_give_none() {
        let t = at(2024, 1, 1, 0, 0, 0);
        assert_eq!(next("0 0 0 31 2 *", t), None);
        assert_eq!(next("0 0 0 30 2 *", t), None);
        assert_eq!(next("0 0 0 31 4,6,9,11 *", t), None);
        assert_eq!(
            Cron::parse("0 0 0 1 1 *").unwrap().next_after(i64::MAX),
            None
        );
    }

    #[test]
    fn errors_name_the_field() {
        let err = |e: &str| Cron::parse(e).unwrap_err().to_string();
        assert!(
            err("0 0 24 * * *").contains("hour field \"24\""),
            "{}",
            err("0 0 24 * * *")
        );
        assert!(err("0 61 * * * *").contains("minute"));
        assert!(err("0 0 0 0 * *").contains("day-of-month"));
        assert!(err("0 0 0 * 13 *").contains("month"));
        assert!(err("0 0 0 * * 8").contains("day-of-week"));
        assert!(err("0 */0 * * * *").contains("step of 0"));
        assert!(err("0 0 5-2 * * *").contains("backwards"));
        assert!(err("0 0 * * *").contains("expected 6 fields"));
        assert!(err("x 0 * * * *").contains("second field \"x\""));
        assert!(err("@sometimes").contains("unknown descriptor"));
        assert!(err("").contains("found 0"));
    }
}
