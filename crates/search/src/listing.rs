//! What a node keeps in memory per published facility (issue 7 §3, §5): enough to filter by
//! 現在診療中 and distance and to draw a result line (名称, 種別, 所在地, today's hours, open-now,
//! distance) without a database round trip.
//!
//! 現在診療中 is the domain's [`Schedule::at`], evaluated at query time. Its answer holds until the
//! next opening or closing (or midnight, when the calendar may change what applies), so each
//! listing caches it with that window: a search over thousands of facilities reads a word each,
//! and only the facilities whose state changed since are evaluated again.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use teikyo_domain::FacilityKind;
use teikyo_domain::hours::{Openness, WeeklyHours};
use teikyo_domain::opening::{Closure, DayHours, OpenNow, Schedule};
use teikyo_domain::publication::PublishedDocument;
use teikyo_store::FacilityId;

use crate::geo::Point;

/// One opening-hours table and the 診療科目 it belongs to (`None`: the facility's own).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DepartmentHours {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub table: WeeklyHours,
}

/// What a listing is made of, as the index stores it beside each facility (so a restarted node
/// rebuilds its listings from its own index, without reading the database).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListingData {
    pub kind: FacilityKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<Point>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hours: Vec<DepartmentHours>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closures: Vec<Closure>,
}

/// A published facility as results show it.
#[derive(Debug)]
pub struct Listing {
    pub facility_id: FacilityId,
    pub kind: FacilityKind,
    pub name: String,
    pub name_en: Option<String>,
    pub address: String,
    pub point: Option<Point>,
    /// Shared between facilities with identical tables (most clinics keep a few patterns).
    hours: Arc<[DepartmentHours]>,
    closures: Vec<Closure>,
    /// Whether every department keeps the same hours (then a 診療科目 filter needs no
    /// evaluation of its own).
    uniform: bool,
    /// [`Openness`] with the window it holds for; see [`Cached`].
    open: AtomicU64,
    /// The whole answer for the facility as a whole (a result line's 「18時まで」 / 「次は 明日
    /// 9:00 から」), with the same window: (first minute, last-excluded minute, answer).
    now: Windowed<OpenNow>,
    /// The result line's hours of a day, for that day.
    today: Mutex<Option<(NaiveDate, DayHours)>>,
    /// [`Openness`] per 診療科目 asked (a few at most), packed like `open`.
    by_department: Mutex<Vec<(Box<str>, u64)>>,
    /// The result line as the caller wrote it for the facility as a whole (the JSON API's),
    /// kept with the open-now window it was written in: see [`Self::line`].
    line: Windowed<Line>,
    /// The same for the last 診療科目 with hours of its own a line was asked for (one: a
    /// listing keeps at most two lines, whatever is searched).
    department_line: Windowed<Line>,
}

/// A result line and the 診療科目 it answers for (`None`: the facility as a whole).
type Line = (Option<Box<str>>, Arc<str>);

/// A value kept for the minutes it holds for: from its first minute to the last-excluded one.
#[derive(Debug)]
struct Windowed<T>(Mutex<Option<(u64, u64, T)>>);

impl<T> Default for Windowed<T> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<T> Windowed<T> {
    /// `read` of the value when it holds at `minute`.
    fn with<R>(&self, minute: u64, read: impl FnOnce(&T) -> R) -> Option<R> {
        let kept = self.0.lock().ok()?;
        let (from, until, value) = kept.as_ref()?;
        (*from <= minute && minute < *until).then(|| read(value))
    }

    fn get(&self, minute: u64) -> Option<T>
    where
        T: Clone,
    {
        self.with(minute, T::clone)
    }

    fn put(&self, from: u64, until: u64, value: T) {
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some((from, until, value));
        }
    }
}

/// 診療科目 whose answers one listing keeps (searches ask for a handful).
const DEPARTMENTS_CACHED: usize = 8;

fn is_holiday(date: NaiveDate) -> bool {
    teikyo_refdata::holidays::is_holiday(date)
}

