use std::any::Any;

use axum::response::{IntoResponse, Response};

use crate::error::WebError;

/// A panicking handler becomes the 500 page; the panic message goes to the log only.
pub(crate) fn respond(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    };
    WebError::Internal(format!("handler panicked: {message}")).into_response()
}
