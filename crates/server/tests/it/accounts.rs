//! Issue 38, local accounts: a password sign-in on a real store, its pause after wrong tries
//! (kept in the store, so every node keeps it), one-time codes taken once, and the accounts
//! that may not sign in at all; and a token that belongs to an account never outranks it.

use std::sync::Arc;
use vigil_store::TokenStore;
use vigil_store::UserStore;

use vigil_core::time::ManualClock;
use vigil_server::accounts::{self, Credentials, SignInError, password, totp};
use vigil_server::auth::{Auth, Role, mint};
use vigil_store::{SecretBox, SqliteStore, UserRow};

const PASSWORD: &str = "correct horse battery";

async fn store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("a.db")).await.unwrap());
    (dir, store)
}

async fn person(id: &str, role: &str) -> UserRow {
    UserRow {
        id: id.into(),
        kind: accounts::PERSON.into(),
        source: "local".into(),
        role: Some(role.into()),
        password_hash: Some(password::hash(PASSWORD).await),
        created_at: 1,
        ..UserRow::default()
    }
}

fn typed<'a>(name: &'a str, password: &'a str, code: Option<&'a str>) -> Credentials<'a> {
    Credentials { name, password, code }
}

#[tokio::test]
async fn wrong_passwords_pause_the_account_even_for_the_right_one() {
    let (_dir, store) = store().await;
    store.put_user(&person("ana", "respond").await, false).await.unwrap();
    let now = 1_000_000;
    let ok = accounts::sign_in(store.as_ref(), None, &Default::default(), typed(" Ana ", PASSWORD, None), now)
        .await
        .unwrap();
    assert_eq!(ok.id, "ana", "names are trimmed and lower-cased");
    for n in 0..accounts::FREE_FAILURES {
        let e = accounts::sign_in(
            store.as_ref(),
            None,
            &Default::default(),
            typed("ana", "wrong password!", None),
            now + i64::from(n),
        )
        .await;
        assert!(matches!(e, Err(SignInError::Wrong)), "{e:?}");
    }
    let paused =
        accounts::sign_in(store.as_ref(), None, &Default::default(), typed("ana", PASSWORD, None), now + 10).await;
    assert!(matches!(paused, Err(SignInError::Paused(1))), "the right password waits too: {paused:?}");
    assert_eq!(store.user("ana").await.unwrap().unwrap().failed_sign_ins, accounts::FREE_FAILURES);
    let later =
        accounts::sign_in(store.as_ref(), None, &Default::default(), typed("ana", PASSWORD, None), now + 2_000).await;
    assert!(later.is_ok(), "after the pause: {later:?}");
    assert_eq!(store.user("ana").await.unwrap().unwrap().failed_sign_ins, 0, "a sign-in clears the count");
}