/// 2000-01-01 00:00 as seconds since 1970 (both read as Japan time): the cache clock's zero.
const EPOCH_2000: i64 = 946_684_800;

/// Minutes since 2000-01-01 00:00 (Japan time), the cache's clock. (Through the timestamp:
/// chrono's duration arithmetic was 3% of a search's time.)
pub(crate) fn minute_of(t: NaiveDateTime) -> u64 {
    u64::try_from((t.and_utc().timestamp() - EPOCH_2000).div_euclid(60)).unwrap_or(0)
}

/// The cached answer: openness in 2 bits, then the first and the last-excluded minute of the
/// window it holds for, 31 bits each (enough until the year 6000). 0 is "nothing cached".
struct Cached;

impl Cached {
    const MASK: u64 = (1 << 31) - 1;

    fn pack(openness: Openness, from: u64, until: u64) -> u64 {
        let o = match openness {
            Openness::Open => 1,
            Openness::Closed => 2,
            Openness::Unknown => 3,
        };
        o | ((from & Self::MASK) << 2) | ((until & Self::MASK) << 33)
    }

    fn until(word: u64) -> u64 {
        (word >> 33) & Self::MASK
    }

    fn unpack(word: u64, minute: u64) -> Option<Openness> {
        let from = (word >> 2) & Self::MASK;
        let until = (word >> 33) & Self::MASK;
        if !(from <= minute && minute < until) {
            return None;
        }
        match word & 3 {
            1 => Some(Openness::Open),
            2 => Some(Openness::Closed),
            3 => Some(Openness::Unknown),
            _ => None,
        }
    }
}

/// How long an answer at `at` holds: until the next opening or closing, and never past
/// midnight (日により異なる and a day's table are read per day).
fn valid_until(now: &OpenNow, at: NaiveDateTime) -> NaiveDateTime {
    let midnight = at
        .date()
        .succ_opt()
        .unwrap_or(at.date())
        .and_time(NaiveTime::MIN);
    now.until
        .or(now.next_open)
        .unwrap_or(midnight)
        .min(midnight)
}

impl Listing {
    pub fn schedule_tables(&self, department: Option<&str>) -> Vec<&WeeklyHours> {
        self.hours
            .iter()
            .filter(|h| department.is_none() || h.department.as_deref() == department)
            .map(|h| &h.table)
            .collect()
    }

    fn evaluate(&self, department: Option<&str>, at: NaiveDateTime) -> OpenNow {
        let tables = self.schedule_tables(department);
        Schedule {
            tables: &tables,
            closures: &self.closures,
            is_holiday: &is_holiday,
        }
        .at(at)
    }

    /// 現在診療中 at `at` (Japan time), with until / next opening / closure. For the facility as
    /// a whole it is cached until the answer can change (see [`Self::openness`]).
    pub fn open_now(&self, department: Option<&str>, at: NaiveDateTime) -> OpenNow {
        let department = self.department_key(department);
        if department.is_some() {
            return self.evaluate(department, at);
        }
        let minute = minute_of(at);
        if let Some(now) = self.now.get(minute) {
            return now;
        }
        let now = self.evaluate(None, at);
        let until = minute_of(valid_until(&now, at)).max(minute + 1);
        self.now.put(minute, until, now.clone());
        now
    }

