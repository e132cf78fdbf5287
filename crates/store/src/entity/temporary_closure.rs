use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "temporary_closure")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub facility_id: i64,
    pub from_date: Date,
    pub to_date: Date,
    pub reason: String,
    pub batch_id: Option<i64>,
    pub declared_by: Option<i64>,
    pub declared_at: DateTimeUtc,
    pub withdrawn_by: Option<i64>,
    pub withdrawn_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
