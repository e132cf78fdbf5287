//! `teikyo synth --facilities N --seed S --out DIR`: a national-scale, deterministic dataset in the
//! MHLW open-data layouts (plus the Teikyo extension columns), for the demo, the benchmarks and
//! later issues. Same N and seed → byte-identical files.
//!
//! Kinds follow Japan's shares (≈8k 病院, ≈105k 診療所, ≈67k 歯科, ≈2.5k 助産所, ≈62k 薬局 at
//! 245,000); prefectures follow the 2020 census population; within a prefecture each facility
//! sits at a random KEN_ALL area, so postal codes, municipalities, towns and coordinates are real
//! and agree with each other.
//!
//! Beside the facility files it writes the reference data of the 保険医療機関番号確認:
//! `insurance_master.csv` (every facility's insurance code, name, address and kind) and
//! `ndb_preprint.csv` (前年度実施件数 for the 疾患・治療 codes the item sets count, for about
//! 80 % of the 病院 and 30 % of the 診療所・歯科診療所), in `teikyo_domain::ndb`'s formats.

use anyhow::Context;
use clap::Args;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use teikyo_domain::{FacilityKind, InsuranceCode, PrefectureCode};
use teikyo_opendata::layout::{self, DAY_TYPES, WEEKDAYS, col};
use teikyo_refdata::postal::PostalEntry;

#[derive(Debug, Clone, Args)]
pub struct SynthArgs {
    /// 施設数（全国の実数はおよそ 245,000）
    #[arg(long, default_value_t = 245_000)]
    pub facilities: u32,
    /// 乱数の種（同じ値なら同じファイルになります）
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// 書き出すディレクトリ
    #[arg(long, default_value = "synth")]
    pub out: PathBuf,
}

/// Facilities per kind at 245,000 (DOMAIN §8.2, rounded).
const KIND_SHARES: [(FacilityKind, u32); 5] = [
    (FacilityKind::Hospital, 8_000),
    (FacilityKind::Clinic, 105_000),
    (FacilityKind::DentalClinic, 67_000),
    (FacilityKind::MidwiferyHome, 2_500),
    (FacilityKind::Pharmacy, 62_500),
];

/// Population in thousands by prefecture, 2020 census (国勢調査), 01 … 47.
const POPULATION: [u32; 47] = [
    5225, 1238, 1211, 2302, 960, 1068, 1833, 2867, 1933, 1939, 7345, 6284, 14048, 9237, 2201, 1035,
    1133, 767, 810, 2048, 1979, 3633, 7542, 1770, 1414, 2578, 8838, 5465, 1324, 923, 553, 671,
    1888, 2800, 1342, 720, 950, 1335, 692, 5135, 811, 1312, 1738, 1124, 1070, 1588, 1467,
];

/// Common surnames with readings, for names like 「佐藤内科クリニック」.
const SURNAMES: [(&str, &str); 40] = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("山下", "ヤマシタ"),
    ("中島", "ナカジマ"),
    ("石井", "イシイ"),
    ("小川", "オガワ"),
    ("前田", "マエダ"),
    ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"),
    ("藤田", "フジタ"),
    ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"),
    ("村上", "ムラカミ"),
    ("遠藤", "エンドウ"),
    ("青木", "アオキ"),
    ("坂本", "サカモト"),
];

/// Name patterns per kind: (kanji suffix, kana suffix). `{}` is a surname or town.
fn suffixes(kind: FacilityKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        FacilityKind::Hospital => &[
            ("病院", "ビョウイン"),
            ("中央病院", "チュウオウビョウイン"),
            ("記念病院", "キネンビョウイン"),
            ("総合病院", "ソウゴウビョウイン"),
            ("リハビリテーション病院", "リハビリテーションビョウイン"),
        ],
        FacilityKind::Clinic => &[
            ("内科クリニック", "ナイカクリニック"),
            ("医院", "イイン"),
            ("クリニック", "クリニック"),
            ("こどもクリニック", "コドモクリニック"),
            ("眼科医院", "ガンカイイン"),
            ("皮膚科", "ヒフカ"),
            ("整形外科", "セイケイゲカ"),
            ("耳鼻咽喉科医院", "ジビインコウカイイン"),
        ],
        FacilityKind::DentalClinic => &[
            ("歯科医院", "シカイイン"),
            ("歯科クリニック", "シカクリニック"),
            ("デンタルクリニック", "デンタルクリニック"),
            ("こども歯科", "コドモシカ"),
        ],
        FacilityKind::MidwiferyHome => &[("助産院", "ジョサンイン"), ("助産所", "ジョサンジョ")],
        FacilityKind::Pharmacy => &[
            ("薬局", "ヤッキョク"),
            ("調剤薬局", "チョウザイヤッキョク"),
            ("ファーマシー", "ファーマシー"),
            ("センター薬局", "センターヤッキョク"),
        ],
    }
}

