use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reporting_period")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub prefecture_code: String,
    pub fiscal_year: i32,
    pub facility_kinds: String,
    pub reference_date: Date,
    pub opens_on: Date,
    pub closes_on: Date,
    pub extended_to: Option<Date>,
    pub closed_at: Option<DateTimeUtc>,
    pub reminder_days: String,
    pub mail_message: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
