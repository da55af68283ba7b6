//! The protocols that greet first (SMTP, IMAP, POP3, FTP, SSH): what a positive greeting looks
//! like, how each asks to switch to TLS on the same connection (STARTTLS, STLS, AUTH TLS), when a
//! reply is complete, and how to say goodbye. Pure; the conversation is in `mod.rs`.

use serde::Deserialize;

/// A protocol a `tcp` check speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// SMTP: greets `220`; STARTTLS after EHLO (RFC 3207).
    Smtp,
    /// IMAP: greets `* OK`; `STARTTLS` (RFC 9051).
    Imap,
    /// POP3: greets `+OK`; `STLS` (RFC 2595).
    Pop3,
    /// FTP: greets `220`; `AUTH TLS` (RFC 4217).
    Ftp,
    /// SSH: greets with its version, `SSH-2.0-...` (RFC 4253); no STARTTLS.
    Ssh,
}

impl Protocol {
    /// Its name, as written.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Ftp => "ftp",
            Protocol::Ssh => "ssh",
        }
    }

    /// What a positive greeting starts with.
    pub fn greeting(self) -> &'static str {
        match self {
            Protocol::Smtp | Protocol::Ftp => "220",
            Protocol::Imap => "* OK",
            Protocol::Pop3 => "+OK",
            Protocol::Ssh => "SSH-",
        }
    }

    /// The commands that switch the connection to TLS, each with what its positive reply starts
    /// with; `None` for a protocol without STARTTLS.
    pub fn starttls(self) -> Option<&'static [(&'static str, &'static str)]> {
        match self {
            Protocol::Smtp => Some(&[("EHLO vigil\r\n", "250"), ("STARTTLS\r\n", "220")]),
            Protocol::Imap => Some(&[("a1 STARTTLS\r\n", "a1 OK")]),
            Protocol::Pop3 => Some(&[("STLS\r\n", "+OK")]),
            Protocol::Ftp => Some(&[("AUTH TLS\r\n", "234")]),
            Protocol::Ssh => None,
        }
    }

    /// What ends a session politely.
    pub fn goodbye(self) -> Option<&'static str> {
        match self {
            Protocol::Smtp | Protocol::Pop3 | Protocol::Ftp => Some("QUIT\r\n"),
            Protocol::Imap => Some("a2 LOGOUT\r\n"),
            Protocol::Ssh => None,
        }
    }

    /// Whether `line` ends a reply to a command whose positive reply starts with `expect` (the
    /// greeting's, or a STARTTLS step's): SMTP's and FTP's last line has a space after the code
    /// (`250 ` after `250-` lines); IMAP greets in one line, and its tagged reply ends its
    /// untagged lines; SSH's version line ends whatever the server says before it; POP3 answers
    /// in one line.
    pub fn ends_reply(self, line: &str, expect: &str) -> bool {
        match self {
            Protocol::Smtp | Protocol::Ftp => line.len() < 4 || line.as_bytes()[3] != b'-',
            Protocol::Imap if expect.starts_with('*') => true,
            Protocol::Imap => !line.starts_with('*'),
            Protocol::Pop3 => true,
            Protocol::Ssh => line.starts_with("SSH-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_end_where_each_protocol_says() {
        assert!(!Protocol::Smtp.ends_reply("250-mail.example.org", "250"));
        assert!(!Protocol::Smtp.ends_reply("250-STARTTLS", "250"));
        assert!(Protocol::Smtp.ends_reply("250 SIZE 10240000", "250"));
        assert!(Protocol::Ftp.ends_reply("220 ready", "220"));
        assert!(!Protocol::Ftp.ends_reply("220-Welcome", "220"));
        assert!(Protocol::Imap.ends_reply("* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.", "* OK"));
        assert!(!Protocol::Imap.ends_reply("* CAPABILITY IMAP4rev1", "a1 OK"));
        assert!(Protocol::Imap.ends_reply("a1 OK Begin TLS negotiation now.", "a1 OK"));
        assert!(!Protocol::Ssh.ends_reply("Welcome to the bastion", "SSH-"));
        assert!(Protocol::Ssh.ends_reply("SSH-2.0-OpenSSH_9.2p1 Debian-2", "SSH-"));
        assert!(Protocol::Ssh.starttls().is_none() && Protocol::Ssh.goodbye().is_none());
        assert_eq!(Protocol::Pop3.starttls(), Some(&[("STLS\r\n", "+OK")][..]));
    }
}
