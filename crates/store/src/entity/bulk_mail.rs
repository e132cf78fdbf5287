use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_mail")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub prefecture_code: String,
    pub status: String,
    pub subject: String,
    pub body: String,
    pub filter: String,
    pub facilities: i32,
    pub addresses: i32,
    pub unreachable: i32,
    pub created_mails: i32,
    pub done_through: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_by: Option<i64>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub cancelled_by: Option<i64>,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
