//! The SSH source's reading and the client's arguments (the login itself against OpenSSH's
//! server: `crates/cli/tests/it/ssh_login.rs`).

use serde_json::{Value, json};

use super::*;

const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
const HOST_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx3pYq0b8kVj3a1aN6R6eX0Pz5a1QmQq4pWZ2Fq0qYb";

fn source(v: Value) -> Result<SshSource, SourceProblem> {
    serde_json::from_value::<SshConfig>(v).unwrap().build()
}

fn with(extra: Value) -> Value {
    let mut v = json!({"url": "ssh://db.internal", "user": "probe", "privateKey": KEY});
    v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    v
}

#[test]
fn addresses_take_port_22_unless_given() {
    for (url, want) in [
        ("ssh://db.internal", ("db.internal", 22)),
        ("ssh://db.internal:2222", ("db.internal", 2222)),
        ("db.internal:2222/", ("db.internal", 2222)),
        ("ssh://[::1]:2200", ("::1", 2200)),
        ("ssh://::1", ("::1", 22)),
    ] {
        let got = address(url).unwrap().unwrap();
        assert_eq!((got.0.as_str(), got.1), want, "{url}");
    }
    for wrong in ["ssh://", "ssh://-oProxyCommand=x", "ssh://a b", "ssh://host:port", "ssh://user@host"] {
        assert_eq!(address(wrong).unwrap_err().path, "url", "{wrong}");
    }
    assert!(address("ssh://${HOST}").unwrap().is_err(), "a reference waits for its value");
}

#[test]
fn a_wrong_field_is_named_and_a_key_never_echoed() {
    let secret = "not-a-key-but-a-secret";
    let e = source(with(json!({"privateKey": secret}))).unwrap_err();
    assert_eq!(e.path, "privateKey");
    assert!(!e.message.contains(secret), "{}", e.message);
    assert_eq!(source(with(json!({"user": "-oProxyCommand=x"}))).unwrap_err().path, "user");
    assert_eq!(source(with(json!({"hostKey": "AAAA"}))).unwrap_err().path, "hostKey");
    // One line only: a second would be another trusted key in the pinned `known_hosts`.
    let two = format!("{HOST_KEY} comment\n* {HOST_KEY}");
    assert_eq!(source(with(json!({"hostKey": two}))).unwrap_err().path, "hostKey");
    let commented = source(with(json!({"hostKey": format!("{HOST_KEY} probe@laptop")}))).unwrap();
    assert_eq!(commented.host_key.as_deref(), Some(HOST_KEY), "the comment is dropped");
    assert_eq!(source(with(json!({"command": " "}))).unwrap_err().path, "command");
    assert_eq!(
        source(with(json!({"conditions": ["[CERTIFICATE_EXPIRATION] > 1d"]}))).unwrap_err().path,
        "conditions[0]"
    );
    assert_eq!(source(with(json!({"timeout": "soon"}))).unwrap_err().path, "timeout");
    // References are read as such while `vigil validate` reads the file.
    assert!(source(with(json!({"privateKey": "${secrets.deploy_key}", "user": "${secrets.user}"}))).is_ok());
}

