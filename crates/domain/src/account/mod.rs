//! Accounts and access (DOMAIN.md §2.5, §3): login IDs, the password rule, and who may see what.
//! Pure rules; hashing, sessions and tokens live outside the domain.

mod access;
mod login_id;
mod password;

pub use access::{Access, Area, FacilityScope, Membership, StaffLevel};
pub use login_id::{GENERATED_ALPHABET, GENERATED_LEN, LoginId};
pub use password::{PasswordProblem, check_password};

/// Account errors with stable codes and the Japanese shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("ユーザ名を入力してください。")]
    LoginIdEmpty,
    #[error("ユーザ名は{min}文字以上{max}文字以内で入力してください。")]
    LoginIdLength { min: usize, max: usize },
    #[error(
        "ユーザ名に使えない文字「{0}」が含まれています。半角の英小文字・数字と「. _ - @ +」が使えます。"
    )]
    LoginIdChar(char),
    #[error("{0}")]
    Password(PasswordProblems),
}

impl AccountError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::LoginIdEmpty => "account.login_id.empty",
            Self::LoginIdLength { .. } => "account.login_id.length",
            Self::LoginIdChar(_) => "account.login_id.char",
            Self::Password(_) => "account.password.rule",
        }
    }
}

/// Everything a new password lacks, so the form can tick off each rule at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordProblems(pub Vec<PasswordProblem>);

impl std::fmt::Display for PasswordProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("パスワードには、少なくとも次のものを含めてください: ")?;
        let parts: Vec<&str> = self.0.iter().map(|p| p.requirement()).collect();
        f.write_str(&parts.join("、"))?;
        f.write_str("。")
    }
}
