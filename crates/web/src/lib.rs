//! The Teikyo web application: server-rendered Japanese pages, the health and metrics probes and
//! the middleware every request passes through.
//!
//! Handlers are thin: they parse, call the store or a service, and render. Pages are askama
//! templates (`templates/`) in one shared layout; the stylesheet is embedded in the binary.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use teikyo_web::{AppState, WebConfig};
//! let store = teikyo_store::Store::connect("sqlite://teikyo.sqlite").await?;
//! store.migrate().await?;
//! let app = teikyo_web::router(AppState::new(store, WebConfig::default()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! teikyo_web::serve(listener, app, teikyo_web::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

mod api;
mod assets;
mod config;
mod error;
mod html;
mod middleware;
mod probes;
mod serve;
mod state;
mod viewer;

use axum::Router;
use axum::routing::get;

pub use config::WebConfig;
pub use error::WebError;
pub use middleware::metrics::metrics_handle;
pub use serve::{serve, shutdown_signal};
pub use state::AppState;

/// The whole application: pages, probes and static assets, wrapped in the middleware stack.
pub fn router(state: AppState) -> Router {
    let config = state.config().clone();
    let mut routes = Router::new()
        .route("/", get(html::public::landing))
        .route("/about/data", get(html::public::data_credits))
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .route("/static/{file}", get(assets::serve_asset));
    // Not routed at all outside the demo, rather than refused: without accounts nothing could
    // restrict who reads them.
    if config.demo {
        routes = routes.merge(html::mail::demo_routes());
    }
    match config.usable_bounce_token() {
        Some(token) => routes = routes.merge(api::bounces::routes(token)),
        None if config.bounce_token.is_some() => {
            tracing::warn!("bounce_token is blank; POST /mail/bounces is not served");
        }
        None => {}
    }
    let routes = routes.fallback(html::errors::not_found).with_state(state);
    with_middleware(routes, &config)
}

/// Wraps `routes` in the middleware stack of [`router`]. Public so that tests (and later
/// sub-applications) get exactly the same request ids, limits, timeouts and error pages.
///
/// Layers apply to the routes present when this is called; add routes first.
pub fn with_middleware(routes: Router, config: &WebConfig) -> Router {
    middleware::stack(routes, config)
}
