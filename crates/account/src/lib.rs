//! Account services over the store: password hashing (argon2id), single-use tokens, login
//! with lockout, sessions, and the recovery of forgotten passwords and user names. The web
//! layer calls these; they hold no HTTP types.

mod login;
pub mod maintenance;
pub mod mfa;
mod password;
pub mod profile;
pub mod recovery;
pub mod registration;
pub mod review;
pub mod session;
pub mod support;
pub mod team;
mod token;

pub use login::{
    LinkError, LoginError, LoginOutcome, SECOND_FACTOR_VALID, inspect_link, login,
    pending_second_factor, second_factor, set_password, set_password_with_token,
    start_second_factor,
};
pub use password::{
    hash_password, hash_password_blocking, verify_password, verify_password_blocking,
};
pub use session::SessionPolicy;
pub use token::{NewToken, TOKEN_LEN, hash_token, is_plausible_token, new_token, new_token_of};
