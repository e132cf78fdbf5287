//! 新規ユーザ登録申請 pages, ② to ⑨ (DOMAIN §3.3), public and usable on a phone. The work is
//! `teikyo_account::registration`'s; the applicant's browser is known by its `apply` cookie.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_account::registration::{CODE_VALID, RegistrationError, Registrations, check_form};
use teikyo_domain::registration::{
    ApplicationForm, ApplicationNumber, ApplicationStatus, Discriminator, FieldError,
};
use teikyo_domain::{FacilityKind, PrefectureCode};
use teikyo_store::Registration;

use super::account::see_other;
use super::{Chrome, render};
use crate::assets;
use crate::auth::Csrf;
use crate::auth::cookies::{self, Names};
use crate::error::WebError;
use crate::state::AppState;

pub(crate) struct Step {
    label: &'static str,
    current: bool,
}

const STEP_LABELS: [&str; 6] = [
    "メールアドレス",
    "認証コード",
    "申請内容の入力",
    "同意",
    "確認",
    "完了",
];

fn steps(current: usize) -> Vec<Step> {
    STEP_LABELS
        .iter()
        .enumerate()
        .map(|(i, label)| Step {
            label,
            current: i == current,
        })
        .collect()
}

fn service(state: &AppState) -> Result<&Registrations, WebError> {
    state
        .registrations()
        .ok_or_else(|| WebError::Internal("registrations are not configured".into()))
}

/// The application of this browser, if any.
async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Registration>, WebError> {
    let Some(service) = state.registrations() else {
        return Ok(None);
    };
    let Some(cookie) = cookies::get(headers, Names::of(state.config()).apply) else {
        return Ok(None);
    };
    Ok(service.for_browser(state.store(), &cookie).await?)
}

/// The application, or back to the start when this browser has none (or it is past the step).
async fn require(
    state: &AppState,
    headers: &HeaderMap,
    confirmed: bool,
) -> Result<Result<Registration, Response>, WebError> {
    Ok(match current(state, headers).await? {
        Some(r) if r.submitted_at.is_some() => Err(see_other("/apply/done", &[])),
        Some(r) if confirmed && r.email_verified_at.is_none() => Err(see_other("/apply/code", &[])),
        Some(r) => Ok(r),
        None => Err(see_other("/apply", &[])),
    })
}

fn store_error(e: RegistrationError) -> WebError {
    match e {
        RegistrationError::Store(e) => e.into(),
        other => WebError::Internal(other.to_string()),
    }
}

// ---- ② the address and the captcha ----

#[derive(Template)]
#[template(path = "apply_start.html")]
struct StartPage {
    chrome: Chrome,
    title: &'static str,
    steps: Vec<Step>,
    csrf: String,
    resume: bool,
    email: String,
    error: Option<String>,
    challenge: Option<altcha_lib_rs::Challenge>,
    script_href: &'static str,
}

async fn start_page(
    state: &AppState,
    headers: &HeaderMap,
    csrf: String,
    email: String,
    error: Option<String>,
) -> Result<Response, WebError> {
    // Without the service (no mail templates) the page says applications are not accepted.
    let challenge = match state.registrations() {
        Some(service) => Some(service.captcha.challenge(Utc::now()).map_err(store_error)?),
        None => None,
    };
    let resume = current(state, headers)
        .await?
        .is_some_and(|r| r.email_verified_at.is_some() && r.submitted_at.is_none());
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        render(&StartPage {
            chrome: Chrome::new(),
            title: "新規ユーザ登録申請",
            steps: steps(0),
            csrf,
            resume,
            email,
            error,
            challenge,
            script_href: assets::captcha_script_href(),
        })?,
    )
        .into_response())
}

pub(crate) async fn start_form(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    start_page(&state, &headers, csrf, String::new(), None).await
}

#[derive(Deserialize)]
pub(crate) struct StartForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    captcha: String,
}

