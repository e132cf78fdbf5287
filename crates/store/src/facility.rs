//! The facility master: storage of [`FacilityRecord`]s.

use crate::entity::{facility, facility_insurance_code};
use crate::{Backend, Store, StoreError};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use teikyo_domain::{
    CoordinateSource, Coordinates, FacilityCode, FacilityKind, FacilityNames, FacilityRecord,
    InsuranceCode, MunicipalityCode, PostalCode, PrefectureCode,
};

/// Rows per INSERT statement: 21 columns × 1,000 stays under SQLite's 32,766 bound parameters
/// and PostgreSQL's 65,535.
const BATCH: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FacilityId(pub i64);

impl std::fmt::Display for FacilityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A stored facility.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pub id: FacilityId,
    pub record: FacilityRecord,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl Facility {
    /// What the access rules need to know of the facility.
    pub fn scope(&self) -> teikyo_domain::account::FacilityScope {
        teikyo_domain::account::FacilityScope {
            id: self.id.0,
            prefecture: self.record.prefecture,
            municipality: self.record.municipality,
        }
    }
}

/// The natural key of the open data (`ID` = 都道府県 + 機関区分 + 機関コード).
pub type PublicKey = (PrefectureCode, FacilityKind, FacilityCode);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub inserted: usize,
    pub by_kind: BTreeMap<u8, usize>,
}

/// Filters for [`FacilityRepo::list`]; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct FacilityFilter {
    pub prefecture: Option<PrefectureCode>,
    pub kind: Option<FacilityKind>,
    pub municipality: Option<MunicipalityCode>,
}

pub struct FacilityRepo<'a> {
    store: &'a Store,
}

