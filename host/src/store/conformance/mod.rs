//! The store conformance suite: behaviours every engine of the Store interface must have,
//! written against the interface only. Each case takes a fresh, empty store;
//! [`crate::store_conformance_tests`] turns the whole suite into `#[tokio::test]`s for an engine
//! (the SQLite engine runs it in `sqlite/`; another engine runs it unchanged).

mod accounts;
mod acd;
mod catalog;
mod conversations;
mod leases;
mod lifecycle;
mod outbox;
mod supervision;
pub(crate) mod support;

pub use accounts::*;
pub use acd::*;
pub use catalog::*;
pub use conversations::*;
pub use leases::*;
pub use lifecycle::*;
pub use outbox::*;
pub use supervision::*;

/// Generates one `#[tokio::test]` per conformance case. `$make` is an expression giving
/// `(guard, Arc<dyn Store>)` for a fresh store; the guard lives as long as the case (a temp
/// folder, a database to drop).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@cases $make;
            a_redelivered_event_is_stored_once,
            webhooks_stored_at_once_are_each_stored_once_in_order,
            messages_thread_into_one_conversation_per_customer,
            a_zero_window_makes_every_message_a_new_conversation,
            a_flow_turn_stores_replies_state_and_the_processed_event,
            a_message_is_claimed_once_per_attempt_and_in_order,
            a_sent_message_brings_the_next_of_its_conversation_claimed,
            a_crash_leaves_claims_that_the_next_start_releases,
            receipts_only_move_forward_and_failed_wins,
            one_of_two_agents_accepting_at_once_wins,
            routing_offers_one_agent_at_a_time_and_expiry_moves_on,
            a_routed_offer_carries_the_conversation_as_stored,
            a_transfer_queues_the_interaction_for_the_agent_named,
            supervisors_see_queues_now_today_and_agents_load,
            history_search_and_uploads,
            a_quiet_customer_is_warned_then_ended,
            flows_and_plugins_keep_every_version,
            schedule_overrides_are_kept,
            accounts_are_saved_replaced_and_deleted,
            a_stream_ticket_opens_one_stream_before_it_expires,
            daily_caps_count_per_utc_day,
            saving_an_integration_reauthorizes_it_and_wakes_its_messages,
            canned_responses_and_filters,
            a_customer_is_worked_by_one_holder_at_a_time,
            two_holders_claiming_at_once_never_share_a_customer,
            a_taken_over_customer_s_earlier_events_come_first,
            a_lease_is_given_back_when_the_work_is_done,
            due_timeouts_are_claimed_under_the_customers_lease,
            an_event_is_processed_once_and_a_turn_applies_over_its_own_version,
            a_customers_data_is_erased_and_the_erasure_recorded,
            the_audit_log_lists_newest_first_by_pages,
            retention_deletes_old_events_and_messages_of_long_ended_conversations,
            conversations_are_counted_by_state_and_queue,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (_guard, store) = $make;
                $crate::store::conformance::$case(store).await;
            }
        )*
    };
}