pub(crate) async fn start_submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
    Form(f): Form<StartForm>,
) -> Result<Response, WebError> {
    let Some(service) = state.registrations() else {
        return start_page(&state, &headers, csrf, String::new(), None).await;
    };
    let email: String = f.email.trim().chars().take(254).collect();
    match service
        .start(state.store(), &email, &f.captcha, Utc::now())
        .await
    {
        Ok((_, browser)) => {
            let cookie = Names::of(state.config()).apply_cookie(&browser.plain);
            Ok(see_other("/apply/confirm", &[cookie]))
        }
        Err(e @ (RegistrationError::Email | RegistrationError::Captcha)) => {
            start_page(&state, &headers, csrf, email, Some(e.to_string())).await
        }
        Err(e) => Err(store_error(e)),
    }
}

// ---- ③ confirm the address, send the code ----

#[derive(Template)]
#[template(path = "apply_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    title: &'static str,
    steps: Vec<Step>,
    csrf: String,
    email: String,
}

pub(crate) async fn confirm(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, false).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    Ok(render(&ConfirmPage {
        chrome: Chrome::new(),
        title: "メールアドレスの確認",
        steps: steps(0),
        csrf,
        email: reg.email,
    })?
    .into_response())
}

pub(crate) async fn send_code(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, false).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    match service(&state)?
        .send_code(state.store(), &reg, Utc::now())
        .await
    {
        Ok(()) => Ok(see_other("/apply/code?sent=1", &[])),
        Err(e @ (RegistrationError::TooManySends | RegistrationError::SentRecently(_))) => {
            code_page(&state, csrf, reg, Some(e.to_string()), None).await
        }
        Err(e) => Err(store_error(e)),
    }
}

// ---- ⑤ the code ----

#[derive(Template)]
#[template(path = "apply_code.html")]
struct CodePage {
    chrome: Chrome,
    title: &'static str,
    steps: Vec<Step>,
    csrf: String,
    email: String,
    expires_minutes: i64,
    error: Option<String>,
    notice: Option<&'static str>,
}

