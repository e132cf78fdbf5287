use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "facility")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub kind: i16,
    pub prefecture_code: String,
    pub municipality_code: String,
    pub facility_code: Option<String>,
    pub name_official: String,
    pub name_official_kana: String,
    pub name_short: Option<String>,
    pub name_short_kana: Option<String>,
    pub name_english: Option<String>,
    pub postal_code: Option<String>,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub coordinate_source: Option<String>,
    pub homepage: Option<String>,
    pub opened_on: Option<Date>,
    pub suspended_on: Option<Date>,
    pub abolished_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
