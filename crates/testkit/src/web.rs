//! Driving the application over HTTP like a browser does, without a browser: a cookie jar, the
//! CSRF token of the last form page, redirects reported (not followed) so tests can check them.
//! Also ready-made accounts: a user with memberships and a known password, or a signed-in
//! session for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{Request, StatusCode};
use chrono::Utc;
use teikyo_domain::account::{Area, LoginId, Membership, StaffLevel};
use teikyo_store::{NewUser, Store, UserId};
use teikyo_web::WebConfig;
use tower::ServiceExt;

/// The password every test account gets (meets the seeds' rule).
pub const PASSWORD: &str = "Passw0rdTest";

/// The TOTP secret of every test account that has a second factor (see [`create_user`]).
pub const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Creates an active user with `memberships` and [`PASSWORD`]. Prefecture staff and the
/// operator get a second factor with [`TOTP_SECRET`], as the default policy requires of them;
/// [`create_user_without_mfa`] makes one who has not set it up yet.
/// A facility's admin for the 医療機能情報提供制度: what most tests sign in as.
pub fn facility_admin(facility_id: i64) -> Membership {
    Membership::Facility {
        facility_id,
        admin: true,
        programs: vec![teikyo_domain::Program::MedicalFunction],
    }
}

/// Prefecture staff over the whole prefecture (`"17"`).
pub fn prefecture_staff(prefecture: &str, level: StaffLevel) -> Membership {
    Membership::Prefecture {
        prefecture: teikyo_domain::PrefectureCode::parse(prefecture)
            .unwrap_or_else(|e| panic!("prefecture {prefecture}: {e}")),
        level,
        area: Area::Whole,
    }
}

pub async fn create_user(store: &Store, login_id: &str, memberships: &[Membership]) -> UserId {
    let staff = memberships
        .iter()
        .any(|m| matches!(m, Membership::Prefecture { .. } | Membership::Operator));
    let id = create_user_without_mfa(store, login_id, memberships).await;
    if staff {
        enable_mfa(store, id).await;
    }
    id
}

/// Gives `user` a confirmed second factor with [`TOTP_SECRET`] (no recovery codes).
pub async fn enable_mfa(store: &Store, user: UserId) {
    assert!(
        store
            .mfa()
            .begin(user, TOTP_SECRET)
            .await
            .expect("mfa begin")
    );
    assert!(
        store
            .mfa()
            .enable(user, &[], Utc::now())
            .await
            .expect("mfa enable")
    );
}

/// Like [`create_user`], without a second factor whoever it is.
pub async fn create_user_without_mfa(
    store: &Store,
    login_id: &str,
    memberships: &[Membership],
) -> UserId {
    let users = store.users();
    let id = users
        .create(&NewUser {
            login_id: LoginId::parse(login_id).expect("test login id"),
            email: format!("{login_id}@test.example.jp"),
            family_name: "試験".into(),
            given_name: login_id.into(),
            phone: None,
            extension: None,
            fax: None,
            department: None,
        })
        .await
        .expect("creating a test user");
    // One argon2 run per test binary: matrix tests create hundreds of users.
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = HASH
        .get_or_init(|| async {
            teikyo_account::hash_password(PASSWORD.to_owned())
                .await
                .expect("hashing")
        })
        .await;
    users.set_password_hash(id, hash).await.expect("password");
    for m in memberships {
        users.add_membership(id, m).await.expect("membership");
    }
    id
}

/// Opens the current 年度's 定期報告 period of 石川県 (17) for every kind: opened ten days ago,
/// due in sixty days, the default 督促 schedule. Returns its id.
pub async fn open_ishikawa_period(store: &Store) -> i64 {
    use teikyo_domain::period::{DEFAULT_REMINDER_DAYS, ReportingPeriod};
    let today = Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).expect("JST"))
        .date_naive();
    let period = ReportingPeriod {
        prefecture: teikyo_domain::PrefectureCode::new(17).expect("石川県"),
        fiscal_year: teikyo_domain::report::fiscal_year_of(today),
        facility_kinds: teikyo_domain::FacilityKind::ALL.to_vec(),
        reference_date: today,
        opens_on: today - chrono::Days::new(10),
        closes_on: today + chrono::Days::new(60),
        extended_to: None,
        closed: false,
        reminder_days: DEFAULT_REMINDER_DAYS.to_vec(),
        message: None,
    };
    store
        .periods()
        .create(
            &period,
            None,
            teikyo_store::AuditEvent::new("period.opened", None),
            Utc::now(),
        )
        .await
        .expect("the period opens")
        .0
}