async fn code_page(
    _state: &AppState,
    csrf: String,
    reg: Registration,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    Ok(render(&CodePage {
        chrome: Chrome::new(),
        title: "認証コードの入力",
        steps: steps(1),
        csrf,
        email: reg.email,
        expires_minutes: CODE_VALID.num_minutes(),
        error,
        notice,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct CodeQuery {
    sent: Option<String>,
}

pub(crate) async fn code_form(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, false).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    if reg.email_verified_at.is_some() {
        return Ok(see_other("/apply/form", &[]));
    }
    let notice = q.sent.map(|_| "認証コードを送信しました。");
    code_page(&state, csrf, reg, None, notice).await
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    code: String,
}

pub(crate) async fn code_submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, false).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    match service(&state)?
        .check_code(state.store(), &reg, &f.code, Utc::now())
        .await
    {
        Ok(true) => Ok(see_other("/apply/form?resumed=1", &[])),
        Ok(false) => Ok(see_other("/apply/form", &[])),
        Err(
            e @ (RegistrationError::WrongCode(_)
            | RegistrationError::TooManyAttempts
            | RegistrationError::CodeExpired),
        ) => code_page(&state, csrf, reg, Some(e.to_string()), None).await,
        Err(e) => Err(store_error(e)),
    }
}

// ---- ⑥ the form ----

pub(crate) struct FieldView {
    name: &'static str,
    label: &'static str,
    required: bool,
    hint: Option<&'static str>,
    value: String,
    options: Vec<(String, String)>,
    autocomplete: Option<&'static str>,
    numeric: bool,
    error: bool,
}

#[derive(Template)]
#[template(path = "apply_form.html")]
pub(crate) struct FormPage {
    chrome: Chrome,
    title: &'static str,
    steps: Vec<Step>,
    csrf: String,
    email: String,
    action: &'static str,
    proxy: bool,
    submit_label: &'static str,
    notice: Option<&'static str>,
    email_error: bool,
    errors: Vec<FieldError>,
    fields: Vec<FieldView>,
}

impl FormPage {
    /// The same form for 代理申請 by prefecture staff (with an optional address).
    pub(crate) fn proxy(
        csrf: String,
        email: &str,
        form: &ApplicationForm,
        errors: Vec<FieldError>,
    ) -> Self {
        Self {
            chrome: Chrome::new(),
            title: "代理申請",
            steps: Vec::new(),
            csrf,
            email: email.to_owned(),
            action: "/review/applications/new",
            proxy: true,
            submit_label: "代理申請する",
            notice: None,
            email_error: errors.iter().any(|e| e.field == "email"),
            fields: field_views(form, &errors),
            errors,
        }
    }
}

/// The fields of step ⑥, in the seeds' order, with their current values.
pub(crate) fn field_views(form: &ApplicationForm, errors: &[FieldError]) -> Vec<FieldView> {
    let has = |name: &str| errors.iter().any(|e| e.field == name);
    let kinds = FacilityKind::ALL
        .iter()
        .map(|k| (k.code().to_string(), k.name().to_owned()))
        .collect();
    let discriminators = Discriminator::ALL
        .iter()
        .map(|d| (d.id().to_owned(), d.label().to_owned()))
        .collect();
    let prefectures = PrefectureCode::all()
        .map(|p| (p.as_str(), p.name().to_owned()))
        .collect();
    let municipalities = PrefectureCode::parse(&form.prefecture)
        .map(|p| {
            teikyo_refdata::municipalities::in_prefecture(p)
                .iter()
                .map(|m| (m.code.to_string(), m.name.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let f = |name: &'static str,
             label: &'static str,
             required: bool,
             hint: Option<&'static str>,
             value: &str,
             options: Vec<(String, String)>,
             autocomplete: Option<&'static str>,
             numeric: bool| FieldView {
        name,
        label,
        required,
        hint,
        value: value.to_owned(),
        options,
        autocomplete,
        numeric,
        error: has(name),
    };
    vec![
        f(
            "facility_name",
            "機関名",
            true,
            Some("開設許可証などに記載の正式な名称です。"),
            &form.facility_name,
            vec![],
            Some("organization"),
            false,
        ),
        f(
            "facility_code",
            "機関コード",
            false,
            Some(
                "都道府県が割り当てた番号です（保険機関コードとは異なります）。お持ちでない場合、新しく開設した場合は空欄のままにしてください。",
            ),
            &form.facility_code,
            vec![],
            None,
            true,
        ),
        f(
            "kind",
            "機関区分",
            true,
            None,
            &form.kind,
            kinds,
            None,
            false,
        ),
        f(
            "discriminator",
            "機関判別区分",
            true,
            Some(
                "保険医療機関・保険薬局の指定の種類です。これにより、保険機関コードが必要かどうかが決まります。",
            ),
            &form.discriminator,
            discriminators,
            None,
            false,
        ),
        f(
            "phone",
            "電話番号",
            true,
            Some("施設の代表番号を、市外局番から入力してください。"),
            &form.phone,
            vec![],
            Some("tel"),
            true,
        ),
        f(
            "insurance_code",
            "保険機関コード",
            false,
            Some(
                "保険医療機関・保険薬局のコード10桁（都道府県番号2桁＋点数表番号1桁＋医療機関コード7桁）です。7桁のコードではありません。",
            ),
            &form.insurance_code,
            vec![],
            None,
            true,
        ),
        f(
            "postal_code",
            "郵便番号",
            true,
            Some(
                "7桁で入力し、「郵便番号から住所を自動入力」を押すと、都道府県・市区町村・町名が入ります。",
            ),
            &form.postal_code,
            vec![],
            Some("postal-code"),
            true,
        ),
        f(
            "prefecture",
            "都道府県",
            true,
            None,
            &form.prefecture,
            prefectures,
            None,
            false,
        ),
        f(
            "municipality",
            "市区町村",
            true,
            Some("都道府県を選ぶと一覧に表示されます。"),
            &form.municipality,
            municipalities,
            None,
            false,
        ),
        f(
            "town",
            "町名・番地",
            true,
            Some("例：広坂1丁目1番1号"),
            &form.town,
            vec![],
            Some("address-line1"),
            false,
        ),
        f(
            "building",
            "建物名",
            false,
            None,
            &form.building,
            vec![],
            Some("address-line2"),
            false,
        ),
        f(
            "department",
            "担当部署",
            true,
            None,
            &form.department,
            vec![],
            None,
            false,
        ),
        f(
            "family_name",
            "担当者(姓)",
            true,
            None,
            &form.family_name,
            vec![],
            Some("family-name"),
            false,
        ),
        f(
            "given_name",
            "担当者(名)",
            true,
            None,
            &form.given_name,
            vec![],
            Some("given-name"),
            false,
        ),
        f(
            "department_phone",
            "担当部署電話番号",
            true,
            None,
            &form.department_phone,
            vec![],
            Some("tel"),
            true,
        ),
    ]
}

/// The form fields from a posted form (the CSRF and action fields are ignored).
#[derive(Deserialize)]
pub(crate) struct PostedForm {
    #[serde(flatten)]
    pub(crate) form: ApplicationForm,
    #[serde(default)]
    pub(crate) action: String,
}

/// 「郵便番号から住所を自動入力」: the prefecture, municipality and (if the code names one) the
/// 町域 of the postal code; nothing is overwritten by a code that is unknown.
pub(crate) fn fill_address(form: &mut ApplicationForm) -> Result<(), FieldError> {
    let code = teikyo_domain::PostalCode::parse(&form.postal_code)
        .map_err(|e| FieldError::new("postal_code", e.to_string()))?;
    let area = teikyo_refdata::address::postal_area(code)
        .ok_or_else(|| FieldError::new("postal_code", unknown_postal_code(code)))?;
    form.postal_code = code.to_string();
    form.prefecture = area.first.prefecture.as_str();
    form.municipality = area.first.municipality.to_string();
    if !area.town.is_empty() && !form.town.starts_with(area.town) {
        form.town = format!("{}{}", area.town, form.town);
    }
    Ok(())
}

/// The message for a postal code the postal master does not have.
pub(crate) fn unknown_postal_code(code: teikyo_domain::PostalCode) -> String {
    format!("郵便番号 {code} は日本郵便の郵便番号データにありません。郵便番号をご確認ください。")
}

async fn form_page(
    csrf: String,
    reg: &Registration,
    form: &ApplicationForm,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&FormPage {
            chrome: Chrome::new(),
            title: "申請内容の入力",
            steps: steps(2),
            csrf,
            email: reg.email.clone(),
            action: "/apply/form",
            proxy: false,
            submit_label: "次へ",
            notice,
            email_error: false,
            fields: field_views(form, &errors),
            errors,
        })?,
    )
        .into_response())
}

#[derive(Deserialize)]
pub(crate) struct FormQuery {
    resumed: Option<String>,
}

pub(crate) async fn form(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
    Query(q): Query<FormQuery>,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, true).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    let notice = q
        .resumed
        .map(|_| "入力途中の申請を再開しました。前回入力した内容が表示されています。");
    form_page(csrf, &reg, &reg.form.clone(), Vec::new(), notice).await
}

pub(crate) async fn form_submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
    Form(posted): Form<PostedForm>,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, true).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    let mut form = posted.form;
    let service = service(&state)?;
    if posted.action == "postal" {
        let errors = fill_address(&mut form).err().into_iter().collect();
        service
            .save_form(state.store(), &reg, &form, Utc::now())
            .await
            .map_err(store_error)?
            .ok();
        return form_page(csrf, &reg, &form, errors, None).await;
    }
    match service
        .save_form(state.store(), &reg, &form, Utc::now())
        .await
        .map_err(store_error)?
    {
        Ok(_) => Ok(see_other("/apply/terms", &[])),
        Err(errors) => form_page(csrf, &reg, &form, errors, None).await,
    }
}

