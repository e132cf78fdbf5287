//! What residents filter on besides the codes (issue 7 §5): バリアフリー, 駐車場, キャッシュレス,
//! オンライン診療, 在宅医療, 休日・夜間, and the foreign languages a facility handles. Each is read
//! from the published answers by item id suffix, so the same rule serves every kind's item set
//! (病院・診療所・歯科 `care.online_care`, 薬局 `pharmacy_work.online_guidance`).

use crate::forms::Value;
use crate::hours::{Day, DayType, TimeOfDay};
use crate::publication::PublishedDocument;

/// A yes/no property of a published facility a search can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// 障害者・車椅子利用者へのサービスあり (薬局: 車椅子の利用者に対する配慮の記載あり).
    BarrierFree,
    /// 駐車場あり.
    Parking,
    /// クレジットカード・電子決済による支払い可.
    Cashless,
    /// オンライン診療 (薬局: オンライン服薬指導) を実施.
    Online,
    /// 在宅医療に対応 (薬局: 居宅等における調剤業務).
    HomeCare,
    /// 休日・夜間: open on 日曜 or 祝日, or after [`NIGHT_FROM`], or 24時間.
    NightHoliday,
}

/// A slot ending after this (or overnight) counts as 夜間診療.
pub const NIGHT_FROM: (u16, u16) = (19, 0);

impl Feature {
    pub const ALL: [Feature; 6] = [
        Self::NightHoliday,
        Self::BarrierFree,
        Self::Parking,
        Self::Cashless,
        Self::Online,
        Self::HomeCare,
    ];

    /// Stable id, used in URLs and the index.
    pub fn id(self) -> &'static str {
        match self {
            Self::BarrierFree => "barrier_free",
            Self::Parking => "parking",
            Self::Cashless => "cashless",
            Self::Online => "online",
            Self::HomeCare => "home_care",
            Self::NightHoliday => "night_holiday",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::BarrierFree => "バリアフリー",
            Self::Parking => "駐車場あり",
            Self::Cashless => "キャッシュレス決済",
            Self::Online => "オンライン診療",
            Self::HomeCare => "在宅医療",
            Self::NightHoliday => "休日・夜間",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::BarrierFree => "Barrier-free",
            Self::Parking => "Parking",
            Self::Cashless => "Cashless payment",
            Self::Online => "Online consultation",
            Self::HomeCare => "Home care",
            Self::NightHoliday => "Nights and holidays",
        }
    }
}

fn yes(v: &Value) -> bool {
    matches!(v, Value::Choice(c) if c == "yes")
}

fn filled(v: &Value) -> bool {
    match v {
        Value::Text(t) => !t.trim().is_empty(),
        Value::Choices(c) => !c.is_empty(),
        Value::Number(n) => *n > 0.0,
        other => yes(other),
    }
}

