//! Bounces: delivery status notifications (RFC 3464) that come back to the VERP return path
//! `bounce+<mail id>@<domain>`, and what they do to the mail row.
//!
//! An SMTP server that accepted a mail (送信完了) may still fail to deliver it later and report
//! that in a DSN; that report is what turns such a mail into 不達. Delays (4.x.x) change nothing.
//!
//! Which mail a report is about is read from two places, and both are kept:
//! - the VERP address the report was sent to (`To`, `Delivered-To`, `X-Original-To`,
//!   `Envelope-To` of the report itself), which names the mail id;
//! - the `Message-ID` of the original, from the report's third part (`message/rfc822` or
//!   `text/rfc822-headers`).
//!
//! When they disagree the Message-ID wins: it is unique per mail and copied from the mail
//! itself, while a VERP address can be rewritten by forwarders.
//!
//! Fallback for MTAs that do not send RFC 3464 reports (qmail and some appliances send plain
//! text): a message without a delivery-status part still counts as a failure when it was sent to
//! a VERP address **and** one of its text lines carries an SMTP 5xx reply; that line becomes the
//! diagnostic code. The 5xx line is required because auto-replies (不在通知) are also sent to the
//! return path (RFC 3834) and must not mark a mail 不達.

use mailparse::{MailHeader, MailHeaderMap, ParsedMail};
use teikyo_store::{Mail, MailId, MailStatus, Store, StoreError};

/// Headers of the report naming the address it was delivered to, most specific first.
const VERP_HEADERS: [&str; 4] = ["To", "Delivered-To", "X-Original-To", "Envelope-To"];

/// The local part prefix of the VERP return path (see `Mailer::return_path`).
const VERP_PREFIX: &str = "bounce+";

/// The `Action` of a per-recipient block (RFC 3464 §2.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DsnAction {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
    /// Anything else, lowercased, kept for the log.
    Other(String),
}

impl DsnAction {
    /// Reads an `Action` value; a trailing comment (`failed (…)`) is ignored.
    pub fn parse(value: &str) -> Self {
        let word = value
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match word.as_str() {
            "failed" => Self::Failed,
            "delayed" => Self::Delayed,
            "delivered" => Self::Delivered,
            "relayed" => Self::Relayed,
            "expanded" => Self::Expanded,
            _ => Self::Other(word),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Failed => "failed",
            Self::Delayed => "delayed",
            Self::Delivered => "delivered",
            Self::Relayed => "relayed",
            Self::Expanded => "expanded",
            Self::Other(s) => s,
        }
    }
}

impl std::fmt::Display for DsnAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recipient's report out of a DSN, with what identifies the mail it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// From the VERP address the report was sent to.
    pub mail_id: Option<MailId>,
    /// `<…@…>`, from the headers of the original in the report.
    pub original_message_id: Option<String>,
    /// `Original-Recipient` (the address we sent to), else `Final-Recipient`; without the
    /// `rfc822;` type.
    pub recipient: Option<String>,
    pub action: DsnAction,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// As reported, e.g. `smtp; 550 5.1.1 <x@y>: Recipient address rejected: User unknown`.
    pub diagnostic_code: Option<String>,
    /// The host that refused, without the `dns;` type.
    pub remote_mta: Option<String>,
}

impl Bounce {
    /// A permanent failure: `Action: failed`, or a 5.x.x status whatever the action says.
    pub fn is_failure(&self) -> bool {
        self.action == DsnAction::Failed
            || self.status.as_deref().is_some_and(|s| s.starts_with("5."))
    }

    /// The text recorded as the mail's reply: status and diagnostic code,
    /// e.g. `5.1.1 smtp; 550 5.1.1 User unknown`.
    pub fn reply(&self) -> String {
        let parts: Vec<&str> = [self.status.as_deref(), self.diagnostic_code.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if parts.is_empty() {
            // Nothing but the action: still say where the 不達 came from.
            format!("DSN: {}", self.action)
        } else {
            parts.join(" ")
        }
    }
}

/// What applying one report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BounceOutcome {
    /// The mail is now 不達 (it was `previous_status`, typically 送信完了).
    Bounced {
        mail_id: MailId,
        to: String,
        previous_status: MailStatus,
        reply: String,
    },
    /// The mail was 不達 already; left as it was.
    AlreadyBounced { mail_id: MailId, to: String },
    /// Not a failure (a delay, a relay, a success report): the status is unchanged.
    Ignored {
        mail_id: MailId,
        to: String,
        action: DsnAction,
        status: Option<String>,
        reason: String,
    },
    /// No mail of ours matches what the report names.
    Unmatched {
        mail_id: Option<MailId>,
        original_message_id: Option<String>,
        recipient: Option<String>,
    },
}

