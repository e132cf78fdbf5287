use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "period_mail")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub period_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub step: String,
    pub mails: i32,
    pub sent_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