/// A valid 保険医療機関コード: the 9-digit `payload` (都道府県 + 点数区分 + 郡市区 + 番号)
/// completed with its check digit.
pub fn insurance_code(payload: &str) -> teikyo_domain::InsuranceCode {
    (0..10)
        .find_map(|d| teikyo_domain::InsuranceCode::parse(&format!("{payload}{d}")).ok())
        .expect("a 9-digit insurance payload")
}

/// Lists `entries` (code, name) in the insurance-code master that a 定期報告 of `fiscal_year`
/// matches against: the snapshot of 31 March of that 年度. Like the import, it replaces that
/// day's rows of the codes' prefectures, so list every code a test needs in one call.
pub async fn seed_insurance_master(
    store: &Store,
    fiscal_year: u16,
    entries: &[(&teikyo_domain::InsuranceCode, &str)],
) {
    let rows: Vec<teikyo_domain::ndb::MasterEntry> = entries
        .iter()
        .map(|(code, name)| teikyo_domain::ndb::MasterEntry {
            code: (*code).clone(),
            name: (*name).to_owned(),
            address: None,
            kind: None,
        })
        .collect();
    store
        .insurance()
        .import_master(
            teikyo_domain::ndb::master_date(fiscal_year),
            &rows,
            teikyo_store::AuditEvent::new("insurance_master.imported", None),
            Utc::now(),
            &mut |_| {},
        )
        .await
        .expect("seeding the insurance-code master");
}

/// The NDB counts (code, 疾患・治療 item code, count) that a 定期報告 of `fiscal_year`
/// preprints: stored as the previous 年度's, replacing them.
pub async fn seed_ndb_preprint(
    store: &Store,
    fiscal_year: u16,
    rows: &[(&teikyo_domain::InsuranceCode, &str, u32)],
) {
    let rows: Vec<teikyo_domain::ndb::PreprintCount> = rows
        .iter()
        .map(|(code, item, count)| teikyo_domain::ndb::PreprintCount {
            code: (*code).clone(),
            item: (*item).to_owned(),
            count: *count,
        })
        .collect();
    store
        .insurance()
        .import_preprint(
            teikyo_domain::ndb::counts_year(fiscal_year),
            &rows,
            teikyo_store::AuditEvent::new("ndb_preprint.imported", None),
            Utc::now(),
            &mut |_| {},
        )
        .await
        .expect("seeding the NDB preprint");
}

/// A 診療所 in 金沢市 (石川県) with the 機関コード `code`, stored; returns its id. Stories that
/// need another place build their own record.
pub async fn kanazawa_clinic(store: &Store, name: &str, code: &str) -> i64 {
    kanazawa_facility(
        store,
        teikyo_domain::FacilityKind::Clinic,
        name,
        "クリニック",
        code,
    )
    .await
}

/// A facility of `kind` in 金沢市 (石川県) with the 機関コード `code`, stored; returns its id.
pub async fn kanazawa_facility(
    store: &Store,
    kind: teikyo_domain::FacilityKind,
    name: &str,
    kana: &str,
    code: &str,
) -> i64 {
    use teikyo_domain::{
        FacilityCode, FacilityNames, FacilityRecord, MunicipalityCode, PrefectureCode,
    };
    let record = FacilityRecord {
        kind,
        prefecture: PrefectureCode::parse("17").expect("17"),
        municipality: MunicipalityCode::parse("17201").expect("17201"),
        facility_code: Some(FacilityCode::parse(code).expect("a test 機関コード")),
        insurance_codes: vec![],
        names: FacilityNames {
            official: name.into(),
            official_kana: kana.into(),
            short: None,
            short_kana: None,
            english: None,
        },
        postal_code: None,
        address: "石川県金沢市広坂1丁目1番1号".into(),
        coordinates: None,
        homepage: None,
        opened_on: None,
        suspended_on: None,
        abolished_on: None,
    };
    store
        .facilities()
        .insert(&record)
        .await
        .expect("inserting a test facility")
        .0
}