// ---- ⑦ consent ----

#[derive(Template)]
#[template(path = "apply_terms.html")]
struct TermsPage {
    chrome: Chrome,
    title: &'static str,
    steps: Vec<Step>,
    csrf: String,
    consented: bool,
    error: Option<String>,
}

pub(crate) async fn terms(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, true).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    Ok(render(&TermsPage {
        chrome: Chrome::new(),
        title: "利用規約とプライバシーポリシー",
        steps: steps(3),
        csrf,
        consented: reg.consented_at.is_some(),
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct ConsentForm {
    consent: Option<String>,
}

pub(crate) async fn terms_submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
    Form(f): Form<ConsentForm>,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, true).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    if f.consent.as_deref() != Some("yes") {
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            render(&TermsPage {
                chrome: Chrome::new(),
                title: "利用規約とプライバシーポリシー",
                steps: steps(3),
                csrf,
                consented: false,
                error: Some(RegistrationError::NoConsent.to_string()),
            })?,
        )
            .into_response());
    }
    state
        .store()
        .registrations()
        .consent(reg.id, Utc::now())
        .await?;
    Ok(see_other("/apply/review", &[]))
}

// ---- ⑧ review and submit ----

/// (label, value as shown) of every field, for the review page, the download and the
/// prefecture's detail page.
pub(crate) fn summary(form: &ApplicationForm) -> Vec<(&'static str, String)> {
    let kind = FacilityKind::parse(&form.kind).map_or(String::new(), |k| k.name().to_owned());
    let disc =
        Discriminator::parse(&form.discriminator).map_or(String::new(), |d| d.label().to_owned());
    let pref =
        PrefectureCode::parse(&form.prefecture).map_or(String::new(), |p| p.name().to_owned());
    let muni = teikyo_domain::MunicipalityCode::parse(&form.municipality)
        .ok()
        .and_then(teikyo_refdata::municipalities::get)
        .map_or(String::new(), |m| m.name.to_owned());
    vec![
        ("機関名", form.facility_name.clone()),
        ("機関コード", form.facility_code.clone()),
        ("機関区分", kind),
        ("機関判別区分", disc),
        ("電話番号", form.phone.clone()),
        ("保険機関コード", form.insurance_code.clone()),
        ("郵便番号", form.postal_code.clone()),
        ("都道府県", pref),
        ("市区町村", muni),
        ("町名・番地", form.town.clone()),
        ("建物名", form.building.clone()),
        ("担当部署", form.department.clone()),
        ("担当者(姓)", form.family_name.clone()),
        ("担当者(名)", form.given_name.clone()),
        ("担当部署電話番号", form.department_phone.clone()),
    ]
}