/// `total` split by `weights` with largest remainders, so the parts add up exactly.
fn apportion(total: u32, weights: &[u32]) -> Vec<u32> {
    let sum: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<(u32, u64)> = weights
        .iter()
        .map(|w| {
            let x = u64::from(total) * u64::from(*w);
            ((x / sum) as u32, x % sum)
        })
        .collect();
    let mut parts: Vec<u32> = exact.iter().map(|(q, _)| *q).collect();
    let short = total - parts.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for i in order.into_iter().take(short as usize) {
        parts[i] += 1;
    }
    parts
}

/// Usable areas per prefecture: KEN_ALL rows (not offices) whose town reads cleanly.
fn areas_by_prefecture() -> HashMap<PrefectureCode, Vec<&'static PostalEntry>> {
    let mut m: HashMap<PrefectureCode, Vec<&'static PostalEntry>> = HashMap::new();
    for e in teikyo_refdata::postal::all() {
        if e.office.is_none() && !e.town.contains(['（', '(', '、', '〜', '～']) {
            m.entry(e.prefecture()).or_default().push(e);
        }
    }
    m
}

struct Writer {
    out: csv::Writer<std::io::BufWriter<std::fs::File>>,
    header: Vec<String>,
    index: HashMap<String, usize>,
    row: Vec<String>,
}

impl Writer {
    fn create(dir: &Path, name: &str, header: Vec<String>) -> anyhow::Result<Self> {
        let path = dir.join(format!("{name}.csv"));
        let mut file = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&path)
                .with_context(|| format!("{} を作成できません", path.display()))?,
        );
        file.write_all(b"\xEF\xBB\xBF")?;
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(file);
        out.write_record(&header)?;
        let mut index: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.clone(), i))
            .collect();
        // 薬局 files name four identity columns differently; callers set the canonical name.
        for (own, canonical) in layout::aliases() {
            if let Some(i) = index.get(own).copied() {
                index.insert(canonical.to_owned(), i);
            }
        }
        let row = vec![String::new(); header.len()];
        Ok(Self {
            out,
            header,
            index,
            row,
        })
    }

    fn set(&mut self, column: &str, value: impl Into<String>) {
        if let Some(i) = self.index.get(column) {
            self.row[*i] = value.into();
        }
    }

    fn emit(&mut self) -> anyhow::Result<()> {
        self.out.write_record(&self.row)?;
        for f in &mut self.row {
            f.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.out.flush()?;
        debug_assert_eq!(self.header.len(), self.row.len());
        Ok(())
    }
}

/// Completes a 9-digit payload with the check digit its prefecture's codes carry. 病院 number
/// from 郡市区 90 on, so that they never share a 医科 code with a 診療所 of their prefecture.
fn insurance_code(
    pref: PrefectureCode,
    kind: FacilityKind,
    fee: u8,
    serial: u32,
) -> Option<InsuranceCode> {
    let base = if kind == FacilityKind::Hospital {
        90
    } else {
        1
    };
    let district = base + serial / 9_999;
    let number = 1 + serial % 9_999;
    let payload = format!("{pref}{fee}{district:02}{number:04}");
    // The 7-digit rule for 11–14, the standard one elsewhere (DOMAIN §9.4): try each digit and
    // keep the one that parses under the expected rule.
    let wanted = if pref.uses_seven_digit_insurance_rule() {
        teikyo_domain::CheckDigitRule::SevenDigit
    } else {
        teikyo_domain::CheckDigitRule::Standard
    };
    (0..10)
        .filter_map(|d| InsuranceCode::parse(&format!("{payload}{d}")).ok())
        .find(|c| c.rule() == wanted)
}

/// Weekly pattern of one facility: which weekdays are closed, whether Thursday afternoon is off.
struct Week {
    closed: [bool; 7],
    holiday_closed: bool,
    thursday_afternoon_off: bool,
}

