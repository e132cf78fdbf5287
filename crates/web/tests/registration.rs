//! 新規ユーザ登録申請 ②–⑩ over HTTP, with the mails read from the in-memory transport: the
//! captcha, the 認証コード (wrong, right, limits), the address auto-fill, the checks, consent,
//! review, submission with its 申請番号, the download, the 申請完了メール, the status page, and
//! resuming an abandoned form from the address. On SQLite and, when configured, PostgreSQL.

use axum::http::StatusCode;
use teikyo_testkit::web::{Client, Page, Site, on_each_backend};

/// ②: the address and a solved captcha; returns the captcha payload used.
async fn start(c: &mut Client, email: &str) -> String {
    let page = c.get("/apply").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let captcha = Client::solve_captcha(&page);
    let res = c
        .post("/apply", &[("email", email), ("captcha", &captcha)])
        .await;
    assert_eq!(
        res.location.as_deref(),
        Some("/apply/confirm"),
        "{}",
        res.body
    );
    captcha
}

/// ③–⑤: send the code, read it from the mail, enter it.
async fn confirm_address(site: &Site, c: &mut Client, email: &str) -> Page {
    let page = c.get("/apply/confirm").await;
    assert!(page.body.contains(email), "{}", page.body);
    assert!(page.body.contains("認証メールを送信する"));
    let res = c.post("/apply/send", &[]).await;
    assert_eq!(res.location.as_deref(), Some("/apply/code?sent=1"));
    c.get("/apply/code?sent=1").await;
    site.run_jobs().await;
    let mail = site
        .mails_to(email)
        .into_iter()
        .last()
        .expect("the code mail");
    let code = mail
        .body
        .lines()
        .find_map(|l| l.strip_prefix("認証コード: "))
        .expect("a code line")
        .trim()
        .to_owned();
    assert_eq!(code.len(), 6);
    c.post("/apply/code", &[("code", &code)]).await
}

fn filled() -> Vec<(&'static str, &'static str)> {
    vec![
        ("facility_name", "広坂クリニック"),
        ("facility_code", ""),
        ("kind", "2"),
        ("discriminator", "medical"),
        ("phone", "076-220-2211"),
        ("insurance_code", "1710112341"),
        ("postal_code", "9200962"),
        ("prefecture", "17"),
        ("municipality", "172014"),
        ("town", "広坂1丁目1番1号"),
        ("building", ""),
        ("department", "事務部"),
        ("family_name", "金沢"),
        ("given_name", "花子"),
        ("department_phone", "076-220-2212"),
    ]
}

