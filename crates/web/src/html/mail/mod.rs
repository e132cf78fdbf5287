//! Mail pages: the demo's outbox (read the mail the demo sent without a mail server) and the mail
//! log (送信完了 or 不達, for the operator and, within their prefecture, for prefecture staff).
//!
//! The outbox is only routed in demo mode; the log needs a signed-in operator or prefecture
//! staff, whose access decides the scope (see `crate::viewer`).

pub(crate) mod filter;
pub(crate) mod log;
pub(crate) mod outbox;
pub(crate) mod query;
pub(crate) mod text;

use chrono::{DateTime, Utc};
use teikyo_mail::MailKind;
use teikyo_store::{Mail, MailFilter, MailId, MailStatus, Store, StoreError};

use crate::html::Chrome;
use text::LinkedText;

/// Japan Standard Time (fixed +09:00, defined once in the domain).
pub(crate) use teikyo_domain::opening::JAPAN as TOKYO;

/// `2026-11-21 09:15`, in Japan.
pub(crate) fn tokyo_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&TOKYO).format("%Y-%m-%d %H:%M").to_string()
}

/// The name staff know the mail by; a template this build does not know (an old row, a custom
/// template) is shown by its id rather than hidden.
pub(crate) fn kind_label(template: &str) -> String {
    MailKind::parse(template).map_or_else(|| template.to_owned(), |k| k.label().to_owned())
}

/// A mail id from the path; anything else is a page that does not exist.
pub(crate) fn parse_id(text: &str) -> Option<MailId> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|id| *id >= 1).map(MailId)
}

/// How many mails match `filter`, all statuses together.
pub(crate) async fn total(store: &Store, filter: &MailFilter) -> Result<u64, StoreError> {
    Ok(store.mails().count_by_status(filter).await?.values().sum())
}

/// One mail in full: the outbox's and the log's detail page.
#[derive(askama::Template)]
#[template(path = "mail_detail.html")]
pub(crate) struct MailDetailPage {
    pub(crate) chrome: Chrome,
    pub(crate) title: String,
    pub(crate) mail: MailView,
    /// Why this page exists in this form (demo, placeholder scope).
    pub(crate) notice: &'static str,
    pub(crate) back_href: String,
    pub(crate) back_label: &'static str,
}

/// One line of a mail table.
#[derive(Debug, Clone)]
pub(crate) struct MailRow {
    pub(crate) href: String,
    pub(crate) subject: String,
    pub(crate) to: String,
    pub(crate) kind: String,
    pub(crate) status: StatusView,
    pub(crate) created: String,
    pub(crate) facility_id: Option<i64>,
}

impl MailRow {
    pub(crate) fn new(mail: &Mail, href: String) -> Self {
        Self {
            href,
            subject: mail.subject.clone(),
            to: mail.to.clone(),
            kind: kind_label(&mail.template),
            status: StatusView::of(mail.status),
            created: tokyo_time(mail.created_at),
            facility_id: mail.facility_id,
        }
    }
}

/// A status with its label and the class that colours it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatusView {
    pub(crate) id: &'static str,
    pub(crate) label: &'static str,
}

impl StatusView {
    pub(crate) fn of(status: MailStatus) -> Self {
        Self {
            id: status.id(),
            label: status.label(),
        }
    }
}

/// One mail in full.
#[derive(Debug, Clone)]
pub(crate) struct MailView {
    pub(crate) id: i64,
    pub(crate) subject: String,
    pub(crate) to: String,
    pub(crate) kind: String,
    pub(crate) status: StatusView,
    pub(crate) message_id: String,
    pub(crate) smtp_reply: Option<String>,
    pub(crate) created: String,
    pub(crate) sent: Option<String>,
    pub(crate) bounced: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) facility_id: Option<i64>,
    /// `None` when the body is withheld (see [`MailView::for_log`]).
    pub(crate) body: Option<LinkedText>,
}