/// An answer (by full id suffix) that says a feature, and how it says it.
type Rule = (&'static str, Feature, fn(&Value) -> bool);

const RULES: [Rule; 9] = [
    (".accessibility", Feature::BarrierFree, yes),
    (".accessible_parking_spaces", Feature::BarrierFree, filled),
    (".wheelchair_support", Feature::BarrierFree, filled),
    (".has_parking", Feature::Parking, yes),
    (".cashless", Feature::Cashless, yes),
    (".online_care", Feature::Online, yes),
    (".online_guidance", Feature::Online, yes),
    (".home_care", Feature::HomeCare, filled),
    (".home_dispensing", Feature::HomeCare, yes),
];

impl PublishedDocument {
    /// The features this document shows, in [`Feature::ALL`] order.
    pub fn features(&self) -> Vec<Feature> {
        let mut out: Vec<Feature> = Vec::new();
        for s in &self.sections {
            for (id, v) in &s.answers.0 {
                for (suffix, feature, holds) in RULES {
                    if id.as_str().ends_with(suffix) && holds(v) {
                        out.push(feature);
                    }
                }
            }
        }
        if self.hours_tables().iter().any(|t| {
            t.days.iter().any(|(day, d)| match d {
                Day::AllDay => true,
                Day::Open { slots } => {
                    matches!(day, DayType::Sun | DayType::Holiday)
                        || slots.as_slice().iter().any(|s| {
                            s.overnight
                                || TimeOfDay::new(NIGHT_FROM.0, NIGHT_FROM.1)
                                    .is_some_and(|night| s.end > night)
                        })
                }
                Day::Closed | Day::Varies => false,
            })
        }) {
            out.push(Feature::NightHoliday);
        }
        out.sort_by_key(|f| Feature::ALL.iter().position(|a| a == f));
        out.dedup();
        out
    }

    /// The foreign languages (code list `languages`) the facility handles: the group rows'
    /// `.language` (医療機関) and the multi-choice `.languages` (薬局).
    pub fn languages(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.sections {
            for (id, v) in &s.answers.0 {
                match v {
                    Value::Choices(codes) if id.as_str().ends_with(".languages") => {
                        out.extend(codes.iter().map(String::as_str));
                    }
                    Value::Group(rows) => {
                        for row in rows {
                            for (k, v) in &row.0 {
                                if let Value::Choice(c) = v
                                    && k.as_str().ends_with(".language")
                                {
                                    out.push(c);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::Answers;
    use crate::hours::{Slot, Slots, WeeklyHours};
    use crate::publication::PublishedSection;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn doc(answers: Answers) -> PublishedDocument {
        let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        PublishedDocument {
            facility: crate::facility::tests::record(),
            item_set: "2025-clinic".into(),
            confirmed_at: Utc.with_ymd_and_hms(2026, 6, 1, 3, 0, 0).unwrap(),
            sections: vec![PublishedSection {
                id: "x".into(),
                number: "1".into(),
                title: "x".into(),
                confirmed_on: day,
                changed_on: day,
                answers,
            }],
            closures: Vec::new(),
        }
    }

    fn weekdays_until(end: (u16, u16), overnight: bool) -> WeeklyHours {
        let slot = Slot {
            start: TimeOfDay::new(9, 0).unwrap(),
            end: TimeOfDay::new(end.0, end.1).unwrap(),
            overnight,
            reception: None,
        };
        let mut h = WeeklyHours::default();
        for d in [DayType::Mon, DayType::Tue] {
            h.days.insert(
                d,
                Day::Open {
                    slots: Slots::new(vec![slot]).unwrap(),
                },
            );
        }
        h.days.insert(DayType::Sun, Day::Closed);
        h.days.insert(DayType::Holiday, Day::Closed);
        h
    }

    #[test]
    fn answers_name_their_features_for_every_kind() {
        let mut a = Answers::default();
        a.set("access.has_parking", Value::Choice("yes".into()));
        a.set("amenities.accessibility", Value::Choice("no".into()));
        a.set("costs.cashless", Value::Choice("unknown".into()));
        a.set("pharmacy_work.online_guidance", Value::Choice("yes".into()));
        a.set("care.home_care", Value::Choices(vec!["visit".into()]));
        assert_eq!(
            doc(a).features(),
            [Feature::Parking, Feature::Online, Feature::HomeCare]
        );
        let mut b = Answers::default();
        b.set(
            "pharmacy_services.wheelchair_support",
            Value::Text("スロープあり".into()),
        );
        b.set("care.home_care", Value::Choices(vec![]));
        assert_eq!(doc(b).features(), [Feature::BarrierFree]);
    }

    #[test]
    fn nights_and_holidays_come_from_the_hours() {
        let table = |h: WeeklyHours| {
            let mut a = Answers::default();
            a.set("basic.hours", Value::Hours(h));
            doc(a).features()
        };
        assert_eq!(table(weekdays_until((18, 0), false)), []);
        assert_eq!(table(weekdays_until((19, 0), false)), []);
        assert_eq!(
            table(weekdays_until((19, 30), false)),
            [Feature::NightHoliday]
        );
        assert_eq!(table(weekdays_until((2, 0), true)), [Feature::NightHoliday]);
        let mut sunday = weekdays_until((12, 0), false);
        sunday
            .days
            .insert(DayType::Sun, sunday.days[&DayType::Mon].clone());
        assert_eq!(table(sunday), [Feature::NightHoliday]);
    }

    #[test]
    fn languages_come_from_rows_and_choices() {
        let mut row = Answers::default();
        row.set("amenities.languages.language", Value::Choice("zh".into()));
        let mut a = Answers::default();
        a.set("amenities.languages", Value::Group(vec![row]));
        a.set(
            "pharmacy_services.languages",
            Value::Choices(vec!["en".into(), "zh".into()]),
        );
        assert_eq!(doc(a).languages(), ["en", "zh"]);
    }

    #[test]
    fn ids_round_trip() {
        for f in Feature::ALL {
            assert_eq!(Feature::parse(f.id()), Some(f));
        }
    }
}
