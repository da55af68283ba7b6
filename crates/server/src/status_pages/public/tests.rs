use std::sync::Arc;

use vigil_core::status_page::{ComponentDef, StateMap, StatusPageDef};
use vigil_runtime::status_pages::{DAY, days_to};

use super::cache::etag;
use super::*;

fn view(states: [Option<Shown>; 2], overall: Option<Shown>) -> PageView {
    let def = |name: &str, monitor: &str| ComponentDef {
        name: name.into(),
        description: None,
        monitor: Some(monitor.into()),
        monitors: Vec::new(),
        series: None,
    };
    let page = StatusPageDef {
        slug: "acme".into(),
        title: "Acme <status>".into(),
        description: Some("Live".into()),
        logo: None,
        components: vec![def("Website", "internal-web-7"), def("API", "internal-api")],
        states: StateMap::default(),
        incidents: Vec::new(),
        automatic_incidents: None,
        subscribers: None,
        maintenance: Vec::new(),
        domains: Vec::new(),
    };
    let now = 200 * DAY + 3_600_000;
    let days = |failing: u64| -> Vec<Day> {
        days_to(now)
            .into_iter()
            .map(|start| Day { start, checks: if start >= 150 * DAY { 1440 } else { 0 }, failing })
            .collect()
    };
    let components = vec![
        ComponentView { name: "Website".into(), description: None, state: states[0], days: days(0) },
        ComponentView { name: "API".into(), description: Some("REST".into()), state: states[1], days: days(100) },
    ];
    PageView { page: Arc::new(page), components, overall, incidents: Vec::new(), at: now }
}

#[test]
fn a_page_shows_its_components_states_and_ninety_bars_each() {
    let html =
        render(&view([Some(Shown::Operational), Some(Shown::MajorOutage)], Some(Shown::MajorOutage))).into_string();
    assert!(html.contains("<title>Acme &lt;status&gt;</title>"), "the title, escaped");
    assert!(html.contains("class=\"overall b-major_outage\"") && html.contains(">Major outage<"), "{html}");
    assert!(html.contains(">Website<") && html.contains(">API<") && html.contains(">REST<"));
    assert!(html.contains("class=\"s-operational\">Operational<"));
    assert_eq!(html.matches("<rect ").count(), 180, "90 days for each of two components");
    assert_eq!(html.matches("class=\"d-none\"").count(), 2 * 39, "days before the first check show none");
    assert!(html.contains("class=\"d-up\""), "a day without failures");
    assert!(html.contains("class=\"d-major\""), "a day with 100 of 1440 failing is below 95 %");
    assert!(html.contains("93.06%, 100 of 1440 checks failed"), "each day's uptime on hover");
    // The bars' size is said once, in the style: a component's 90 bars stay small.
    assert!(html.contains("<rect x=\"445\" class=\"d-major\"><title>"), "{html}");
    let per_component =
        (html.len() - render(&PageView { components: Vec::new(), ..view([None, None], None) }).into_string().len()) / 2;
    assert!(per_component < 6_000, "{per_component} bytes of HTML per component");
    assert!(!html.contains("internal-web-7") && !html.contains("internal-api"), "no monitor name");
    assert!(!html.contains("<script"), "it works without JavaScript");
}

#[test]
fn a_page_before_any_check_says_so() {
    let html = render(&view([None, None], None)).into_string();
    assert!(html.contains("class=\"overall b-none\"") && html.contains("No checks yet"), "{html}");
    let all_up = render(&view([Some(Shown::Operational); 2], Some(Shown::Operational))).into_string();
    assert!(all_up.contains(">All systems operational<"));
}

#[test]
fn a_days_colour_follows_its_uptime() {
    let day = |checks, failing| Day { start: 0, checks, failing };
    assert_eq!(day_class(&day(0, 0)), "none");
    assert_eq!(day_class(&day(1000, 0)), "up");
    assert_eq!(day_class(&day(1000, 10)), "minor");
    assert_eq!(day_class(&day(1000, 50)), "partial");
    assert_eq!(day_class(&day(1000, 51)), "major");
}

#[test]
fn a_tag_matches_weakly_in_a_list_or_as_a_star() {
    let tag = etag("<html>a</html>");
    assert!(tag.starts_with("W/\"") && tag != etag("<html>b</html>"));
    let value = |v: &str| HeaderValue::from_str(v).unwrap();
    assert!(matches_tag(&value(&tag), &tag));
    assert!(matches_tag(&value(&format!("\"x\", {}", tag.trim_start_matches("W/"))), &tag), "strong form, in a list");
    assert!(matches_tag(&value("*"), &tag));
    assert!(!matches_tag(&value("W/\"other\""), &tag));
}

#[test]
fn gzip_is_sent_only_to_readers_that_take_it() {
    let with = |value: &str| {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, value.parse().unwrap());
        takes_gzip(&h)
    };
    assert!(with("gzip, deflate, br"));
    assert!(with("br;q=1.0, gzip;q=0.8"));
    assert!(with("*"));
    assert!(!with("gzip;q=0"), "refused");
    assert!(!with("br, deflate"));
    assert!(!takes_gzip(&HeaderMap::new()));
}

#[test]
fn dates_are_http_dates_both_ways() {
    let at = 1_795_162_320_000;
    assert_eq!(http_date(at), "Fri, 20 Nov 2026 08:12:00 GMT");
    assert_eq!(parse_http_date(&http_date(at)), Some(at));
    assert_eq!(parse_http_date("yesterday"), None);
}