    /// A result line for the facility as a whole at `at`: `write(open_now)`, kept and shared
    /// until the open-now answer can change (a window never crosses midnight, so the line may
    /// also show the day's hours and say 「明日」). A page of results is then written from the
    /// lines its facilities already have instead of composing each again (perf: a fifth of a
    /// search's time went on formatting and escaping the same lines).
    ///
    /// With a 診療科目 of hours of its own, the line shows that department's answer and is kept
    /// in a slot of its own (the last department asked; another one replaces it).
    pub fn line(
        &self,
        department: Option<&str>,
        at: NaiveDateTime,
        write: impl FnOnce(&OpenNow) -> String,
    ) -> Arc<str> {
        let minute = minute_of(at);
        let department = self.department_key(department);
        let slot = match department {
            None => &self.line,
            Some(_) => &self.department_line,
        };
        if let Some(line) = slot
            .with(minute, |(d, line)| {
                (d.as_deref() == department).then(|| Arc::clone(line))
            })
            .flatten()
        {
            return line;
        }
        let now = self.open_now(department, at);
        let until = minute_of(valid_until(&now, at)).max(minute + 1);
        let line: Arc<str> = write(&now).into();
        slot.put(
            minute,
            until,
            (department.map(Into::into), Arc::clone(&line)),
        );
        line
    }

    /// Only whether it is open at `at`: cached for the facility as a whole.
    pub fn openness(&self, department: Option<&str>, at: NaiveDateTime) -> Openness {
        let department = self.department_key(department);
        let minute = minute_of(at);
        if let Some(d) = department {
            // Closed as a whole (no table open, none in doubt) is closed for every department;
            // otherwise the department's own tables decide.
            if self.openness(None, at) == Openness::Closed {
                return Openness::Closed;
            }
            if let Ok(cached) = self.by_department.lock()
                && let Some(o) = cached
                    .iter()
                    .find(|(k, _)| &**k == d)
                    .and_then(|(_, word)| Cached::unpack(*word, minute))
            {
                return o;
            }
            let now = self.evaluate(department, at);
            let until = minute_of(valid_until(&now, at)).max(minute + 1);
            let word = Cached::pack(now.openness, minute, until);
            if let Ok(mut cached) = self.by_department.lock() {
                match cached.iter().position(|(k, _)| &**k == d) {
                    Some(i) => cached[i].1 = word,
                    None if cached.len() < DEPARTMENTS_CACHED => cached.push((d.into(), word)),
                    None => cached[0] = (d.into(), word),
                }
            }
            return now.openness;
        }
        self.openness_window(at, minute).0
    }

    /// Whether the facility as a whole is open at `at` (whose minute is `minute`), and the
    /// minute until which that answer holds.
    pub(crate) fn openness_window(&self, at: NaiveDateTime, minute: u64) -> (Openness, u64) {
        let word = self.open.load(Ordering::Relaxed);
        if let Some(o) = Cached::unpack(word, minute) {
            return (o, Cached::until(word));
        }
        let now = self.evaluate(None, at);
        let until = minute_of(valid_until(&now, at)).max(minute + 1);
        self.open
            .store(Cached::pack(now.openness, minute, until), Ordering::Relaxed);
        (now.openness, until)
    }

    /// A department filter that adds nothing (no such rows, or all rows alike) reads the whole.
    fn department_key<'d>(&self, department: Option<&'d str>) -> Option<&'d str> {
        department.filter(|d| {
            !self.uniform
                && self
                    .hours
                    .iter()
                    .any(|h| h.department.as_deref() == Some(*d))
        })
    }

    /// The hours of `date` for a result line.
    pub fn day(&self, date: NaiveDate) -> DayHours {
        if let Ok(cached) = self.today.lock()
            && let Some((day, hours)) = cached.as_ref()
            && *day == date
        {
            return hours.clone();
        }
        let tables = self.schedule_tables(None);
        let hours = Schedule {
            tables: &tables,
            closures: &self.closures,
            is_holiday: &is_holiday,
        }
        .day(date);
        if let Ok(mut cached) = self.today.lock() {
            *cached = Some((date, hours.clone()));
        }
        hours
    }

    pub fn closures(&self) -> &[Closure] {
        &self.closures
    }
}

/// Builds listings, sharing identical hours between facilities.
#[derive(Default)]
pub struct Interner {
    tables: Mutex<HashMap<u64, Vec<Arc<[DepartmentHours]>>>>,
}

