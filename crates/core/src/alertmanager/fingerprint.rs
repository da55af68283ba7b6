//! A label set's fingerprint, as Prometheus' `model.LabelSet.Fingerprint` computes it: FNV-1a
//! (64 bits) over the names in order, each name and value followed by the byte 255 (which no
//! UTF-8 text holds). Alertmanager identifies an alert by it and prints it as 16 hex digits.

use std::collections::BTreeMap;

const OFFSET: u64 = 14_695_981_039_346_656_037;
const PRIME: u64 = 1_099_511_628_211;
const SEPARATOR: u8 = 255;

fn add(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// The fingerprint of `labels` (a `BTreeMap` iterates its names in order, as Prometheus sorts).
pub fn fingerprint(labels: &BTreeMap<String, String>) -> u64 {
    labels.iter().fold(OFFSET, |h, (name, value)| {
        let h = add(add(h, name.as_bytes()), &[SEPARATOR]);
        add(add(h, value.as_bytes()), &[SEPARATOR])
    })
}

/// The fingerprint as Alertmanager prints it: 16 lowercase hex digits.
pub fn fingerprint_hex(labels: &BTreeMap<String, String>) -> String {
    format!("{:016x}", fingerprint(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `TestLabelsToSignature` and `TestMetricToFingerprint` in prometheus/common's
    /// `model/signature_test.go`.
    #[test]
    fn prometheus_test_vectors() {
        assert_eq!(fingerprint(&BTreeMap::new()), 14_695_981_039_346_656_037);
        let labels: BTreeMap<String, String> =
            [("name", "garland, briggs"), ("fear", "love is not enough")].map(|(k, v)| (k.into(), v.into())).into();
        assert_eq!(fingerprint(&labels), 5_799_056_148_416_392_346);
        assert_eq!(fingerprint_hex(&labels), format!("{:016x}", 5_799_056_148_416_392_346u64));
    }
}