fn week(kind: FacilityKind, rng: &mut ChaCha8Rng) -> Week {
    let mut closed = [false; 7];
    closed[6] = kind != FacilityKind::Hospital || rng.random_bool(0.7);
    if matches!(kind, FacilityKind::Clinic | FacilityKind::DentalClinic) && rng.random_bool(0.35) {
        closed[3] = true; // 木曜休診
    }
    Week {
        closed,
        holiday_closed: kind != FacilityKind::Hospital || rng.random_bool(0.6),
        thursday_afternoon_off: rng.random_bool(0.2),
    }
}

/// Slots (start, end) of day type `d` (0 = 月 … 6 = 日, 7 = 祝).
fn slots(w: &Week, d: usize) -> Vec<(&'static str, &'static str)> {
    let closed = if d == 7 {
        w.holiday_closed
    } else {
        w.closed[d]
    };
    if closed {
        return vec![];
    }
    if d == 5 || d == 6 || d == 7 || (d == 3 && w.thursday_afternoon_off) {
        return vec![("09:00", "12:30")];
    }
    vec![("09:00", "12:30"), ("14:00", "18:00")]
}

fn earlier(t: &str) -> String {
    // 受付 starts 30 minutes before and ends 30 minutes before the slot.
    let (h, m) = t.split_once(':').unwrap_or(("0", "0"));
    let mins = h.parse::<u32>().unwrap_or(0) * 60 + m.parse::<u32>().unwrap_or(0);
    let mins = mins.saturating_sub(30);
    format!("{:02}:{:02}", mins / 60, mins % 60)
}

fn set_closures(w: &mut Writer, kind: FacilityKind, week: &Week) {
    // Inverted flags: 1 = open, 0 = closed (DOMAIN §8.5).
    let flag = |closed: bool| if closed { "0" } else { "1" };
    for (i, d) in WEEKDAYS.iter().enumerate() {
        w.set(&layout::closure::weekly(kind, d), flag(week.closed[i]));
        for n in 1..=5 {
            w.set(&layout::closure::nth_week(kind, n, d), flag(week.closed[i]));
        }
    }
    w.set(&layout::closure::holiday(kind), flag(week.holiday_closed));
    w.set(
        &layout::closure::other(kind),
        "年末年始（12月29日～1月3日）",
    );
}

fn set_slot_columns(w: &mut Writer, week: &Week, label: &str, max: usize) {
    for (d, day) in DAY_TYPES.iter().enumerate() {
        for (n, (s, e)) in slots(week, d).into_iter().take(max).enumerate() {
            let n = u8::try_from(n + 1).unwrap_or(u8::MAX);
            w.set(&layout::slot_column(day, label, n, false), s);
            w.set(&layout::slot_column(day, label, n, true), e);
        }
    }
}

