//! Account services over the store: password hashing (argon2id), single-use tokens, and login
//! with lockout. The web layer calls these; they hold no HTTP types.

mod login;
mod password;
mod token;

pub use login::{
    LinkError, LoginError, LoginOutcome, login, set_password, set_password_with_token,
};
pub use password::{
    hash_password, hash_password_blocking, verify_password, verify_password_blocking,
};
pub use token::{NewToken, TOKEN_LEN, hash_token, new_token};