/// A `Cookie` header value holding a new session of `user`.
pub async fn session_cookie(store: &Store, config: &WebConfig, user: UserId) -> String {
    let token = teikyo_account::session::start(store, user, Utc::now(), config.session)
        .await
        .expect("starting a session");
    format!(
        "{}={}",
        teikyo_web::auth::session_cookie_name(config),
        token.plain
    )
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of the first `<input name="{name}" value="…">`, entities undone for `&amp;`.
    pub fn input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(unescape(&self.body[start..end]))
    }
}

/// An answer read as bytes (see [`Client::download`]).
#[derive(Debug, Clone)]
pub struct Download {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Download {
    /// A header's value as text ("" when missing).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Undoes askama's HTML escaping of an attribute value.
pub fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// A browser without a screen.
pub struct Client {
    app: Router,
    /// Each client comes from an address of its own (the per-IP rate limit sees them apart).
    peer: std::net::SocketAddr,
    jar: BTreeMap<String, String>,
    /// The CSRF token of the last page that had a form.
    csrf: Option<String>,
}

impl Client {
    pub fn new(app: Router) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff));
        Self {
            app,
            peer: std::net::SocketAddr::from((ip, 40000)),
            jar: BTreeMap::new(),
            csrf: None,
        }
    }

    /// Sets a cookie as if the server had (e.g. from [`session_cookie`]).
    pub fn set_cookie(&mut self, pair: &str) {
        if let Some((k, v)) = pair.split_once('=') {
            self.jar.insert(k.to_owned(), v.to_owned());
        }
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.jar.contains_key(name)
    }

    pub fn forget_csrf(&mut self) {
        self.csrf = None;
    }

    pub fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: Request<Body>) -> Page {
        let raw = self.send_raw(req).await;
        let location = raw
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let page = Page {
            status: raw.status,
            location,
            body: String::from_utf8_lossy(&raw.body).into_owned(),
        };
        if let Some(token) = page.input("_csrf") {
            self.csrf = Some(token);
        }
        page
    }

    /// GETs a download: the answer's status, headers and bytes as they are (a CSV in
    /// Shift_JIS is not text a `Page` can hold).
    pub async fn download(&mut self, path: &str) -> Download {
        let req = Request::get(path)
            .header(COOKIE, self.cookie_header())
            .body(Body::empty())
            .expect("request");
        self.send_raw(req).await
    }

    async fn send_raw(&mut self, mut req: Request<Body>) -> Download {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        let res = self.app.clone().oneshot(req).await.expect("router answers");
        for value in res.headers().get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let Ok(c) = cookie::Cookie::parse_encoded(text.to_owned()) else {
                continue;
            };
            let removal = c.max_age().is_some_and(|a| a.is_zero()) || c.value().is_empty();
            if removal {
                self.jar.remove(c.name());
            } else {
                self.jar.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec();
        Download {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = Request::get(path)
            .header(COOKIE, self.cookie_header())
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }

    /// POSTs a form with the CSRF token of the last form page (if any).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let token = self.csrf.clone();
        if let Some(t) = &token {
            all.push(("_csrf", t));
        }
        self.post_raw(path, &all).await
    }

    /// POSTs exactly `fields` (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = encode(fields);
        let req = Request::post(path)
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Solves the captcha of the last page that had one, as the page's script does.
    pub fn solve_captcha(page: &Page) -> String {
        let attr = |name: &str| {
            let marker = format!("{name}=\"");
            let start = page.body.find(&marker).expect("a captcha on the page") + marker.len();
            let end = page.body[start..].find('"').expect("attribute end") + start;
            unescape(&page.body[start..end])
        };
        let challenge = attr("data-captcha-challenge");
        let salt = attr("data-captcha-salt");
        let signature = attr("data-captcha-signature");
        let max: u64 = attr("data-captcha-max").parse().expect("max number");
        let number = altcha_lib_rs::solve_challenge(&challenge, &salt, None, Some(max), 0)
            .expect("solvable");
        let payload = altcha_lib_rs::Payload {
            algorithm: altcha_lib_rs::algorithm::AltchaAlgorithm::Sha256,
            challenge,
            number,
            salt,
            signature,
            took: None,
        };
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(serde_json::to_string(&payload).expect("payload json"))
    }

    /// Opens the login page and signs in; returns the answer to the POST. For a user with a
    /// second factor ([`TOTP_SECRET`]), answers the code step too and returns its answer.
    pub async fn login(&mut self, login_id: &str, password: &str) -> Page {
        self.get("/login").await;
        let page = self
            .post("/login", &[("login_id", login_id), ("password", password)])
            .await;
        if !page
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/login/code"))
        {
            return page;
        }
        let form = self
            .get(page.location.as_deref().unwrap_or("/login/code"))
            .await;
        self.second_factor(form.input("next").as_deref()).await
    }

    /// Answers the code step with the current code of [`TOTP_SECRET`]; if that code was used
    /// already (two logins within 30 seconds), with the next one, which the server accepts too.
    /// `next` is the code page's hidden field (the page asked for before login).
    pub async fn second_factor(&mut self, next: Option<&str>) -> Page {
        let now = Utc::now();
        let mut page = None;
        for at in [now, now + chrono::Duration::seconds(30)] {
            let code = teikyo_account::mfa::code_at(TOTP_SECRET, at).expect("totp");
            let mut fields = vec![("code", code.as_str())];
            if let Some(n) = next {
                fields.push(("next", n));
            }
            let p = self.post("/login/code", &fields).await;
            if p.status != StatusCode::OK {
                return p;
            }
            page = Some(p);
        }
        page.expect("a page")
    }
}

