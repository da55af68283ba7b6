//! When a server's certificate expires: `notAfter` read from its DER encoding (X.509:
//! Certificate → tbsCertificate → validity → notAfter), with no certificate library.

/// One DER element: its tag, its contents, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The certificate's `notAfter`, in epoch milliseconds.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (0x30, certificate, _) = element(der)? else { return None };
    let (0x30, tbs, _) = element(certificate)? else { return None };
    let mut rest = tbs;
    // [0] version (optional), serialNumber, signature, issuer, then validity.
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (0x30, validity, _) = element(rest)? else { return None };
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?;
    let full = match tag {
        // UTCTime YYMMDDHHMMSSZ: years 50-99 are 19xx (RFC 5280).
        0x17 if text.len() == 13 => {
            let yy: u32 = text[..2].parse().ok()?;
            format!("{}{}", if yy >= 50 { 19 } else { 20 }, text)
        }
        0x18 if text.len() == 15 => text.to_string(),
        _ => return None,
    };
    let stamp =
        format!("{}-{}-{}T{}:{}:{}Z", &full[..4], &full[4..6], &full[6..8], &full[8..10], &full[10..12], &full[12..14]);
    stamp.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    /// `openssl req -x509 -days 30 -subj /CN=vigil-test`: notAfter=Dec 23 09:25:01 2026 GMT.
    const CERT: &str = "MIICBjCCAW+gAwIBAgIUI4bLNWsZutcaMyH7Kn7+V5+c9Q0wDQYJKoZIhvcNAQELBQAwFTETMBEGA1UEAwwKdmlnaWwtdGVzdDAeFw0yNjExMjMwOTI1MDFaFw0yNjEyMjMwOTI1MDFaMBUxEzARBgNVBAMMCnZpZ2lsLXRlc3QwgZ8wDQYJKoZIhvcNAQEBBQADgY0AMIGJAoGBALTM0ryXOt+BoBDwlX9ZD/Ng64w8P+f3KLVyTdrwkzuQdOBqGQzH0qbrDtMVGSsnrs/QxcPck0FZbw7guo9gwXW+qVJvaoldDJa5+D4uvzfYh0gmHpGrp1lmvYNAJhkiX2scpBOkSqVCdgZOMVo3xLI08vGu1L1aqcJ/s59PwgEnAgMBAAGjUzBRMB0GA1UdDgQWBBQD3wckcsu6ogPel/dh5A92t3B7UzAfBgNVHSMEGDAWgBQD3wckcsu6ogPel/dh5A92t3B7UzAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4GBAKnUJqGnt8oYuWOy9lkmG9jTJUQoWCwSJ6/t+hAygei1FfDIo7n6iAvicWl83RxrwS8ifEeLrdkSkcQkCboh+VQOuvou2worIKZYkxrGD9ExOuYAEvdOITrRgnPIo791zh2UmPVHf+6K69u/GUzpR9/mqPAhYii38eM1n2kX+OKH";

    #[test]
    fn reads_not_after_and_refuses_garbage() {
        let der = base64::engine::general_purpose::STANDARD.decode(CERT).unwrap();
        let expected = "2026-12-23T09:25:01Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
        assert_eq!(super::not_after(&der), Some(expected));
        assert_eq!(super::not_after(&der[..40]), None);
        assert_eq!(super::not_after(b"not a certificate"), None);
        assert_eq!(super::not_after(&[]), None);
    }
}