#[derive(Template)]
#[template(path = "apply_review.html")]
struct ReviewPage {
    chrome: Chrome,
    title: &'static str,
    steps: Vec<Step>,
    csrf: String,
    email: String,
    rows: Vec<(&'static str, String)>,
}

pub(crate) async fn review(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, true).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    if check_form(&reg.form).is_err() {
        return Ok(see_other("/apply/form", &[]));
    }
    if reg.consented_at.is_none() {
        return Ok(see_other("/apply/terms", &[]));
    }
    Ok(render(&ReviewPage {
        chrome: Chrome::new(),
        title: "入力内容の確認",
        steps: steps(4),
        csrf,
        email: reg.email.clone(),
        rows: summary(&reg.form),
    })?
    .into_response())
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let reg = match require(&state, &headers, true).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    match service(&state)?
        .submit(state.store(), &reg, Utc::now())
        .await
    {
        Ok(_) => Ok(see_other("/apply/done", &[])),
        Err(RegistrationError::Incomplete) => Ok(see_other("/apply/form", &[])),
        Err(RegistrationError::NoConsent) => Ok(see_other("/apply/terms", &[])),
        Err(RegistrationError::AlreadySubmitted) => Ok(see_other("/apply/done", &[])),
        Err(e) => Err(store_error(e)),
    }
}

// ---- ⑨ done, download ----

#[derive(Template)]
#[template(path = "apply_done.html")]
struct DonePage {
    chrome: Chrome,
    title: &'static str,
    steps: Vec<Step>,
    number: String,
    email: String,
    prefecture: String,
}

async fn submitted(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Registration, ApplicationNumber)>, WebError> {
    Ok(current(state, headers)
        .await?
        .and_then(|r| r.number.map(|n| (r, n))))
}