pub fn run(args: &SynthArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{} を作成できません", args.out.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let areas = areas_by_prefecture();
    let specialties: Vec<_> = teikyo_refdata::codes::specialties()
        .iter()
        .filter(|s| !s.free_text)
        .collect();
    let kind_counts = apportion(
        args.facilities,
        &KIND_SHARES.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
    );
    let mut total_rows = 0u64;
    let mut master = Writer::create(
        &args.out,
        MASTER_FILE,
        teikyo_domain::ndb::MASTER_COLUMNS
            .map(str::to_owned)
            .to_vec(),
    )?;
    let mut preprint = Writer::create(
        &args.out,
        PREPRINT_FILE,
        teikyo_domain::ndb::PREPRINT_COLUMNS
            .map(str::to_owned)
            .to_vec(),
    )?;
    // Its own stream, so the facility files stay what they were before the preprint existed.
    let mut ndb_rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x4e44_4250);
    let counted = counted_treatments()?;
    for ((kind, _), kind_total) in KIND_SHARES.iter().zip(kind_counts) {
        let kind = *kind;
        let mut fw = Writer::create(&args.out, layout::facility_file(kind), {
            let mut h = layout::facility_header(kind);
            h.extend(layout::EXTENSION_COLUMNS.iter().map(|s| s.to_string()));
            h
        })?;
        let mut hw = match layout::hours_file(kind) {
            Some(name) => Some(Writer::create(&args.out, name, layout::hours_header())?),
            None => None,
        };
        let kind_specialties: Vec<_> = specialties
            .iter()
            .filter(|s| match kind {
                FacilityKind::DentalClinic => s.code.starts_with("08"),
                _ => !s.code.starts_with("08"),
            })
            .collect();
        let per_pref = apportion(kind_total, &POPULATION);
        for (pref, count) in PrefectureCode::all().zip(per_pref) {
            let Some(pool) = areas.get(&pref).filter(|p| !p.is_empty()) else {
                continue;
            };
            let mut insurance_serial = 0u32;
            for serial in 0..count {
                // An area and a street address that the address check accepts: a generated
                // 「本町2丁目」 can be a town Japan Post files under another code, so check and
                // fall back to a 番地 form, then to another area.
                let (area, rest, address) = street_address(pool, &mut rng)?;
                let (sur, sur_kana) = *SURNAMES.choose(&mut rng).context("空の姓一覧")?;
                let town_ok = !area.town.is_empty()
                    && teikyo_domain::text::is_katakana_reading(area.town_kana);
                let (stem, stem_kana) = if town_ok && rng.random_bool(0.4) {
                    (area.town, area.town_kana)
                } else {
                    (sur, sur_kana)
                };
                let (suf, suf_kana) = *suffixes(kind).choose(&mut rng).context("空の名称")?;
                let name = format!("{stem}{suf}");
                let kana = format!("{stem_kana}{suf_kana}");
                let facility_code = format!("{}{pref}{:07}", kind.code(), serial + 1);
                let id = format!("{pref}{}{facility_code}", kind.code());
                let coords = teikyo_refdata::address::geocode(area.municipality_code(), &rest);
                fw.set(col::ID, id.clone());
                fw.set(col::NAME, name.clone());
                fw.set(col::NAME_KANA, kana.clone());
                if rng.random_bool(0.3) {
                    fw.set(col::SHORT, stem);
                    fw.set(col::SHORT_KANA, stem_kana);
                }
                fw.set(col::KIND, kind.code().to_string());
                fw.set(col::PREFECTURE, pref.to_string());
                fw.set(col::MUNICIPALITY, area.municipality_code().three());
                fw.set(col::ADDRESS, address.clone());
                if let Some(c) = coords {
                    let jitter = |r: &mut ChaCha8Rng| r.random_range(-0.0015..0.0015);
                    fw.set(col::LAT, format!("{:.6}", c.lat + jitter(&mut rng)));
                    fw.set(col::LON, format!("{:.6}", c.lon + jitter(&mut rng)));
                } else {
                    fw.set(col::LAT, "0.0");
                    fw.set(col::LON, "0.0");
                }
                if rng.random_bool(0.4) {
                    fw.set(
                        col::HOMEPAGE,
                        format!("https://example.jp/{facility_code}/"),
                    );
                }
                fw.set(col::POSTAL, area.postal_code().digits());
                let fee = match kind {
                    FacilityKind::DentalClinic => Some(3),
                    FacilityKind::Pharmacy => Some(4),
                    FacilityKind::MidwiferyHome => None,
                    _ => Some(1),
                };
                if let Some(fee) = fee
                    // a few facilities have no insurance code (自由診療 only)
                    && rng.random_bool(0.97)
                {
                    insurance_serial += 1;
                    if let Some(code) = insurance_code(pref, kind, fee, insurance_serial) {
                        fw.set(col::INSURANCE, code.as_str().to_owned());
                        master.set(col::INSURANCE, code.as_str().to_owned());
                        master.set("名称", name.clone());
                        master.set("所在地", address.clone());
                        master.set(col::KIND, kind.code().to_string());
                        master.emit()?;
                        write_counts(&mut preprint, &mut ndb_rng, kind, &code, &counted)?;
                    }
                }
                let opened = chrono::NaiveDate::from_ymd_opt(
                    rng.random_range(1950..2026),
                    rng.random_range(1..13),
                    rng.random_range(1..29),
                );
                if let Some(opened) = opened {
                    fw.set(col::OPENED, opened.to_string());
                    let later = opened + chrono::Duration::days(rng.random_range(365..3650));
                    let roll: f64 = rng.random();
                    if roll < 0.01 {
                        fw.set(col::SUSPENDED, later.to_string());
                    } else if roll < 0.03 {
                        fw.set(col::ABOLISHED, later.to_string());
                    }
                }
                let wk = week(kind, &mut rng);
                match kind {
                    FacilityKind::Pharmacy => {
                        for (d, day) in DAY_TYPES.iter().enumerate() {
                            let flag = if slots(&wk, d).is_empty() { "0" } else { "1" };
                            fw.set(&layout::pharmacy::business_day(day), flag);
                            fw.set(&layout::pharmacy::weekly(day), flag);
                        }
                        for (i, d) in WEEKDAYS.iter().enumerate() {
                            let flag = if wk.closed[i] { "0" } else { "1" };
                            for n in 1..=5 {
                                fw.set(&layout::pharmacy::nth_week(n, d), flag);
                            }
                        }
                        fw.set(
                            layout::pharmacy::HOLIDAY,
                            if wk.holiday_closed { "0" } else { "1" },
                        );
                        fw.set(layout::pharmacy::OTHER, "年末年始");
                        set_slot_columns(&mut fw, &wk, layout::OPENING, 4);
                    }
                    FacilityKind::MidwiferyHome => {
                        set_closures(&mut fw, kind, &wk);
                        set_slot_columns(&mut fw, &wk, layout::WORKING, 3);
                        set_slot_columns(&mut fw, &wk, layout::RECEPTION, 3);
                    }
                    _ => {
                        set_closures(&mut fw, kind, &wk);
                        set_beds(&mut fw, kind, &mut rng);
                    }
                }
                fw.emit()?;
                total_rows += 1;
                if let Some(hw) = hw.as_mut() {
                    let n = match kind {
                        FacilityKind::Hospital => rng.random_range(3..12),
                        _ => rng.random_range(1..4),
                    };
                    let chosen: Vec<_> = kind_specialties.choose_multiple(&mut rng, n).collect();
                    for s in chosen {
                        for slot in 0..2 {
                            let mut any = false;
                            for (d, day) in DAY_TYPES.iter().enumerate() {
                                if let Some((start, end)) = slots(&wk, d).get(slot) {
                                    any = true;
                                    hw.set(&layout::hours::start(day), *start);
                                    hw.set(&layout::hours::end(day), *end);
                                    hw.set(&layout::hours::reception_start(day), earlier(start));
                                    hw.set(&layout::hours::reception_end(day), earlier(end));
                                }
                            }
                            if any {
                                hw.set(col::ID, id.clone());
                                hw.set(col::SPECIALTY_CODE, s.code);
                                hw.set(col::SPECIALTY_NAME, s.name);
                                hw.set(col::BAND, (slot + 1).to_string());
                                hw.emit()?;
                            }
                        }
                    }
                }
            }
        }
        fw.finish()?;
        if let Some(hw) = hw {
            hw.finish()?;
        }
    }
    master.finish()?;
    preprint.finish()?;
    eprintln!(
        "{} 施設を {} に書き出しました（{:.1} 秒）。",
        total_rows,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn set_beds(w: &mut Writer, kind: FacilityKind, rng: &mut ChaCha8Rng) {
    match kind {
        FacilityKind::Hospital => {
            let general = rng.random_range(20..400);
            let care: u32 = if rng.random_bool(0.4) {
                rng.random_range(10..120)
            } else {
                0
            };
            let care_medical = care / 2;
            let psych: u32 = if rng.random_bool(0.15) {
                rng.random_range(30..300)
            } else {
                0
            };
            let values = [
                general,
                care,
                care_medical,
                care - care_medical,
                psych,
                0,
                0,
            ];
            for (name, v) in layout::HOSPITAL_BEDS.iter().zip(values) {
                w.set(name, v.to_string());
            }
            w.set("合計病床数", (general + care + psych).to_string());
        }
        FacilityKind::Clinic => {
            // 有床診療所 have at most 19 beds; most clinics have none (an explicit 0, not blank).
            let general: u32 = if rng.random_bool(0.07) {
                rng.random_range(1..20)
            } else {
                0
            };
            for name in layout::CLINIC_BEDS {
                w.set(name, "0");
            }
            w.set("一般病床", general.to_string());
            w.set("合計病床数", general.to_string());
        }
        _ => {}
    }
}

/// A random area of the prefecture and a street address in it that `address::check` accepts.
fn street_address(
    pool: &[&'static PostalEntry],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<(&'static PostalEntry, String, String)> {
    for _ in 0..20 {
        let area = *pool.choose(rng).context("空の地域一覧")?;
        let mut forms = Vec::with_capacity(2);
        if area.town.is_empty() {
            forms.push(format!("{}番地", rng.random_range(1..3000)));
        } else {
            if rng.random_bool(0.5) {
                forms.push(format!(
                    "{}{}丁目{}番{}号",
                    area.town,
                    rng.random_range(1..5),
                    rng.random_range(1..30),
                    rng.random_range(1..20)
                ));
            }
            forms.push(format!(
                "{}{}番地{}",
                area.town,
                rng.random_range(1..2000),
                rng.random_range(1..10)
            ));
        }
        for rest in forms {
            let address = format!("{}{}{rest}", area.prefecture_name(), area.city());
            if teikyo_refdata::address::check(area.postal_code(), &address).is_ok() {
                return Ok((area, rest, address));
            }
        }
    }
    anyhow::bail!("住所を生成できませんでした（地域一覧をご確認ください）")
}

/// The insurance-code master `run` writes (what `import insurance-master` takes).
pub const MASTER_FILE: &str = "insurance_master";
/// The NDB counts `run` writes (what `import ndb-preprint` takes).
pub const PREPRINT_FILE: &str = "ndb_preprint";

/// The 疾患・治療 codes some item set asks a 前年度実施件数 for.
fn counted_treatments() -> anyhow::Result<Vec<String>> {
    let catalogue = teikyo_refdata::forms::catalogue()
        .map_err(|e| anyhow::anyhow!("報告様式を読み込めません（{} 件の誤り）", e.len()))?;
    let mut codes: Vec<String> = catalogue
        .item_sets
        .values()
        .flat_map(teikyo_domain::ndb::preprint_targets)
        .filter_map(|(_, item)| match &item.kind {
            teikyo_domain::forms::ItemKind::CodedList {
                codes,
                count_flag: Some(flag),
            } => catalogue.code_lists.get(codes).map(|l| (l, flag.clone())),
            _ => None,
        })
        .flat_map(|(list, flag)| {
            list.codes
                .iter()
                .filter(move |c| c.flags.contains(&flag))
                .map(|c| c.code.clone())
        })
        .collect();
    codes.sort();
    codes.dedup();
    Ok(codes)
}

/// A facility's NDB counts: most 病院 and some 診療所 did some of the counted treatments.
fn write_counts(
    w: &mut Writer,
    rng: &mut ChaCha8Rng,
    kind: FacilityKind,
    code: &InsuranceCode,
    counted: &[String],
) -> anyhow::Result<()> {
    let (share, most) = match kind {
        FacilityKind::Hospital => (0.8, 400),
        FacilityKind::Clinic | FacilityKind::DentalClinic => (0.3, 40),
        _ => return Ok(()),
    };
    if !rng.random_bool(share) {
        return Ok(());
    }
    for item in counted {
        if rng.random_bool(0.7) {
            w.set(col::INSURANCE, code.as_str().to_owned());
            w.set("項目コード", item.clone());
            w.set("件数", rng.random_range(1..most).to_string());
            w.emit()?;
        }
    }
    Ok(())
}

/// The facility files `run` writes into `dir` (what `import facilities` takes).
pub fn facility_files(dir: &Path) -> Vec<PathBuf> {
    FacilityKind::ALL
        .iter()
        .map(|k| dir.join(format!("{}.csv", layout::facility_file(*k))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_adds_up() {
        let parts = apportion(
            245_000,
            &KIND_SHARES.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        );
        assert_eq!(parts.iter().sum::<u32>(), 245_000);
        assert_eq!(parts[0], 8_000);
        let parts = apportion(7, &POPULATION);
        assert_eq!(parts.iter().sum::<u32>(), 7);
        assert_eq!(apportion(0, &[1, 2]), vec![0, 0]);
    }

    #[test]
    fn insurance_codes_follow_the_prefecture_rule() {
        let tokyo = PrefectureCode::parse("13").unwrap();
        let c = insurance_code(tokyo, FacilityKind::Clinic, 1, 12_345).unwrap();
        assert_eq!(c.rule(), teikyo_domain::CheckDigitRule::SevenDigit);
        let ishikawa = PrefectureCode::parse("17").unwrap();
        let c = insurance_code(ishikawa, FacilityKind::Pharmacy, 4, 1).unwrap();
        assert_eq!(c.rule(), teikyo_domain::CheckDigitRule::Standard);
        assert_eq!(c.as_str()[..5].to_string(), "17401");
    }
}
