//! `packaging/vigil.service` passes `systemd-analyze verify` (with `ExecStart` pointed at the
//! binary under test, since verify checks that the command exists), and names what the README's
//! install commands set up.

use crate::support;

use support::*;

#[test]
fn the_systemd_unit_verifies_and_keeps_its_promises() {
    let Some(analyze) = service_binary(&["/usr/bin/systemd-analyze", "/bin/systemd-analyze"], "systemd-analyze") else {
        return;
    };
    let unit = std::fs::read_to_string(root().join("packaging/vigil.service")).unwrap();
    for promise in [
        "DynamicUser=yes",
        "StateDirectory=vigil",
        "ProtectSystem=strict",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ExecStart=/usr/local/bin/vigil serve --config /etc/vigil",
    ] {
        assert!(unit.lines().any(|l| l.trim() == promise || l.starts_with(promise)), "the unit lacks `{promise}`");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/vigil", env!("CARGO_BIN_EXE_vigil"))).unwrap();
    let out = std::process::Command::new(analyze).arg("verify").arg(&path).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    assert!(!said.contains("vigil.service:"), "systemd-analyze has something to say about the unit: {said}");
}