impl std::fmt::Display for BounceOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bounced {
                mail_id,
                to,
                previous_status,
                reply,
            } => write!(
                f,
                "不達にしました: メール {mail_id}（{to}）{reply}（変更前: {}）",
                previous_status.label()
            ),
            Self::AlreadyBounced { mail_id, to } => {
                write!(
                    f,
                    "既に不達として記録されています: メール {mail_id}（{to}）"
                )
            }
            Self::Ignored {
                mail_id,
                to,
                action,
                status,
                reason,
            } => {
                let status = status
                    .as_deref()
                    .map(|s| format!(" {s}"))
                    .unwrap_or_default();
                write!(
                    f,
                    "状態は変えませんでした: メール {mail_id}（{to}）{action}{status} — {reason}"
                )
            }
            Self::Unmatched {
                mail_id,
                original_message_id,
                recipient,
            } => {
                let mut clues = Vec::new();
                if let Some(r) = recipient {
                    clues.push(format!("宛先 {r}"));
                }
                if let Some(id) = mail_id {
                    clues.push(format!("メール番号 {id}"));
                }
                if let Some(m) = original_message_id {
                    clues.push(format!("Message-ID {m}"));
                }
                if clues.is_empty() {
                    clues.push("通知にメールを特定する手がかりがありません".into());
                }
                write!(
                    f,
                    "対応するメールが見つかりませんでした: {}",
                    clues.join("、")
                )
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BounceError {
    #[error("メールとして読み取れませんでした（{0}）。")]
    Unreadable(String),
    #[error("配送状態通知（DSN）として読み取れませんでした。")]
    NotDsn,
    #[error("配送状態通知に宛先ごとの報告（Final-Recipient・Action）がありませんでした。")]
    NoRecipients,
    #[error("メールの記録を読み書きできませんでした: {0}")]
    Store(#[from] StoreError),
}

impl BounceError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "mail.bounce.unreadable",
            Self::NotDsn => "mail.bounce.not_dsn",
            Self::NoRecipients => "mail.bounce.no_recipients",
            Self::Store(_) => "mail.bounce.store",
        }
    }
}

/// Reads a DSN (or a plain-text bounce, see the module docs): one [`Bounce`] per recipient block.
pub fn parse_dsn(raw: &[u8]) -> Result<Vec<Bounce>, BounceError> {
    let mail = mailparse::parse_mail(raw).map_err(|e| BounceError::Unreadable(e.to_string()))?;
    let ids = Identifiers {
        mail_id: verp_mail_id(&mail.headers),
        original_message_id: original_message_id(&mail),
    };
    match mail.parts().find(|p| is_delivery_status(p)) {
        Some(part) => from_delivery_status(part, &ids),
        None => plain_text_bounce(&mail, &ids).map(|b| vec![b]),
    }
}

/// Applies one report to the mail it names; see [`BounceOutcome`].
pub async fn apply(store: &Store, bounce: &Bounce) -> Result<BounceOutcome, BounceError> {
    let outcome = match find_mail(store, bounce).await? {
        None => BounceOutcome::Unmatched {
            mail_id: bounce.mail_id,
            original_message_id: bounce.original_message_id.clone(),
            recipient: bounce.recipient.clone(),
        },
        Some(mail) => apply_to(store, &mail, bounce).await?,
    };
    log_outcome(&outcome);
    Ok(outcome)
}

/// [`parse_dsn`], then [`apply`] for each recipient block.
pub async fn process(store: &Store, raw: &[u8]) -> Result<Vec<BounceOutcome>, BounceError> {
    let bounces = parse_dsn(raw)?;
    let mut outcomes = Vec::with_capacity(bounces.len());
    for bounce in &bounces {
        outcomes.push(apply(store, bounce).await?);
    }
    Ok(outcomes)
}

