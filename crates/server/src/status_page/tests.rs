use std::sync::Arc;

use vigil_core::status_page::{ComponentDef, StateMap, StatusPageDef};
use vigil_runtime::status_pages::{DAY, days_to};

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
    PageView { page: Arc::new(page), components, overall, at: now }
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
