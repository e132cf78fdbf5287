use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "report")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub facility_id: i64,
    pub kind: String,
    pub fiscal_year: i32,
    pub item_set: String,
    pub status: String,
    pub version: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub period_id: Option<i64>,
    pub submitted_at: Option<DateTimeUtc>,
    pub submitted_by: Option<i64>,
    pub submitted_by_proxy: bool,
    pub confirmed_at: Option<DateTimeUtc>,
    pub confirmed_by: Option<i64>,
    pub returned_at: Option<DateTimeUtc>,
    pub returned_by: Option<i64>,
    pub return_comment: Option<String>,
    pub insurance_check: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
