//! Unsigned LEB128 varints (protobuf's), and zigzag for signed numbers: seven bits per byte, the
//! high bit set on every byte but the last.

/// Appends `n`.
pub fn put(n: u64, out: &mut Vec<u8>) {
    let mut n = n;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads one from `bytes` at `at`, moving `at` past it; `None` when it runs past the end or
/// over 64 bits.
pub fn read(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        n |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// A signed number as an unsigned one whose varint is short when the number is near zero.
pub fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// The signed number [`zigzag`] encoded.
pub fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_back_and_a_cut_one_is_refused() {
        for n in [0u64, 1, 127, 128, 300, 60_000, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put(n, &mut out);
            let mut at = 0;
            assert_eq!((read(&out, &mut at), at), (Some(n), out.len()));
            assert_eq!(read(&out[..out.len() - 1], &mut 0), None, "{n} cut short");
        }
        let mut out = Vec::new();
        put(300, &mut out);
        assert_eq!(out, [0xAC, 0x02], "protobuf's own example");
        for n in [0i64, -1, 1, -60_000, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(n)), n);
        }
        assert_eq!((zigzag(0), zigzag(-1), zigzag(1)), (0, 1, 2));
    }
}
