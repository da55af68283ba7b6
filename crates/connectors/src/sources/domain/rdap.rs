//! RDAP (RFC 9082, 9083, 9224), pure: which registry answers for a name (IANA's bootstrap file,
//! shipped in the binary and replaceable), the names to ask for (the host, then its parents, as
//! far as the registry's own suffix), and a domain's expiry read from its answer's events.

use std::collections::HashMap;

use serde_json::Value;

/// IANA's bootstrap file for DNS registrations (`https://data.iana.org/rdap/dns.json`), as
/// shipped; `bootstrap` in a check's settings points at a newer one.
pub const IANA_DNS: &str = include_str!("iana-dns.json");

/// Registries by the suffix they serve: the RDAP base URL of each.
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    bases: HashMap<String, String>,
    /// When IANA published it.
    pub publication: String,
}

impl Bootstrap {
    /// Reads a bootstrap file; of each entry's URLs, the HTTPS one.
    pub fn parse(text: &str) -> Result<Bootstrap, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("not an RDAP bootstrap file: {e}"))?;
        let services = doc["services"].as_array().ok_or("an RDAP bootstrap file has `services`")?;
        let mut bases = HashMap::new();
        for service in services {
            let (Some(suffixes), Some(urls)) = (service[0].as_array(), service[1].as_array()) else {
                return Err("each service is [[suffixes], [urls]]".into());
            };
            let urls: Vec<&str> = urls.iter().filter_map(Value::as_str).collect();
            let Some(base) = urls.iter().find(|u| u.starts_with("https://")).or(urls.first()) else { continue };
            for suffix in suffixes.iter().filter_map(Value::as_str) {
                bases.insert(suffix.trim_end_matches('.').to_ascii_lowercase(), base.to_string());
            }
        }
        if bases.is_empty() {
            return Err("the RDAP bootstrap file names no registry".into());
        }
        Ok(Bootstrap { bases, publication: doc["publication"].as_str().unwrap_or_default().to_string() })
    }

    /// The registry for `name`: the base of its longest suffix the file lists, and that suffix.
    pub fn registry(&self, name: &str) -> Option<(&str, &str)> {
        let name = name.trim_end_matches('.');
        let mut at = 0;
        loop {
            let suffix = &name[at..];
            if let Some((key, base)) = self.bases.get_key_value(suffix) {
                return Some((base.as_str(), key.as_str()));
            }
            at += suffix.find('.')? + 1;
        }
    }
}

/// The names to ask a registry serving `suffix` about, for `host`: the host itself, then each
/// parent, down to the one label under the suffix (`www.shop.example.co.uk` under `uk`:
/// `www.shop.example.co.uk`, `shop.example.co.uk`, `example.co.uk`, `co.uk`).
pub fn candidates(host: &str, suffix: &str) -> Vec<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let mut out = Vec::new();
    let mut rest = host.as_str();
    while rest.len() > suffix.len() && rest.ends_with(suffix) {
        out.push(rest.to_string());
        match rest.split_once('.') {
            Some((_, parent)) => rest = parent,
            None => break,
        }
    }
    out
}

/// What a domain's RDAP answer says: its expiry (epoch ms, from the `expiration` event) and its
/// registrar's name, when given.
pub fn expiry(answer: &Value) -> Result<(i64, Option<String>), String> {
    if answer["objectClassName"].as_str().is_some_and(|c| c != "domain") {
        return Err(format!("the answer is a {}, not a domain", answer["objectClassName"]));
    }
    let at = answer["events"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["eventAction"] == "expiration")
        .and_then(|e| e["eventDate"].as_str())
        .ok_or("the registry gives no expiration event")?;
    let millis =
        at.parse::<jiff::Timestamp>().map_err(|e| format!("expiration `{at}` is not a date: {e}"))?.as_millisecond();
    let registrar = answer["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["roles"].as_array().is_some_and(|r| r.iter().any(|r| r == "registrar")));
    let name = registrar.and_then(|r| {
        r["vcardArray"][1].as_array()?.iter().find(|f| f[0] == "fn").and_then(|f| f[3].as_str()).map(str::to_string)
    });
    Ok((millis, name))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_shipped_bootstrap_knows_the_big_registries() {
        let b = Bootstrap::parse(IANA_DNS).unwrap();
        assert_eq!(b.registry("www.example.com"), Some(("https://rdap.verisign.com/com/v1/", "com")));
        assert!(b.registry("example.org").is_some());
        assert!(b.bases.len() > 500, "{} suffixes", b.bases.len());
        assert!(b.registry("example.invalid").is_none());
    }

    #[test]
    fn names_are_asked_from_the_host_up_to_under_the_suffix() {
        assert_eq!(
            candidates("www.shop.example.co.uk.", "uk"),
            ["www.shop.example.co.uk", "shop.example.co.uk", "example.co.uk", "co.uk"]
        );
        assert_eq!(candidates("example.com", "com"), ["example.com"]);
        assert!(candidates("com", "com").is_empty());
        let b =
            Bootstrap::parse(r#"{"services": [[["com", "NET."], ["http://r/", "https://r/"]]], "publication": "p"}"#)
                .unwrap();
        assert_eq!(b.registry("x.net"), Some(("https://r/", "net")));
        assert!(Bootstrap::parse("{}").is_err());
    }

    /// Verisign's answer for example.com (RFC 9083), trimmed to what is read.
    #[test]
    fn the_expiry_and_registrar_are_read_from_the_events() {
        let answer = json!({
            "objectClassName": "domain", "ldhName": "EXAMPLE.COM",
            "events": [
                {"eventAction": "registration", "eventDate": "1995-08-14T04:00:00Z"},
                {"eventAction": "expiration", "eventDate": "2026-08-13T04:00:00Z"},
                {"eventAction": "last update of RDAP database", "eventDate": "2026-11-27T08:00:00Z"}
            ],
            "entities": [{"objectClassName": "entity", "roles": ["registrar"],
                "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "RESERVED-Internet Assigned Numbers Authority"]]]}]
        });
        let (at, registrar) = expiry(&answer).unwrap();
        assert_eq!(at, "2026-08-13T04:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond());
        assert_eq!(registrar.as_deref(), Some("RESERVED-Internet Assigned Numbers Authority"));
        assert!(expiry(&json!({"objectClassName": "domain", "events": []})).unwrap_err().contains("no expiration"));
        assert!(expiry(&json!({"objectClassName": "entity"})).is_err());
    }
}
