//! The demo's accounts, printed at start so that a new user can sign in at once: a facility's
//! user, a reviewer of that facility's prefecture, and the operator. All share one password that
//! meets the seeds' rule; a real deployment creates none of them.

use teikyo_domain::FacilityKind;
use teikyo_domain::account::{Area, LoginId, Membership, StaffLevel};
use teikyo_store::{FacilityFilter, NewUser, Store};

/// The demo password: 8 characters or more, upper case, lower case and digits.
pub const PASSWORD: &str = "Teikyo2026";

pub struct DemoLogin {
    pub role: &'static str,
    pub login_id: String,
    pub scope: String,
    /// What to try with it, printed under the login.
    pub hint: Option<String>,
}

fn user(login_id: &str, family: &str, given: &str, department: &str) -> anyhow::Result<NewUser> {
    Ok(NewUser {
        login_id: LoginId::parse(login_id)?,
        email: format!("{login_id}@demo.example.jp"),
        family_name: family.into(),
        given_name: given.into(),
        phone: Some("03-0000-0000".into()),
        extension: None,
        fax: None,
        department: Some(department.into()),
    })
}

/// Creates the three demo accounts over the imported facilities. The clinic is the first whose
/// insurance code has NDB counts of `counts_year` (imported by the demo), so its
/// 保険医療機関番号確認 shows the preprint; any clinic if none has.
pub async fn create(store: &Store, counts_year: u16) -> anyhow::Result<Vec<DemoLogin>> {
    let clinics: Vec<_> = store
        .facilities()
        .list(&FacilityFilter::default(), 500, 0)
        .await?
        .into_iter()
        .filter(|f| f.record.kind == FacilityKind::Clinic)
        .collect();
    let mut chosen = None;
    for f in &clinics {
        if !f.record.insurance_codes.is_empty()
            && !store
                .insurance()
                .preprint(counts_year, &f.record.insurance_codes)
                .await?
                .is_empty()
        {
            chosen = Some(f.clone());
            break;
        }
    }
    let facility = chosen
        .or_else(|| clinics.first().cloned())
        .ok_or_else(|| anyhow::anyhow!("デモデータに診療所がありません"))?;
    let clinic_hint = facility.record.insurance_codes.first().map(|c| {
        format!("保険医療機関番号確認で入力する番号: {c}（入力済みで表示されます。照合すると前年度実施件数がプレプリントされます）")
    });
    let prefecture = facility.record.prefecture;
    let hash = teikyo_account::hash_password(PASSWORD.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("パスワードのハッシュ化に失敗しました: {e}"))?;
    let users = store.users();
    let accounts = [
        (
            user("demo-clinic", "医療", "花子", "事務部")?,
            Membership::Facility {
                facility_id: facility.id.0,
                admin: true,
                programs: vec![teikyo_domain::Program::MedicalFunction],
            },
            "医療機関の利用者",
            facility.record.names.official.clone(),
            clinic_hint,
        ),
        (
            user("demo-pref", "県庁", "太郎", "医療政策課")?,
            Membership::Prefecture {
                prefecture,
                level: StaffLevel::Reviewer,
                area: Area::Whole,
            },
            "都道府県の審査担当",
            prefecture.name().to_owned(),
            None,
        ),
        (
            user("demo-operator", "運用", "次郎", "運用窓口")?,
            Membership::Operator,
            "運用者",
            "全国".to_owned(),
            None,
        ),
    ];
    open_period(store, prefecture).await?;
    let mut out = Vec::new();
    for (new, membership, role, scope, hint) in accounts {
        let id = users.create(&new).await?;
        users.set_password_hash(id, &hash).await?;
        users.add_membership(id, &membership).await?;
        out.push(DemoLogin {
            role,
            login_id: new.login_id.as_str().to_owned(),
            scope,
            hint,
        });
    }
    Ok(out)
}

/// The demo prefecture's 定期報告 period of the current 年度, open since last week and due in
/// two months, so the demo clinic can start, fill in and submit its report.
async fn open_period(
    store: &Store,
    prefecture: teikyo_domain::PrefectureCode,
) -> anyhow::Result<()> {
    use teikyo_domain::period::{DEFAULT_REMINDER_DAYS, ReportingPeriod};
    let today = chrono::Utc::now()
        .with_timezone(
            &chrono::FixedOffset::east_opt(9 * 3600).ok_or_else(|| anyhow::anyhow!("JST"))?,
        )
        .date_naive();
    let period = ReportingPeriod {
        prefecture,
        fiscal_year: teikyo_domain::report::fiscal_year_of(today),
        facility_kinds: FacilityKind::ALL.to_vec(),
        reference_date: today,
        opens_on: today - chrono::Days::new(7),
        closes_on: today + chrono::Days::new(60),
        extended_to: None,
        closed: false,
        reminder_days: DEFAULT_REMINDER_DAYS.to_vec(),
        message: Some(format!(
            "ご不明な点は{}の医療機能情報提供制度の担当までお問い合わせください。",
            prefecture.name()
        )),
    };
    store
        .periods()
        .create(
            &period,
            None,
            teikyo_store::AuditEvent::new("period.opened", None),
            chrono::Utc::now(),
        )
        .await?;
    // The prefecture's お知らせ on everyone's home page, as a real prefecture would post it.
    store
        .notices()
        .post(
            &teikyo_store::NewNotice {
                prefecture: Some(prefecture),
                title: format!(
                    "{}の定期報告を受け付けています",
                    teikyo_domain::report::fiscal_year_label(period.fiscal_year)
                ),
                body: format!(
                    "報告期限は{}です。すべての項目を入力したあと、「報告」ボタンを押して報告を完了してください。\n（これはデモ用のお知らせです。）",
                    period.closes_on.format("%Y年%-m月%-d日")
                ),
                shown_from: period.opens_on,
                shown_until: Some(period.closes_on),
                by: None,
            },
            teikyo_store::AuditEvent::new("notice.posted", None),
            chrono::Utc::now(),
        )
        .await?;
    Ok(())
}