pub(crate) async fn done(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((reg, number)) = submitted(&state, &headers).await? else {
        return Ok(see_other("/apply", &[]));
    };
    Ok(render(&DonePage {
        chrome: Chrome::new(),
        title: "新規ユーザ登録申請が完了しました",
        steps: steps(5),
        number: number.to_string(),
        email: reg.email.clone(),
        prefecture: reg
            .prefecture
            .map_or("都道府県".to_owned(), |p| p.name().to_owned()),
    })?
    .into_response())
}

/// 「申請内容をダウンロードする」: a plain-text copy the applicant keeps (UTF-8 with BOM so that
/// Windows Notepad and Excel read it correctly).
pub(crate) async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((reg, number)) = submitted(&state, &headers).await? else {
        return Ok(see_other("/apply", &[]));
    };
    Ok(application_file(&reg, number))
}

pub(crate) fn application_file(reg: &Registration, number: ApplicationNumber) -> Response {
    let mut text = String::from("\u{feff}新規ユーザ登録申請 申請内容\r\n\r\n");
    text.push_str(&format!("申請番号: {number}\r\n"));
    if let Some(at) = reg.submitted_at {
        text.push_str(&format!("申請日時: {}\r\n", super::mail::tokyo_time(at)));
    }
    text.push_str(&format!("メールアドレス: {}\r\n", reg.email));
    for (label, value) in summary(&reg.form) {
        text.push_str(&format!("{label}: {value}\r\n"));
    }
    (
        [
            (CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{number}.txt\""),
            ),
        ],
        text,
    )
        .into_response()
}

// ---- status by number and address ----

pub(crate) struct StatusView {
    number: String,
    status: &'static str,
    explanation: String,
}

#[derive(Template)]
#[template(path = "apply_status.html")]
struct StatusPage {
    chrome: Chrome,
    title: &'static str,
    number: String,
    email: String,
    result: Option<Option<StatusView>>,
}

#[derive(Deserialize)]
pub(crate) struct StatusQuery {
    #[serde(default)]
    number: String,
    #[serde(default)]
    email: String,
}

pub(crate) async fn status(
    State(state): State<AppState>,
    Query(q): Query<StatusQuery>,
) -> Result<Response, WebError> {
    let number: String = q.number.trim().chars().take(20).collect();
    let email: String = q.email.trim().chars().take(254).collect();
    let mut result = None;
    if !number.is_empty() || !email.is_empty() {
        let found = match ApplicationNumber::parse(&number) {
            Some(n) => state.store().registrations().by_number(n).await?,
            None => None,
        };
        // Both must match: the number alone tells nobody anything about someone else's application.
        let found = found.filter(|r| !email.is_empty() && r.email.eq_ignore_ascii_case(&email));
        result = Some(found.and_then(|r| {
            let n = r.number?;
            Some(StatusView {
                number: n.to_string(),
                status: r.status.label(),
                explanation: explain(&r),
            })
        }));
    }
    Ok(render(&StatusPage {
        chrome: Chrome::new(),
        title: "申請の状況",
        number,
        email,
        result,
    })?
    .into_response())
}

fn explain(r: &Registration) -> String {
    let pref = r
        .prefecture
        .map_or("都道府県".to_owned(), |p| p.name().to_owned());
    match r.status {
        ApplicationStatus::Submitted => format!("{pref}が申請内容を確認しています。承認されると、ログインIDとパスワード設定のご案内をメールでお送りします。"),
        ApplicationStatus::Approved => "承認されました。アカウントのご案内をメールでお送りします（既にアカウントをお持ちの場合は、既存のご利用者確認依頼メールをお送りします）。".to_owned(),
        ApplicationStatus::Rejected => format!(
            "却下されました。理由：{}。内容をご確認のうえ、必要であれば改めて申請してください。",
            r.reject_reason.as_deref().unwrap_or("（記載なし）")
        ),
        ApplicationStatus::Verifying | ApplicationStatus::Draft => "申請はまだ送信されていません。".to_owned(),
    }
}
