//! Self-consistency audit of the address services over the whole embedded data, for use after a
//! data refresh: every postal row's own address (prefecture + city + town + 「1」) must pass
//! [`address::check`], and every town point's name must geocode to a town point.
//! `cargo run --release -p teikyo-refdata --example address_audit`

use std::collections::BTreeMap;
use teikyo_domain::CoordinateSource;
use teikyo_refdata::address::{self, TownCheck};
use teikyo_refdata::{postal, towns};

fn main() {
    let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
    let mut shown = 0;
    for e in postal::all() {
        let town = e.town.split('、').next().unwrap_or_default();
        let text = format!("{}{}{}1", e.prefecture_name(), e.city(), town);
        let v = match address::check(e.postal_code(), &text) {
            Ok(m) => {
                if m.town == TownCheck::Unrecognised && shown < 40 {
                    shown += 1;
                    eprintln!("{} {text}: unrecognised", e.postal_code());
                }
                format!("{:?}", m.town)
            }
            Err(err) => {
                if shown < 40 {
                    shown += 1;
                    eprintln!("{} {text}: {}", e.postal_code(), err.detail);
                }
                err.code.to_owned()
            }
        };
        *verdicts.entry(v).or_default() += 1;
    }
    println!("postal rows: {verdicts:?}");
    let mut geo: BTreeMap<&str, usize> = BTreeMap::new();
    for t in towns::all() {
        let c = address::geocode(t.municipality, t.name);
        let k = match c {
            Some(c) if c.source == CoordinateSource::Town => "town",
            Some(_) => {
                eprintln!("{} {}: municipality point", t.municipality, t.name);
                "municipality"
            }
            None => "none",
        };
        *geo.entry(k).or_default() += 1;
    }
    println!("town names geocoded: {geo:?}");
}
