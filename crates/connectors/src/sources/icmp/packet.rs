//! ICMP echo packets, pure: building a request, reading a reply (from a datagram socket, or from
//! a raw one with the IPv4 header in front), and the round-trip figures of a run.

/// ICMP types of an echo request and reply, IPv4 and IPv6.
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
/// The payload carried (and expected back): recognisably vigil's.
pub const PAYLOAD: &[u8] = b"vigil-ping-0123456789abcdefghij";

/// The Internet checksum (RFC 1071) of `bytes`.
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `id` and `seq`. IPv4's carries its checksum; for IPv6 the kernel fills it
/// in (it covers a pseudo-header the sender does not see).
pub fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let kind = if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 };
    let mut packet = vec![kind, 0, 0, 0];
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(PAYLOAD);
    if !v6 {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// The `(id, seq)` of an echo reply carrying vigil's payload, `None` for anything else. A raw
/// IPv4 socket hands over the IP header too (`with_ip_header`); IPv6 sockets never do.
pub fn echo_reply(datagram: &[u8], v6: bool, with_ip_header: bool) -> Option<(u16, u16)> {
    let icmp = if with_ip_header && !v6 {
        let header = usize::from(datagram.first()? & 0x0F) * 4;
        datagram.get(header..)?
    } else {
        datagram
    };
    let reply = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    if icmp.len() < 8 || icmp[0] != reply || icmp[1] != 0 || &icmp[8..] != PAYLOAD {
        return None;
    }
    Some((u16::from_be_bytes([icmp[4], icmp[5]]), u16::from_be_bytes([icmp[6], icmp[7]])))
}

/// A classic BPF program for a raw ICMP socket that lets through only echo replies carrying
/// `id`, as `(code, jump if true, jump if false, k)`. A raw socket is handed every ICMP packet
/// on the host (other programs' pings, and on loopback the requests themselves); with it the
/// kernel drops the rest before they are queued. A raw IPv4 socket's packets start with the IP
/// header (its length read with `ldx msh`), IPv6's with the ICMPv6 header.
pub fn reply_filter(v6: bool, id: u16) -> Vec<(u16, u8, u8, u32)> {
    const LDX_B_MSH: u16 = 0x01 | 0x10 | 0xa0;
    const LD_B_IND: u16 = 0x10 | 0x40;
    const LD_H_IND: u16 = 0x08 | 0x40;
    const LD_B_ABS: u16 = 0x10 | 0x20;
    const LD_H_ABS: u16 = 0x08 | 0x20;
    const JEQ_K: u16 = 0x05 | 0x10;
    const RET_K: u16 = 0x06;
    let mut program = Vec::with_capacity(7);
    if v6 {
        program.push((LD_B_ABS, 0, 0, 0));
    } else {
        program.push((LDX_B_MSH, 0, 0, 0));
        program.push((LD_B_IND, 0, 0, 0));
    }
    let reply = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    // Not an echo reply: on to the last instruction (drop).
    program.push((JEQ_K, 0, 3, u32::from(reply)));
    program.push(if v6 { (LD_H_ABS, 0, 0, 4) } else { (LD_H_IND, 0, 0, 4) });
    program.push((JEQ_K, 0, 1, u32::from(id)));
    program.push((RET_K, 0, 0, u32::MAX));
    program.push((RET_K, 0, 0, 0));
    program
}

/// A run's figures: requests sent, replies, loss in percent, round trips in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Requests sent.
    pub sent: usize,
    /// Replies received.
    pub received: usize,
    /// Requests without a reply, in percent.
    pub packet_loss: f64,
    /// Shortest, mean and longest round trip (ms); `None` without replies.
    pub rtt: Option<(f64, f64, f64)>,
}

impl Figures {
    /// The figures of `sent` requests and the round trips (ms) of the replies.
    pub fn of(sent: usize, round_trips: &[f64]) -> Figures {
        let received = round_trips.len();
        let packet_loss = if sent == 0 { 100.0 } else { (sent - received.min(sent)) as f64 * 100.0 / sent as f64 };
        let rtt = (!round_trips.is_empty()).then(|| {
            let min = round_trips.iter().copied().fold(f64::INFINITY, f64::min);
            let max = round_trips.iter().copied().fold(0.0, f64::max);
            (min, round_trips.iter().sum::<f64>() / received as f64, max)
        });
        Figures { sent, received, packet_loss, rtt }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071's example: the words 0001 f203 f4f5 f6f7 sum to ddf2, whose complement is 220d.
    #[test]
    fn the_checksum_is_rfc_1071s() {
        assert_eq!(checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0x220d);
        let request = echo_request(false, 0x1234, 7);
        assert_eq!(checksum(&request), 0, "a packet with its checksum sums to zero");
        assert_eq!(&request[..8], &[8, 0, request[2], request[3], 0x12, 0x34, 0, 7]);
    }

    #[test]
    fn a_reply_is_read_with_or_without_the_ip_header_and_others_are_not() {
        let mut reply = echo_request(false, 9, 3);
        reply[0] = ECHO_REPLY_V4;
        assert_eq!(echo_reply(&reply, false, false), Some((9, 3)));
        let mut with_header = vec![0x45; 20];
        with_header.extend_from_slice(&reply);
        assert_eq!(echo_reply(&with_header, false, true), Some((9, 3)));
        assert_eq!(echo_reply(&echo_request(false, 9, 3), false, false), None, "our own request, looped back");
        let mut v6 = echo_request(true, 1, 2);
        v6[0] = ECHO_REPLY_V6;
        assert_eq!(echo_reply(&v6, true, true), Some((1, 2)));
        let mut foreign = reply.clone();
        foreign.truncate(12);
        assert_eq!(echo_reply(&foreign, false, false), None, "someone else's ping");
        assert_eq!(echo_reply(&[0x45], false, true), None);
    }

    #[test]
    fn figures_count_loss_and_round_trips() {
        assert_eq!(
            Figures::of(4, &[1.0, 3.0, 2.0]),
            Figures { sent: 4, received: 3, packet_loss: 25.0, rtt: Some((1.0, 2.0, 3.0)) }
        );
        assert_eq!(Figures::of(2, &[]), Figures { sent: 2, received: 0, packet_loss: 100.0, rtt: None });
    }
}
