//! Rows as JSON maps with typed values, as Conductor's JDBC task returns them: numbers as numbers,
//! booleans as booleans, `json` as JSON, text as strings, times as ISO 8601 text, bytes as
//! base64, SQL `NULL` as `null`.
//!
//! Bound statements come back in the servers' binary formats; each is decoded here by column type
//! without optional sqlx features (documented formats: PostgreSQL's `send` functions, MySQL's
//! binary protocol values). A type not listed reads as its text when it is UTF-8, else base64.

use base64::Engine;
use serde_json::{Map, Number, Value};
use sqlx::{Column, Row, TypeInfo, ValueRef};

/// Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_SECONDS: i64 = 946_684_800;

/// A PostgreSQL row.
pub fn postgres_row(row: &sqlx::postgres::PgRow) -> Map<String, Value> {
    columns(row, |i, type_name| {
        let bytes: Vec<u8> = row.try_get_unchecked::<Vec<u8>, _>(i).ok()?;
        Some(postgres_value(type_name, &bytes))
    })
}

/// A MySQL or MariaDB row.
pub fn mysql_row(row: &sqlx::mysql::MySqlRow) -> Map<String, Value> {
    columns(row, |i, type_name| {
        Some(match type_name {
            "BOOLEAN" => Value::Bool(row.try_get_unchecked::<i64, _>(i).ok()? != 0),
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
                Value::from(row.try_get_unchecked::<i64, _>(i).ok()?)
            }
            t if t.ends_with("UNSIGNED") || t == "BIT" => Value::from(row.try_get_unchecked::<u64, _>(i).ok()?),
            "FLOAT" | "DOUBLE" => float(row.try_get_unchecked::<f64, _>(i).ok()?),
            "DECIMAL" => decimal(&row.try_get_unchecked::<String, _>(i).ok()?),
            "DATE" | "DATETIME" | "TIMESTAMP" => {
                mysql_datetime(&row.try_get_unchecked::<Vec<u8>, _>(i).ok()?, type_name)
            }
            "TIME" => mysql_time(&row.try_get_unchecked::<Vec<u8>, _>(i).ok()?),
            "JSON" => json_text(&row.try_get_unchecked::<String, _>(i).ok()?),
            _ => text_or_base64(row.try_get_unchecked::<Vec<u8>, _>(i).ok()?),
        })
    })
}

/// A SQLite row: each value by its own storage class.
pub fn sqlite_row(row: &sqlx::sqlite::SqliteRow) -> Map<String, Value> {
    let mut out = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let class = row.try_get_raw(i).map(|v| v.type_info().name().to_string()).unwrap_or_default();
        let value = match class.as_str() {
            "INTEGER" => row.try_get_unchecked::<i64, _>(i).map(Value::from).ok(),
            "REAL" => row.try_get_unchecked::<f64, _>(i).map(float).ok(),
            "TEXT" => row.try_get_unchecked::<String, _>(i).map(Value::String).ok(),
            "BLOB" => row.try_get_unchecked::<Vec<u8>, _>(i).map(base64).ok(),
            _ => None,
        };
        out.insert(column.name().to_string(), value.unwrap_or(Value::Null));
    }
    out
}

/// Every column of `row` by name; `NULL` (or a value `read` cannot decode) as `null`.
fn columns<R: Row>(row: &R, read: impl Fn(usize, &str) -> Option<Value>) -> Map<String, Value>
where
    usize: sqlx::ColumnIndex<R>,
{
    let mut out = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let null = row.try_get_raw(i).map_or(true, |v| v.is_null());
        let value = if null { None } else { read(i, column.type_info().name()) };
        out.insert(column.name().to_string(), value.unwrap_or(Value::Null));
    }
    out
}

