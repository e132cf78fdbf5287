//! sea-orm entities: the table shapes. Nothing outside `store` sees them; repositories convert to
//! and from domain types.

pub mod app_user;
pub mod audit_event;
pub mod auth_token;
pub mod bulk_mail;
pub mod bulk_mail_recipient;
pub mod captcha_spent;
pub mod closure_batch;
pub mod error_report;
pub mod facility;
pub mod facility_insurance_code;
pub mod facility_publication;
pub mod insurance_master;
pub mod job;
pub mod mail;
pub mod membership;
pub mod ndb_preprint;
pub mod notice;
pub mod period_mail;
pub mod publication;
pub mod recovery_code;
pub mod registration;
pub mod report;
pub mod report_confirmation;
pub mod report_section;
pub mod reporting_period;
pub mod session;
pub mod temporary_closure;
