use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "registration")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub number: Option<String>,
    pub status: String,
    pub email: String,
    pub email_verified_at: Option<DateTimeUtc>,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<DateTimeUtc>,
    pub code_attempts: i32,
    pub codes_sent: i32,
    pub code_sent_at: Option<DateTimeUtc>,
    pub applicant_hash: Option<String>,
    pub form: Option<String>,
    pub consented_at: Option<DateTimeUtc>,
    pub prefecture_code: Option<String>,
    pub facility_name: Option<String>,
    pub filed_by_user_id: Option<i64>,
    pub submitted_at: Option<DateTimeUtc>,
    pub reviewed_by_user_id: Option<i64>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reject_reason: Option<String>,
    pub facility_id: Option<i64>,
    pub outcome: Option<String>,
    pub issued_user_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