impl<'a> FacilityRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    pub async fn insert(&self, record: &FacilityRecord) -> Result<FacilityId, StoreError> {
        let ids = self
            .import(std::slice::from_ref(record), &mut |_| {})
            .await?;
        ids.first()
            .copied()
            .ok_or_else(|| StoreError::Duplicate(record.names.official.clone()))
    }

    /// Inserts all records in one transaction: all or nothing. `progress` is called with the
    /// number of records written so far after each batch. A record whose public key already
    /// exists fails the whole import with [`StoreError::Duplicate`]; importers check
    /// [`Self::existing_keys`] first to report such rows with their line numbers.
    pub async fn import(
        &self,
        records: &[FacilityRecord],
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<FacilityId>, StoreError> {
        let txn = self.store.begin_write().await?;
        let ids = allocate_ids(&txn, self.store.backend(), records.len()).await?;
        let now = Utc::now();
        let mut written = 0;
        for (chunk, chunk_ids) in records.chunks(BATCH).zip(ids.chunks(BATCH)) {
            let rows = chunk
                .iter()
                .zip(chunk_ids)
                .map(|(r, id)| to_active(*id, r, now));
            facility::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await
                .map_err(|e| duplicate_or(e, "facility"))?;
            let codes: Vec<_> = chunk
                .iter()
                .zip(chunk_ids)
                .flat_map(|(r, id)| {
                    r.insurance_codes
                        .iter()
                        .map(move |c| facility_insurance_code::ActiveModel {
                            facility_id: Set(*id),
                            code: Set(c.as_str().to_owned()),
                            check_rule: Set(c.rule().id().to_owned()),
                        })
                })
                .collect();
            for batch in codes.chunks(BATCH * 4) {
                facility_insurance_code::Entity::insert_many(batch.to_vec())
                    .exec_without_returning(&txn)
                    .await
                    .map_err(|e| duplicate_or(e, "facility_insurance_code"))?;
            }
            written += chunk.len();
            progress(written);
        }
        txn.commit().await?;
        Ok(ids.into_iter().map(FacilityId).collect())
    }

    /// Public keys already in the master, for duplicate checks before an import.
    pub async fn existing_keys(&self) -> Result<HashSet<PublicKey>, StoreError> {
        let rows: Vec<(String, i16, Option<String>)> = facility::Entity::find()
            .select_only()
            .column(facility::Column::PrefectureCode)
            .column(facility::Column::Kind)
            .column(facility::Column::FacilityCode)
            .filter(facility::Column::FacilityCode.is_not_null())
            .into_tuple()
            .all(self.store.conn())
            .await?;
        let mut keys = HashSet::with_capacity(rows.len());
        for (p, k, c) in rows {
            if let Some(c) = c {
                keys.insert((parse_pref(&p)?, parse_kind(k)?, parse_facility_code(&c)?));
            }
        }
        Ok(keys)
    }

    pub async fn get(&self, id: FacilityId) -> Result<Option<Facility>, StoreError> {
        let Some(m) = facility::Entity::find_by_id(id.0)
            .one(self.store.conn())
            .await?
        else {
            return Ok(None);
        };
        let mut v = self.hydrate(vec![m]).await?;
        Ok(v.pop())
    }

    /// The facilities with these ids in one query, in the order asked; unknown ids are left
    /// out. For pages listing a user's facilities (a delegate may act for hundreds).
    pub async fn get_many(&self, ids: &[FacilityId]) -> Result<Vec<Facility>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let models = facility::Entity::find()
            .filter(facility::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .all(self.store.conn())
            .await?;
        let mut found = self.hydrate(models).await?;
        found.sort_by_key(|f| ids.iter().position(|i| *i == f.id));
        Ok(found)
    }

    pub async fn find_by_public_key(
        &self,
        prefecture: PrefectureCode,
        kind: FacilityKind,
        code: &FacilityCode,
    ) -> Result<Option<Facility>, StoreError> {
        let m = facility::Entity::find()
            .filter(facility::Column::PrefectureCode.eq(prefecture.to_string()))
            .filter(facility::Column::Kind.eq(i16::from(kind.code())))
            .filter(facility::Column::FacilityCode.eq(code.as_str()))
            .one(self.store.conn())
            .await?;
        match m {
            Some(m) => Ok(self.hydrate(vec![m]).await?.pop()),
            None => Ok(None),
        }
    }

    /// Facilities holding an insurance code (a 医科+歯科 facility holds two codes; one code
    /// should belong to one facility, but the master does not enforce it).
    pub async fn find_by_insurance_code(
        &self,
        code: &InsuranceCode,
    ) -> Result<Vec<Facility>, StoreError> {
        let ids: Vec<i64> = facility_insurance_code::Entity::find()
            .select_only()
            .column(facility_insurance_code::Column::FacilityId)
            .filter(facility_insurance_code::Column::Code.eq(code.as_str()))
            .into_tuple()
            .all(self.store.conn())
            .await?;
        let models = facility::Entity::find()
            .filter(facility::Column::Id.is_in(ids))
            .order_by_asc(facility::Column::Id)
            .all(self.store.conn())
            .await?;
        self.hydrate(models).await
    }

    /// Facilities with a 機関コード, in any prefecture and of any kind: the code is only unique
    /// within (prefecture, kind), so callers narrow further (e.g. by a registered e-mail).
    pub async fn find_by_facility_code(
        &self,
        code: &FacilityCode,
    ) -> Result<Vec<Facility>, StoreError> {
        let models = facility::Entity::find()
            .filter(facility::Column::FacilityCode.eq(code.as_str()))
            .order_by_asc(facility::Column::Id)
            .limit(100)
            .all(self.store.conn())
            .await?;
        self.hydrate(models).await
    }

    pub async fn list(
        &self,
        filter: &FacilityFilter,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<Facility>, StoreError> {
        let mut q = facility::Entity::find();
        if let Some(p) = filter.prefecture {
            q = q.filter(facility::Column::PrefectureCode.eq(p.to_string()));
        }
        if let Some(k) = filter.kind {
            q = q.filter(facility::Column::Kind.eq(i16::from(k.code())));
        }
        if let Some(m) = filter.municipality {
            q = q.filter(facility::Column::MunicipalityCode.eq(m.to_string()));
        }
        let models = q
            .order_by_asc(facility::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(self.store.conn())
            .await?;
        self.hydrate(models).await
    }

    pub async fn count(&self) -> Result<u64, StoreError> {
        Ok(facility::Entity::find().count(self.store.conn()).await?)
    }

    /// Number of facilities per kind, every kind present (0 where none).
    pub async fn count_by_kind(&self) -> Result<BTreeMap<FacilityKind, u64>, StoreError> {
        let rows: Vec<(i16, i64)> = facility::Entity::find()
            .select_only()
            .column(facility::Column::Kind)
            .column_as(facility::Column::Id.count(), "n")
            .group_by(facility::Column::Kind)
            .into_tuple()
            .all(self.store.conn())
            .await?;
        let mut out: BTreeMap<_, _> = FacilityKind::ALL.iter().map(|k| (*k, 0)).collect();
        for (k, n) in rows {
            out.insert(parse_kind(k)?, u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }

    /// Turns rows into domain facilities, fetching their insurance codes in one query.
    async fn hydrate(&self, models: Vec<facility::Model>) -> Result<Vec<Facility>, StoreError> {
        let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
        let mut codes: HashMap<i64, Vec<InsuranceCode>> = HashMap::new();
        if !ids.is_empty() {
            for c in facility_insurance_code::Entity::find()
                .filter(facility_insurance_code::Column::FacilityId.is_in(ids))
                .order_by_asc(facility_insurance_code::Column::Code)
                .all(self.store.conn())
                .await?
            {
                let code = InsuranceCode::parse(&c.code).map_err(|e| StoreError::Corrupt {
                    table: "facility_insurance_code",
                    column: "code",
                    message: e.to_string(),
                })?;
                codes.entry(c.facility_id).or_default().push(code);
            }
        }
        models
            .into_iter()
            .map(|m| {
                let ic = codes.remove(&m.id).unwrap_or_default();
                from_model(m, ic)
            })
            .collect()
    }
}

/// Ids for `n` new facilities. PostgreSQL: from the identity sequence (safe across nodes).
/// SQLite: after the current maximum, which is race-free because the caller holds the write
/// lock (`BEGIN IMMEDIATE`).
async fn allocate_ids(
    txn: &DatabaseTransaction,
    backend: Backend,
    n: usize,
) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let n_i64 = i64::try_from(n).unwrap_or(i64::MAX);
    match backend {
        Backend::Sqlite => {
            let row = txn
                .query_one_raw(Statement::from_string(
                    txn.get_database_backend(),
                    "SELECT COALESCE(MAX(id), 0) AS max_id FROM facility",
                ))
                .await?;
            let max: i64 = match row {
                Some(r) => r.try_get("", "max_id")?,
                None => 0,
            };
            Ok((max + 1..=max + n_i64).collect())
        }
        Backend::Postgres => {
            let rows = txn
                .query_all_raw(Statement::from_sql_and_values(
                    txn.get_database_backend(),
                    "SELECT nextval(pg_get_serial_sequence('facility', 'id')) AS id \
                     FROM generate_series(1, $1)",
                    [n_i64.into()],
                ))
                .await?;
            rows.iter()
                .map(|r| r.try_get::<i64>("", "id").map_err(StoreError::from))
                .collect()
        }
    }
}

pub(crate) fn duplicate_or(e: sea_orm::DbErr, table: &str) -> StoreError {
    let msg = e.to_string();
    if msg.contains("UNIQUE constraint") || msg.contains("duplicate key") {
        StoreError::Duplicate(format!("{table}: {msg}"))
    } else {
        StoreError::Db(e)
    }
}

fn to_active(id: i64, r: &FacilityRecord, now: chrono::DateTime<Utc>) -> facility::ActiveModel {
    let n = &r.names;
    facility::ActiveModel {
        id: Set(id),
        kind: Set(i16::from(r.kind.code())),
        prefecture_code: Set(r.prefecture.to_string()),
        municipality_code: Set(r.municipality.to_string()),
        facility_code: Set(r.facility_code.as_ref().map(|c| c.as_str().to_owned())),
        name_official: Set(n.official.clone()),
        name_official_kana: Set(n.official_kana.clone()),
        name_short: Set(n.short.clone()),
        name_short_kana: Set(n.short_kana.clone()),
        name_english: Set(n.english.clone()),
        postal_code: Set(r.postal_code.map(|p| p.digits())),
        address: Set(r.address.clone()),
        lat: Set(r.coordinates.map(|c| c.lat)),
        lon: Set(r.coordinates.map(|c| c.lon)),
        coordinate_source: Set(r.coordinates.map(|c| c.source.id().to_owned())),
        homepage: Set(r.homepage.clone()),
        opened_on: Set(r.opened_on),
        suspended_on: Set(r.suspended_on),
        abolished_on: Set(r.abolished_on),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

fn corrupt(column: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "facility",
        column,
        message: e.to_string(),
    }
}

fn parse_pref(s: &str) -> Result<PrefectureCode, StoreError> {
    PrefectureCode::parse(s).map_err(|e| corrupt("prefecture_code", e))
}

fn parse_kind(k: i16) -> Result<FacilityKind, StoreError> {
    u8::try_from(k)
        .ok()
        .and_then(FacilityKind::from_code)
        .ok_or_else(|| corrupt("kind", k))
}

fn parse_facility_code(s: &str) -> Result<FacilityCode, StoreError> {
    FacilityCode::parse(s).map_err(|e| corrupt("facility_code", e))
}

fn from_model(
    m: facility::Model,
    insurance_codes: Vec<InsuranceCode>,
) -> Result<Facility, StoreError> {
    let coordinates = match (m.lat, m.lon, m.coordinate_source.as_deref()) {
        (Some(lat), Some(lon), Some(src)) => Some(Coordinates {
            lat,
            lon,
            source: CoordinateSource::parse(src)
                .ok_or_else(|| corrupt("coordinate_source", src))?,
        }),
        _ => None,
    };
    let record = FacilityRecord {
        kind: parse_kind(m.kind)?,
        prefecture: parse_pref(&m.prefecture_code)?,
        municipality: MunicipalityCode::parse(&m.municipality_code)
            .map_err(|e| corrupt("municipality_code", e))?,
        facility_code: m
            .facility_code
            .as_deref()
            .map(parse_facility_code)
            .transpose()?,
        insurance_codes,
        names: FacilityNames {
            official: m.name_official,
            official_kana: m.name_official_kana,
            short: m.name_short,
            short_kana: m.name_short_kana,
            english: m.name_english,
        },
        postal_code: m
            .postal_code
            .as_deref()
            .map(PostalCode::parse)
            .transpose()
            .map_err(|e| corrupt("postal_code", e))?,
        address: m.address,
        coordinates,
        homepage: m.homepage,
        opened_on: m.opened_on,
        suspended_on: m.suspended_on,
        abolished_on: m.abolished_on,
    };
    Ok(Facility {
        id: FacilityId(m.id),
        record,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}
