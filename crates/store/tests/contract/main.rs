//! Storage contract suite: every test runs on SQLite, and again on PostgreSQL when
//! `TEIKYO_TEST_DATABASE_URL` is set. A custom harness (libtest-mimic) so the run can say how many
//! PostgreSQL tests executed — CI fails when that number is 0.

mod account;
mod bulk_mail;
mod facility;
mod fixtures;
mod insurance;
mod jobs;
mod mail;
mod period;
mod publication;
mod registration;
mod report;
mod report_status;
mod schema;

use futures::future::BoxFuture;
use libtest_mimic::{Arguments, Failed, Trial};
use teikyo_store::{Backend, Store};
use teikyo_testkit::db::{TestDb, backends, postgres_url};

type ContractFn = fn(Store) -> BoxFuture<'static, anyhow::Result<()>>;

macro_rules! contract {
    ($($path:path),* $(,)?) => {
        vec![$((stringify!($path), (|s| Box::pin($path(s))) as ContractFn)),*]
    };
}

fn tests() -> Vec<(&'static str, ContractFn)> {
    contract![
        schema::migrate_is_idempotent,
        schema::ping_answers_until_closed,
        schema::sqlite_runs_in_wal_mode,
        facility::round_trip_keeps_every_field,
        facility::get_many_keeps_the_order_asked,
        facility::import_counts_by_kind,
        facility::import_is_all_or_nothing,
        facility::existing_keys_lists_public_keys,
        facility::find_by_insurance_code_and_public_key,
        facility::list_filters_and_pages,
        facility::ids_stay_unique_across_imports,
        jobs::claim_hands_out_the_oldest_ready_job_once,
        jobs::claim_respects_run_at_and_kinds,
        jobs::failures_back_off_then_give_up,
        jobs::rolled_back_change_leaves_no_job,
        jobs::stale_lease_goes_back_to_the_queue,
        jobs::concurrent_workers_never_share_a_job,
        jobs::progress_is_recorded,
        jobs::purge_deletes_only_long_ended_jobs,
        mail::queue_mails_covers_every_mail_once,
        mail::queue_mails_rolled_back_leaves_nothing,
        mail::mail_log_filters_and_prefecture_scope,
        mail::a_settled_mail_is_not_marked_sending,
        mail::empty_related_parts_are_none_on_both_paths,
        account::users_are_found_by_what_people_type,
        account::ten_wrong_passwords_lock_the_account,
        account::parallel_guesses_share_the_attempts,
        account::disabled_users_are_marked,
        account::tokens_work_once,
        account::memberships_round_trip_as_access,
        account::sessions_end_when_idle_or_old,
        account::audit_events_are_listed_in_scope,
        account::second_factor_steps_and_codes_work_once,
        account::ended_sessions_and_old_tokens_are_purged,
        registration::an_application_goes_from_address_to_decision,
        registration::an_abandoned_form_is_resumed_from_the_address,
        registration::a_captcha_solution_is_spent_once,
        registration::inventory_lists_closed_and_idle_accounts,
        registration::racing_issues_leave_exactly_one_token,
        report::a_periodic_report_is_started_once,
        report::a_stale_section_save_is_refused,
        report::a_closed_report_takes_no_input,
        period::a_periods_addressees_follow_kinds_reports_and_programs,
        period::a_period_step_is_claimed_once,
        report_status::status_rows_and_counts_follow_the_period,
        report_status::daily_counts_are_days_in_japan,
        publication::the_log_appends_only_what_residents_see_change,
        publication::many_facilities_are_applied_at_once_and_a_repeat_in_order,
        publication::due_facilities_are_those_whose_day_has_come,
        publication::racing_applies_publish_once,
        publication::closures_are_current_until_withdrawn_or_over,
        publication::closure_batches_close_many_at_once_and_withdraw_once,
        publication::error_reports_wait_until_handled,
        insurance::the_master_answers_as_of_a_day,
        insurance::a_failed_master_import_stores_nothing,
        insurance::preprint_counts_by_year_and_code,
        insurance::a_skip_is_remembered_by_the_last_periodic_report,
        bulk_mail::recipients_follow_kinds_area_and_report_status,
        bulk_mail::a_bulk_mail_goes_from_draft_to_done,
        bulk_mail::two_workers_create_each_mail_once,
        bulk_mail::cancelling_stops_only_unsent_mails,
    ]
}

fn run_on(backend: Backend, f: ContractFn) -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failed::from(e.to_string()))?;
    rt.block_on(async move {
        let db = TestDb::new(backend).await.map_err(|e| format!("{e:#}"))?;
        let result = f(db.store.clone()).await;
        db.cleanup().await.map_err(|e| format!("cleanup: {e:#}"))?;
        result.map_err(|e| Failed::from(format!("{e:#}")))
    })
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    let backends = backends();
    for backend in &backends {
        for (name, f) in tests() {
            let backend = *backend;
            let label = format!("{}::{}", backend.name().to_lowercase(), name);
            trials.push(Trial::test(label, move || run_on(backend, f)));
        }
    }
    if postgres_url().is_some() {
        trials.push(Trial::test("both::schemas_are_in_step", || {
            schema::schemas_are_in_step()
        }));
    }
    let pg = trials
        .iter()
        .filter(|t| t.name().starts_with("postgresql::") || t.name().starts_with("both::"))
        .count();
    let conclusion = libtest_mimic::run(&args, trials);
    // Counted after filtering by the command line: what actually ran.
    let ran_pg = if args.filter.is_some() || !args.skip.is_empty() {
        "(filtered)".to_owned()
    } else {
        pg.to_string()
    };
    if postgres_url().is_some() {
        println!(
            "contract suite: PostgreSQL tests executed: {ran_pg} ({} failed overall)",
            conclusion.num_failed
        );
    } else {
        println!(
            "contract suite: PostgreSQL tests executed: 0 (set TEIKYO_TEST_DATABASE_URL to run them)"
        );
    }
    conclusion.exit();
}
