//! Headless Chromium through chromedriver, with axe-core accessibility checks and screenshots.
//!
//! Needs Debian's `chromium` and `chromium-driver` and the npm package `axe-core` (see
//! `.ci/browser-setup`). Where they are missing, [`Browser::launch_or_skip`] prints a loud
//! `BROWSER TEST NOT RUN: …` line and lets the test pass, unless `TEIKYO_REQUIRE_BROWSER=1`
//! (CI sets it once the setup script has run), in which case the test fails.
//!
//! ```no_run
//! # async fn t() -> anyhow::Result<()> {
//! use teikyo_testkit::browser::Browser;
//! let Some(browser) = Browser::launch_or_skip().await else { return Ok(()) };
//! browser.goto("http://127.0.0.1:8080/").await?;
//! let violations = browser.axe_check().await?;
//! assert!(!violations.iter().any(|v| v.is_blocking()));
//! browser.close().await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub const CHROMIUM_VAR: &str = "TEIKYO_CHROMIUM";
pub const CHROMEDRIVER_VAR: &str = "TEIKYO_CHROMEDRIVER";
pub const REQUIRE_VAR: &str = "TEIKYO_REQUIRE_BROWSER";
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const AXE_PATH: &str = "node_modules/axe-core/axe.min.js";

/// The flags every test browser runs with (plus a fresh profile directory and a window size):
/// nothing phones home, nothing is remembered between runs.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

const WINDOW: (u32, u32) = (1280, 900);
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the tools are. Found by [`Setup::locate`].
#[derive(Debug, Clone)]
pub struct Setup {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
    pub axe_js: PathBuf,
}

impl Setup {
    /// Finds Chromium, chromedriver and axe-core, or says which is missing.
    pub fn locate() -> Result<Self, String> {
        let chromium = tool(CHROMIUM_VAR, DEFAULT_CHROMIUM)?;
        let chromedriver = tool(CHROMEDRIVER_VAR, DEFAULT_CHROMEDRIVER)?;
        let axe_js = find_axe().ok_or_else(|| format!("axe-core not found ({AXE_PATH})"))?;
        Ok(Self {
            chromium,
            chromedriver,
            axe_js,
        })
    }
}

/// The tool at `$var`, or at `default`; the error names what is missing and where it looked.
fn tool(var: &str, default: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from);
    if path.is_file() {
        Ok(path)
    } else {
        let name = Path::new(default)
            .file_name()
            .map_or(default.into(), |n| n.to_string_lossy());
        Err(format!(
            "{name} not found at {} (or set {var})",
            path.display()
        ))
    }
}

/// `node_modules/axe-core/axe.min.js` in the nearest ancestor of the crate under test (cargo
/// sets `CARGO_MANIFEST_DIR` when it runs a test) or of this crate.
fn find_axe() -> Option<PathBuf> {
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ];
    starts.into_iter().flatten().find_map(|start| {
        start
            .ancestors()
            .map(|dir| dir.join(AXE_PATH))
            .find(|p| p.is_file())
    })
}

/// The repository root: the nearest ancestor holding `Cargo.lock`. For output such as
/// `target/screenshots/`.
pub fn repo_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    start
        .ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .map_or(start.clone(), Path::to_path_buf)
}

/// How bad an axe-core finding is, in axe's own order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Minor,
    Moderate,
    Serious,
    Critical,
}

/// One element that breaks a rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AxeNode {
    /// CSS selector path (nested arrays inside shadow DOM), as axe reports it.
    pub target: Value,
    pub html: String,
    #[serde(default)]
    pub failure_summary: Option<String>,
}

/// One axe-core rule that the page breaks, with every offending element.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AxeViolation {
    pub id: String,
    /// `None` only for rules axe does not grade; treated as the least severe.
    pub impact: Option<Impact>,
    pub help: String,
    pub help_url: String,
    pub nodes: Vec<AxeNode>,
}

impl AxeViolation {
    /// Serious or critical: what a test fails on.
    pub fn is_blocking(&self) -> bool {
        self.impact >= Some(Impact::Serious)
    }
}

impl fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = self
            .impact
            .map_or_else(|| "unknown".to_owned(), |i| format!("{i:?}").to_lowercase());
        writeln!(
            f,
            "[{impact}] {}: {} ({})",
            self.id, self.help, self.help_url
        )?;
        for node in &self.nodes {
            writeln!(f, "    at {}: {}", node.target, node.html)?;
            if let Some(summary) = &node.failure_summary {
                for line in summary.lines() {
                    writeln!(f, "       {line}")?;
                }
            }
        }
        Ok(())
    }
}

