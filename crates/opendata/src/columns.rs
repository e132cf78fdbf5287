//! Where each open-data column is, found once by *name* in a header (DOMAIN §8.3: read by
//! name, never by position). The exporter finds them in the header it writes, the importer in
//! the header of the file it reads; rows are then plain slices indexed by these positions, so
//! 245,000 rows cost no name lookups.

use std::collections::HashMap;

use teikyo_domain::FacilityKind;
use teikyo_domain::text::nfkc;

use crate::layout::{self, DAY_TYPES, WEEKDAYS, col};

/// A column's position, if the header has it.
pub type Pos = Option<usize>;

/// Start and end of one time slot.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pair {
    pub start: Pos,
    pub end: Pos,
}

/// Positions by name, exact or NFKC-equal (a file re-saved with half-width brackets).
struct Names(HashMap<String, usize>);

impl Names {
    fn new<S: AsRef<str>>(header: &[S]) -> Self {
        let mut map = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            map.entry(h.as_ref().trim().to_owned()).or_insert(i);
        }
        for (i, h) in header.iter().enumerate() {
            map.entry(nfkc(h.as_ref().trim())).or_insert(i);
        }
        Self(map)
    }

    fn find(&self, name: &str) -> Pos {
        self.0
            .get(name)
            .or_else(|| self.0.get(&nfkc(name)))
            .copied()
    }

    fn pair(&self, start: &str, end: &str) -> Pair {
        Pair {
            start: self.find(start),
            end: self.find(end),
        }
    }
}

/// The identity columns, in [`layout::IDENTITY_COLUMNS`] order.
#[derive(Debug, Clone)]
pub struct Identity {
    pub id: Pos,
    pub name: Pos,
    pub name_kana: Pos,
    pub short: Pos,
    pub short_kana: Pos,
    pub english: Pos,
    pub kind: Pos,
    pub prefecture: Pos,
    pub municipality: Pos,
    pub address: Pos,
    pub lat: Pos,
    pub lon: Pos,
    pub homepage: Pos,
}