fn encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// A mail as the recipient reads it.
#[derive(Debug, Clone)]
pub struct ReadMail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl ReadMail {
    /// The first link in the body that starts with `prefix` (e.g. `https://teikyo.test/r/`),
    /// as a path on this site.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.body.find(prefix)?;
        let rest = &self.body[start..];
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        let url = &rest[..end];
        Some(url.strip_prefix(SITE_URL).unwrap_or(url).to_owned())
    }
}

/// The site URL the test mails link to.
pub const SITE_URL: &str = "https://teikyo.test";

/// The application with its worker and an in-memory mail transport: what a story test needs.
pub struct Site {
    pub store: Store,
    pub config: WebConfig,
    pub router: Router,
    pub templates: Arc<teikyo_mail::MailTemplates>,
    outbox: teikyo_mail::MemoryOutbox,
    worker: teikyo_worker::Worker,
    /// Delivers queued mail only (no other job kinds), to the same outbox.
    mail_worker: teikyo_worker::Worker,
    /// The node's search index, in memory; [`Site::catch_up_search`] brings it up to date.
    pub search: Arc<teikyo_search::SearchIndex>,
}

/// The shipped mail templates with the test site's URL.
pub fn test_templates() -> Arc<teikyo_mail::MailTemplates> {
    Arc::new(
        teikyo_mail::MailTemplates::load(teikyo_mail::TemplateSettings {
            sender_name: "Teikyo事務局".into(),
            site_url: SITE_URL.into(),
            contact: "Teikyo事務局 03-0000-0000".into(),
            message_id_domain: "teikyo.test".into(),
            dir: None,
        })
        .expect("the shipped templates load"),
    )
}

/// The registration service as the binary builds it, with a fixed captcha key.
pub fn test_registrations(
    templates: Arc<teikyo_mail::MailTemplates>,
) -> teikyo_account::registration::Registrations {
    teikyo_account::registration::Registrations::new(
        teikyo_account::registration::Captcha::new(Some("test-captcha-key")),
        templates,
    )
}

impl Site {
    /// The 利用案内メール goes out at once (as in the demo).
    pub async fn new(store: Store, config: WebConfig) -> Self {
        Self::with_timing(
            store,
            config,
            teikyo_account::review::IssueTiming::Immediately,
        )
        .await
    }