/// A headless Chromium session. Ends the session and kills chromedriver when dropped; call
/// [`Browser::close`] to do it gracefully.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    driver_addr: SocketAddr,
    session_id: Option<String>,
    axe_source: String,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts a browser, or returns `None` after printing why not if the tools are missing.
    /// Panics when they are missing and `TEIKYO_REQUIRE_BROWSER=1`, and when they are present
    /// but do not start (that is a real failure).
    pub async fn launch_or_skip() -> Option<Self> {
        match Setup::locate() {
            Ok(setup) => Some(
                Self::launch(&setup)
                    .await
                    .unwrap_or_else(|err| panic!("browser did not start: {err:#}")),
            ),
            Err(reason) => {
                let required = std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1");
                let line = format!("BROWSER TEST NOT RUN: {reason} (run .ci/browser-setup)");
                if required {
                    panic!("{line}; {REQUIRE_VAR}=1 requires it");
                }
                // Straight to the process's stderr: the test harness captures `eprintln!`, and
                // this line must be seen in a normal `cargo test` run.
                let bar = "!".repeat(72);
                let _ = writeln!(std::io::stderr(), "\n{bar}\n{line}\n{bar}\n");
                None
            }
        }
    }

    pub async fn launch(setup: &Setup) -> anyhow::Result<Self> {
        let axe_source = std::fs::read_to_string(&setup.axe_js)
            .with_context(|| format!("reading {}", setup.axe_js.display()))?;
        let profile = tempfile::Builder::new()
            .prefix("teikyo-chromium-")
            .tempdir()
            .context("creating the browser profile directory")?;

        let port = free_port()?;
        let driver_addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log_path = profile.path().join("chromedriver.log");
        let log = std::fs::File::create(&log_path)?;
        let driver = Command::new(&setup.chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", setup.chromedriver.display()))?;
        // From here on, dropping `browser` kills chromedriver, whatever fails next.
        let mut browser = Self {
            client: None,
            driver,
            driver_addr,
            session_id: None,
            axe_source,
            profile,
        };
        if let Err(err) = browser.wait_for_driver().await {
            return Err(err.context(driver_log(&log_path)));
        }

        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!(
            "--user-data-dir={}",
            browser.profile.path().join("profile").display()
        ));
        args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": setup.chromium, "args": args }),
        );
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://{driver_addr}"))
            .await
            .with_context(|| {
                format!("opening a chromedriver session; {}", driver_log(&log_path))
            })?;
        browser.session_id = client.session_id().await.ok().flatten();
        browser.client = Some(client);
        Ok(browser)
    }

    async fn wait_for_driver(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            if let Some(status) = self.driver.try_wait()? {
                bail!("chromedriver exited at start ({status})");
            }
            if tokio::net::TcpStream::connect(self.driver_addr)
                .await
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "chromedriver did not listen on {} in time",
                    self.driver_addr
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The WebDriver client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        // Set in `launch` before `Self` is handed out, taken only by `close(self)`.
        self.client
            .as_ref()
            .unwrap_or_else(|| unreachable!("browser used after close"))
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client()
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// Makes the page's viewport (`window.innerWidth`) `px` CSS pixels wide, keeping the height.
    pub async fn set_width(&self, px: u32) -> anyhow::Result<()> {
        let client = self.client();
        let (_, height) = client.get_window_size().await?;
        let height = u32::try_from(height).unwrap_or(WINDOW.1);
        client.set_window_size(px, height).await?;
        // The window may be wider than its viewport (borders, scroll bars): correct once.
        let inner = self.inner_width().await?;
        if inner != i64::from(px) {
            let corrected = i64::from(px) + (i64::from(px) - inner);
            let corrected = u32::try_from(corrected).context("window width out of range")?;
            client.set_window_size(corrected, height).await?;
        }
        let inner = self.inner_width().await?;
        if inner != i64::from(px) {
            bail!("could not make the viewport {px} px wide (it is {inner} px)");
        }
        Ok(())
    }

    async fn inner_width(&self) -> anyhow::Result<i64> {
        self.client()
            .execute("return window.innerWidth;", vec![])
            .await?
            .as_i64()
            .context("window.innerWidth is not a number")
    }

    /// Saves a PNG of the whole page (not only the visible part) at the current width.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let client = self.client();
        let (width, height) = client.get_window_size().await?;
        let width = u32::try_from(width).context("window width out of range")?;
        let height = u32::try_from(height).context("window height out of range")?;
        // Measure the content with a short viewport (pages may be at least 100vh tall) and
        // without a scroll bar (it would narrow the layout and lengthen the page), then grow
        // the window until the viewport is exactly as tall as the content. The window can be
        // taller than its viewport, so correct by the difference rather than guess.
        client
            .execute(
                "document.documentElement.dataset.teikyoOverflow = document.documentElement.style.overflow;
                 document.documentElement.style.overflow = 'hidden';",
                vec![],
            )
            .await?;
        client.set_window_size(width, 200).await?;
        let doc = self
            .js_u32("return Math.ceil(document.documentElement.scrollHeight);")
            .await?;
        for _ in 0..3 {
            let inner = self.js_u32("return window.innerHeight;").await?;
            if inner == doc {
                break;
            }
            let (_, window_height) = client.get_window_size().await?;
            let window_height = i64::try_from(window_height).unwrap_or(i64::from(height));
            let target = window_height + i64::from(doc) - i64::from(inner);
            let target = u32::try_from(target).context("window height out of range")?;
            client.set_window_size(width, target).await?;
        }
        let png = client.screenshot().await;
        client
            .execute(
                "const root = document.documentElement;
                 root.style.overflow = root.dataset.teikyoOverflow || '';
                 delete root.dataset.teikyoOverflow;",
                vec![],
            )
            .await?;
        client.set_window_size(width, height).await?;
        let png = png?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    async fn js_u32(&self, script: &str) -> anyhow::Result<u32> {
        self.client()
            .execute(script, vec![])
            .await?
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .with_context(|| format!("`{script}` gave no number"))
    }

    /// Runs axe-core on the current page and returns every violation, most severe first.
    pub async fn axe_check(&self) -> anyhow::Result<Vec<AxeViolation>> {
        let client = self.client();
        let loaded = client
            .execute("return typeof window.axe === 'object';", vec![])
            .await?;
        if loaded != Value::Bool(true) {
            client
                .execute(&self.axe_source, vec![])
                .await
                .context("injecting axe-core")?;
        }
        let result = client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, { resultTypes: ["violations"] })
                      .then(r => done(JSON.stringify({ violations: r.violations })))
                      .catch(e => done(JSON.stringify({ error: String(e) })));"#,
                vec![],
            )
            .await
            .context("running axe-core")?;
        let text = result.as_str().context("axe-core returned no JSON")?;
        let parsed: Value = serde_json::from_str(text)?;
        if let Some(err) = parsed.get("error") {
            bail!("axe-core failed: {err}");
        }
        let mut violations: Vec<AxeViolation> =
            serde_json::from_value(parsed.get("violations").cloned().unwrap_or(Value::Null))
                .context("reading axe-core's violations")?;
        violations.sort_by_key(|v| std::cmp::Reverse(v.impact));
        Ok(violations)
    }

    /// Ends the session (Chromium exits) and stops chromedriver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        if let Some(client) = self.client.take() {
            client.close().await.context("ending the browser session")?;
        }
        self.session_id = None;
        self.driver.kill().await.ok();
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Without a DELETE of the session, killing chromedriver would orphan Chromium. Drop
        // cannot await, so speak the one WebDriver request by hand.
        if let Some(session) = self.session_id.take() {
            delete_session(self.driver_addr, &session);
        }
        let _ = self.driver.start_kill();
    }
}

fn delete_session(addr: SocketAddr, session: &str) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
}

/// The driver's log, for error messages: it lives in the profile directory, which is removed.
fn driver_log(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(log) if !log.trim().is_empty() => format!("chromedriver log:\n{log}"),
        _ => "chromedriver wrote no log".to_owned(),
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impacts_order_by_severity() {
        assert!(Impact::Critical > Impact::Serious);
        assert!(Impact::Serious > Impact::Moderate);
        assert!(Some(Impact::Minor) > None);
    }

    #[test]
    fn parses_an_axe_violation() {
        let v: AxeViolation = serde_json::from_value(json!({
            "id": "color-contrast",
            "impact": "serious",
            "help": "Elements must meet minimum color contrast ratio thresholds",
            "helpUrl": "https://dequeuniversity.com/rules/axe/4.10/color-contrast",
            "tags": ["wcag2aa"],
            "nodes": [{ "target": ["p.muted"], "html": "<p class=\"muted\">", "failureSummary": "Fix" }]
        }))
        .unwrap();
        assert!(v.is_blocking());
        assert!(v.to_string().contains("[serious] color-contrast"));
    }
}
