//! Lenient readers for the wire variations the API doc lists: ids as numbers
//! or strings, numbers and booleans as strings, timestamps as ISO 8601 text
//! or Unix seconds. One place, so every type accepts the same spellings.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::Value;

/// A scalar that should be read as text (ids, vhost references).
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.to_string(),
            (None, Some(i)) => i.to_string(),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

pub(crate) fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    scalar_text(&v).ok_or_else(|| D::Error::custom(format!("expected a string or number, got {v}")))
}

pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected a whole number, got {v}"))),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected a whole number, got {v}"))),
        _ => Err(D::Error::custom(format!(
            "expected a whole number, got {v}"
        ))),
    }
}

pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(Some(false)),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(Some(true)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Some(true)),
            "false" | "0" | "no" | "off" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(D::Error::custom(format!("expected a boolean, got {v}"))),
        },
        _ => Err(D::Error::custom(format!("expected a boolean, got {v}"))),
    }
}

/// Above this a "Unix seconds" value is taken as milliseconds (it would be
/// past the year 5000 otherwise).
const MILLIS_THRESHOLD: f64 = 100_000_000_000.0;

/// Reads a timestamp: Unix seconds (number or numeric string) or ISO 8601
/// text with `Z`, a numeric offset or no zone (taken as UTC). `None` for
/// null or anything unreadable: timestamps are informational only.
pub(crate) fn timestamp(v: &Value) -> Option<SystemTime> {
    match v {
        Value::Number(n) => unix(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            match s.parse::<f64>() {
                Ok(f) => unix(f),
                Err(_) => iso8601(s),
            }
        }
        _ => None,
    }
}

fn unix(secs: f64) -> Option<SystemTime> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let secs = if secs >= MILLIS_THRESHOLD {
        secs / 1000.0
    } else {
        secs
    };
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
}

fn iso8601(s: &str) -> Option<SystemTime> {
    // "2024-01-02T03:04:05": the zone, if any, starts after index 19.
    let (local, offset) = match s.get(19..).and_then(|tail| tail.find(['+', '-'])) {
        Some(i) => {
            let at = 19 + i;
            (&s[..at], Some(parse_offset(&s[at..])?))
        }
        None => (s, None),
    };
    let local = local.strip_suffix('z').unwrap_or(local);
    let t = humantime::parse_rfc3339_weak(local).ok()?;
    match offset {
        // Local time = UTC + offset, so UTC = local - offset.
        Some(secs) if secs >= 0 => t.checked_sub(Duration::from_secs(secs.unsigned_abs())),
        Some(secs) => t.checked_add(Duration::from_secs(secs.unsigned_abs())),
        None => Some(t),
    }
}

/// "+02:00", "-0530", "+01" -> signed seconds.
fn parse_offset(s: &str) -> Option<i64> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits[..2].parse::<i64>().ok()?,
            digits[2..].parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    (h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(secs: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn iso_forms() {
        // 2024-01-02T03:04:05Z
        let t = 1_704_164_645;
        assert_eq!(timestamp(&json!("2024-01-02T03:04:05Z")), at(t));
        assert_eq!(timestamp(&json!("2024-01-02T03:04:05")), at(t));
        assert_eq!(timestamp(&json!("2024-01-02 03:04:05")), at(t));
        assert_eq!(timestamp(&json!("2024-01-02T03:04:05+00:00")), at(t));
        assert_eq!(timestamp(&json!("2024-01-02T05:04:05+02:00")), at(t));
        assert_eq!(timestamp(&json!("2024-01-02T01:04:05-0200")), at(t));
        assert_eq!(timestamp(&json!("2024-01-02T04:04:05+01")), at(t));
        assert_eq!(
            timestamp(&json!("2024-01-02T03:04:05.250Z")),
            Some(UNIX_EPOCH + Duration::from_millis(1_704_164_645_250))
        );
        assert_eq!(
            timestamp(&json!("2024-01-02T05:04:05.123456+02:00")),
            Some(UNIX_EPOCH + Duration::from_micros(1_704_164_645_123_456))
        );
    }

    #[test]
    fn unix_forms() {
        assert_eq!(timestamp(&json!(1_704_164_645)), at(1_704_164_645));
        assert_eq!(timestamp(&json!("1704164645")), at(1_704_164_645));
        assert_eq!(
            timestamp(&json!(1_704_164_645.5)),
            Some(UNIX_EPOCH + Duration::from_millis(1_704_164_645_500))
        );
        assert_eq!(timestamp(&json!(1_704_164_645_000u64)), at(1_704_164_645));
    }

    #[test]
    fn unreadable_is_none() {
        for v in [
            json!(null),
            json!(""),
            json!("yesterday"),
            json!(-5),
            json!(true),
            json!("2024-01-02T03:04:05+99:00"),
            json!({}),
        ] {
            assert_eq!(timestamp(&v), None, "{v}");
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(scalar_text(&json!(12)), Some("12".into()));
        assert_eq!(scalar_text(&json!(-3)), Some("-3".into()));
        assert_eq!(scalar_text(&json!("ab")), Some("ab".into()));
        assert_eq!(scalar_text(&json!(null)), None);
    }
}
