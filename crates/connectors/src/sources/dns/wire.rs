//! DNS messages (RFC 1035), pure: a query for one name and type (with EDNS0, RFC 6891, and the
//! DNSSEC OK bit when asked), and an answer read into its code, flags and records, names
//! decompressed. Names read back end with a dot, as `dig` and Gatus write them.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The record types a check may ask for, by name and number.
pub const TYPES: [(&str, u16); 11] = [
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("PTR", 12),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("SRV", 33),
    ("CAA", 257),
    ("ANY", 255),
];

/// The UDP payload vigil offers to take (the DNS flag day's 1232 bytes).
const UDP_PAYLOAD: u16 = 1232;

/// The number of record type `name` (case-insensitive).
pub fn type_number(name: &str) -> Option<u16> {
    TYPES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, t)| *t)
}

fn type_name(number: u16) -> String {
    TYPES.iter().find(|(_, t)| *t == number).map_or_else(|| format!("TYPE{number}"), |(n, _)| n.to_string())
}

/// A response code's name, as `dig` prints it.
pub fn rcode_name(code: u16) -> String {
    let names = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
        "NOTZONE",
    ];
    match code {
        16 => "BADVERS".into(),
        c => names.get(usize::from(c)).map_or_else(|| format!("RCODE{c}"), |n| n.to_string()),
    }
}

/// The name a PTR query asks about for `text`: an IP address turned into its `in-addr.arpa` or
/// `ip6.arpa` name; anything else as written.
pub fn reverse_name(text: &str) -> String {
    if let Ok(v4) = text.parse::<Ipv4Addr>() {
        let o = v4.octets();
        return format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0]);
    }
    if let Ok(v6) = text.parse::<Ipv6Addr>() {
        let nibbles: Vec<String> =
            v6.octets().iter().rev().flat_map(|b| [b & 0x0F, b >> 4]).map(|n| format!("{n:x}")).collect();
        return format!("{}.ip6.arpa.", nibbles.join("."));
    }
    text.to_string()
}

/// A query with id `id` for `name` of type `qtype`, recursion desired, EDNS0; `dnssec` sets the
/// DNSSEC OK bit and asks for the resolver's validation (AD). `Err` for a name that cannot be
/// one (a label over 63 bytes, a name over 255).
pub fn query(id: u16, name: &str, qtype: u16, dnssec: bool) -> Result<Vec<u8>, String> {
    let flags: u16 = 0x0100 | if dnssec { 0x0020 } else { 0 };
    let mut out = Vec::with_capacity(64);
    for word in [id, flags, 1, 0, 0, 1] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    let trimmed = name.trim_end_matches('.');
    let mut written = 0;
    for label in trimmed.split('.').filter(|_| !trimmed.is_empty()) {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("`{name}` is not a domain name (a label is 1 to 63 bytes)"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
        written += label.len() + 1;
    }
    if written + 1 > 255 {
        return Err(format!("`{name}` is longer than a domain name may be (255 bytes)"));
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    // OPT: root name, type 41, the payload size as class, DO in the TTL's flags.
    out.push(0);
    out.extend_from_slice(&41u16.to_be_bytes());
    out.extend_from_slice(&UDP_PAYLOAD.to_be_bytes());
    out.extend_from_slice(&[0, 0, if dnssec { 0x80 } else { 0 }, 0, 0, 0]);
    Ok(out)
}

/// One answer record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Owner name, ending with a dot.
    pub name: String,
    /// Type name (`A`, `MX`, `TYPE65`).
    pub kind: String,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The data as text: an address, a name, `10 mail.example.org.`, the TXT strings joined.
    pub value: String,
}

/// An answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Its id.
    pub id: u16,
    /// Response code (with EDNS0's extension).
    pub rcode: u16,
    /// Truncated (TC): ask again over TCP.
    pub truncated: bool,
    /// Authenticated data (AD): the resolver validated it with DNSSEC.
    pub authenticated: bool,
    /// The answer section.
    pub answers: Vec<Record>,
}

fn u16_at(m: &[u8], at: usize) -> Result<u16, String> {
    m.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or_else(|| "the answer ends early".to_string())
}

fn u32_at(m: &[u8], at: usize) -> Result<u32, String> {
    m.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| "the answer ends early".to_string())
}