#[tokio::test]
async fn the_whole_application_from_address_to_number_and_mail() {
    on_each_backend(|site| async move {
        let mut c = site.client();
        let email = "tanto@hirosaka.example.jp";
        let captcha = start(&mut c, email).await;

        // ⑤ a wrong code first.
        let page = c.get("/apply/confirm").await;
        assert_eq!(page.status, StatusCode::OK);
        c.post("/apply/send", &[]).await;
        c.get("/apply/code").await;
        let wrong = c.post("/apply/code", &[("code", "12345")]).await;
        assert!(
            wrong.body.contains("認証コードが正しくありません。あと4回"),
            "{}",
            wrong.body
        );
        // Resending straight away is refused with the wait.
        let again = c.post("/apply/send", &[]).await;
        assert!(again.body.contains("秒ほど待ってから"), "{}", again.body);

        site.run_jobs().await;
        let mail = &site.mails_to(email)[0];
        assert!(mail.subject.contains("認証コード"), "{}", mail.subject);
        let code = mail
            .body
            .lines()
            .find_map(|l| l.strip_prefix("認証コード: "))
            .unwrap()
            .trim()
            .to_owned();
        let res = c
            .post(
                "/apply/code",
                &[("code", &format!(" {} ", to_full_width(&code)))],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/apply/form"), "{}", res.body);

        // ⑥ the postal code fills the address.
        let form = c.get("/apply/form").await;
        assert!(form.body.contains("機関判別区分"), "{}", form.body);
        let res = c
            .post(
                "/apply/form",
                &[("postal_code", "９２０－０９６２"), ("action", "postal")],
            )
            .await;
        assert!(
            res.body
                .contains("<option value=\"17\" selected>石川県</option>"),
            "{}",
            res.body
        );
        assert!(
            res.body.contains("selected>金沢市</option>"),
            "{}",
            res.body
        );
        assert!(res.body.contains("value=\"広坂\""), "{}", res.body);

        // Mistakes are all listed; what was typed is kept.
        let mut bad = filled();
        bad.retain(|(k, _)| *k != "department");
        bad.push(("department", ""));
        bad.iter_mut().for_each(|f| {
            if f.0 == "town" {
                f.1 = "香林坊1丁目1番1号";
            }
        });
        let res = c.post("/apply/form", &bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            res.body.contains("担当部署を入力してください。"),
            "{}",
            res.body
        );
        assert!(
            res.body.contains("value=\"広坂クリニック\""),
            "typed values kept"
        );
        let res = c
            .post("/apply/form", &{
                let mut f = filled();
                f.iter_mut().for_each(|f| {
                    if f.0 == "town" {
                        f.1 = "香林坊1丁目1番1号";
                    }
                });
                f
            })
            .await;
        assert!(
            res.body.contains("郵便番号と所在地が不整合です。"),
            "{}",
            res.body
        );

        let res = c.post("/apply/form", &filled()).await;
        assert_eq!(
            res.location.as_deref(),
            Some("/apply/terms"),
            "{}",
            res.body
        );

        // ⑦ consent is required.
        c.get("/apply/terms").await;
        let res = c.post("/apply/terms", &[]).await;
        assert!(res.body.contains("同意が必要です"), "{}", res.body);
        let res = c.post("/apply/terms", &[("consent", "yes")]).await;
        assert_eq!(res.location.as_deref(), Some("/apply/review"));

        // ⑧ review, then 申請する.
        let review = c.get("/apply/review").await;
        for expected in [
            "広坂クリニック",
            "診療所",
            "保険医療機関（医科）",
            "石川県",
            "金沢市",
            email,
        ] {
            assert!(
                review.body.contains(expected),
                "missing {expected}: {}",
                review.body
            );
        }
        let res = c.post("/apply/submit", &[]).await;
        assert_eq!(res.location.as_deref(), Some("/apply/done"));

        // ⑨ the number, the download.
        let done = c.get("/apply/done").await;
        assert!(
            done.body.contains("新規ユーザ登録申請が完了しました。"),
            "{}",
            done.body
        );
        let start = done.body.find("API-").expect("a number");
        let number = done.body[start..start + 12].to_owned();
        assert!(number[4..].bytes().all(|b| b.is_ascii_digit()), "{number}");
        assert!(done.body.contains("申請内容をダウンロードする"));
        let file = c.get("/apply/download").await;
        assert_eq!(file.status, StatusCode::OK);
        assert!(
            file.body.contains(&format!("申請番号: {number}")),
            "{}",
            file.body
        );
        assert!(file.body.contains("機関名: 広坂クリニック"));

        // ⑩ the 申請完了メール.
        site.run_jobs().await;
        let mails = site.mails_to(email);
        let received = mails.last().unwrap();
        assert!(received.body.contains(&number), "{}", received.body);
        assert!(received.body.contains("アカウントはまだ発行されていません"));

        // Submitting again changes nothing; the form is closed.
        assert_eq!(
            c.post("/apply/submit", &[]).await.location.as_deref(),
            Some("/apply/done")
        );
        assert_eq!(
            c.get("/apply/form").await.location.as_deref(),
            Some("/apply/done")
        );

        // The status page, by number and address (both needed).
        let status = c
            .get(&format!(
                "/apply/status?number={number}&email=TANTO@hirosaka.example.jp"
            ))
            .await;
        assert!(status.body.contains("審査待ち"), "{}", status.body);
        let status = c
            .get(&format!(
                "/apply/status?number={number}&email=other@example.jp"
            ))
            .await;
        assert!(
            status.body.contains("見つかりませんでした"),
            "{}",
            status.body
        );

        // The captcha solution was spent: a replay is refused.
        let mut other = site.client();
        other.get("/apply").await;
        let res = other
            .post(
                "/apply",
                &[("email", "someone@example.jp"), ("captcha", &captcha)],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            res.body
                .contains("ロボットでないことの確認ができませんでした"),
            "{}",
            res.body
        );
    })
    .await;
}

fn to_full_width(digits: &str) -> String {
    digits
        .chars()
        .map(|c| char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c))
        .collect()
}