/// A PostgreSQL value in its binary format.
fn postgres_value(type_name: &str, b: &[u8]) -> Value {
    let be_i64 = |b: &[u8]| b.get(..8).map(|x| i64::from_be_bytes(x.try_into().expect("8 bytes")));
    let be_i32 = |b: &[u8]| b.get(..4).map(|x| i32::from_be_bytes(x.try_into().expect("4 bytes")));
    let decoded = match type_name {
        "BOOL" => b.first().map(|&v| Value::Bool(v != 0)),
        "INT2" => b.get(..2).map(|x| Value::from(i16::from_be_bytes([x[0], x[1]]))),
        "INT4" => be_i32(b).map(Value::from),
        "OID" => be_i32(b).map(|v| Value::from(v as u32)),
        "INT8" => be_i64(b).map(Value::from),
        "FLOAT4" => b.get(..4).map(|x| float(f32::from_be_bytes(x.try_into().expect("4 bytes")) as f64)),
        "FLOAT8" => b.get(..8).map(|x| float(f64::from_be_bytes(x.try_into().expect("8 bytes")))),
        "NUMERIC" => pg_numeric(b).map(|text| decimal(&text)),
        "JSON" => std::str::from_utf8(b).ok().map(json_text),
        "JSONB" => b.split_first().and_then(|(_, rest)| std::str::from_utf8(rest).ok()).map(json_text),
        "UUID" if b.len() == 16 => Some(Value::String(uuid(b))),
        "TIMESTAMPTZ" => be_i64(b).map(|us| pg_timestamp(us, true)),
        "TIMESTAMP" => be_i64(b).map(|us| pg_timestamp(us, false)),
        "DATE" => be_i32(b).map(pg_date),
        "TIME" => be_i64(b).map(|us| {
            let time = jiff::civil::Time::midnight().wrapping_add(jiff::SignedDuration::from_micros(us));
            Value::String(time.to_string())
        }),
        "BYTEA" => Some(base64(b.to_vec())),
        _ => None,
    };
    decoded.unwrap_or_else(|| text_or_base64(b.to_vec()))
}

/// PostgreSQL's binary `numeric`: digit count, weight, sign, display scale, base-10000 digits.
fn pg_numeric(b: &[u8]) -> Option<String> {
    let word = |k: usize| b.get(k..k + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    let (count, weight, sign, scale) = (word(0)? as usize, word(2)? as i16 as i32, word(4)?, word(6)? as usize);
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..count).map(|k| word(8 + 2 * k)).collect::<Option<_>>()?;
    let digit = |index: i32| if index < 0 { 0 } else { digits.get(index as usize).copied().unwrap_or(0) };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    }
    for index in 0..=weight {
        if index == 0 {
            text.push_str(&digit(index).to_string());
        } else {
            text.push_str(&format!("{:04}", digit(index)));
        }
    }
    if scale > 0 {
        let mut fraction = String::new();
        let mut index = weight + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(index)));
            index += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}

/// Microseconds from PostgreSQL's epoch as ISO 8601 (`Z` for `timestamptz`).
fn pg_timestamp(us: i64, zoned: bool) -> Value {
    match us {
        i64::MAX => return Value::String("infinity".into()),
        i64::MIN => return Value::String("-infinity".into()),
        _ => {}
    }
    let Ok(at) = jiff::Timestamp::from_microsecond(us.saturating_add(PG_EPOCH_SECONDS * 1_000_000)) else {
        return Value::Null;
    };
    if zoned {
        Value::String(at.to_string())
    } else {
        Value::String(at.to_zoned(jiff::tz::TimeZone::UTC).datetime().to_string())
    }
}

/// Days from PostgreSQL's epoch as `YYYY-MM-DD`.
fn pg_date(days: i32) -> Value {
    match days {
        i32::MAX => return Value::String("infinity".into()),
        i32::MIN => return Value::String("-infinity".into()),
        _ => {}
    }
    jiff::civil::date(2000, 1, 1)
        .checked_add(jiff::Span::new().days(days as i64))
        .map_or(Value::Null, |d| Value::String(d.to_string()))
}

/// MySQL's binary DATE / DATETIME / TIMESTAMP: a length byte, then year (2 bytes, little-endian),
/// month, day, hour, minute, second, microseconds (4 bytes) as far as the length goes.
fn mysql_datetime(b: &[u8], type_name: &str) -> Value {
    let Some((&len, rest)) = b.split_first() else { return Value::Null };
    let at = |k: usize| rest.get(k).copied().unwrap_or(0);
    let year = if len >= 2 { u16::from_le_bytes([at(0), at(1)]) } else { 0 };
    let date = format!("{year:04}-{:02}-{:02}", at(2), at(3));
    if type_name == "DATE" {
        return Value::String(date);
    }
    let micros = if len >= 11 { u32::from_le_bytes([at(7), at(8), at(9), at(10)]) } else { 0 };
    let fraction = if micros > 0 { format!(".{micros:06}") } else { String::new() };
    Value::String(format!("{date}T{:02}:{:02}:{:02}{fraction}", at(4), at(5), at(6)))
}