impl MailView {
    /// For the mail log: the body of a mail carrying a code or an account link is withheld.
    pub(crate) fn for_log(mail: &Mail) -> Self {
        let secret =
            teikyo_mail::MailKind::parse(&mail.template).is_some_and(|k| k.carries_secret());
        let mut view = Self::new(mail);
        if secret {
            view.body = None;
        }
        view
    }

    pub(crate) fn new(mail: &Mail) -> Self {
        Self {
            id: mail.id.0,
            subject: mail.subject.clone(),
            to: mail.to.clone(),
            kind: kind_label(&mail.template),
            status: StatusView::of(mail.status),
            message_id: mail.message_id.clone(),
            smtp_reply: mail.smtp_reply.clone(),
            created: tokyo_time(mail.created_at),
            sent: mail.sent_at.map(tokyo_time),
            bounced: mail.bounced_at.map(tokyo_time),
            attempts: mail.attempts,
            facility_id: mail.facility_id,
            body: Some(text::linkify(&mail.body_text)),
        }
    }
}

/// Page links under a table.
#[derive(Debug, Clone)]
pub(crate) struct Pager {
    pub(crate) page: u64,
    pub(crate) pages: u64,
    pub(crate) total: u64,
    /// Numbers of the first and last row shown, 1-based; (0, 0) when the page is empty.
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) prev: Option<String>,
    pub(crate) next: Option<String>,
}

impl Pager {
    /// `href(n)` is the link to page `n`.
    pub(crate) fn new(page: u64, shown: usize, total: u64, href: impl Fn(u64) -> String) -> Self {
        Self::sized(page, filter::PAGE_SIZE, shown, total, href)
    }

    /// The same for pages of `size` rows (other lists than the mail log).
    pub(crate) fn sized(
        page: u64,
        size: u64,
        shown: usize,
        total: u64,
        href: impl Fn(u64) -> String,
    ) -> Self {
        let pages = total.div_ceil(size.max(1)).max(1);
        let shown = u64::try_from(shown).unwrap_or(0);
        let first = if shown == 0 {
            0
        } else {
            page.saturating_sub(1).saturating_mul(size) + 1
        };
        let last = if shown == 0 { 0 } else { first + shown - 1 };
        Self {
            page,
            pages,
            total,
            first,
            last,
            // A page past the end still offers the way back to the last real page.
            prev: (page > 1).then(|| href(page.min(pages + 1) - 1)),
            next: (page < pages).then(|| href(page + 1)),
        }
    }

    /// Whether there is anything to page through.
    pub(crate) fn is_needed(&self) -> bool {
        self.prev.is_some() || self.next.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_japan() {
        let t = DateTime::parse_from_rfc3339("2026-11-21T00:15:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(tokyo_time(t), "2026-11-21 09:15");
    }

    #[test]
    fn unknown_templates_keep_their_id() {
        assert_eq!(kind_label("account_ready"), "利用案内メール");
        assert_eq!(kind_label("custom_notice"), "custom_notice");
    }

    #[test]
    fn ids_are_positive_numbers() {
        assert_eq!(parse_id("12"), Some(MailId(12)));
        assert_eq!(parse_id("0"), None);
        assert_eq!(parse_id("-1"), None);
        assert_eq!(parse_id("1e3"), None);
        assert_eq!(parse_id("99999999999999999999"), None);
    }

    #[test]
    fn pager_counts_rows_and_links_neighbours() {
        let p = Pager::new(2, 5, 55, |n| format!("?page={n}"));
        assert_eq!((p.pages, p.first, p.last), (2, 51, 55));
        assert_eq!(p.prev.as_deref(), Some("?page=1"));
        assert_eq!(p.next, None);
        let past = Pager::new(9, 0, 55, |n| format!("?page={n}"));
        assert_eq!(past.prev.as_deref(), Some("?page=2"));
        let none = Pager::new(1, 0, 0, |n| format!("?page={n}"));
        assert!(!none.is_needed());
        assert_eq!(none.pages, 1);
    }
}
