use super::*;

/// `dig +norecurse`-free: id 0x1234, RD, one question, one OPT record, as RFC 1035 and 6891 lay
/// them out byte by byte.
#[test]
fn a_query_is_laid_out_as_the_rfcs_say() {
    let q = query(0x1234, "example.org.", 1, false).unwrap();
    let expected: Vec<u8> = [
        &[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1][..],
        &[7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'o', b'r', b'g', 0],
        &[0, 1, 0, 1],
        &[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0],
    ]
    .concat();
    assert_eq!(q, expected);
    let secure = query(1, "example.org", 48, true).unwrap();
    assert_eq!(secure[3] & 0x20, 0x20, "AD asked");
    assert_eq!(secure[secure.len() - 4], 0x80, "DO set");
    assert!(query(1, &format!("{}.org", "a".repeat(64)), 1, false).is_err());
    assert!(query(1, "a..b", 1, false).is_err());
    assert!(query(1, &"abcdefghi.".repeat(26), 1, false).is_err());
    assert_eq!(query(1, ".", 2, false).unwrap()[12], 0, "the root is an empty name");
}

/// An answer built by hand with compression pointers: every record type vigil reads.
#[test]
fn an_answer_is_read_with_compressed_names() {
    let mut m: Vec<u8> = vec![0xab, 0xcd, 0x81, 0xa0, 0, 1, 0, 8, 0, 0, 0, 1];
    // Question at 12: vigil.test A IN.
    m.extend_from_slice(&[5, b'v', b'i', b'g', b'i', b'l', 4, b't', b'e', b's', b't', 0, 0, 1, 0, 1]);
    let rr = |m: &mut Vec<u8>, kind: u16, data: &[u8]| {
        m.extend_from_slice(&[0xC0, 12]);
        m.extend_from_slice(&kind.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(data);
    };
    rr(&mut m, 1, &[192, 0, 2, 10]);
    rr(&mut m, 28, &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    rr(&mut m, 5, &[3, b'w', b'w', b'w', 0xC0, 12]);
    rr(&mut m, 15, &[0, 10, 4, b'm', b'a', b'i', b'l', 0xC0, 12]);
    rr(&mut m, 16, &[3, b'a', b'b', b'c', 2, b'd', b'e']);
    rr(&mut m, 33, &[0, 1, 0, 5, 0x01, 0xbb, 0xC0, 12]);
    rr(&mut m, 257, &[0, 5, b'i', b's', b's', b'u', b'e', b'c', b'a', b'.', b'o', b'r', b'g']);
    let mut soa = vec![2, b'n', b's', 0xC0, 12, 0xC0, 12];
    for n in [2026112701u32, 3600, 600, 86400, 300] {
        soa.extend_from_slice(&n.to_be_bytes());
    }
    rr(&mut m, 6, &soa);
    // OPT with an extended code of 0.
    m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
    let r = response(&m).unwrap();
    assert_eq!((r.id, r.rcode, r.truncated, r.authenticated), (0xabcd, 0, false, true));
    let values: Vec<(&str, &str)> = r.answers.iter().map(|a| (a.kind.as_str(), a.value.as_str())).collect();
    assert_eq!(
        values,
        [
            ("A", "192.0.2.10"),
            ("AAAA", "2001:db8::1"),
            ("CNAME", "www.vigil.test."),
            ("MX", "10 mail.vigil.test."),
            ("TXT", "abcde"),
            ("SRV", "1 5 443 vigil.test."),
            ("CAA", "0 issue \"ca.org\""),
            ("SOA", "ns.vigil.test. vigil.test. 2026112701 3600 600 86400 300"),
        ]
    );
    assert!(r.answers.iter().all(|a| a.name == "vigil.test." && a.ttl == 3600));
}

#[test]
fn codes_flags_and_bad_answers() {
    let nx = [0, 1, 0x81, 0x83, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(rcode_name(response(&nx).unwrap().rcode), "NXDOMAIN");
    let truncated = [0, 1, 0x83, 0x80, 0, 0, 0, 0, 0, 0, 0, 0];
    assert!(response(&truncated).unwrap().truncated);
    assert!(response(&[0, 1, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]).is_err(), "a query is no answer");
    assert!(response(&[0, 1]).is_err());
    // An answer claimed but missing, and a pointer that loops.
    assert!(response(&[0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]).is_err());
    let looping = [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0];
    assert!(response(&looping).is_err());
    assert_eq!((rcode_name(5), rcode_name(16), rcode_name(30)), ("REFUSED".into(), "BADVERS".into(), "RCODE30".into()));
    assert_eq!(reverse_name("192.0.2.10"), "10.2.0.192.in-addr.arpa.");
    assert!(
        reverse_name("2001:db8::1").starts_with("1.0.0.0.0.0.0.0.")
            && reverse_name("2001:db8::1").ends_with(".8.b.d.0.1.0.0.2.ip6.arpa.")
    );
    assert_eq!(type_number("aaaa"), Some(28));
    assert_eq!(type_number("BOGUS"), None);
}
