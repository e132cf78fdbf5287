use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_mail_recipient")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub bulk_mail_id: i64,
    pub facility_id: i64,
    pub facility_name: String,
    pub facility_code: Option<String>,
    pub progress: Option<String>,
    pub to_address: Option<String>,
    pub mail_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