/// MySQL's binary TIME: a length byte, sign, days (4 bytes), hour, minute, second, microseconds.
fn mysql_time(b: &[u8]) -> Value {
    let Some((&len, rest)) = b.split_first() else { return Value::Null };
    let at = |k: usize| rest.get(k).copied().unwrap_or(0);
    let days = if len >= 5 { u32::from_le_bytes([at(1), at(2), at(3), at(4)]) } else { 0 };
    let hours = days * 24 + at(5) as u32;
    let sign = if at(0) == 1 { "-" } else { "" };
    let micros = if len >= 12 { u32::from_le_bytes([at(8), at(9), at(10), at(11)]) } else { 0 };
    let fraction = if micros > 0 { format!(".{micros:06}") } else { String::new() };
    Value::String(format!("{sign}{hours:02}:{:02}:{:02}{fraction}", at(6), at(7)))
}

/// A decimal's text as a JSON number (an integer when it is one and fits), else as text.
fn decimal(text: &str) -> Value {
    let trimmed = text.trim();
    if let Ok(int) = trimmed.parse::<i64>() {
        return Value::from(int);
    }
    match trimmed.parse::<f64>() {
        Ok(f) if f.is_finite() => float(f),
        _ => Value::String(trimmed.to_string()),
    }
}

/// A float as a JSON number; NaN and infinities (which JSON has not) as text.
fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

/// JSON text as JSON (as text when it does not parse).
fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn uuid(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn base64(bytes: Vec<u8>) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn text_or_base64(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(text) => Value::String(text),
        Err(e) => base64(e.into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_binary_reads_as_its_decimal_text() {
        // 12345.678 (scale 3): weight 1, digits [1, 2345, 6780].
        let mut b = vec![0, 3, 0, 1, 0, 0, 0, 3];
        for d in [1u16, 2345, 6780] {
            b.extend(d.to_be_bytes());
        }
        assert_eq!(pg_numeric(&b).unwrap(), "12345.678");
        // -0.0005 (scale 4): weight -1, digits [5].
        let b = [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 4, 0, 5];
        assert_eq!(pg_numeric(&b).unwrap(), "-0.0005");
        // 0.00000001 (scale 8): weight -2, digits [1].
        let b = [0, 1, 0xFF, 0xFE, 0, 0, 0, 8, 0, 1];
        assert_eq!(pg_numeric(&b).unwrap(), "0.00000001");
        // 20000 (scale 0): weight 1, digits [2].
        let b = [0, 1, 0, 1, 0, 0, 0, 0, 0, 2];
        assert_eq!(pg_numeric(&b).unwrap(), "20000");
        assert_eq!(pg_numeric(&[0, 0, 0, 0, 0xC0, 0, 0, 0]).unwrap(), "NaN");
        assert_eq!(decimal("20000"), Value::from(20000));
        assert_eq!(decimal("85.50"), serde_json::json!(85.5));
        assert_eq!(decimal("NaN"), Value::String("NaN".into()));
    }

    #[test]
    fn times_read_as_iso_8601() {
        assert_eq!(pg_timestamp(0, true), Value::String("2000-01-01T00:00:00Z".into()));
        assert_eq!(pg_timestamp(1_500_000, false), Value::String("2000-01-01T00:00:01.5".into()));
        assert_eq!(pg_date(-1), Value::String("1999-12-31".into()));
        let dt = [11, 0xE8, 0x07, 11, 25, 21, 53, 7, 0x40, 0xE2, 0x01, 0];
        assert_eq!(mysql_datetime(&dt, "DATETIME"), Value::String("2024-11-25T21:53:07.123456".into()));
        assert_eq!(mysql_datetime(&[4, 0xE8, 0x07, 2, 29], "DATE"), Value::String("2024-02-29".into()));
        assert_eq!(mysql_time(&[8, 1, 1, 0, 0, 0, 2, 3, 4]), Value::String("-26:03:04".into()));
        assert_eq!(uuid(&[0xab; 16]), "abababab-abab-abab-abab-abababababab");
    }
}
