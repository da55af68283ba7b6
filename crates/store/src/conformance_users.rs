//! Conformance: accounts, their sign-in counts and one-time-code steps, and their sessions.

use crate::{SessionRow, Store, UserRow};

fn person(id: &str) -> UserRow {
    UserRow {
        id: id.into(),
        display_name: "Ana Lima".into(),
        email: "ana@example.com".into(),
        kind: "person".into(),
        source: "local".into(),
        role: Some("respond".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        created_at: 5,
        ..UserRow::default()
    }
}

/// Every case, in turn.
pub async fn run_all(store: &dyn Store) {
    accounts_roundtrip_and_keep_their_counts(store).await;
    failed_sign_ins_are_counted_until_one_succeeds(store).await;
    a_one_time_code_step_is_taken_once(store).await;
    a_changed_password_ends_the_users_sessions(store).await;
    a_sign_in_state_is_taken_once(store).await;
    an_accounts_provider_and_groups_are_kept(store).await;
    the_audit_log_is_read_newest_first_and_pruned(store).await;
}

async fn accounts_roundtrip_and_keep_their_counts(store: &dyn Store) {
    let ana = person("u-ana");
    store.put_user(&ana, false).await.unwrap();
    assert_eq!(store.user("u-ana").await.unwrap(), Some(ana.clone()));
    assert_eq!(store.user("u-nobody").await.unwrap(), None);
    assert!(!store.add_user(&UserRow { role: Some("admin".into()), ..ana.clone() }).await.unwrap(), "taken");
    assert_eq!(store.user("u-ana").await.unwrap().unwrap().role.as_deref(), Some("respond"), "not changed by add");
    let bot = UserRow { kind: "service".into(), password_hash: None, ..person("u-bot") };
    assert!(store.add_user(&bot).await.unwrap());
    let ids: Vec<String> =
        store.users().await.unwrap().into_iter().map(|u| u.id).filter(|id| id.starts_with("u-")).collect();
    assert_eq!(ids, ["u-ana", "u-bot"]);
    assert_eq!(store.reserve_sign_in("u-ana", 10, 5, 9_999).await.unwrap(), Some(1));
    store.set_totp("u-ana", Some("sealed"), false).await.unwrap();
    let changed = UserRow { role: Some("write".into()), password_hash: None, totp_sealed: None, ..ana.clone() };
    store.put_user(&changed, false).await.unwrap();
    let read = store.user("u-ana").await.unwrap().unwrap();
    assert_eq!((read.role.as_deref(), read.totp_sealed.as_deref()), (Some("write"), Some("sealed")));
    assert_eq!(read.password_hash, ana.password_hash, "an admin's change never writes the password back");
    assert_eq!(read.failed_sign_ins, 1, "nor the count of tries");
}

async fn failed_sign_ins_are_counted_until_one_succeeds(store: &dyn Store) {
    store.put_user(&person("u-cleo"), false).await.unwrap();
    assert_eq!(store.reserve_sign_in("u-cleo", 100, 5, 9_999).await.unwrap(), Some(1));
    assert_eq!(store.reserve_sign_in("u-cleo", 101, 5, 9_999).await.unwrap(), Some(2));
    assert_eq!(store.reserve_sign_in("u-nobody", 101, 5, 9_999).await.unwrap(), None, "no such account");
    store.pause_sign_ins("u-cleo", 500).await.unwrap();
    store.pause_sign_ins("u-cleo", 300).await.unwrap();
    assert_eq!(store.reserve_sign_in("u-cleo", 499, 5, 9_999).await.unwrap(), None, "paused: not even counted");
    let read = store.user("u-cleo").await.unwrap().unwrap();
    assert_eq!(
        (read.failed_sign_ins, read.last_failed_at, read.paused_until),
        (2, Some(101), Some(500)),
        "kept the longer"
    );
    assert_eq!(store.reserve_sign_in("u-cleo", 500, 4, 700).await.unwrap(), Some(3), "the pause is over");
    assert_eq!(store.reserve_sign_in("u-cleo", 501, 4, 700).await.unwrap(), Some(4));
    assert_eq!(store.reserve_sign_in("u-cleo", 502, 4, 700).await.unwrap(), None, "the 4th paused it at once");
    assert_eq!(store.user("u-cleo").await.unwrap().unwrap().paused_until, Some(700));
    store.user_signed_in("u-cleo", 600).await.unwrap();
    let read = store.user("u-cleo").await.unwrap().unwrap();
    assert_eq!(
        (read.failed_sign_ins, read.last_failed_at, read.paused_until, read.last_sign_in_at),
        (0, None, None, Some(600))
    );
}

async fn a_one_time_code_step_is_taken_once(store: &dyn Store) {
    store.put_user(&person("u-dara"), false).await.unwrap();
    assert!(store.claim_totp_step("u-dara", 1_000).await.unwrap());
    assert!(!store.claim_totp_step("u-dara", 1_000).await.unwrap(), "the same code again");
    assert!(!store.claim_totp_step("u-dara", 999).await.unwrap(), "an earlier one");
    assert!(store.claim_totp_step("u-dara", 1_001).await.unwrap());
    assert!(!store.claim_totp_step("u-nobody", 5).await.unwrap());
}

async fn a_changed_password_ends_the_users_sessions(store: &dyn Store) {
    let eli = person("u-eli");
    store.put_user(&eli, false).await.unwrap();
    let session = |id: &str, user: Option<&str>| SessionRow {
        id_hash: id.into(),
        token_id: String::new(),
        created_at: 10,
        expires_at: 1_000,
        user_id: user.map(str::to_string),
        provider: Some("corp".into()),
    };
    store.put_session(&session("ue-1", Some("u-eli"))).await.unwrap();
    store.put_session(&session("ue-2", Some("u-other"))).await.unwrap();
    assert_eq!(store.session("ue-1", 20).await.unwrap(), Some(session("ue-1", Some("u-eli"))));
    store.put_user(&eli, false).await.unwrap();
    assert!(store.session("ue-1", 20).await.unwrap().is_some(), "a change that keeps the password keeps sessions");
    store.set_password("u-eli", Some("new")).await.unwrap();
    assert_eq!(store.user("u-eli").await.unwrap().unwrap().password_hash.as_deref(), Some("new"));
    assert_eq!(store.session("ue-1", 20).await.unwrap(), None, "ended");
    assert!(store.session("ue-2", 20).await.unwrap().is_some(), "another user's stays");
}

async fn a_sign_in_state_is_taken_once(store: &dyn Store) {
    let state = |hash: &str, expires_at| crate::SignInStateRow {
        state_hash: hash.into(),
        provider: "corp".into(),
        nonce: "n".into(),
        verifier: "v".into(),
        binding_hash: "b".into(),
        next: "/ui/alerts".into(),
        expires_at,
    };
    store.put_sign_in_state(&state("st-1", 1_000), 10).await.unwrap();
    store.put_sign_in_state(&state("st-2", 50), 10).await.unwrap();
    assert!(store.put_sign_in_state(&state("st-1", 1_000), 10).await.is_err(), "states are unique");
    assert_eq!(store.take_sign_in_state("st-1", 20).await.unwrap(), Some(state("st-1", 1_000)));
    assert_eq!(store.take_sign_in_state("st-1", 20).await.unwrap(), None, "a replayed state finds nothing");
    assert_eq!(store.take_sign_in_state("st-2", 60).await.unwrap(), None, "expired");
    assert_eq!(store.take_sign_in_state("st-2", 20).await.unwrap(), None, "taken even when expired");
    store.put_sign_in_state(&state("st-3", 100), 10).await.unwrap();
    store.put_sign_in_state(&state("st-4", 1_000), 200).await.unwrap();
    assert_eq!(
        store.take_sign_in_state("st-3", 20).await.unwrap(),
        None,
        "expired ones are forgotten as new ones begin"
    );
}

async fn an_accounts_provider_and_groups_are_kept(store: &dyn Store) {
    let fay = UserRow {
        source: "oidc".into(),
        password_hash: None,
        external_id: Some("corp:0a1b".into()),
        groups: vec!["pay-oncall".into(), "staff".into()],
        ..person("u-fay")
    };
    assert!(store.add_user(&fay).await.unwrap());
    assert_eq!(store.user("u-fay").await.unwrap().unwrap(), fay);
    let moved = UserRow { groups: vec!["search".into()], ..fay.clone() };
    store.put_user(&moved, false).await.unwrap();
    assert_eq!(store.user("u-fay").await.unwrap().unwrap().groups, ["search"], "groups change at each sign-in");
    let none = UserRow { groups: vec![], ..fay.clone() };
    store.put_user(&none, false).await.unwrap();
    assert!(store.user("u-fay").await.unwrap().unwrap().groups.is_empty());
    let refresh = crate::AccountRefresh {
        id: "u-fay".into(),
        external_id: "corp:0a1b".into(),
        display_name: "Fay".into(),
        email: "fay@x".into(),
        groups: vec!["ops".into()],
        role: None,
    };
    assert!(store.refresh_signed_in(&refresh).await.unwrap());
    let now = store.user("u-fay").await.unwrap().unwrap();
    assert_eq!(
        (now.display_name.as_str(), now.groups.clone(), now.role.clone()),
        ("Fay", vec!["ops".to_string()], fay.role.clone())
    );
    let promoted = crate::AccountRefresh { role: Some(Some("admin".into())), ..refresh.clone() };
    assert!(store.refresh_signed_in(&promoted).await.unwrap());
    assert_eq!(store.user("u-fay").await.unwrap().unwrap().role.as_deref(), Some("admin"));
    let other = crate::AccountRefresh { external_id: "corp:other".into(), ..refresh.clone() };
    assert!(!store.refresh_signed_in(&other).await.unwrap(), "another person's");
    store.put_user(&UserRow { disabled_at: Some(5), ..now }, true).await.unwrap();
    assert!(!store.refresh_signed_in(&refresh).await.unwrap(), "a disable made meanwhile stands");
    assert!(store.user("u-fay").await.unwrap().unwrap().disabled_at.is_some());
    let made = UserRow { external_id: Some("corp:".into()), source: "sso".into(), ..person("u-gil") };
    store.put_user(&made, false).await.unwrap();
    assert!(!store.claim_account("u-gil", "other:", "other:9", "oidc").await.unwrap(), "made for another provider");
    assert!(store.claim_account("u-gil", "corp:", "corp:9", "oidc").await.unwrap());
    assert!(!store.claim_account("u-gil", "corp:", "corp:10", "oidc").await.unwrap(), "claimed once");
    let gil = store.user("u-gil").await.unwrap().unwrap();
    assert_eq!((gil.external_id.as_deref(), gil.source.as_str()), (Some("corp:9"), "oidc"));
}

async fn the_audit_log_is_read_newest_first_and_pruned(store: &dyn Store) {
    let row = |at, actor: &str, kind: &str, name: &str| crate::AuditRow {
        at,
        actor: actor.into(),
        source: "api".into(),
        address: "127.0.0.1".into(),
        action: "PUT".into(),
        kind: kind.into(),
        name: name.into(),
        change: "[]".into(),
        ..Default::default()
    };
    let a = store.append_audit(&row(10, "user:ana", "workflow", "w1")).await.unwrap();
    let b = store.append_audit(&row(20, "file:teams/pay.yaml", "team", "pay")).await.unwrap();
    let c = store.append_audit(&row(30, "user:ana", "workflow", "w1")).await.unwrap();
    assert!(a < b && b < c, "ids grow");
    let all = |q: crate::AuditQuery| async move {
        store.audit_log(&q).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let q = crate::AuditQuery { limit: 10, ..Default::default() };
    assert_eq!(all(q.clone()).await, [c, b, a]);
    assert_eq!(
        store.audit_log(&q).await.unwrap()[1],
        crate::AuditRow { id: b, ..row(20, "file:teams/pay.yaml", "team", "pay") }
    );
    let of_w1 = crate::AuditQuery { kind: Some("workflow".into()), name: Some("w1".into()), ..q.clone() };
    assert_eq!(all(of_w1).await, [c, a]);
    assert_eq!(all(crate::AuditQuery { actor: Some("user:ana".into()), since: Some(15), ..q.clone() }).await, [c]);
    assert_eq!(all(crate::AuditQuery { before_id: Some(c), limit: 1, ..q.clone() }).await, [b], "the next page");
    assert_eq!(store.prune_audit(25, 1).await.unwrap(), 1, "a chunk");
    assert_eq!(store.prune_audit(25, 10).await.unwrap(), 1);
    assert_eq!(all(q).await, [c]);
}
