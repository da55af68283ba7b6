//! The `ssh` source against OpenSSH's server (Debian `openssh-server`) on loopback: an
//! `SSH_CHECK` task logs in with a key kept as a vigil secret, runs a command and is judged by its
//! exit status and output; a wrong key, a wrong pinned host key and a closed port fail, each
//! saying why; the key is in none of the stored history. sshd needs root (CI runs so); a missing
//! server is skipped with a message, unless `VIGIL_REQUIRE_SERVICES=1`.

use crate::support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::*;

fn skip(why: &str) {
    assert!(!std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1"), "VIGIL_REQUIRE_SERVICES=1 but {why}");
    eprintln!("SKIPPED: {why}");
}

fn is_root() -> bool {
    String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap().trim() == "0"
}

/// Runs one `SSH_CHECK` with `input` through `vigil run` on `db`; its first sample.
async fn ssh_check(dir: &Path, db: &Path, input: Value) -> Value {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let workflow = dir.join(format!("w{n}.json"));
    let doc = json!({"name": "login", "tasks": [{"name": "login", "taskReferenceName": "login", "type": "SSH_CHECK",
                     "inputParameters": input}], "outputParameters": {"series": "${login.output.series}"}});
    std::fs::write(&workflow, doc.to_string()).unwrap();
    let out = run_async(db.to_path_buf(), vec!["run".into(), workflow.display().to_string()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The stored instance, as `vigil status --json` shows it, holds no line of the key.
    let id = stderr.lines().find_map(|l| l.strip_prefix("instance ")).expect("the instance id").trim();
    let shown = run(db, &["status", id, "--json"]);
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("SSH_CHECK"), "{shown}");
    for key in [dir.join("client"), dir.join("stranger")] {
        let text = std::fs::read_to_string(key).unwrap();
        for line in text.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!shown.contains(line), "a line of {} is stored: {shown}", "the key");
        }
    }
    stdout_json(&out)["series"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_check_logs_in_with_a_secret_key_and_judges_the_command() {
    let Some(server) = service_binary(&["/usr/sbin/sshd"], "OpenSSH's server (Debian `openssh-server`)") else {
        return;
    };
    if !is_root() {
        return skip("the test starts sshd, which needs root (it runs so in CI)");
    }
    let dir = tempfile::tempdir().unwrap();
    let (client_key, stranger) = (dir.path().join("client"), dir.path().join("stranger"));
    sshd::key_pair(&client_key);
    sshd::key_pair(&stranger);
    let (_sshd, port, host_key) = sshd::start(&server, dir.path(), Some(&sshd::public(&client_key)));
    let db = dir.path().join("v.db");
    let key_text = std::fs::read_to_string(&client_key).unwrap();
    set_secret(&db, "deploy_key", &key_text);
    set_secret(&db, "stranger_key", &std::fs::read_to_string(&stranger).unwrap());
    let url = format!("ssh://127.0.0.1:{port}");
    let pinned = sshd::public(&host_key);

    // The right key, the host key pinned: the command's status and output are judged.
    let good = ssh_check(
        dir.path(),
        &db,
        json!({"url": url, "user": "root", "privateKey": "${workflow.secrets.deploy_key}", "hostKey": pinned,
               "command": "echo ready; exit 3",
               "conditions": ["[CONNECTED] == true", "[STATUS] == 3", "[BODY] == ready", "[RESPONSE_TIME] < 20000"]}),
    )
    .await;
    assert_eq!(good["tier"], "ok", "{good}");
    assert_eq!((&good["fields"]["status"], &good["fields"]["body"]), (&json!(3), &json!("ready")), "{good}");
    // By default the command is `true` and the check wants status 0.
    let plain =
        ssh_check(dir.path(), &db, json!({"url": url, "user": "root", "privateKey": "${workflow.secrets.deploy_key}"}))
            .await;
    assert_eq!(plain["tier"], "ok", "{plain}");
    // A command that fails fails the check, logged in all the same.
    let failing = ssh_check(
        dir.path(),
        &db,
        json!({"url": url, "user": "root", "privateKey": "${workflow.secrets.deploy_key}", "command": "exit 1"}),
    )
    .await;
    assert_eq!((&failing["tier"], &failing["fields"]["connected"]), (&json!("critical"), &json!(true)), "{failing}");

    // A key the server does not know.
    let refused = ssh_check(
        dir.path(),
        &db,
        json!({"url": url, "user": "root", "privateKey": "${workflow.secrets.stranger_key}", "timeout": "10s"}),
    )
    .await;
    assert_eq!((&refused["tier"], &refused["fields"]["connected"]), (&json!("critical"), &json!(false)), "{refused}");
    assert!(refused["note"].as_str().unwrap().contains("Permission denied"), "{refused}");
    // A server showing another host key than the pinned one.
    let impostor = ssh_check(
        dir.path(),
        &db,
        json!({"url": url, "user": "root", "privateKey": "${workflow.secrets.deploy_key}", "hostKey": sshd::public(&stranger)}),
    )
    .await;
    assert_eq!(impostor["tier"], "critical", "{impostor}");
    assert!(impostor["note"].as_str().unwrap().contains("Host key verification failed"), "{impostor}");

    // Nor is it in the database's files: secrets are sealed at rest (an instance's state is
    // compressed: `ssh_check` reads it through `vigil status`).
    let lines: Vec<&str> = key_text.lines().filter(|l| !l.starts_with("-----")).collect();
    let stored = std::fs::read(&db).unwrap();
    let wal = std::fs::read(dir.path().join("v.db-wal")).unwrap_or_default();
    for needle in [lines[0], lines[1]] {
        for hay in [&stored, &wal] {
            assert!(!hay.windows(needle.len()).any(|w| w == needle.as_bytes()), "the key is stored");
        }
    }
}