#[tokio::test]
async fn the_pause_does_not_tell_which_names_are_accounts() {
    let (_dir, store) = store().await;
    store.put_user(&person("ana", "respond").await, false).await.unwrap();
    let decoys = vigil_server::accounts::decoys::DecoyTries::default();
    let answers = async |name: &str| {
        let mut out = Vec::new();
        for n in 0..=accounts::FREE_FAILURES {
            let e = accounts::sign_in(
                store.as_ref(),
                None,
                &decoys,
                typed(name, "wrong password!", None),
                5 + i64::from(n),
            )
            .await;
            out.push(format!("{:?}", e.map(|u| u.id)));
        }
        out
    };
    let known = answers("ana").await;
    assert_eq!(known.last().map(String::as_str), Some("Err(Paused(1))"), "{known:?}");
    assert_eq!(answers("nobody").await, known, "a name that is no account gets the same answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tries_sent_at_once_are_counted_before_any_password_is_checked() {
    let (_dir, store) = store().await;
    store.put_user(&person("eve", "read").await, false).await.unwrap();
    let tries = (0..40).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let guess = format!("guess number {n}");
            accounts::sign_in(store.as_ref(), None, &Default::default(), typed("eve", &guess, None), 1_000).await
        })
    });
    let mut checked = 0;
    for t in tries {
        match t.await.unwrap() {
            Err(SignInError::Wrong) => checked += 1,
            Err(SignInError::Paused(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(checked, accounts::FREE_FAILURES, "only the free tries reach the password check");
}

#[tokio::test]
async fn accounts_that_cannot_sign_in_get_the_same_answer_as_a_wrong_password() {
    let (_dir, store) = store().await;
    let bot = UserRow { kind: accounts::SERVICE.into(), ..person("bot", "write").await };
    store.put_user(&bot, false).await.unwrap();
    let off = UserRow { disabled_at: Some(5), ..person("off", "write").await };
    store.put_user(&off, false).await.unwrap();
    for name in ["bot", "off", "nobody"] {
        let e = accounts::sign_in(store.as_ref(), None, &Default::default(), typed(name, PASSWORD, None), 10).await;
        assert!(matches!(e, Err(SignInError::Wrong)), "{name}: {e:?}");
    }
}

#[tokio::test]
async fn a_one_time_code_is_needed_and_taken_once() {
    let (_dir, store) = store().await;
    let sealer = SecretBox::new([7; 32]);
    let secret = totp::new_secret();
    let user = UserRow { totp_sealed: Some(sealer.seal_text(&totp::base32(&secret))), ..person("cy", "read").await };
    store.put_user(&user, false).await.unwrap();
    let now = 1_700_000_000_000;
    let code = format!("{:06}", totp::code(&secret, totp::step_at(now)));
    let needed =
        accounts::sign_in(store.as_ref(), Some(&sealer), &Default::default(), typed("cy", PASSWORD, None), now).await;
    assert!(matches!(needed, Err(SignInError::CodeNeeded)), "{needed:?}");
    let wrong_pw = accounts::sign_in(
        store.as_ref(),
        Some(&sealer),
        &Default::default(),
        typed("cy", "not the password", Some(&code)),
        now,
    )
    .await;
    assert!(matches!(wrong_pw, Err(SignInError::Wrong)), "a code does not stand in for the password");
    assert!(
        accounts::sign_in(store.as_ref(), Some(&sealer), &Default::default(), typed("cy", PASSWORD, Some(&code)), now)
            .await
            .is_ok()
    );
    let replayed = accounts::sign_in(
        store.as_ref(),
        Some(&sealer),
        &Default::default(),
        typed("cy", PASSWORD, Some(&code)),
        now + 1,
    )
    .await;
    assert!(matches!(replayed, Err(SignInError::Wrong)), "the same code twice: {replayed:?}");
    let next = format!("{:06}", totp::code(&secret, totp::step_at(now) + 1));
    assert!(
        accounts::sign_in(
            store.as_ref(),
            Some(&sealer),
            &Default::default(),
            typed("cy", PASSWORD, Some(&next)),
            now + 30_000
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn an_accounts_token_does_no_more_than_the_account_and_ends_with_it() {
    let (_dir, store) = store().await;
    let clock = Arc::new(ManualClock::new(1_000));
    store.put_user(&person("dee", "write").await, false).await.unwrap();
    let mut minted = mint("deploy", Role::Admin, Vec::new(), 1_000);
    minted.row.user_id = Some("dee".into());
    minted.row.expires_at = Some(5_000);
    store.put_token(&minted.row).await.unwrap();
    let auth = Auth::new(store.clone(), true).with_clock(clock.clone());
    let (id, secret) = vigil_server::auth::split(&minted.token).unwrap();
    let caller = auth.check(id, secret).await.expect("a good token");
    assert_eq!((caller.role(), caller.user.as_deref()), (Role::Write, Some("dee")), "capped at the account's role");
    assert_eq!(caller.principal().describe(), format!("write token {id} of dee"));

    store.put_user(&UserRow { role: Some("read".into()), ..person("dee", "read").await }, false).await.unwrap();
    auth.forget().await;
    assert_eq!(auth.check(id, secret).await.unwrap().role(), Role::Read, "the account's new role, at once");

    store.put_user(&UserRow { disabled_at: Some(2_000), ..person("dee", "read").await }, false).await.unwrap();
    auth.forget().await;
    assert!(auth.check(id, secret).await.is_none(), "a disabled account's tokens stop");

    store.put_user(&person("dee", "write").await, false).await.unwrap();
    auth.forget().await;
    assert!(auth.check(id, secret).await.is_some());
    clock.set(5_000);
    assert!(auth.check(id, secret).await.is_none(), "expired at its end");
    assert!(auth.check(id, "0".repeat(64).as_str()).await.is_none(), "a wrong secret");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.tokens().await.unwrap()[0].last_used_at != Some(1_000) {
        assert!(std::time::Instant::now() < deadline, "its last use is recorded");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