#[tokio::test]
async fn an_abandoned_application_is_resumed_from_the_address() {
    on_each_backend(|site| async move {
        let email = "resume@clinic.example.jp";
        let mut first = site.client();
        start(&mut first, email).await;
        let res = confirm_address(&site, &mut first, email).await;
        assert_eq!(res.location.as_deref(), Some("/apply/form"));
        let mut half = filled();
        half.truncate(3);
        first.get("/apply/form").await;
        first.post("/apply/form", &half).await;

        // Another day, another browser: the same address, confirmed again.
        let mut second = site.client();
        start(&mut second, email).await;
        let res = confirm_address(&site, &mut second, email).await;
        assert_eq!(res.location.as_deref(), Some("/apply/form?resumed=1"));
        let form = second.get("/apply/form?resumed=1").await;
        assert!(
            form.body.contains("入力途中の申請を再開しました。"),
            "{}",
            form.body
        );
        assert!(
            form.body.contains("value=\"広坂クリニック\""),
            "{}",
            form.body
        );
        // The first browser's link to it is gone.
        assert_eq!(
            first.get("/apply/form").await.location.as_deref(),
            Some("/apply")
        );
    })
    .await;
}

#[tokio::test]
async fn codes_have_limits_and_a_bad_captcha_or_address_is_refused() {
    on_each_backend(|site| async move {
        let mut c = site.client();
        let page = c.get("/apply").await;
        let res = c
            .post(
                "/apply",
                &[
                    ("email", "not-an-address"),
                    ("captcha", &Client::solve_captcha(&page)),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            res.body.contains("メールアドレスの形式が正しくありません"),
            "{}",
            res.body
        );
        let res = c
            .post(
                "/apply",
                &[("email", "ok@example.jp"), ("captcha", "eyJmb28iOjF9")],
            )
            .await;
        assert!(
            res.body
                .contains("ロボットでないことの確認ができませんでした"),
            "{}",
            res.body
        );
        // Pages past ② without an application go back to the start.
        assert_eq!(
            c.get("/apply/form").await.location.as_deref(),
            Some("/apply")
        );
        assert_eq!(
            c.get("/apply/done").await.location.as_deref(),
            Some("/apply")
        );

        start(&mut c, "limits@example.jp").await;
        c.get("/apply/confirm").await;
        c.post("/apply/send", &[]).await;
        c.get("/apply/code").await;
        // The form is not reachable before the code.
        assert_eq!(
            c.get("/apply/form").await.location.as_deref(),
            Some("/apply/code")
        );
        for left in (1..=4).rev() {
            let res = c.post("/apply/code", &[("code", "abcdef")]).await;
            assert!(res.body.contains(&format!("あと{left}回")), "{}", res.body);
        }
        let res = c.post("/apply/code", &[("code", "abcdef")]).await;
        assert!(res.body.contains("5回間違えたため"), "{}", res.body);
        // Even the right code no longer works.
        site.run_jobs().await;
        let code = site.mails_to("limits@example.jp")[0]
            .body
            .lines()
            .find_map(|l| l.strip_prefix("認証コード: "))
            .unwrap()
            .trim()
            .to_owned();
        let res = c.post("/apply/code", &[("code", &code)]).await;
        assert!(res.body.contains("5回間違えたため"), "{}", res.body);
    })
    .await;
}