    pub async fn with_timing(
        store: Store,
        config: WebConfig,
        timing: teikyo_account::review::IssueTiming,
    ) -> Self {
        let templates = test_templates();
        let outbox = teikyo_mail::MemoryOutbox::default();
        let mailer = Arc::new(teikyo_mail::Mailer::new(
            teikyo_mail::Transport::Memory(outbox.clone()),
            teikyo_mail::MailConfig {
                from_address: "info@teikyo.test".into(),
                sender_name: "Teikyo事務局".into(),
                bounce_domain: None,
            },
        ));
        let mail_worker = teikyo_worker::Worker::new(
            store.clone(),
            "test-mail-worker",
            teikyo_worker::WorkerConfig::default(),
        )
        .with_handler(mailer.clone());
        let mut worker = teikyo_worker::Worker::new(
            store.clone(),
            "test-worker",
            teikyo_worker::WorkerConfig::default(),
        )
        .with_handler(mailer)
        .with_handler(Arc::new(teikyo_mail::period::PeriodMail::new(
            templates.clone(),
        )))
        .with_handler(Arc::new(teikyo_mail::report::ReportNotice::new(
            templates.clone(),
        )))
        .with_handler(Arc::new(teikyo_mail::bulk_mail::BulkMailSender::new(
            templates.clone(),
        )))
        .with_handler(Arc::new(teikyo_search::publish::ProjectHandler::new(
            teikyo_search::Publisher::new(
                teikyo_refdata::forms::shared_catalogue().expect("the item sets load"),
            ),
        )));
        for h in teikyo_account::recovery::Recovery::new(templates.clone()).handlers() {
            worker = worker.with_handler(h);
        }
        let registrations = test_registrations(templates.clone()).with_timing(timing);
        let search = Arc::new(
            teikyo_search::SearchIndex::open(None).expect("the in-memory search index opens"),
        );
        let router = teikyo_web::router(
            teikyo_web::AppState::new(store.clone(), config.clone())
                .with_registrations(registrations)
                .with_search(search.clone()),
        );
        Self {
            store,
            config,
            router,
            templates,
            outbox,
            worker,
            mail_worker,
            search,
        }
    }

    /// Applies the publication sequence to the search index (what `teikyo serve` does every
    /// two seconds). Returns the rows applied.
    pub async fn catch_up_search(&self) -> usize {
        self.search
            .catch_up(&self.store)
            .await
            .expect("the search index catches up")
    }

    pub fn client(&self) -> Client {
        Client::new(self.router.clone())
    }

    /// Runs every job that is due (recovery requests, then the mails they queued).
    pub async fn run_jobs(&self) -> usize {
        self.worker.drain().await.expect("jobs run")
    }

    /// Delivers the mails queued so far and runs no other job (a bulk send's job stays queued,
    /// so a story can stop it half-way).
    pub async fn deliver_mails(&self) -> usize {
        self.mail_worker.drain().await.expect("mail jobs run")
    }

    /// Every mail delivered so far, decoded.
    pub fn mails(&self) -> Vec<ReadMail> {
        self.outbox
            .sent()
            .iter()
            .map(|m| {
                let parsed = mailparse::parse_mail(&m.raw).expect("a parseable mail");
                let subject = parsed
                    .headers
                    .iter()
                    .find(|h| h.get_key_ref().eq_ignore_ascii_case("subject"))
                    .map(|h| h.get_value())
                    .unwrap_or_default();
                let body = if parsed.subparts.is_empty() {
                    parsed.get_body().unwrap_or_default()
                } else {
                    parsed.subparts[0].get_body().unwrap_or_default()
                };
                ReadMail {
                    to: m.to.clone(),
                    subject,
                    body,
                }
            })
            .collect()
    }

    /// Mails delivered to `address`.
    pub fn mails_to(&self, address: &str) -> Vec<ReadMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }
}

/// Runs `test` on a fresh [`Site`] per backend (SQLite, and PostgreSQL when
/// `TEIKYO_TEST_DATABASE_URL` is set), with the 利用案内メール sent at once.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Site) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    on_each_backend_with(teikyo_account::review::IssueTiming::Immediately, test).await;
}

/// [`on_each_backend`] with the given issuance timing.
pub async fn on_each_backend_with<F, Fut>(timing: teikyo_account::review::IssueTiming, test: F)
where
    F: Fn(Site) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in crate::db::backends() {
        let db = crate::db::TestDb::new(backend)
            .await
            .expect("a test database");
        test(Site::with_timing(db.store.clone(), WebConfig::default(), timing).await).await;
        if backend == teikyo_store::Backend::Postgres {
            println!("PostgreSQL: passed");
        }
        db.cleanup().await.expect("cleanup");
    }
}
