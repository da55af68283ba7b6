//! Two teams on one vigil: each member sees and changes its own team's monitors, workflows,
//! notifiers, secrets, alerts and silences through the API, and nothing of the other's; a role
//! everywhere still reaches everything; routes that do not check each object stay closed to
//! rights held only in teams.

use crate::support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vigil_core::monitor::MonitorDef;
use vigil_core::team::{TeamDef, build_team};
use vigil_server::auth::{Role, mint, mint_for};
use vigil_store::SilenceStore;
use vigil_store::TokenStore;
use vigil_store::UserStore;
use vigil_store::{SecretBox, Store, UserRow};

fn team(doc: Value) -> TeamDef {
    let (team, problems) = build_team(&doc);
    team.unwrap_or_else(|| panic!("{problems:?}"))
}

fn teams() -> Vec<TeamDef> {
    vec![
        team(json!({"name": "pay", "members": {"ana": "editor", "val": "viewer"},
            "owns": {"labels": {"team": "pay"}, "monitors": ["pay-*"], "workflows": ["pay-*"],
                     "notifiers": ["pay-*"], "secrets": ["pay_*"]}})),
        team(json!({"name": "search", "members": {"bob": "admin"},
            "owns": {"labels": {"team": "search"}, "workflows": ["search-*"], "secrets": ["search_*"]}})),
    ]
}

fn monitors() -> Vec<MonitorDef> {
    let beat = |name: &str, labels: Value| json!({"name": name, "every": "1m", "heartbeat": {"grace": "1m"}, "labels": labels});
    [beat("pay-api", json!({})), beat("search-index", json!({"team": "search"})), beat("shared-dns", json!({}))]
        .into_iter()
        .map(|doc| MonitorDef::build(&doc).0.unwrap())
        .collect()
}

struct Client<'a> {
    server: &'a support::TestServer,
    token: String,
}

impl Client<'_> {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.server.http.request(method, format!("{}{path}", self.server.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn names(&self, path: &str, field: &str) -> Vec<String> {
        let (status, body) = self.call("GET", path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let mut names: Vec<String> =
            body["items"].as_array().unwrap().iter().map(|i| i[field].as_str().unwrap().to_string()).collect();
        names.sort();
        names
    }
}

async fn account(store: &dyn Store, id: &str, role: Option<&str>) {
    let row = UserRow {
        id: id.into(),
        kind: "person".into(),
        source: "local".into(),
        role: role.map(str::to_string),
        created_at: 1,
        ..UserRow::default()
    };
    store.put_user(&row, false).await.unwrap();
}