/// The interning key of a facility's tables, the same for borrowed and owned ones.
fn tables_key<'a>(tables: impl Iterator<Item = (Option<&'a str>, &'a WeeklyHours)>) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (department, table) in tables {
        department.hash(&mut hasher);
        table.hash(&mut hasher);
    }
    hasher.finish()
}

impl Interner {
    /// The shared tables equal to `tables`, made by `make` only when none are (a rebuild
    /// clones a table only the first time it is seen).
    fn intern_with(
        &self,
        tables: &[(Option<&str>, &WeeklyHours)],
        make: impl FnOnce() -> Vec<DepartmentHours>,
    ) -> Arc<[DepartmentHours]> {
        let key = tables_key(tables.iter().copied());
        let Ok(mut shared) = self.tables.lock() else {
            return make().into();
        };
        let bucket = shared.entry(key).or_default();
        let same = |t: &Arc<[DepartmentHours]>| {
            t.len() == tables.len()
                && t.iter()
                    .zip(tables)
                    .all(|(a, (d, h))| a.department.as_deref() == *d && &a.table == *h)
        };
        if let Some(found) = bucket.iter().find(|t| same(t)) {
            return Arc::clone(found);
        }
        let made: Arc<[DepartmentHours]> = make().into();
        bucket.push(Arc::clone(&made));
        made
    }

    /// The listing of a published document (what `catch_up` keeps).
    pub fn listing_of(&self, facility_id: FacilityId, d: &PublishedDocument) -> Listing {
        let r = &d.facility;
        let tables = d.tables_by_department();
        let uniform = tables.windows(2).all(|w| w[0].1 == w[1].1);
        let hours = self.intern_with(&tables, || {
            tables
                .iter()
                .map(|(department, table)| DepartmentHours {
                    department: department.map(str::to_owned),
                    table: (*table).clone(),
                })
                .collect()
        });
        Listing {
            facility_id,
            kind: r.kind,
            name: r.names.official.clone(),
            name_en: r.names.english.clone(),
            address: r.address.clone(),
            point: r
                .coordinates
                .as_ref()
                .and_then(|c| Point::in_japan(c.lat, c.lon)),
            hours,
            closures: d.closures.clone(),
            uniform,
            open: AtomicU64::new(0),
            now: Windowed::default(),
            today: Mutex::new(None),
            by_department: Mutex::new(Vec::new()),
            line: Windowed::default(),
            department_line: Windowed::default(),
        }
    }

    /// Drops tables no listing uses any more (after a rebuild).
    pub fn prune(&self) {
        if let Ok(mut tables) = self.tables.lock() {
            tables.retain(|_, bucket| {
                bucket.retain(|t| Arc::strong_count(t) > 1);
                !bucket.is_empty()
            });
        }
    }

    /// The listing stored in the index (a restarted node).
    pub fn listing(&self, facility_id: FacilityId, data: ListingData) -> Listing {
        let borrowed: Vec<(Option<&str>, &WeeklyHours)> = data
            .hours
            .iter()
            .map(|h| (h.department.as_deref(), &h.table))
            .collect();
        let uniform = borrowed.windows(2).all(|w| w[0].1 == w[1].1);
        let hours = self.intern_with(&borrowed, || data.hours.clone());
        Listing {
            facility_id,
            kind: data.kind,
            name: data.name,
            name_en: data.name_en,
            address: data.address,
            point: data.point,
            hours,
            closures: data.closures,
            uniform,
            open: AtomicU64::new(0),
            now: Windowed::default(),
            today: Mutex::new(None),
            by_department: Mutex::new(Vec::new()),
            line: Windowed::default(),
            department_line: Windowed::default(),
        }
    }
}

/// [`ListingData`] as it is written, borrowed from a listing (same field names).
#[derive(Serialize)]
struct ListingView<'a> {
    kind: FacilityKind,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name_en: Option<&'a str>,
    address: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    point: Option<Point>,
    #[serde(skip_serializing_if = "<[DepartmentHours]>::is_empty")]
    hours: &'a [DepartmentHours],
    #[serde(skip_serializing_if = "<[Closure]>::is_empty")]
    closures: &'a [Closure],
}

