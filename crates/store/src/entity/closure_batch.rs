use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "closure_batch")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub prefecture_code: String,
    pub from_date: Date,
    pub to_date: Date,
    pub reason: String,
    pub target: String,
    pub facilities: i32,
    pub job_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub withdrawn_by: Option<i64>,
    pub withdrawn_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