/// The columns of one kind's facility file.
#[derive(Debug, Clone)]
pub struct FacilityColumns {
    pub kind: FacilityKind,
    pub len: usize,
    pub identity: Identity,
    /// 毎週決まった曜日に休診 (月…日; 祝 unused) or 定期閉店毎週 (月…祝), by `DayType` index.
    pub weekly: [Pos; 8],
    /// 営業日（月…祝） (薬局 only).
    pub business: [Pos; 8],
    /// 定期週 / 定期閉店第n週, [week − 1][weekday].
    pub nth_week: [[Pos; 7]; 5],
    /// 祝日に休診 / 祝日.
    pub holiday: Pos,
    /// その他の休診日 / 休業日 / 閉店日.
    pub other: Pos,
    /// 診療 / 就業 / 開店時間帯: [band − 1][day type].
    pub slots: Vec<[Pair; 8]>,
    /// 外来受付時間帯 of the 助産所 file: [band − 1][day type].
    pub reception: Vec<[Pair; 8]>,
    /// Bed counts: (column name, position), 合計病床数 last.
    pub beds: Vec<(&'static str, Pos)>,
}

fn bands(names: &Names, label: &str, count: u8) -> Vec<[Pair; 8]> {
    (1..=count)
        .map(|n| {
            let mut row = [Pair::default(); 8];
            for (d, day) in DAY_TYPES.iter().enumerate() {
                row[d] = names.pair(
                    &layout::slot_column(day, label, n, false),
                    &layout::slot_column(day, label, n, true),
                );
            }
            row
        })
        .collect()
}

impl FacilityColumns {
    /// Finds the columns of `kind` in `header` (a missing column is `None`).
    pub fn find<S: AsRef<str>>(kind: FacilityKind, header: &[S]) -> Self {
        let names = Names::new(header);
        // 薬局 names four identity columns its own way; either name is read.
        let identity_col = |canonical: &'static str| {
            names
                .find(layout::column(kind, canonical))
                .or_else(|| names.find(canonical))
                .or_else(|| names.find(layout::column(FacilityKind::Pharmacy, canonical)))
        };
        let identity = Identity {
            id: identity_col(col::ID),
            name: identity_col(col::NAME),
            name_kana: identity_col(col::NAME_KANA),
            short: identity_col(col::SHORT),
            short_kana: identity_col(col::SHORT_KANA),
            english: identity_col(col::ENGLISH),
            kind: identity_col(col::KIND),
            prefecture: identity_col(col::PREFECTURE),
            municipality: identity_col(col::MUNICIPALITY),
            address: identity_col(col::ADDRESS),
            lat: identity_col(col::LAT),
            lon: identity_col(col::LON),
            homepage: identity_col(col::HOMEPAGE),
        };
        let mut weekly = [None; 8];
        let mut business = [None; 8];
        let mut nth_week = [[None; 7]; 5];
        let (holiday, other, slots, reception, beds);
        if kind == FacilityKind::Pharmacy {
            for (d, day) in DAY_TYPES.iter().enumerate() {
                weekly[d] = names.find(&layout::pharmacy::weekly(day));
                business[d] = names.find(&layout::pharmacy::business_day(day));
            }
            for (w, row) in nth_week.iter_mut().enumerate() {
                for (d, day) in WEEKDAYS.iter().enumerate() {
                    row[d] = names.find(&layout::pharmacy::nth_week(w as u8 + 1, day));
                }
            }
            holiday = names.find(layout::pharmacy::HOLIDAY);
            other = names.find(layout::pharmacy::OTHER);
            slots = bands(&names, layout::OPENING, 4);
            reception = Vec::new();
            beds = Vec::new();
        } else {
            for (d, day) in WEEKDAYS.iter().enumerate() {
                weekly[d] = names.find(&layout::closure::weekly(kind, day));
            }
            for (w, row) in nth_week.iter_mut().enumerate() {
                for (d, day) in WEEKDAYS.iter().enumerate() {
                    row[d] = names.find(&layout::closure::nth_week(kind, w as u8 + 1, day));
                }
            }
            holiday = names.find(&layout::closure::holiday(kind));
            other = names.find(&layout::closure::other(kind));
            if kind == FacilityKind::MidwiferyHome {
                slots = bands(&names, layout::WORKING, 3);
                reception = bands(&names, layout::RECEPTION, 3);
            } else {
                slots = Vec::new();
                reception = Vec::new();
            }
            let bed_names: &[&'static str] = match kind {
                FacilityKind::Hospital => &layout::HOSPITAL_BEDS,
                FacilityKind::Clinic => &layout::CLINIC_BEDS,
                _ => &[],
            };
            beds = bed_names.iter().map(|n| (*n, names.find(n))).collect();
        }
        Self {
            kind,
            len: header.len(),
            identity,
            weekly,
            business,
            nth_week,
            holiday,
            other,
            slots,
            reception,
            beds,
        }
    }
}

/// The columns of a 診療科・診療時間票.
#[derive(Debug, Clone)]
pub struct HoursColumns {
    pub len: usize,
    pub id: Pos,
    pub code: Pos,
    pub name: Pos,
    pub band: Pos,
    /// 診療開始・終了 per day type.
    pub slot: [Pair; 8],
    /// 外来受付開始・終了 per day type.
    pub reception: [Pair; 8],
}

impl HoursColumns {
    pub fn find<S: AsRef<str>>(header: &[S]) -> Self {
        let names = Names::new(header);
        let mut slot = [Pair::default(); 8];
        let mut reception = [Pair::default(); 8];
        for (d, day) in DAY_TYPES.iter().enumerate() {
            slot[d] = names.pair(&layout::hours::start(day), &layout::hours::end(day));
            reception[d] = names.pair(
                &layout::hours::reception_start(day),
                &layout::hours::reception_end(day),
            );
        }
        Self {
            len: header.len(),
            id: names.find(col::ID),
            code: names.find(col::SPECIALTY_CODE),
            name: names.find(col::SPECIALTY_NAME),
            band: names.find(col::BAND),
            slot,
            reception,
        }
    }
}
