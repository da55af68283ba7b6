//! gRPC's health checking messages (`grpc.health.v1`), pure: the framed `HealthCheckRequest` and
//! the status read from a framed `HealthCheckResponse` (protobuf by hand: one field each).

use vigil_core::varint;

/// `HealthCheckRequest { string service = 1; }`, in gRPC's length-prefixed frame.
pub fn request(service: &str) -> Vec<u8> {
    let mut message = Vec::new();
    if !service.is_empty() {
        message.push(0x0A);
        varint::put(service.len() as u64, &mut message);
        message.extend_from_slice(service.as_bytes());
    }
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend(message);
    framed
}

/// `ServingStatus` by number, as `grpc.health.v1` names it.
pub fn status_name(n: u64) -> String {
    match n {
        0 => "UNKNOWN".into(),
        1 => "SERVING".into(),
        2 => "NOT_SERVING".into(),
        3 => "SERVICE_UNKNOWN".into(),
        other => format!("STATUS_{other}"),
    }
}

/// The status in a framed `HealthCheckResponse { ServingStatus status = 1; }` (absent: 0,
/// protobuf's default). Other fields are skipped.
pub fn response_status(framed: &[u8]) -> Result<u64, String> {
    let (&compressed, rest) = framed.split_first().ok_or("an empty answer")?;
    if compressed != 0 {
        return Err("the answer is compressed, which vigil does not ask for".into());
    }
    let len = u32::from_be_bytes(rest.get(..4).ok_or("an answer shorter than its frame")?.try_into().expect("4 bytes"))
        as usize;
    let message = rest.get(4..4 + len).ok_or("an answer shorter than its length")?;
    let (mut at, mut status) = (0, 0);
    while at < message.len() {
        let key = varint::read(message, &mut at).ok_or("a field key runs past the answer")?;
        match (key >> 3, key & 7) {
            (1, 0) => status = varint::read(message, &mut at).ok_or("the status runs past the answer")?,
            (_, 0) => {
                varint::read(message, &mut at).ok_or("a field runs past the answer")?;
            }
            (_, 2) => {
                let n = varint::read(message, &mut at).ok_or("a field runs past the answer")? as usize;
                at += n;
            }
            (_, 1) => at += 8,
            (_, 5) => at += 4,
            (_, wire) => return Err(format!("a field of wire type {wire}")),
        }
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_protobuf_in_grpc_frames() {
        assert_eq!(request(""), [0, 0, 0, 0, 0], "the default service: an empty message");
        assert_eq!(request("vigil.Test"), [&[0, 0, 0, 0, 12, 0x0A, 10][..], b"vigil.Test"].concat());
        assert_eq!(response_status(&[0, 0, 0, 0, 2, 0x08, 1]), Ok(1));
        assert_eq!(status_name(response_status(&[0, 0, 0, 0, 2, 0x08, 2]).unwrap()), "NOT_SERVING");
        assert_eq!(response_status(&[0, 0, 0, 0, 0]), Ok(0), "UNKNOWN is protobuf's default, sent as nothing");
        // An unknown field before the status is skipped.
        assert_eq!(response_status(&[0, 0, 0, 0, 5, 0x12, 1, b'x', 0x08, 3]), Ok(3));
        assert!(response_status(&[1, 0, 0, 0, 0]).is_err());
        assert!(response_status(&[0, 0, 0, 0, 9, 0x08]).is_err());
        let mut long = Vec::new();
        varint::put(300, &mut long);
        assert_eq!(long, [0xAC, 0x02]);
    }
}