fn workflow(name: &str, secret: Option<&str>) -> Value {
    let uri =
        secret.map_or("http://127.0.0.1:9/x".to_string(), |s| format!("http://127.0.0.1:9/${{workflow.secrets.{s}}}"));
    json!({"name": name, "tasks": [{"name": "get", "taskReferenceName": "get", "type": "HTTP",
        "inputParameters": {"http_request": {"uri": uri, "method": "GET"}}}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_team_sees_and_changes_only_its_own_objects() {
    let opts = support::Options { auth: true, secret_box: Some(SecretBox::new([7; 32])), ..Default::default() };
    let server = support::serve(opts).await;
    server.engine.set_teams(teams());
    server.engine.set_monitors(monitors());
    let store = server.store.clone();
    let engine_teams = server.engine.teams();
    let admin = mint("root", Role::Admin, Vec::new(), 1);
    store.put_token(&admin.row).await.unwrap();
    let mut tokens = Vec::new();
    for (user, everywhere, role) in
        [("ana", None, Role::Write), ("bob", None, Role::Admin), ("val", Some("read"), Role::Read)]
    {
        account(store.as_ref(), user, everywhere).await;
        let row = store.user(user).await.unwrap().unwrap();
        let minted = mint_for(&row, &engine_teams, "t", role, Vec::new(), None, 1).unwrap();
        store.put_token(&minted.row).await.unwrap();
        tokens.push(minted.token);
    }
    let admin = Client { server: &server, token: admin.token };
    let ana = Client { server: &server, token: tokens[0].clone() };
    let bob = Client { server: &server, token: tokens[1].clone() };
    let val = Client { server: &server, token: tokens[2].clone() };
    let ana_row = store.user("ana").await.unwrap().unwrap();
    assert!(mint_for(&ana_row, &engine_teams, "t", Role::Admin, Vec::new(), None, 1).is_err(), "ana edits, no more");

    // Monitors: by name (pay-*) and by label (team: search); shared ones need a role everywhere.
    assert_eq!(ana.names("/api/v1/monitors", "name").await, ["pay-api"]);
    assert_eq!(bob.names("/api/v1/monitors", "name").await, ["search-index"]);
    assert_eq!(val.names("/api/v1/monitors", "name").await, ["pay-api", "search-index", "shared-dns"]);
    assert_eq!(admin.names("/api/v1/monitors", "name").await.len(), 3);
    assert_eq!(ana.call("GET", "/api/v1/monitors/search-index", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ana.call("GET", "/api/v1/monitors/search-index/history", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ana.call("POST", "/api/v1/monitors/search-index/check", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ana.call("GET", "/api/v1/monitors/pay-api", None).await.0, StatusCode::OK);
    assert_eq!(ana.call("POST", "/api/v1/monitors/pay-api/check", None).await.0, StatusCode::OK);
    let (status, body) = val.call("POST", "/api/v1/monitors/pay-api/check", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer does not run checks: {body}");

    // Workflows: defined and read within the team only.
    let (status, body) = ana.call("PUT", "/api/v1/workflows/pay-sync", Some(workflow("pay-sync", None))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = ana.call("PUT", "/api/v1/workflows/search-sync", Some(workflow("search-sync", None))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = bob.call("PUT", "/api/v1/workflows/search-sync", Some(workflow("search-sync", None))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ana.names("/api/v1/workflows", "name").await, ["pay-sync"]);
    assert_eq!(bob.names("/api/v1/workflows", "name").await, ["search-sync"]);
    assert_eq!(bob.call("GET", "/api/v1/workflows/pay-sync", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(bob.call("DELETE", "/api/v1/workflows/pay-sync", None).await.0, StatusCode::NOT_FOUND);
    let (status, body) = val.call("PUT", "/api/v1/workflows/pay-sync", Some(workflow("pay-sync", None))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer reads, no more: {body}");

    // Secrets: a team's admin sets its own; the names of others' are not even listed.
    let value = json!({"value": "s3cr3t-search-value"});
    assert_eq!(bob.call("PUT", "/api/v1/secrets/search_key", Some(value.clone())).await.0, StatusCode::NO_CONTENT);
    assert_eq!(bob.call("PUT", "/api/v1/secrets/pay_key", Some(value.clone())).await.0, StatusCode::NOT_FOUND);
    assert_eq!(admin.call("PUT", "/api/v1/secrets/pay_key", Some(value.clone())).await.0, StatusCode::NO_CONTENT);
    assert_eq!(admin.call("PUT", "/api/v1/secrets/shared", Some(value.clone())).await.0, StatusCode::NO_CONTENT);
    assert_eq!(ana.call("PUT", "/api/v1/secrets/pay_key", Some(value.clone())).await.0, StatusCode::FORBIDDEN);
    assert_eq!(bob.names("/api/v1/secrets", "name").await, ["search_key"]);
    assert_eq!(admin.names("/api/v1/secrets", "name").await, ["pay_key", "search_key", "shared"]);
    assert_eq!(bob.call("DELETE", "/api/v1/secrets/shared", None).await.0, StatusCode::NOT_FOUND);

    // A team's secret serves its definitions only, whoever writes them; its members need no grant.
    let (status, body) =
        ana.call("PUT", "/api/v1/workflows/pay-sync", Some(workflow("pay-sync", Some("pay_key")))).await;
    assert_eq!(status, StatusCode::OK, "a member's definition reads its team's secret: {body}");
    let (status, body) =
        ana.call("PUT", "/api/v1/workflows/pay-sync", Some(workflow("pay-sync", Some("search_key")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) =
        admin.call("PUT", "/api/v1/workflows/pay-leak", Some(workflow("pay-leak", Some("search_key")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not even an admin's pay-* workflow reads search's secret: {body}");
    assert!(body["message"].as_str().unwrap().contains("belongs to team `search`"), "{body}");
    let (status, _) = ana.call("PUT", "/api/v1/workflows/pay-sync", Some(workflow("pay-sync", Some("shared")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a shared secret still needs a grant");

    // Silences: a member's silence requires its team's labels.
    let silence = |matchers: Value| json!({"matchers": matchers, "duration": "1h", "comment": "deploy"});
    let (status, body) = ana.call("POST", "/api/v1/silences", Some(silence(json!({"alertname": "x"})))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("team=pay"), "it says how: {body}");
    let (status, body) =
        ana.call("POST", "/api/v1/silences", Some(silence(json!({"team": "pay", "alertname": "x"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pay_silence = body["id"].as_str().unwrap().to_string();
    let (status, body) = bob.call("POST", "/api/v1/silences", Some(silence(json!({"team": "search"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let search_silence = body["id"].as_str().unwrap().to_string();
    assert_eq!(ana.names("/api/v1/silences", "id").await, std::slice::from_ref(&pay_silence));
    assert_eq!(admin.names("/api/v1/silences", "id").await.len(), 2);
    let (status, _) = ana.call("DELETE", &format!("/api/v1/silences/{search_silence}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = val.call("DELETE", &format!("/api/v1/silences/{pay_silence}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer does not silence");
    let (_, listed) = ana.call("GET", "/api/v1/silences", None).await;
    assert_eq!(listed["items"][0]["createdBy"], json!("ana"));

    // Alertmanager's silences (amtool, Grafana): the same rules, with typed matchers.
    let ends = "2999-01-01T00:00:00Z";
    let typed = |team: &str| {
        json!({"matchers": [{"name": "team", "value": team, "isRegex": false, "isEqual": true},
            {"name": "alertname", "value": "Disk.*", "isRegex": true, "isEqual": true}],
            "endsAt": ends, "createdBy": "ana", "comment": "amtool"})
    };
    let (status, body) = ana.call("POST", "/api/v2/silences", Some(typed("search"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another team's labels: {body}");
    let regex_only = json!({"matchers": [{"name": "team", "value": "pay|search", "isRegex": true, "isEqual": true}],
        "endsAt": ends});
    assert_eq!(
        ana.call("POST", "/api/v2/silences", Some(regex_only)).await.0,
        StatusCode::FORBIDDEN,
        "a regex requires no team"
    );
    let (status, made) = ana.call("POST", "/api/v2/silences", Some(typed("pay"))).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let mine = made["silenceID"].as_str().unwrap().to_string();
    let (status, theirs) = admin.call("POST", "/api/v2/silences", Some(typed("search"))).await;
    assert_eq!(status, StatusCode::OK);
    let theirs = theirs["silenceID"].as_str().unwrap().to_string();
    let (status, listed) = ana.call("GET", "/api/v2/silences", None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&mine.as_str()) && !ids.contains(&theirs.as_str()), "{ids:?}");
    assert_eq!(ana.call("GET", &format!("/api/v2/silence/{theirs}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ana.call("DELETE", &format!("/api/v2/silence/{theirs}"), None).await.0, StatusCode::NOT_FOUND);
    let replace = json!({"id": theirs, "matchers": typed("pay")["matchers"], "endsAt": ends});
    assert_eq!(
        ana.call("POST", "/api/v2/silences", Some(replace)).await.0,
        StatusCode::NOT_FOUND,
        "not by replacing it"
    );
    assert_eq!(ana.call("DELETE", &format!("/api/v2/silence/{mine}"), None).await.0, StatusCode::OK);
    assert_eq!(val.call("POST", "/api/v2/silences", Some(typed("pay"))).await.0, StatusCode::FORBIDDEN, "a viewer");

    // Routes that do not check each object stay closed to rights held only in teams.
    for (method, path) in [
        ("GET", "/api/metadata/taskdefs"),
        ("GET", "/api/event"),
        ("GET", "/api/tasks/poll/crunch"),
        ("GET", "/api/v2/status"),
        ("GET", "/api/v1/users"),
    ] {
        let (status, body) = ana.call(method, path, Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
    }
    let (_, me) = ana.call("GET", "/api/v1/me", None).await;
    assert_eq!(me["teams"], json!({"pay": "write"}), "{me}");
    assert_eq!(me["role"], Value::Null);
}

/// A member's web UI: the monitors and alerts pages show their team's objects only, its forms
/// change nothing of another team's, and pages that show every team's objects stay closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_ui_shows_and_changes_only_their_teams_objects() {
    let server = support::serve(support::Options { auth: true, ..Default::default() }).await;
    server.engine.set_teams(teams());
    server.engine.set_monitors(monitors());
    let store = server.store.clone();
    account(store.as_ref(), "ana", None).await;
    let row = store.user("ana").await.unwrap().unwrap();
    let minted = mint_for(&row, &server.engine.teams(), "t", Role::Write, Vec::new(), None, 1).unwrap();
    store.put_token(&minted.row).await.unwrap();
    let http = vigil_connectors::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = "application/x-www-form-urlencoded";
    let signed = http
        .post(format!("{}/ui/signin", server.base))
        .header("content-type", form)
        .body(format!("token={}&next=%2F", minted.token))
        .send()
        .await
        .unwrap();
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let csrf = vigil_server::ui::session::csrf_for(Some(cookie.split_once('=').unwrap().1));
    let get = |path: &str| {
        let req = http.get(format!("{}{path}", server.base)).header("cookie", &cookie);
        async move {
            let res = req.send().await.unwrap();
            let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
            (res.status(), location, res.text().await.unwrap())
        }
    };
    let post = |path: &str, body: String| {
        let req = http.post(format!("{}{path}", server.base)).header("cookie", &cookie).header("content-type", form);
        async move { req.body(body).send().await.unwrap().status() }
    };
    let (status, location, _) = get("/").await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/ui/monitors")),
        "a member starts at monitors"
    );
    let (status, _, page) = get("/ui/monitors").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("pay-api") && !page.contains("search-index") && !page.contains("shared-dns"), "{page}");
    assert_eq!(get("/ui/monitors/pay-api").await.0, StatusCode::OK);
    assert_eq!(get("/ui/monitors/search-index").await.0, StatusCode::NOT_FOUND, "another team's monitor");
    assert_eq!(get("/ui/monitors/shared-dns").await.0, StatusCode::NOT_FOUND, "a shared one needs a role everywhere");
    assert_eq!(get("/ui/cluster").await.0, StatusCode::FORBIDDEN, "a page of every team's objects");
    for page in ["/ui/workflows", "/ui/instances", "/ui/schedules", "/ui/status-pages"] {
        assert_eq!(get(page).await.0, StatusCode::OK, "{page} shows the team's own");
    }
    assert_eq!(get("/ui/workflows/search-sync").await.0, StatusCode::NOT_FOUND);
    assert_eq!(post("/ui/workflows/search-sync/start", format!("csrf={csrf}")).await, StatusCode::NOT_FOUND);
    assert_eq!(post("/ui/schedules/search-x/run", format!("csrf={csrf}")).await, StatusCode::NOT_FOUND);
    assert_eq!(post("/ui/monitors/search-index/check", format!("csrf={csrf}")).await, StatusCode::NOT_FOUND);
    assert_eq!(post("/ui/monitors/pay-api/check", format!("csrf={csrf}")).await, StatusCode::SEE_OTHER);

    // Silences: only with the team's labels; another team's is neither shown nor expired.
    let silence = |matcher: &str| format!("csrf={csrf}&matcher={matcher}&duration=1h&comment=deploy");
    assert_eq!(post("/ui/silences", silence("team%3Dsearch")).await, StatusCode::FORBIDDEN);
    assert_eq!(post("/ui/silences", silence("team%3Dpay")).await, StatusCode::SEE_OTHER);
    let theirs = vigil_store::SilenceRow {
        id: "s-search".into(),
        matchers: r#"{"team":"search"}"#.into(),
        ends_at: server.engine.now() + 3_600_000,
        starts_at: None,
        created_at: 1,
        comment: None,
        created_by: None,
        until_resolved: false,
    };
    store.put_silence(&theirs).await.unwrap();
    let (_, _, page) = get("/ui/alerts").await;
    assert!(page.contains("team=pay") && !page.contains("team=search"), "{page}");
    assert_eq!(post("/ui/silences/s-search/expire", format!("csrf={csrf}")).await, StatusCode::NOT_FOUND);
    let mine = store.silences().await.unwrap().into_iter().find(|s| s.matchers.contains("pay")).unwrap();
    assert_eq!(mine.created_by.as_deref(), Some("ana"), "who made it");
    assert_eq!(post(&format!("/ui/silences/{}/expire", mine.id), format!("csrf={csrf}")).await, StatusCode::SEE_OTHER);
}

fn quick(name: &str) -> Value {
    json!({"name": name, "tasks": [{"name": "x", "taskReferenceName": "x", "type": "INLINE",
        "inputParameters": {"evaluatorType": "javascript", "expression": "1"}}]})
}

/// Instances, schedules, status pages and pushed alerts are each team's own too, and a name that
/// a definition or its input gives a sub-workflow starts only what its author may start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_schedules_pages_and_pushed_alerts_are_each_teams_own() {
    let opts = support::Options { auth: true, scheduler: true, ..Default::default() };
    let server = support::serve(opts).await;
    let mut defs = teams();
    defs[0] = team(json!({"name": "pay", "members": {"ana": "editor"},
        "owns": {"labels": {"team": "pay"}, "monitors": ["pay-*"], "workflows": ["pay-*"], "schedules": ["pay-*"],
                 "statusPages": ["pay"]}}));
    defs[1] = team(json!({"name": "search", "members": {"bob": "editor"},
        "owns": {"labels": {"team": "search"}, "workflows": ["search-*"], "statusPages": ["search"]}}));
    server.engine.set_teams(defs);
    server.engine.set_monitors(monitors());
    let store = server.store.clone();
    let admin = mint("root", Role::Admin, Vec::new(), 1);
    store.put_token(&admin.row).await.unwrap();
    account(store.as_ref(), "ana", None).await;
    let row = store.user("ana").await.unwrap().unwrap();
    let minted = mint_for(&row, &server.engine.teams(), "t", Role::Write, Vec::new(), None, 1).unwrap();
    store.put_token(&minted.row).await.unwrap();
    let admin = Client { server: &server, token: admin.token };
    let ana = Client { server: &server, token: minted.token };

    for name in ["pay-job", "search-job", "shared-job"] {
        assert_eq!(admin.call("PUT", &format!("/api/v1/workflows/{name}"), Some(quick(name))).await.0, StatusCode::OK);
    }
    let calls = json!({"name": "pay-calls", "tasks": [{"name": "sub", "taskReferenceName": "sub",
        "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "${workflow.input.target}"}}]});
    let (status, body) = ana.call("PUT", "/api/v1/workflows/pay-calls", Some(calls)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Starting: the team's workflows only, also when a definition's data names another's.
    let start = |who: &'static str, workflow: &'static str, target: &'static str| {
        let client = if who == "ana" { &ana } else { &admin };
        async move {
            let path = format!("/api/v1/workflows/{workflow}/instances");
            let (status, body) = client.call("POST", &path, Some(json!({"target": target}))).await;
            (status, body["id"].as_str().map(str::to_string), body)
        }
    };
    let (status, _, body) = start("ana", "search-job", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = start("ana", "shared-job", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a shared workflow needs a role everywhere");
    let (status, ok_id, body) = start("ana", "pay-calls", "pay-job").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = server.engine.wait(ok_id.as_deref().unwrap()).await.unwrap();
    assert_eq!(done.status, vigil_core::instance::WorkflowStatus::Completed, "{:?}", done.reason_for_incompletion);
    for who in ["ana", "admin"] {
        // Her definition starts what she may start, whoever runs it.
        let (_, id, _) = start(who, "pay-calls", "search-job").await;
        let ended = server.engine.wait(id.as_deref().unwrap()).await.unwrap();
        assert_eq!(ended.status, vigil_core::instance::WorkflowStatus::Failed, "{who}");
        let reason = ended.tasks[0].reason_for_incompletion.clone().unwrap_or_default();
        assert!(reason.contains("team `search`"), "{who}: {reason}");
    }
    // An event's payload is its raiser's data: it steers the instance no further than they may go.
    let steered = json!({"name": "pay-steered", "tasks": [
        {"name": "go", "taskReferenceName": "go", "type": "WAIT"},
        {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "${go.output.target}"}}]});
    assert_eq!(admin.call("PUT", "/api/v1/workflows/pay-steered", Some(steered)).await.0, StatusCode::OK);
    for (who, raiser) in [("ana", &ana), ("admin", &admin)] {
        let (_, id, _) = start("admin", "pay-steered", "").await;
        let id = id.unwrap();
        let path = format!("/api/v1/instances/{id}/events/go");
        let (status, body) = raiser.call("POST", &path, Some(json!({"target": "search-job"}))).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let ended = server.engine.wait(&id).await.unwrap();
        let reason = ended.tasks.iter().find_map(|t| t.reason_for_incompletion.clone()).unwrap_or_default();
        match who {
            "ana" => assert!(
                ended.status == vigil_core::instance::WorkflowStatus::Failed && reason.contains("team `search`"),
                "her event does not start search's workflow: {:?} {reason}",
                ended.status
            ),
            _ => assert_eq!(ended.status, vigil_core::instance::WorkflowStatus::Completed, "an admin's does: {reason}"),
        }
    }
    let (_, search_id, _) = start("admin", "search-job", "").await;
    let search_id = search_id.unwrap();
    server.engine.wait(&search_id).await.unwrap();

    // Instances: listed, read and controlled within the team only.
    let (status, listed) = ana.call("GET", "/api/v1/instances", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let workflows: Vec<&str> =
        listed["instances"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert!(!workflows.is_empty() && workflows.iter().all(|w| w.starts_with("pay-")), "{workflows:?}");
    let (_, all) = admin.call("GET", "/api/v1/instances", None).await;
    assert!(all["instances"].as_array().unwrap().iter().any(|i| i["name"] == "search-job"));
    assert_eq!(ana.call("GET", &format!("/api/v1/instances/{search_id}"), None).await.0, StatusCode::NOT_FOUND);
    for action in ["restart", "retry", "terminate"] {
        let path = format!("/api/v1/instances/{search_id}/{action}");
        assert_eq!(ana.call("POST", &path, None).await.0, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(ana.call("DELETE", &format!("/api/v1/instances/{search_id}"), None).await.0, StatusCode::NOT_FOUND);
    let ok_id = ok_id.unwrap();
    assert_eq!(ana.call("GET", &format!("/api/v1/instances/{ok_id}"), None).await.0, StatusCode::OK);
    assert_eq!(ana.call("POST", &format!("/api/v1/instances/{ok_id}/restart"), None).await.0, StatusCode::ACCEPTED);
    let purge = "/api/v1/instances?createdTo=2999-01-01T00:00:00Z";
    let (status, body) = ana.call("DELETE", purge, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(admin.call("GET", &format!("/api/v1/instances/{search_id}"), None).await.0, StatusCode::OK, "not hers");

    // Conductor's routes (its SDKs) check the same way.
    let (status, defs) = ana.call("GET", "/api/metadata/workflow", None).await;
    assert_eq!(status, StatusCode::OK, "{defs}");
    let names: Vec<&str> = defs.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert!(!names.is_empty() && names.iter().all(|n| n.starts_with("pay-")), "{names:?}");
    assert_eq!(ana.call("GET", "/api/metadata/workflow/search-job", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        ana.call("PUT", "/api/metadata/workflow", Some(json!([quick("search-x")]))).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(ana.call("POST", "/api/workflow/search-job", Some(json!({}))).await.0, StatusCode::NOT_FOUND);
    let (status, body) = ana.call("POST", "/api/workflow", Some(json!({"name": "pay-job"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let inline = json!({"name": "search-inline", "workflowDef": quick("search-inline")});
    assert_eq!(
        ana.call("POST", "/api/workflow", Some(inline)).await.0,
        StatusCode::NOT_FOUND,
        "an inline definition too"
    );
    assert_eq!(ana.call("GET", &format!("/api/workflow/{search_id}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ana.call("PUT", &format!("/api/workflow/{search_id}/pause"), None).await.0, StatusCode::NOT_FOUND);
    let (_, found) = ana.call("GET", "/api/workflow/search?size=100", None).await;
    let types: Vec<&str> =
        found["results"].as_array().unwrap().iter().map(|r| r["workflowType"].as_str().unwrap()).collect();
    assert!(!types.is_empty() && types.iter().all(|t| t.starts_with("pay-")), "{types:?}");

    // Schedules: hers, starting her team's workflows.
    let schedule = |name: &str, workflow: &str| json!({"name": name, "cronExpression": "0 0 3 * * ?", "startWorkflowRequest": {"name": workflow}});
    let (status, body) =
        ana.call("PUT", "/api/v1/schedules/pay-nightly", Some(schedule("pay-nightly", "pay-job"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = ana.call("PUT", "/api/v1/schedules/pay-evil", Some(schedule("pay-evil", "search-job"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "it would start another team's workflow: {body}");
    let (status, _) = ana.call("PUT", "/api/v1/schedules/search-x", Some(schedule("search-x", "pay-job"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a schedule of another team");
    let (status, _) =
        admin.call("PUT", "/api/v1/schedules/shared-daily", Some(schedule("shared-daily", "shared-job"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ana.names("/api/v1/schedules", "name").await, ["pay-nightly"]);
    assert_eq!(ana.call("POST", "/api/v1/schedules/shared-daily/run", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ana.call("POST", "/api/v1/schedules/pay-nightly/pause", None).await.0, StatusCode::OK);

    // Status pages: written, read and updated within the team.
    let page = |slug: &str, monitor: &str, more: &str| {
        format!("slug: {slug}\ntitle: {slug}\ncomponents:\n  - name: API\n    monitor: {monitor}\n{more}")
    };
    let put_text = |client: &Client, slug: &'static str, text: String| {
        let req = client.server.http.put(format!("{}/api/v1/status-pages/{slug}", client.server.base));
        let req = req.bearer_auth(&client.token).header("content-type", "application/yaml").body(text);
        async move {
            let res = req.send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let put_page =
        |client: &Client, slug: &'static str, monitor: &'static str| put_text(client, slug, page(slug, monitor, ""));
    let (status, body) = put_page(&ana, "pay", "search-index").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "it would publish another team's monitor: {body}");
    assert!(body.contains("search-index"), "{body}");
    let window = "maintenance:\n  - title: Upgrade\n    starts: 2999-01-01T00:00:00Z\n    ends: 2999-01-01T01:00:00Z\n";
    let (status, body) = put_text(&ana, "pay", page("pay", "shared-dns", window)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "its window would silence a monitor she does not respond for: {body}");
    let (status, body) = put_text(&ana, "pay", page("pay", "pay-api", "domains: [status.pay.example]\n")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a page's domains take every request to them: {body}");
    let host = server.base.trim_start_matches("http://").split(':').next().unwrap().to_string();
    let (status, body) = put_text(&admin, "search", page("search", "pay-api", &format!("domains: [{host}]\n"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not even an admin's page takes this server's own name: {body}");
    let (status, body) = put_text(&ana, "pay", page("pay", "pay-api", window)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(put_page(&ana, "search", "pay-api").await.0, StatusCode::NOT_FOUND);
    assert_eq!(put_page(&admin, "search", "search-index").await.0, StatusCode::CREATED);
    let (_, pages) = ana.call("GET", "/api/v1/status-pages", None).await;
    assert_eq!(pages["pages"].as_array().unwrap().len(), 1, "{pages}");
    assert_eq!(ana.call("GET", "/api/v1/status-pages/search", None).await.0, StatusCode::NOT_FOUND);
    let incident = json!({"title": "Slow", "message": "Looking"});
    assert_eq!(
        ana.call("POST", "/api/v1/status-pages/search/incidents", Some(incident.clone())).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(ana.call("POST", "/api/v1/status-pages/pay/incidents", Some(incident)).await.0, StatusCode::CREATED);
    assert_eq!(ana.call("GET", "/api/v1/status-pages/search/subscribers", None).await.0, StatusCode::NOT_FOUND);

    // Alertmanager's alerts: pushed and listed by team label; a batch with another's is refused whole.
    let alert = |name: &str, team: &str| json!({"labels": {"alertname": name, "team": team}});
    let (status, body) = ana.call("POST", "/api/v2/alerts", Some(json!([alert("PayDown", "pay")]))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mixed = json!([alert("PayDown2", "pay"), alert("SearchDown", "search")]);
    let (status, body) = ana.call("POST", "/api/v2/alerts", Some(mixed)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["message"].as_str().unwrap().contains("alert 1"), "it names the alert: {body}");
    let (status, _) = admin.call("POST", "/api/v2/alerts", Some(json!([alert("SearchDown", "search")]))).await;
    assert_eq!(status, StatusCode::OK);
    let names = |v: &Value| {
        let mut n: Vec<String> =
            v.as_array().unwrap().iter().map(|a| a["labels"]["alertname"].as_str().unwrap().to_string()).collect();
        n.sort();
        n
    };
    let (_, seen) = ana.call("GET", "/api/v2/alerts", None).await;
    assert_eq!(names(&seen), ["PayDown"], "not the refused batch's, not search's");
    let (_, all) = admin.call("GET", "/api/v2/alerts", None).await;
    assert_eq!(names(&all), ["PayDown", "SearchDown"]);
    assert_eq!(ana.call("GET", "/api/v2/status", None).await.0, StatusCode::FORBIDDEN, "every team's config");
    // A silence she may not read still shows her alert as silenced, without its id.
    let catch = json!({"matchers": [{"name": "alertname", "value": "PayDown", "isRegex": false, "isEqual": true}],
        "endsAt": "2999-01-01T00:00:00Z", "createdBy": "root", "comment": "all"});
    let (status, made) = admin.call("POST", "/api/v2/silences", Some(catch)).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let id = made["silenceID"].as_str().unwrap().to_string();
    let shown =
        |v: &Value| v.as_array().unwrap().iter().find(|a| a["labels"]["alertname"] == "PayDown").unwrap().clone();
    let (_, seen) = ana.call("GET", "/api/v2/alerts", None).await;
    let mine = shown(&seen);
    assert_eq!(mine["status"]["state"], "suppressed", "{mine}");
    assert_eq!(mine["status"]["silencedBy"], json!(["another-team"]), "{mine}");
    let (_, all) = admin.call("GET", "/api/v2/alerts", None).await;
    assert_eq!(shown(&all)["status"]["silencedBy"], json!([id]));
}

/// Issue 61, item 2: an ALERT task of a team's workflow pages its own team's notifiers and shared
/// ones, raises its own team's alerts, and cannot change another team's alert by its key; each
/// checked when the task runs, on names and labels its input gave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_task_pages_and_changes_only_its_teams_own() {
    let server = support::serve(support::Options { auth: true, ..Default::default() }).await;
    let mut defs = teams();
    defs[1] = team(json!({"name": "search", "members": {"bob": "admin"},
        "owns": {"labels": {"team": "search"}, "workflows": ["search-*"], "notifiers": ["search-*"]}}));
    server.engine.set_teams(defs);
    let store = server.store.clone();
    let admin = mint("root", Role::Admin, Vec::new(), 1);
    store.put_token(&admin.row).await.unwrap();
    account(store.as_ref(), "ana", None).await;
    let row = store.user("ana").await.unwrap().unwrap();
    let minted = mint_for(&row, &server.engine.teams(), "t", Role::Write, Vec::new(), None, 1).unwrap();
    store.put_token(&minted.row).await.unwrap();
    let admin = Client { server: &server, token: admin.token };
    let ana = Client { server: &server, token: minted.token };
    for name in ["pay-hook", "search-hook", "ops-hook"] {
        let hook = json!({"name": name, "type": "webhook", "url": format!("http://127.0.0.1:9/{name}")});
        let (status, body) = admin.call("PUT", &format!("/api/v1/notifiers/{name}"), Some(hook)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let alert = |name: &str| {
        json!({"name": name, "tasks": [{"name": "page", "taskReferenceName": "page", "type": "ALERT",
            "inputParameters": {"status": "${workflow.input.status}", "notifiers": ["${workflow.input.n}"],
                "labels": "${workflow.input.labels}", "dedupKey": "${workflow.input.key}"}}]})
    };
    let (status, body) = admin.call("PUT", "/api/v1/workflows/search-raise", Some(alert("search-raise"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = ana.call("PUT", "/api/v1/workflows/pay-evil", Some(alert("pay-evil"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let engine = &server.engine;
    let run = |who: &'static str, workflow: &'static str, input: Value| {
        let client = if who == "ana" { &ana } else { &admin };
        async move {
            let (status, body) =
                client.call("POST", &format!("/api/v1/workflows/{workflow}/instances"), Some(input)).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            let ended = engine.wait(body["id"].as_str().unwrap()).await.unwrap();
            (ended.status, ended.tasks[0].reason_for_incompletion.clone().unwrap_or_default())
        }
    };
    use vigil_core::instance::WorkflowStatus::{Completed, Failed};
    // Search's alert, firing under a key of its own.
    let search = json!({"status": "firing", "n": "search-hook", "labels": {}, "key": "search-key"});
    assert_eq!(run("admin", "search-raise", search).await.0, Completed);
    // Pay's workflow: another team's notifier, labels or key are refused, whoever starts it.
    for who in ["ana", "admin"] {
        let (status, reason) =
            run(who, "pay-evil", json!({"status": "firing", "n": "search-hook", "labels": {}, "key": ""})).await;
        assert_eq!(status, Failed, "{who}");
        assert!(reason.contains("notifier `search-hook` belongs to team `search`"), "{who}: {reason}");
        let input = json!({"status": "firing", "n": "pay-hook", "labels": {"team": "search"}, "key": ""});
        let (status, reason) = run(who, "pay-evil", input).await;
        assert_eq!(status, Failed, "{who}");
        assert!(reason.contains("team `search`'s"), "{who}: {reason}");
        let input = json!({"status": "resolved", "n": "pay-hook", "labels": {}, "key": "search-key"});
        let (status, reason) = run(who, "pay-evil", input).await;
        assert_eq!(status, Failed, "{who}");
        assert!(reason.contains("alert of team `search`"), "{who}: {reason}");
    }
    // Its own and shared notifiers, labels and keys still work.
    let own = json!({"status": "firing", "n": "pay-hook", "labels": {"team": "pay"}, "key": "pay-key"});
    assert_eq!(run("ana", "pay-evil", own).await, (Completed, String::new()));
    let shared = json!({"status": "firing", "n": "ops-hook", "labels": {}, "key": ""});
    assert_eq!(run("ana", "pay-evil", shared).await.0, Completed);
    // Search's alert is still firing, and still search's.
    let (_, alerts) = admin.call("GET", "/api/v1/alerts", None).await;
    let search = alerts["items"].as_array().unwrap().iter().find(|a| a["dedupKey"] == json!("search-key")).cloned();
    let search = search.unwrap_or_else(|| panic!("{alerts}"));
    assert_eq!(search["condition"], json!("firing"), "{search}");
    assert_eq!(search["name"], json!("page"), "{search}");

    // An escalation policy of pay's pages pay's and shared notifiers only: a step naming
    // search's is refused where it is written, naming the step.
    let escalation = |steps: Value| json!({"name": "pay-escalation", "type": "escalation", "steps": steps});
    let evil = escalation(json!([{"notify": ["pay-hook"], "after": "5m"}, {"notify": ["ops-hook", "search-hook"]}]));
    let (status, body) = ana.call("PUT", "/api/v1/notifiers/pay-escalation", Some(evil)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.to_string().contains("steps[1].notify[1]") && body.to_string().contains("`search`"), "{body}");
    let fair = escalation(json!([{"notify": ["pay-hook"], "after": "5m"}, {"notify": ["ops-hook"]}]));
    let (status, body) = ana.call("PUT", "/api/v1/notifiers/pay-escalation", Some(fair)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}