/// The name at `at` (following compression pointers) and where the bytes after it start.
fn name_at(m: &[u8], mut at: usize) -> Result<(String, usize), String> {
    let mut labels: Vec<String> = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *m.get(at).ok_or("a name runs past the answer")?;
        match len {
            0 => {
                let name = if labels.is_empty() { ".".to_string() } else { format!("{}.", labels.join(".")) };
                return Ok((name, end.unwrap_or(at + 1)));
            }
            l if l & 0xC0 == 0xC0 => {
                let pointer = usize::from(u16_at(m, at)? & 0x3FFF);
                end.get_or_insert(at + 2);
                at = pointer;
            }
            l if l & 0xC0 == 0 => {
                let label = m.get(at + 1..at + 1 + usize::from(l)).ok_or("a label runs past the answer")?;
                labels.push(String::from_utf8_lossy(label).into_owned());
                at += 1 + usize::from(l);
            }
            _ => return Err("a name has a label type DNS does not use".into()),
        }
    }
    Err("a name's compression loops".into())
}

/// The data of a record of type `kind` at `m[at..at + len]` as text.
fn value(m: &[u8], kind: u16, at: usize, len: usize) -> Result<String, String> {
    let data = m.get(at..at + len).ok_or("a record runs past the answer")?;
    let name = |offset: usize| name_at(m, at + offset).map(|(n, _)| n);
    Ok(match (kind, data.len()) {
        (1, 4) => Ipv4Addr::new(data[0], data[1], data[2], data[3]).to_string(),
        (28, 16) => Ipv6Addr::from(<[u8; 16]>::try_from(data).expect("16 bytes")).to_string(),
        (2 | 5 | 12, _) => name(0)?,
        (15, _) => format!("{} {}", u16_at(m, at)?, name(2)?),
        (33, _) => {
            let (priority, weight, port) = (u16_at(m, at)?, u16_at(m, at + 2)?, u16_at(m, at + 4)?);
            format!("{priority} {weight} {port} {}", name(6)?)
        }
        (16, _) => {
            let (mut out, mut i) = (String::new(), 0);
            while i < data.len() {
                let l = usize::from(data[i]);
                out.push_str(&String::from_utf8_lossy(
                    data.get(i + 1..i + 1 + l).ok_or("a TXT string runs past its record")?,
                ));
                i += 1 + l;
            }
            out
        }
        (257, _) if data.len() >= 2 => {
            let tag_len = usize::from(data[1]);
            let tag = data.get(2..2 + tag_len).ok_or("a CAA tag runs past its record")?;
            format!(
                "{} {} \"{}\"",
                data[0],
                String::from_utf8_lossy(tag),
                String::from_utf8_lossy(&data[2 + tag_len..])
            )
        }
        (6, _) => {
            let (mname, next) = name_at(m, at)?;
            let (rname, next) = name_at(m, next)?;
            let numbers: Vec<String> =
                (0..5).map(|i| u32_at(m, next + 4 * i).map(|n| n.to_string())).collect::<Result<_, _>>()?;
            format!("{mname} {rname} {}", numbers.join(" "))
        }
        _ => data.iter().map(|b| format!("{b:02x}")).collect(),
    })
}

/// The first question of message `m` (its name, type and class as sent), `None` when it has
/// none or is cut short.
pub fn question(m: &[u8]) -> Option<&[u8]> {
    if m.len() < 12 || u16_at(m, 4).ok()? == 0 {
        return None;
    }
    let end = name_at(m, 12).ok()?.1 + 4;
    m.get(12..end)
}

/// Reads an answer.
pub fn response(m: &[u8]) -> Result<Response, String> {
    if m.len() < 12 {
        return Err(format!("{} bytes are not a DNS answer", m.len()));
    }
    let (id, flags) = (u16_at(m, 0)?, u16_at(m, 2)?);
    if flags & 0x8000 == 0 {
        return Err("the message is a query, not an answer".into());
    }
    let counts: Vec<u16> = (0..4).map(|i| u16_at(m, 4 + 2 * i)).collect::<Result<_, _>>()?;
    let mut at = 12;
    for _ in 0..counts[0] {
        at = name_at(m, at)?.1 + 4;
    }
    let mut answers = Vec::new();
    let mut extended = 0u16;
    let records = usize::from(counts[1]) + usize::from(counts[2]) + usize::from(counts[3]);
    for i in 0..records {
        let (name, next) = name_at(m, at)?;
        let (kind, ttl, len) = (u16_at(m, next)?, u32_at(m, next + 4)?, usize::from(u16_at(m, next + 8)?));
        let data = next + 10;
        if i < usize::from(counts[1]) {
            answers.push(Record { name, kind: type_name(kind), ttl, value: value(m, kind, data, len)? });
        } else if kind == 41 {
            extended = u16::from((ttl >> 24) as u8) << 4;
        }
        at = data + len;
    }
    Ok(Response {
        id,
        rcode: extended | (flags & 0x000F),
        truncated: flags & 0x0200 != 0,
        authenticated: flags & 0x0020 != 0,
        answers,
    })
}

#[cfg(test)]
mod tests;