impl Listing {
    /// The stored form ([`ListingData`] as JSON).
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&ListingView {
            kind: self.kind,
            name: &self.name,
            name_en: self.name_en.as_deref(),
            address: &self.address,
            point: self.point,
            hours: &self.hours,
            closures: &self.closures,
        })
    }
}

/// Every listing of a node by facility id: an immutable snapshot, replaced whole when the index
/// catches up, so a search reads one consistent set without holding a lock. Facility ids are
/// the database's dense sequence, so a vector indexed by id is the map: a filter over thousands
/// of matches reads slots instead of hashing (perf: the hashed lookup was a quarter of a
/// search's time at 245k facilities).
/// The largest facility id a node keeps a slot for (a slot is 8 bytes).
const MAX_FACILITY_ID: usize = 50_000_000;

#[derive(Debug, Clone, Default)]
pub struct Listings {
    slots: Vec<Option<Arc<Listing>>>,
    len: usize,
}

impl Listings {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            slots: Vec::with_capacity(n + 1),
            len: 0,
        }
    }

    pub fn get(&self, id: &u64) -> Option<&Arc<Listing>> {
        self.slots
            .get(usize::try_from(*id).ok()?)
            .and_then(Option::as_ref)
    }

    pub fn insert(&mut self, id: u64, listing: Arc<Listing>) {
        // 245,000 facilities take ids far below this; a larger one is not a sequence value.
        let Some(i) = usize::try_from(id).ok().filter(|i| *i <= MAX_FACILITY_ID) else {
            tracing::warn!(id, "施設IDが大きすぎるため、検索の一覧に載せていません");
            return;
        };
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        if self.slots[i].replace(listing).is_none() {
            self.len += 1;
        }
    }

    pub fn remove(&mut self, id: &u64) {
        if let Some(slot) = usize::try_from(*id)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            && slot.take().is_some()
        {
            self.len -= 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every listing with its facility id, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Arc<Listing>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((u64::try_from(i).ok()?, s.as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teikyo_domain::hours::{Day, DayType, Slot, Slots, TimeOfDay};

    fn at(day: u32, h: u32, m: u32) -> NaiveDateTime {
        // 2026-11-23 is a Monday but 勤労感謝の日; 24 Tue, 25 Wed.
        NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .expect("a time")
    }

    /// 火–金 9:00–12:00; 月 and 祝日 closed.
    fn listing() -> Listing {
        let mut table = WeeklyHours::default();
        let morning = Slots::new(vec![Slot {
            start: TimeOfDay::new(9, 0).expect("time"),
            end: TimeOfDay::new(12, 0).expect("time"),
            overnight: false,
            reception: None,
        }])
        .expect("slots");
        for d in [DayType::Tue, DayType::Wed, DayType::Thu, DayType::Fri] {
            table.days.insert(
                d,
                Day::Open {
                    slots: morning.clone(),
                },
            );
        }
        for d in [DayType::Mon, DayType::Sat, DayType::Sun, DayType::Holiday] {
            table.days.insert(d, Day::Closed);
        }
        Interner::default().listing(
            FacilityId(1),
            ListingData {
                kind: FacilityKind::Clinic,
                name: "広坂医院".into(),
                name_en: None,
                address: "石川県金沢市広坂1丁目1番1号".into(),
                point: None,
                hours: vec![DepartmentHours {
                    department: None,
                    table,
                }],
                closures: Vec::new(),
            },
        )
    }

    #[test]
    fn cached_answers_hold_only_until_they_change() {
        let l = listing();
        let fresh = |t| l.evaluate(None, t);
        // In time order, and back again: every answer equals a fresh evaluation.
        for t in [
            at(24, 8, 59),
            at(24, 8, 59),
            at(24, 9, 0),
            at(24, 11, 59),
            at(24, 12, 0),
            at(24, 23, 59),
            at(25, 0, 0),
            at(24, 10, 0),
            at(23, 10, 0),
        ] {
            assert_eq!(l.open_now(None, t), fresh(t), "{t}");
            assert_eq!(l.openness(None, t), fresh(t).openness, "{t}");
        }
        let open = l.open_now(None, at(24, 9, 30));
        // A 診療科目 asked of a listing whose departments differ is cached per department.
        let mut two = listing();
        let mut afternoon = two.hours[0].clone();
        afternoon.department = Some("03001".into());
        for day in afternoon.table.days.values_mut() {
            if let Day::Open { slots } = day {
                *slots = Slots::new(vec![Slot {
                    start: TimeOfDay::new(14, 0).expect("time"),
                    end: TimeOfDay::new(18, 0).expect("time"),
                    overnight: false,
                    reception: None,
                }])
                .expect("slots");
            }
        }
        let mut morning = two.hours[0].clone();
        morning.department = Some("01001".into());
        two.hours = vec![morning, afternoon].into();
        two.uniform = false;
        for t in [at(24, 10, 0), at(24, 14, 0), at(24, 10, 0), at(24, 18, 0)] {
            for d in ["01001", "03001"] {
                assert_eq!(
                    two.openness(Some(d), t),
                    two.evaluate(Some(d), t).openness,
                    "{d} {t}"
                );
            }
        }
        assert_eq!(two.openness(Some("03001"), at(24, 10, 0)), Openness::Closed);
        assert_eq!(two.openness(Some("01001"), at(24, 10, 0)), Openness::Open);
        assert_eq!(open.openness, Openness::Open);
        assert_eq!(open.until, Some(at(24, 12, 0)));
        // A line is written again exactly when the answer it shows changes.
        let written = std::cell::Cell::new(0);
        let line = |t| {
            l.line(None, t, |now| {
                written.set(written.get() + 1);
                format!("{:?} {:?}", now.openness, now.until)
            })
        };
        for (t, writes) in [
            (at(24, 9, 0), 1),
            (at(24, 9, 30), 1),
            (at(24, 11, 59), 1),
            (at(24, 12, 0), 2),
            (at(24, 13, 0), 2),
            (at(25, 0, 0), 3),
            (at(24, 10, 0), 4),
        ] {
            let fresh = l.evaluate(None, t);
            assert_eq!(
                &*line(t),
                format!("{:?} {:?}", fresh.openness, fresh.until),
                "{t}"
            );
            assert_eq!(written.get(), writes, "{t}");
        }
        // A 診療科目 of hours of its own has its line in a slot of its own: that department's
        // answer, written again when another department takes the slot.
        let written = std::cell::Cell::new(0);
        let line = |d, t| {
            two.line(Some(d), t, |now| {
                written.set(written.get() + 1);
                format!("{d} {:?} {:?}", now.openness, now.until)
            })
        };
        for (d, t, writes) in [
            ("01001", at(24, 10, 0), 1),
            ("01001", at(24, 11, 0), 1),
            ("03001", at(24, 11, 0), 2),
            ("03001", at(24, 13, 0), 2),
            ("03001", at(24, 14, 0), 3),
            ("01001", at(24, 14, 0), 4),
        ] {
            let fresh = two.evaluate(Some(d), t);
            assert_eq!(
                &*line(d, t),
                format!("{d} {:?} {:?}", fresh.openness, fresh.until),
                "{d} {t}"
            );
            assert_eq!(written.get(), writes, "{d} {t}");
        }
        // Each day's line is that day's.
        assert_ne!(l.day(at(23, 0, 0).date()), l.day(at(24, 0, 0).date()));
        assert_eq!(
            l.day(at(23, 0, 0).date()),
            Schedule {
                tables: &l.schedule_tables(None),
                closures: &[],
                is_holiday: &is_holiday,
            }
            .day(at(23, 0, 0).date())
        );
    }
}
