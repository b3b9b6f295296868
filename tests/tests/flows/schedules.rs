//! Named schedules and schedule groups: a flow's `schedule` step names a group of the
//! configuration; admins switch an emergency and add holidays through the admin API, and the
//! next conversation takes the new path, without a restart, and after one.

use serde_json::json;
use switchboard_tests::harness::{ADMIN_TOKEN, TestEnv};

use crate::dm;

const FLOW: &str = r#"start: hours
steps:
  hours:
    type: schedule
    group: support-hours
    open: open
    closed: closed
    holiday: holiday
    emergency: emergency
  open:
    type: disconnect
    text: We are open.
  closed:
    type: disconnect
    text: We are closed.
  holiday:
    type: disconnect
    text: Happy holidays.
  emergency:
    type: disconnect
    text: We are handling an emergency.
"#;

/// Always open, in UTC, so the test does not depend on when it runs.
const CONFIG: &str = r#"
[[schedule]]
id = "always"
hours = { mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }

[[schedule_group]]
id = "support-hours"
timezone = "UTC"
open = ["always"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schedule_groups_are_switched_without_a_restart() {
    let mut env = TestEnv::start("schedule-groups", |c| {
        c.own_flows(&[("hours.yaml", FLOW)]);
        c.x_flow = "hours".into();
        c.extra_toml.push_str(CONFIG);
    })
    .await;
    let group = env
        .admin_get("/admin/v1/schedule-groups/support-hours")
        .await;
    assert_eq!(group["status"], "open", "{group:#}");
    dm(&env, "1700000000000000301", "hi").await;
    assert_eq!(
        env.texts_to("1700000000000000301", 1).await,
        ["We are open."]
    );

    // An emergency, switched on through the admin API, takes the flow's emergency path.
    let switched = env
        .api
        .put_json(
            "/admin/v1/schedule-groups/support-hours/emergency",
            Some(ADMIN_TOKEN),
            &json!({"active": true}),
        )
        .await;
    assert_eq!(switched.status, 200, "{}", switched.text());
    assert_eq!(switched.json()["status"], "emergency");
    dm(&env, "1700000000000000302", "hi").await;
    assert_eq!(
        env.texts_to("1700000000000000302", 1).await,
        ["We are handling an emergency."]
    );

    // Back to the configuration's; then today made a holiday.
    let cleared = env
        .api
        .put_json(
            "/admin/v1/schedule-groups/support-hours/emergency",
            Some(ADMIN_TOKEN),
            &json!({"active": null}),
        )
        .await;
    assert_eq!(cleared.json()["status"], "open", "{}", cleared.text());
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let holiday = env
        .api
        .put_json(
            &format!("/admin/v1/schedule-groups/support-hours/holidays/{today}"),
            Some(ADMIN_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(holiday.status, 200, "{}", holiday.text());
    assert_eq!(holiday.json()["holidays_added"], json!([today]));
    dm(&env, "1700000000000000303", "hi").await;
    assert_eq!(
        env.texts_to("1700000000000000303", 1).await,
        ["Happy holidays."]
    );

    // Refusals say why.
    let unknown = env
        .api
        .put_json(
            "/admin/v1/schedule-groups/nope/emergency",
            Some(ADMIN_TOKEN),
            &json!({"active": true}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    let bad_date = env
        .api
        .put_json(
            "/admin/v1/schedule-groups/support-hours/holidays/christmas",
            Some(ADMIN_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(bad_date.status, 400, "{}", bad_date.text());

    // The switch is kept across a restart.
    env.host.restart().await;
    let group = env
        .admin_get("/admin/v1/schedule-groups/support-hours")
        .await;
    assert_eq!(group["status"], "holiday", "{group:#}");
    assert_eq!(group["holidays_added"], json!([today]));
}

/// A flow naming a schedule group the configuration lacks is refused at publish, at its line.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flow_naming_an_unknown_group_is_refused() {
    let env = TestEnv::start("schedule-unknown", |c| {
        c.extra_toml.push_str(CONFIG);
    })
    .await;
    let (status, body) = env
        .put_flow(
            "hours",
            &FLOW.replace("group: support-hours", "group: support-hour"),
        )
        .await;
    assert_eq!(status, 422, "{body:#}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body:#}");
    assert_eq!(errors[0]["line"], 5, "{body:#}");
    assert_eq!(
        errors[0]["message"],
        "step `hours`: schedule group `support-hour` is not configured"
    );
}