async fn apply_to(
    store: &Store,
    mail: &Mail,
    bounce: &Bounce,
) -> Result<BounceOutcome, BounceError> {
    if !bounce.is_failure() {
        return Ok(BounceOutcome::Ignored {
            mail_id: mail.id,
            to: mail.to.clone(),
            action: bounce.action.clone(),
            status: bounce.status.clone(),
            reason: ignore_reason(&bounce.action).into(),
        });
    }
    if matches!(mail.status, MailStatus::Queued | MailStatus::Cancelled) {
        // Never handed to a server (or stopped before it was): a report about it cannot be
        // genuine, and marking a queued one would stop it from ever being sent.
        return Ok(BounceOutcome::Ignored {
            mail_id: mail.id,
            to: mail.to.clone(),
            action: bounce.action.clone(),
            status: bounce.status.clone(),
            reason: "まだ送信していないメールについての通知のため、適用しませんでした。".into(),
        });
    }
    if mail.status == MailStatus::Bounced {
        // Keep the first reply: it is usually the more precise one (the server's own 5xx).
        return Ok(BounceOutcome::AlreadyBounced {
            mail_id: mail.id,
            to: mail.to.clone(),
        });
    }
    // Any other status flips, 送信完了 included: the server accepted the mail and failed later.
    let reply = bounce.reply();
    store
        .mails()
        .mark(mail.id, MailStatus::Bounced, &reply)
        .await?;
    Ok(BounceOutcome::Bounced {
        mail_id: mail.id,
        to: mail.to.clone(),
        previous_status: mail.status,
        reply,
    })
}

fn ignore_reason(action: &DsnAction) -> &'static str {
    match action {
        DsnAction::Delayed => "配送が遅れているという通知で、不達ではありません。",
        DsnAction::Delivered | DsnAction::Relayed | DsnAction::Expanded => {
            "配送できたという通知です。"
        }
        DsnAction::Failed | DsnAction::Other(_) => "不達の通知ではありません。",
    }
}

/// The mail a report is about: by VERP id and by Message-ID, the Message-ID winning when the
/// two name different mails (see the module docs).
async fn find_mail(store: &Store, bounce: &Bounce) -> Result<Option<Mail>, StoreError> {
    let repo = store.mails();
    let by_id = match bounce.mail_id {
        Some(id) => repo.get(id).await?,
        None => None,
    };
    let by_message_id = match &bounce.original_message_id {
        Some(m) => repo.find_by_message_id(m).await?,
        None => None,
    };
    Ok(match (by_id, by_message_id) {
        (Some(a), Some(b)) if a.id != b.id => {
            tracing::warn!(
                verp_mail = %a.id, message_id_mail = %b.id,
                message_id = ?bounce.original_message_id,
                "bounce: VERP address and Message-ID name different mails; using the Message-ID"
            );
            Some(b)
        }
        (Some(a), None) if bounce.original_message_id.is_some() => {
            // VERP ids are sequential and anyone can write to bounce+N@: a report whose original
            // Message-ID is not one of ours is not trusted to speak for mail N.
            tracing::warn!(
                verp_mail = %a.id, message_id = ?bounce.original_message_id,
                "bounce: the reported Message-ID is not ours; not applied"
            );
            None
        }
        (by_id, by_message_id) => by_message_id.or(by_id),
    })
}

fn log_outcome(outcome: &BounceOutcome) {
    match outcome {
        BounceOutcome::Bounced {
            mail_id,
            previous_status,
            reply,
            ..
        } => tracing::info!(
            mail = %mail_id, previous = previous_status.id(), %reply, "bounce: mail marked bounced"
        ),
        BounceOutcome::AlreadyBounced { mail_id, .. } => {
            tracing::info!(mail = %mail_id, "bounce: mail was already bounced")
        }
        BounceOutcome::Ignored {
            mail_id,
            action,
            status,
            ..
        } => tracing::info!(
            mail = %mail_id, action = action.as_str(), status = ?status,
            "bounce: not a failure; status unchanged"
        ),
        BounceOutcome::Unmatched {
            mail_id,
            original_message_id,
            recipient,
        } => tracing::warn!(
            mail = ?mail_id.map(|m| m.0), message_id = ?original_message_id, recipient = ?recipient,
            "bounce: no matching mail"
        ),
    }
}