#[test]
fn the_key_stays_out_of_debug_output() {
    let built = source(with(json!({}))).unwrap();
    let shown = format!("{built:?}");
    assert!(!shown.contains("b3BlbnNzaC1rZXktdjEAAAAA"), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[test]
fn the_client_runs_in_batch_mode_with_only_the_given_key() {
    let built = source(with(json!({"command": "systemctl is-active nginx"}))).unwrap();
    let args = built.arguments("db.internal", 22, Path::new("/tmp/k"), false);
    let joined = args.join(" ");
    for must in [
        "-F /dev/null",
        "-i /tmp/k/key -E /tmp/k/ssh.log",
        "-o BatchMode=yes",
        "-o IdentitiesOnly=yes",
        "-o IdentityAgent=none",
        "-o PasswordAuthentication=no",
        "-o StrictHostKeyChecking=no",
        "-o UserKnownHostsFile=/dev/null",
        "-o ConnectTimeout=10",
        "-p 22 -l probe -- db.internal",
    ] {
        assert!(joined.contains(must), "{must} in {joined}");
    }
    // The host and the command come last, the command as one argument.
    assert_eq!(&args[args.len() - 2..], ["db.internal", "systemctl is-active nginx"]);
    let pinned = source(with(json!({"hostKey": HOST_KEY}))).unwrap();
    let joined = pinned.arguments("db.internal", 2222, Path::new("/k%h"), true).join(" ");
    assert!(joined.contains("-o StrictHostKeyChecking=yes -o UserKnownHostsFile=\"/k%%h/known_hosts\""), "{joined}");
    assert!(joined.contains("-i /k%%h/key"), "ssh expands % in an identity file's name: {joined}");
    assert!(joined.ends_with("-p 2222 -l probe -- db.internal true"), "{joined}");
    // A command that looks like an option is still the command: ssh reads no option after `--`.
    let sly = source(with(json!({"command": "-oProxyCommand=touch /tmp/owned"}))).unwrap();
    let args = sly.arguments("db.internal", 22, Path::new("/k"), false);
    let dashes = args.iter().position(|a| a == "--").expect("`--` is there");
    assert_eq!(&args[dashes..], ["--", "db.internal", "-oProxyCommand=touch /tmp/owned"]);
}

#[tokio::test]
async fn a_missing_client_is_named() {
    let built = source(with(json!({}))).unwrap();
    // Not through the environment (tests run in parallel): the lookup itself is what is named.
    let why = client().map_or_else(|e| e, |p| format!("found {}", p.display()));
    if why.starts_with("found") {
        return;
    }
    let (seen, note) = built.observe("127.0.0.1", 9).await;
    assert!(!seen.connected);
    assert!(note.unwrap().contains("openssh-client"));
}

#[tokio::test]
async fn a_closed_port_fails_with_ssh_s_own_words() {
    if client().is_err() {
        eprintln!("SKIPPED: no OpenSSH client here");
        return;
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let built = source(with(json!({"url": format!("ssh://127.0.0.1:{closed}"), "timeout": "5s"}))).unwrap();
    let (tier, note, fields) = crate::sources::testing::verdict(built.ask(&crate::http_client(), 0).await);
    assert_eq!(tier, vigil_core::alert::Tier::Critical, "{fields:?}");
    let note = note.unwrap();
    assert!(note.contains("ssh to probe@127.0.0.1") && note.contains("refused"), "{note}");
    assert_eq!(fields["connected"], json!(false));
    // The key file went with the client.
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("vigil-ssh-{}-", std::process::id())))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn output_beyond_the_cap_is_read_and_dropped() {
    let long = vec![b'x'; MAX_OUTPUT as usize * 2 + 7];
    let kept = read_capped(&long[..]).await.unwrap();
    assert_eq!(kept.len(), MAX_OUTPUT as usize);
    // A pipe that is never drained would block the writer: the whole of a bigger stream is read.
    let (mut writer, reader) = tokio::io::duplex(1024);
    let writing = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        writer.write_all(&vec![b'y'; 300_000]).await.unwrap();
    });
    let kept = tokio::time::timeout(Duration::from_secs(10), read_capped(reader)).await.unwrap().unwrap();
    assert_eq!(kept.len(), MAX_OUTPUT as usize);
    writing.await.unwrap();
}

#[test]
fn ssh_s_last_words_are_the_note() {
    assert_eq!(
        why_ssh_failed("root@127.0.0.1: Permission denied (publickey).\n").unwrap(),
        "root@127.0.0.1: Permission denied (publickey)."
    );
    let changed = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                   @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                   @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                   IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n\
                   Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\n\
                   Host key verification failed.\n";
    let why = why_ssh_failed(changed).unwrap();
    assert!(why.starts_with("the server's host key is not the one in `hostKey`"), "{why}");
    assert!(why.ends_with("Host key verification failed."), "{why}");
    assert_eq!(why_ssh_failed("\n \n"), None);
}
