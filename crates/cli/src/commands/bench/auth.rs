//! `vigil bench auth`: what checking rights costs the API. One engine, served twice on loopback:
//! with auth off, and with auth on for a user token scoped by teams (1,000 accounts in 100 teams,
//! each team owning its monitors, notifiers and workflows by name). Readers call the same routes on both in
//! interleaved rounds; the figures are requests/s per round, their ratio, and CPU per request
//! (the readers' included: they run in this process).

use std::sync::Arc;
use vigil_store::TokenStore;
use vigil_store::UserStore;

use anyhow::{Result, ensure};
use serde_json::json;
use vigil_core::monitor::MonitorDef;
use vigil_core::principal::Role;
use vigil_core::time::Clock;
use vigil_runtime::{Engine, SecretValues, SystemClock};
use vigil_server::auth::Auth;
use vigil_store::{SqliteStore, UserRow};

use super::measure::{cpu_seconds, rss_mb, serve_api_with};
use super::status_page::{at, read};

/// What to run (`vigil bench auth` flags).
#[derive(clap::Args)]
pub struct Plan {
    /// Accounts, spread over the teams as editors.
    #[arg(long, default_value_t = 1_000)]
    pub users: usize,
    /// Teams.
    #[arg(long, default_value_t = 100)]
    pub teams: usize,
    /// Heartbeat monitors per team.
    #[arg(long, default_value_t = 10)]
    pub monitors_per_team: usize,
    /// Readers at once (each a kept-alive connection).
    #[arg(long, default_value_t = 16)]
    pub readers: usize,
    /// Seconds per round.
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// Rounds per route and mode (auth off and on alternate, the first mode alternating too).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

/// The teams' documents, monitors and notifiers: team `t{i}` owns `t{i}-*`.
fn definitions(plan: &Plan) -> Result<(Vec<vigil_core::team::TeamDef>, Vec<MonitorDef>, Vec<serde_json::Value>)> {
    let mut teams = Vec::new();
    let (mut monitors, mut notifiers) = (Vec::new(), Vec::new());
    for t in 0..plan.teams {
        let members: serde_json::Map<String, serde_json::Value> =
            (0..plan.users).filter(|u| u % plan.teams == t).map(|u| (format!("u{u}"), json!("editor"))).collect();
        let doc = json!({"name": format!("t{t}"), "members": members,
            "owns": {"monitors": [format!("t{t}-*")], "notifiers": [format!("t{t}-*")],
                "workflows": [format!("t{t}-*")]}});
        let (team, problems) = vigil_core::team::build_team(&doc);
        teams.push(team.ok_or_else(|| anyhow::anyhow!("team t{t}: {problems:?}"))?);
        for m in 0..plan.monitors_per_team {
            let doc = json!({"name": format!("t{t}-m{m}"), "every": "1m", "heartbeat": {"grace": "1h"}});
            monitors.push(MonitorDef::build(&doc).0.ok_or_else(|| anyhow::anyhow!("monitor t{t}-m{m}"))?);
        }
        notifiers.push(json!({"type": "webhook", "name": format!("t{t}-hook"), "url": "http://127.0.0.1:9/"}));
    }
    Ok((teams, monitors, notifiers))
}

/// Runs the benchmark and prints its figures.
pub async fn run(plan: Plan) -> Result<()> {
    ensure!(plan.teams > 0 && plan.users >= plan.teams && plan.rounds > 0, "needs a user in every team and a round");
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("auth.db")).await?);
    let engine = Engine::start(
        store.clone(),
        Arc::new(SystemClock),
        Default::default(),
        Default::default(),
        SecretValues::default(),
    )
    .await?;
    let (teams, monitors, notifiers) = definitions(&plan)?;
    engine.set_teams(teams);
    engine.set_monitors(monitors);
    engine.set_notifiers(notifiers.into_iter().map(serde_json::from_value).collect::<Result<_, _>>()?);
    let now = SystemClock.now();
    for u in 0..plan.users {
        let row = UserRow {
            id: format!("u{u}"),
            kind: "service".into(),
            source: "local".into(),
            created_at: now,
            ..UserRow::default()
        };
        store.put_user(&row, false).await?;
    }
    // The last account is in the last team: ownership is the first team claiming a name, so its
    // objects are the costliest to place.
    let member = plan.users - 1;
    let team = member % plan.teams;
    let account = store.user(&format!("u{member}")).await?.ok_or_else(|| anyhow::anyhow!("no account"))?;
    let minted = vigil_server::auth::mint_for(&account, &engine.teams(), "bench", Role::Write, Vec::new(), None, now)
        .map_err(anyhow::Error::msg)?;
    store.put_token(&minted.row).await?;
    // One ended instance of a workflow of the member's team, whose status is read.
    let job = json!({"name": format!("t{team}-job"), "tasks": [{"name": "s", "taskReferenceName": "s",
        "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]});
    let mut workflows = vigil_core::def::WorkflowSet::default();
    let def = workflows.build_inline(&job).map_err(|p| anyhow::anyhow!("the bench's workflow: {p:?}"))?;
    workflows.insert(def);
    engine.set_workflows(workflows);
    let request = vigil_runtime::StartRequest { name: format!("t{team}-job"), ..Default::default() };
    let instance = engine.start_durable(request).await?;
    engine.wait(&instance).await?;
    let off = serve_api_with(&engine, Auth::new(store.clone(), false)).await?;
    let teams_of = engine.clone();
    let on =
        serve_api_with(&engine, Auth::new(store.clone(), true).with_teams(Arc::new(move || teams_of.teams()))).await?;

    // The token is scoped: another team's monitor is not there for it.
    let other = (team + 1) % plan.teams;
    let http = vigil_connectors::http_client();
    let seen = |base: &str, path: String| http.get(format!("{base}{path}")).bearer_auth(&minted.token).send();
    ensure!(seen(&on, format!("/api/v1/monitors/t{other}-m0")).await?.status() == 404, "scoping is not in force");
    ensure!(seen(&on, format!("/api/v1/monitors/t{team}-m0")).await?.status() == 200, "its own team's monitor");

    crate::output::outln!(
        "{} accounts in {} teams, {} monitors and {} notifiers; a `write` token of u{member} (editor of t{team}); {} readers, {} rounds of {} s per mode",
        plan.users,
        plan.teams,
        plan.teams * plan.monitors_per_team,
        plan.teams,
        plan.readers,
        plan.rounds,
        plan.seconds
    );
    crate::output::outln!(
        "{:<44} {:>10} {:>10} {:>8} {:>10} {:>10} {:>12}",
        "route (GET)",
        "off req/s",
        "on req/s",
        "on/off",
        "off p99 ms",
        "on p99 ms",
        "CPU µs off/on"
    );
    let routes = [
        ("one notifier (memory only)", format!("/api/v1/notifiers/t{team}-hook")),
        ("one monitor (its uptime read from the store)", format!("/api/v1/monitors/t{team}-m0")),
        ("an instance's status (read from the store)", format!("/api/v1/instances/{instance}")),
    ];
    for (name, path) in &routes {
        let (mut off_rates, mut on_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let (mut off_p99, mut on_p99, mut off_cpu, mut on_cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..plan.rounds {
            let mut rate = [0.0; 2];
            let modes = if round % 2 == 0 { [false, true] } else { [true, false] };
            for auth_on in modes {
                let (base, token) = if auth_on { (&on, Some(minted.token.as_str())) } else { (&off, None) };
                let cpu0 = cpu_seconds();
                let r = read(&format!("{base}{path}"), token, plan.readers, plan.seconds).await;
                let cpu_us = (cpu_seconds() - cpu0) * 1e6 / r.requests.max(1) as f64;
                ensure!(r.errors == 0, "{name}: {} errors with auth {}", r.errors, if auth_on { "on" } else { "off" });
                let per_s = r.requests as f64 / r.secs;
                rate[usize::from(auth_on)] = per_s;
                let (rates, p99s, cpus) = if auth_on {
                    (&mut on_rates, &mut on_p99, &mut on_cpu)
                } else {
                    (&mut off_rates, &mut off_p99, &mut off_cpu)
                };
                rates.push(per_s);
                p99s.push(at(&r.ms, 0.99));
                cpus.push(cpu_us);
            }
            ratios.push(rate[1] / rate[0]);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        crate::output::outln!(
            "{name:<44} {:>10.0} {:>10.0} {:>8.3} {:>10.2} {:>10.2} {:>12}",
            median(&mut off_rates),
            median(&mut on_rates),
            median(&mut ratios.clone()),
            median(&mut off_p99),
            median(&mut on_p99),
            format!("{:.0}/{:.0}", median(&mut off_cpu), median(&mut on_cpu))
        );
        crate::output::outln!(
            "  on/off per round: {}",
            ratios.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>().join(", ")
        );
    }
    crate::output::outln!("RSS after: {:.0} MB", rss_mb());
    engine.shutdown().await;
    Ok(())
}