/// What in a report names the mail it is about.
struct Identifiers {
    mail_id: Option<MailId>,
    original_message_id: Option<String>,
}

fn is_delivery_status(part: &ParsedMail) -> bool {
    // message/global-delivery-status is the SMTPUTF8 form (RFC 6533), same fields.
    matches!(
        part.ctype.mimetype.as_str(),
        "message/delivery-status" | "message/global-delivery-status"
    )
}

fn from_delivery_status(part: &ParsedMail, ids: &Identifiers) -> Result<Vec<Bounce>, BounceError> {
    let body = part
        .get_body_raw()
        .map_err(|e| BounceError::Unreadable(e.to_string()))?;
    let blocks = field_blocks(&blank_whitespace_lines(&body))?;
    // The per-message block (Reporting-MTA, Arrival-Date) carries nothing that identifies the
    // mail or its fate, so only the per-recipient blocks — those with an Action or a
    // Final-Recipient — are read. Keying on the fields rather than on position copes with
    // reports that leave the per-message block out.
    let bounces: Vec<Bounce> = blocks
        .iter()
        .filter(|b| b.get("Action").is_some() || b.get("Final-Recipient").is_some())
        .map(|b| recipient_bounce(b, ids))
        .collect();
    if bounces.is_empty() {
        return Err(BounceError::NoRecipients);
    }
    Ok(bounces)
}

fn recipient_bounce(block: &Fields, ids: &Identifiers) -> Bounce {
    Bounce {
        mail_id: ids.mail_id,
        original_message_id: ids.original_message_id.clone(),
        recipient: block
            .get("Original-Recipient")
            .or_else(|| block.get("Final-Recipient"))
            .map(without_type),
        action: DsnAction::parse(block.get("Action").unwrap_or_default()),
        status: block
            .get("Status")
            .and_then(|s| s.split_whitespace().next())
            .map(str::to_owned),
        diagnostic_code: block.get("Diagnostic-Code").map(str::to_owned),
        remote_mta: block.get("Remote-MTA").map(without_type),
    }
}

/// One block of `Name: value` fields, names compared case-insensitively, folded values unfolded
/// and runs of whitespace collapsed.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn from_headers(headers: &[MailHeader]) -> Self {
        Self(
            headers
                .iter()
                .map(|h| {
                    (
                        h.get_key().trim().to_owned(),
                        collapse_whitespace(&h.get_value()),
                    )
                })
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Splits a delivery-status body into its blocks (separated by blank lines).
fn field_blocks(body: &[u8]) -> Result<Vec<Fields>, BounceError> {
    let mut blocks = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (headers, used) =
            mailparse::parse_headers(rest).map_err(|e| BounceError::Unreadable(e.to_string()))?;
        if !headers.is_empty() {
            blocks.push(Fields::from_headers(&headers));
        }
        if used == 0 {
            break; // cannot happen with a non-empty input; guards against looping forever
        }
        rest = rest.get(used..).unwrap_or_default();
    }
    Ok(blocks)
}

