//! One suite of store behaviour, run against SQLite always and against
//! PostgreSQL when `EDGEFLUSH_TEST_POSTGRES_URL` is set (each PostgreSQL
//! test in a schema of its own, dropped at the end). `shared` adds what only
//! a store shared by several nodes must do: claims that never overlap,
//! global coalescing, leases that expire and are taken over, and roles held
//! by one node at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "store_suite/backend.rs"]
mod backend;
#[path = "store_suite/behaviour.rs"]
mod behaviour;
#[path = "store_suite/behaviour_more.rs"]
mod behaviour_more;
#[path = "store_suite/pgdb.rs"]
mod pgdb;
#[path = "store_suite/shared.rs"]
mod shared;
#[path = "store_suite/shared_roles.rs"]
mod shared_roles;

/// For each behaviour, a module with a `sqlite` and a `postgres` test.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        on_both_backends!(@in behaviour: $($name),*);
    };
    (@in $module:ident: $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let b = crate::backend::Backend::sqlite();
                    crate::$module::$name(&b).await;
                }

                #[tokio::test]
                async fn postgres() {
                    let Some(b) = crate::backend::Backend::postgres().await else {
                        return;
                    };
                    crate::$module::$name(&b).await;
                }
            }
        )*
    };
}

on_both_backends!(
    enqueue_coalesces_pending_only,
    empty_enqueue_adds_nothing,
    coalesced_change_brings_a_delayed_purge_forward,
    claim_respects_max_and_not_before,
    split_and_dead_letter,
    retry_later_waits_and_counts_attempts,
    poll_outcomes_and_reflush_twin,
    unconfirmed_then_given_up,
    survives_reopen,
    deliveries_dedupe_and_holds_release,
    prune_removes_only_finished_work,
    listings_newest_first,
    a_lone_store_leads_every_role,
);

on_both_backends!(@in behaviour_more:
    index_round_trips_per_site_and_survives_reopen,
    traffic_stores_lists_and_prunes,
    site_activity_per_site,
);
