//! The ACD end to end, with agents of their own (bob, carol, dave...) in queue `billing`.
//!
//! - `routing`: who is offered what: skills, language, priority, capacity and idle time; the
//!   threading window; 100 interactions shared by 10 agents;
//! - `offers`: alerting timeouts and declines, last-agent routing, wrap-up per portion, offers
//!   and assignments across a crash;
//! - `claims`: preferred agents, per-channel capacity, inactivity back to a flow, the daily cap
//!   of each integration size, text limits for agents and flows;
//! - `staff`: transfers with a note, history and search, files sent to customers, the
//!   supervisor's overview;
//! - `accounts`: agents added, changed and removed through the admin API without a restart, and
//!   event streams opened with a ticket;
//! - `agent_tools`: content filters, canned responses, the inactivity timer and the live event
//!   stream.
//!
//! Routing decisions themselves are pure functions with unit tests in `host/src/acd/`.
//!
//! Run: `cargo xtask test -p switchboard-tests --test acd`.

mod accounts;
mod agent_tools;
mod claims;
mod offers;
mod routing;
mod staff;

use switchboard_tests::harness::{TestConfig, TestEnv};

/// Routes by the first message: `invoice` (skill invoices), `invoice-vip` (also priority 10),
/// `deutsch` (language de), anything else to billing without requirements.
const ROUTE_FLOW: &str = r#"start: route
steps:
  route:
    type: switch
    cases:
      - when: 'message.text == "invoice"'
        next: invoice
      - when: 'message.text == "invoice-vip"'
        next: invoice_vip
      - when: 'message.text == "deutsch"'
        next: german
    default: general
  invoice:
    type: transfer
    queue: billing
    skills: [invoices]
  invoice_vip:
    type: transfer
    queue: billing
    skills: [invoices]
    priority: 10
  german:
    type: transfer
    queue: billing
    language: de
  general:
    type: transfer
    queue: billing
"#;

/// A host whose X integration runs [`ROUTE_FLOW`] (`customize` may choose another flow).
async fn start(label: &str, customize: impl FnOnce(&mut TestConfig)) -> TestEnv {
    TestEnv::start(label, |c| {
        c.own_flows(&[("route-test.yaml", ROUTE_FLOW)]);
        c.x_flow = "route-test".into();
        customize(c);
    })
    .await
}