/// Lines holding only spaces or tabs become empty, so that they separate blocks as the sender
/// meant rather than being read as a continuation of the previous field.
fn blank_whitespace_lines(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|&b| b == b'\n') {
        let content_len = line
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(line.len());
        let (content, ending) = line.split_at(content_len);
        if content.iter().all(|&b| b == b' ' || b == b'\t') {
            out.extend_from_slice(ending);
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `rfc822; x@y` → `x@y`, `dns; mx.example.jp` → `mx.example.jp`.
fn without_type(value: &str) -> String {
    value
        .split_once(';')
        .map_or(value, |(_, v)| v)
        .trim()
        .to_owned()
}

/// The mail id from the first VERP address among the headers naming where the report went.
fn verp_mail_id(headers: &[MailHeader]) -> Option<MailId> {
    VERP_HEADERS
        .iter()
        .flat_map(|name| headers.get_all_values(name))
        .find_map(|value| verp_id_in(&value))
}

/// Finds `bounce+<digits>@` (case-insensitive) at the start of a local part in a header value.
fn verp_id_in(value: &str) -> Option<MailId> {
    let lower = value.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(pos) = lower.get(from..).and_then(|s| s.find(VERP_PREFIX)) {
        let start = from + pos;
        let digits_start = start + VERP_PREFIX.len();
        from = digits_start;
        let starts_local_part = start == 0 || bytes.get(start - 1).is_some_and(|&b| !is_atext(b));
        let digits_len = bytes.get(digits_start..).map_or(0, |rest| {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        });
        let followed_by_at = bytes.get(digits_start + digits_len) == Some(&b'@');
        if starts_local_part && digits_len > 0 && followed_by_at {
            let digits = lower.get(digits_start..digits_start + digits_len)?;
            if let Ok(id) = digits.parse::<i64>() {
                return Some(MailId(id));
            }
        }
    }
    None
}

/// A character that can be part of an unquoted local part (RFC 5322 atext, and the dot).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b)
}

/// The Message-ID of the original, from the first part holding its headers.
fn original_message_id(mail: &ParsedMail) -> Option<String> {
    let part = mail.parts().find(|p| {
        matches!(
            p.ctype.mimetype.as_str(),
            "message/rfc822" | "text/rfc822-headers" | "message/global" | "message/global-headers"
        )
    })?;
    let body = part.get_body_raw().ok()?;
    let (headers, _) = mailparse::parse_headers(&body).ok()?;
    headers
        .get_first_value("Message-ID")
        .and_then(|v| normalise_message_id(&v))
}

/// `<id@host>` as stored in the mail row, whether or not the report kept the brackets.
fn normalise_message_id(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(open) = value.find('<') {
        let inner = value.get(open + 1..)?;
        let close = inner.find('>')?;
        let id = inner.get(..close)?.trim();
        return (!id.is_empty()).then(|| format!("<{id}>"));
    }
    let id = value.split_whitespace().next()?;
    Some(format!("<{id}>"))
}

/// The non-standard bounce fallback (module docs): a VERP address and a 5xx line, or not a DSN.
fn plain_text_bounce(mail: &ParsedMail, ids: &Identifiers) -> Result<Bounce, BounceError> {
    let mail_id = ids.mail_id.ok_or(BounceError::NotDsn)?;
    let line = first_5xx_line(mail).ok_or(BounceError::NotDsn)?;
    // Without the structure of a DSN, the quoted original's Message-ID is what shows the report
    // is about a mail we sent (a 5xx line in a mail to bounce+N@ is easy to forge).
    let message_id = ids
        .original_message_id
        .clone()
        .or_else(|| message_id_in_text(mail))
        .ok_or(BounceError::NotDsn)?;
    Ok(Bounce {
        mail_id: Some(mail_id),
        original_message_id: Some(message_id),
        recipient: None,
        action: DsnAction::Failed,
        status: enhanced_status_in(&line),
        diagnostic_code: Some(line),
        remote_mta: None,
    })
}

/// A `Message-ID:` header line quoted in the text of a plain bounce.
fn message_id_in_text(mail: &ParsedMail) -> Option<String> {
    mail.parts()
        .filter(|p| p.ctype.mimetype == "text/plain")
        .filter_map(|p| p.get_body().ok())
        .find_map(|body| {
            body.lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("message-id")
                    .then(|| normalise_message_id(value))?
            })
        })
}

/// The first line of a text/plain part that carries an SMTP 5xx reply code.
fn first_5xx_line(mail: &ParsedMail) -> Option<String> {
    mail.parts()
        .filter(|p| p.ctype.mimetype == "text/plain")
        .filter_map(|p| p.get_body().ok())
        .find_map(|body| {
            body.lines()
                .find(|l| has_smtp_5xx(l))
                .map(collapse_whitespace)
        })
}

