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
pub mod auth;
mod config;
mod error;
mod html;
mod middleware;
mod probes;
mod routes;
mod serve;
mod state;
mod viewer;

use axum::Router;

pub use auth::Rule;
pub use config::{MapConfig, MfaPolicy, WebConfig};
pub use error::WebError;
pub use middleware::metrics::metrics_handle;
pub use routes::{RouteInfo, route_table};
pub use serve::{serve, shutdown_signal};
pub use state::AppState;

/// The whole application: pages, probes and static assets (see `routes`), wrapped in the
/// middleware stack.
pub fn router(state: AppState) -> Router {
    let config = state.config().clone();
    let routes = routes::routes(&state)
        .fallback(html::errors::not_found)
        .with_state(state);
    with_middleware(routes, &config)
}

/// Wraps `routes` in the middleware stack of [`router`]. Public so that tests (and later
/// sub-applications) get exactly the same request ids, limits, timeouts and error pages.
///
/// Layers apply to the routes present when this is called; add routes first.
pub fn with_middleware(routes: Router, config: &WebConfig) -> Router {
    middleware::stack(routes, config)
}