/// A reply code 500–559 standing as its own token (`550 …`, `550-5.1.1 …`), not part of a
/// longer number, a version or a phone number (`03-550-1234`).
fn has_smtp_5xx(line: &str) -> bool {
    let b = line.as_bytes();
    (0..b.len()).any(|i| {
        let code = b.get(i..i + 3).is_some_and(|c| {
            c[0] == b'5' && (b'0'..=b'5').contains(&c[1]) && c[2].is_ascii_digit()
        });
        let before_ok = i == 0 || b.get(i - 1).is_some_and(|&p| !is_number_glue(p));
        let after_ok = match b.get(i + 3) {
            None => true,
            Some(c) if c.is_ascii_whitespace() => true,
            // a multi-line reply: `550-5.1.1 …`
            Some(b'-') => b.get(i + 4..i + 6) == Some(b"5.".as_slice()),
            Some(_) => false,
        };
        code && before_ok && after_ok
    })
}

fn is_number_glue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._-+/=:".contains(&b)
}

/// The first `5.x.x` enhanced status code in a line.
fn enhanced_status_in(line: &str) -> Option<String> {
    line.split(|c: char| c.is_whitespace() || matches!(c, '-' | '(' | ')' | '<' | '>' | ','))
        .find(|tok| is_enhanced_status(tok))
        .map(str::to_owned)
}

fn is_enhanced_status(tok: &str) -> bool {
    let parts: Vec<&str> = tok.split('.').collect();
    parts.len() == 3
        && parts[0] == "5"
        && parts[1..]
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verp_ids_are_found_at_the_start_of_a_local_part_only() {
        assert_eq!(verp_id_in("bounce+12@teikyo.example.jp"), Some(MailId(12)));
        assert_eq!(
            verp_id_in("\"Teikyo\" <BOUNCE+7@Teikyo.Example.JP>"),
            Some(MailId(7))
        );
        assert_eq!(
            verp_id_in("a@b.jp, bounce+x@c.jp, bounce+9@c.jp"),
            Some(MailId(9))
        );
        assert_eq!(verp_id_in("notbounce+12@teikyo.example.jp"), None);
        assert_eq!(verp_id_in("bounce+12x@teikyo.example.jp"), None);
        assert_eq!(verp_id_in("bounce+@teikyo.example.jp"), None);
        assert_eq!(verp_id_in("bounce+99999999999999999999@x.jp"), None);
    }

    #[test]
    fn message_ids_are_normalised_to_the_stored_form() {
        assert_eq!(
            normalise_message_id(" <a.b@teikyo.test> (comment)").as_deref(),
            Some("<a.b@teikyo.test>")
        );
        assert_eq!(
            normalise_message_id("a.b@teikyo.test").as_deref(),
            Some("<a.b@teikyo.test>")
        );
        assert_eq!(normalise_message_id("<>"), None);
        assert_eq!(normalise_message_id("  "), None);
    }

    #[test]
    fn smtp_5xx_codes_are_told_from_other_numbers() {
        assert!(has_smtp_5xx("Remote host said: 550 5.1.1 User unknown"));
        assert!(has_smtp_5xx("550-5.1.1 The email account does not exist"));
        assert!(has_smtp_5xx("(#5.1.1) 554"));
        assert!(!has_smtp_5xx("電話 03-550-1234 までご連絡ください"));
        assert!(!has_smtp_5xx("451 4.7.1 try again later"));
        assert!(!has_smtp_5xx("version 5.5.0 released"));
        assert!(!has_smtp_5xx("ID 15501 / 5500"));
        assert_eq!(
            enhanced_status_in("550-5.1.1 <x@y>: no such user").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(enhanced_status_in("550 no such user"), None);
    }

    #[test]
    fn actions_are_read_case_insensitively_with_comments() {
        assert_eq!(DsnAction::parse("Failed"), DsnAction::Failed);
        assert_eq!(DsnAction::parse("delayed (retrying)"), DsnAction::Delayed);
        assert_eq!(DsnAction::parse("bogus"), DsnAction::Other("bogus".into()));
    }

    #[test]
    fn whitespace_only_lines_separate_blocks() {
        let body = b"Reporting-MTA: dns; a\r\n  \r\nAction: failed\r\nDiagnostic-Code: smtp; 550\r\n  no such user\r\n";
        let blocks = field_blocks(&blank_whitespace_lines(body)).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[1].get("diagnostic-code"),
            Some("smtp; 550 no such user")
        );
    }
}
