//! The field views a section page renders, generated from the item set (no template per
//! section): one [`FieldView`] per item, with the control its type calls for, the values of
//! the form fields and the messages that belong to it.

use std::collections::HashMap;

use teikyo_domain::Severity;
use teikyo_domain::forms::{
    Answers, COUNT_NOT_APPLICABLE, Catalogue, Condition, Issue, Item, ItemKind, ItemSet, Scope,
    Section, TextFormat,
};
use teikyo_domain::hours::DayType;

use super::fields::{FormFields, periods_key, rows_key, week_value};

#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) error: bool,
    pub(crate) text: String,
}

#[derive(Debug)]
pub(crate) struct Opt {
    pub(crate) id: String,
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) checked: bool,
}

#[derive(Debug)]
pub(crate) struct FieldView {
    /// The form field's name and the validator's path.
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) help: Option<String>,
    pub(crate) required: bool,
    /// For the script that shows and hides conditional items live: the controlling field and
    /// its values, space-separated.
    pub(crate) show_when: Option<(String, String)>,
    /// Said beside a conditional item, so the page works without the script.
    pub(crate) condition_note: Option<String>,
    /// The condition does not hold now (the script hides it; without it, it stays visible).
    pub(crate) off: bool,
    /// Its condition names an item of another section: shown only when that holds.
    pub(crate) hidden_elsewhere: bool,
    pub(crate) messages: Vec<Message>,
    pub(crate) control: Control,
}

#[derive(Debug)]
pub(crate) enum Control {
    Text(TextView),
    Number(NumberView),
    Date(String),
    Radios(Vec<Opt>),
    Select(Vec<Opt>),
    Checks(Vec<Opt>),
    Hours(Box<HoursView>),
    Group(Box<GroupView>),
    Coded(CodedView),
}

#[derive(Debug)]
pub(crate) struct TextView {
    pub(crate) value: String,
    pub(crate) max_length: u32,
    pub(crate) multiline: bool,
    pub(crate) input_type: &'static str,
    pub(crate) inputmode: &'static str,
    pub(crate) autocomplete: &'static str,
    /// 「郵便番号から所在地を入力」 beside a postal code that a rule ties to an address.
    pub(crate) postal_button: bool,
}

#[derive(Debug)]
pub(crate) struct NumberView {
    pub(crate) value: String,
    pub(crate) unit: String,
    pub(crate) range: String,
    pub(crate) inputmode: &'static str,
}

#[derive(Debug)]
pub(crate) struct CodedView {
    pub(crate) rows: Vec<CodedRow>,
    /// How many codes take a count (前年度実施件数報告対象).
    pub(crate) flagged: usize,
}

#[derive(Debug)]
pub(crate) struct GroupView {
    pub(crate) rows_name: String,
    pub(crate) rows_count: usize,
    pub(crate) rows: Vec<RowView>,
    pub(crate) max: u32,
    pub(crate) can_add: bool,
}

#[derive(Debug)]
pub(crate) struct RowView {
    pub(crate) path: String,
    pub(crate) id: String,
    pub(crate) number: usize,
    pub(crate) delete_name: String,
    pub(crate) blank: bool,
    pub(crate) fields: Vec<FieldView>,
    pub(crate) messages: Vec<Message>,
}

#[derive(Debug)]
pub(crate) struct HoursView {
    pub(crate) days: Vec<DayView>,
    pub(crate) weeks_name: String,
    pub(crate) weeks_id: String,
    pub(crate) weeks_path: String,
    pub(crate) weeks: Vec<(String, Vec<Opt>)>,
    pub(crate) weeks_messages: Vec<Message>,
    pub(crate) periods_name: String,
    pub(crate) periods_count: usize,
    pub(crate) periods: Vec<PeriodView>,
    pub(crate) note_name: String,
    pub(crate) note_id: String,
    pub(crate) note: String,
}

#[derive(Debug)]
pub(crate) struct DayView {
    pub(crate) path: String,
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) status_name: String,
    pub(crate) statuses: Vec<Opt>,
    pub(crate) open: bool,
    pub(crate) slots: Vec<SlotView>,
    pub(crate) messages: Vec<Message>,
}

#[derive(Debug)]
pub(crate) struct SlotView {
    pub(crate) path: String,
    pub(crate) id: String,
    pub(crate) number: usize,
    pub(crate) start: (String, String),
    pub(crate) end: (String, String),
    pub(crate) overnight: (String, bool),
    pub(crate) reception_start: (String, String),
    pub(crate) reception_end: (String, String),
    pub(crate) has_reception: bool,
    pub(crate) messages: Vec<Message>,
}

#[derive(Debug)]
pub(crate) struct PeriodView {
    pub(crate) path: String,
    pub(crate) id: String,
    pub(crate) number: usize,
    pub(crate) from: (String, String),
    pub(crate) to: (String, String),
    pub(crate) note: (String, String),
    pub(crate) messages: Vec<Message>,
}

#[derive(Debug)]
pub(crate) struct CodedRow {
    pub(crate) path: String,
    pub(crate) id: String,
    pub(crate) code: String,
    pub(crate) label: String,
    pub(crate) available_name: String,
    pub(crate) available: bool,
    /// Flagged codes (前年度実施件数報告対象): the count field's name and value.
    pub(crate) count: Option<(String, String)>,
    pub(crate) not_applicable: &'static str,
    pub(crate) messages: Vec<Message>,
}

/// An issue as the summary at the top lists it.
#[derive(Debug)]
pub(crate) struct SummaryLine {
    pub(crate) anchor: String,
    pub(crate) error: bool,
    pub(crate) text: String,
}

/// The HTML id of a field path: `f-basic-departments-0-hours`.
pub(crate) fn html_id(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 2);
    out.push_str("f-");
    for c in path.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Choice lists up to this long are radio buttons (one tap on a phone); longer ones a select.
const RADIO_MAX: usize = 6;

pub(crate) struct Builder<'a> {
    pub(crate) catalogue: &'a Catalogue,
    pub(crate) set: &'a ItemSet,
    pub(crate) section: &'a Section,
    pub(crate) fields: &'a FormFields,
    /// The whole report's answers as the page stands (this section's from the fields), for
    /// conditions.
    pub(crate) answers: &'a Answers,
    /// A report that takes no input: no blank rows, no buttons.
    pub(crate) read_only: bool,
}

impl Builder<'_> {
    pub(crate) fn build(&self) -> Vec<FieldView> {
        let scope = Scope::top(self.answers);
        let postal_items: Vec<&str> = self
            .section
            .rules
            .iter()
            .filter_map(|r| match r {
                teikyo_domain::forms::Rule::PostalAddress { postal, .. } => Some(postal.as_str()),
                _ => None,
            })
            .collect();
        self.section
            .items
            .iter()
            .map(|item| {
                self.field(
                    item,
                    item.id.as_str(),
                    None,
                    scope,
                    postal_items.contains(&item.id.as_str()),
                )
            })
            .collect()
    }

    fn condition(
        &self,
        c: &Condition,
        row: Option<&str>,
        scope: Scope<'_>,
    ) -> (Option<(String, String)>, Option<String>, bool, bool) {
        let holds = scope.holds(c);
        let controller = self.set.item(c.item.as_str());
        let in_section = self
            .section
            .items
            .iter()
            .any(|i| i.id == c.item || c.item.as_str().starts_with(&format!("{}.", i.id)));
        let name = match row {
            Some(row_path) if c.item.as_str().matches('.').count() >= 2 => {
                format!("{row_path}.{}", c.item.local())
            }
            _ => c.item.0.clone(),
        };
        let labels: Vec<String> = c
            .any_of
            .iter()
            .map(|v| {
                format!(
                    "「{}」",
                    controller.map_or(v.clone(), |i| self.option_label(i, v))
                )
            })
            .collect();
        let note = controller.map(|i| {
            format!(
                "「{}」で{}を選んだ場合に入力してください。",
                i.label,
                labels.join("・")
            )
        });
        if in_section {
            (Some((name, c.any_of.join(" "))), note, !holds, false)
        } else {
            (None, note, false, !holds)
        }
    }

    fn option_label(&self, item: &Item, value: &str) -> String {
        match &item.kind {
            ItemKind::YesNoUnknown => yes_no_label(value).to_owned(),
            k => k
                .code_list()
                .and_then(|l| self.catalogue.code_lists.get(l))
                .and_then(|l| l.get(value))
                .map_or(value.to_owned(), |c| c.label.clone()),
        }
    }

    fn options(&self, name: &str, list: &str, chosen: &[String]) -> Vec<Opt> {
        self.catalogue
            .code_lists
            .get(list)
            .map(|l| {
                l.codes
                    .iter()
                    .map(|c| Opt {
                        id: html_id(&format!("{name}.{}", c.code)),
                        value: c.code.clone(),
                        label: c.label.clone(),
                        checked: chosen.contains(&c.code),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn field(
        &self,
        item: &Item,
        path: &str,
        row: Option<&str>,
        scope: Scope<'_>,
        postal_button: bool,
    ) -> FieldView {
        let (show_when, condition_note, off, hidden_elsewhere) = match &item.visible_if {
            Some(c) => self.condition(c, row, scope),
            None => (None, None, false, false),
        };
        let f = self.fields;
        let control = match &item.kind {
            ItemKind::Text {
                max_length,
                multiline,
                format,
            } => {
                let (input_type, inputmode, autocomplete) = match format {
                    Some(TextFormat::PostalCode) => ("text", "numeric", "postal-code"),
                    Some(TextFormat::Phone) => ("tel", "tel", "tel"),
                    Some(TextFormat::Url) => ("url", "url", "url"),
                    Some(TextFormat::Email) => ("email", "email", "email"),
                    Some(TextFormat::InsuranceCode) => ("text", "numeric", "off"),
                    None => ("text", "text", "off"),
                };
                Control::Text(TextView {
                    value: f.one(path).to_owned(),
                    max_length: *max_length,
                    multiline: *multiline,
                    input_type,
                    inputmode,
                    autocomplete,
                    postal_button: postal_button && !self.read_only,
                })
            }
            ItemKind::Kana { max_length } => Control::Text(TextView {
                value: f.one(path).to_owned(),
                max_length: *max_length,
                multiline: false,
                input_type: "text",
                inputmode: "text",
                autocomplete: "off",
                postal_button: false,
            }),
            ItemKind::Number {
                unit,
                min,
                max,
                integer,
            } => Control::Number(NumberView {
                value: f.one(path).to_owned(),
                unit: unit.clone().unwrap_or_default(),
                range: match (min, max) {
                    (Some(a), Some(b)) => format!(
                        "{}〜{}",
                        super::fields::number_text(*a),
                        super::fields::number_text(*b)
                    ),
                    (Some(a), None) => format!("{}以上", super::fields::number_text(*a)),
                    (None, Some(b)) => format!("{}以下", super::fields::number_text(*b)),
                    (None, None) => String::new(),
                },
                inputmode: if *integer { "numeric" } else { "decimal" },
            }),
            ItemKind::Date => Control::Date(f.one(path).to_owned()),
            ItemKind::YesNoUnknown => {
                let chosen = f.one(path);
                Control::Radios(
                    ["yes", "no", "unknown"]
                        .into_iter()
                        .map(|v| Opt {
                            id: html_id(&format!("{path}.{v}")),
                            value: v.to_owned(),
                            label: yes_no_label(v).to_owned(),
                            checked: chosen == v,
                        })
                        .collect(),
                )
            }
            ItemKind::Choice { codes } => {
                let options = self.options(path, codes, &[f.one(path).to_owned()]);
                if options.len() <= RADIO_MAX {
                    Control::Radios(options)
                } else {
                    Control::Select(options)
                }
            }
            ItemKind::MultiChoice { codes } => {
                Control::Checks(self.options(path, codes, f.all(path)))
            }
            ItemKind::Hours { max_slots, .. } => {
                Control::Hours(Box::new(self.hours(path, usize::from(*max_slots))))
            }
            ItemKind::Group { max, items, .. } => {
                let answered = f.count(&rows_key(path));
                let shown = if self.read_only {
                    answered
                } else {
                    (answered + 1).min(*max as usize).max(answered)
                };
                let rows_answers: &[Answers] = match self.answers.get(item.id.as_str()) {
                    Some(teikyo_domain::forms::Value::Group(rows)) => rows,
                    _ => &[],
                };
                let empty = Answers::default();
                let rows = (0..shown)
                    .map(|i| {
                        let rp = format!("{path}[{i}]");
                        let row_answers = rows_answers.get(i).unwrap_or(&empty);
                        let row_scope = scope.in_row(row_answers);
                        RowView {
                            id: html_id(&rp),
                            number: i + 1,
                            delete_name: format!("{rp}._delete"),
                            blank: i >= answered,
                            fields: items
                                .iter()
                                .map(|m| {
                                    self.field(
                                        m,
                                        &format!("{rp}.{}", m.id.local()),
                                        Some(&rp),
                                        row_scope,
                                        false,
                                    )
                                })
                                .collect(),
                            messages: Vec::new(),
                            path: rp,
                        }
                    })
                    .collect();
                Control::Group(Box::new(GroupView {
                    rows_name: rows_key(path),
                    rows_count: shown,
                    rows,
                    max: *max,
                    can_add: !self.read_only && shown < *max as usize,
                }))
            }
            ItemKind::CodedList { codes, count_flag } => {
                let mut flagged = 0;
                let rows = self
                    .catalogue
                    .code_lists
                    .get(codes)
                    .map(|l| {
                        l.codes
                            .iter()
                            .map(|c| {
                                let cp = format!("{path}.{}", c.code);
                                let counts =
                                    count_flag.as_ref().is_some_and(|fl| c.flags.contains(fl));
                                flagged += usize::from(counts);
                                CodedRow {
                                    id: html_id(&cp),
                                    code: c.code.clone(),
                                    label: c.label.clone(),
                                    available_name: format!("{cp}.available"),
                                    available: f.checked(&format!("{cp}.available")),
                                    count: counts.then(|| {
                                        let n = format!("{cp}.count");
                                        let v = f.one(&n).to_owned();
                                        (n, v)
                                    }),
                                    not_applicable: COUNT_NOT_APPLICABLE,
                                    messages: Vec::new(),
                                    path: cp,
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Control::Coded(CodedView { rows, flagged })
            }
        };
        FieldView {
            name: path.to_owned(),
            id: html_id(path),
            label: item.label.clone(),
            help: item.help.clone(),
            required: item.required,
            show_when,
            condition_note,
            off,
            hidden_elsewhere,
            messages: Vec::new(),
            control,
        }
    }

    fn hours(&self, path: &str, max_slots: usize) -> HoursView {
        let f = self.fields;
        let days = DayType::ALL
            .into_iter()
            .map(|day| {
                let dp = format!("{path}.{}", day.id());
                let status_name = format!("{dp}.status");
                let status = f.one(&status_name).to_owned();
                let slots: Vec<SlotView> = (0..max_slots)
                    .map(|i| {
                        let sp = format!("{dp}[{i}]");
                        let pair = |k: &str| {
                            let n = format!("{sp}.{k}");
                            let v = f.one(&n).to_owned();
                            (n, v)
                        };
                        let reception_start = pair("reception_start");
                        let reception_end = pair("reception_end");
                        SlotView {
                            id: html_id(&sp),
                            number: i + 1,
                            start: pair("start"),
                            end: pair("end"),
                            overnight: {
                                let n = format!("{sp}.overnight");
                                let on = f.checked(&n);
                                (n, on)
                            },
                            has_reception: !reception_start.1.is_empty()
                                || !reception_end.1.is_empty(),
                            reception_start,
                            reception_end,
                            messages: Vec::new(),
                            path: sp,
                        }
                    })
                    .collect();
                DayView {
                    id: html_id(&dp),
                    label: match day {
                        DayType::Holiday => "祝日".to_owned(),
                        d => format!("{}曜日", d.label()),
                    },
                    statuses: ["", "open", "closed", "all_day", "varies"]
                        .into_iter()
                        .map(|v| Opt {
                            id: String::new(),
                            value: v.to_owned(),
                            label: if v.is_empty() {
                                "選んでください".to_owned()
                            } else {
                                super::fields::status_label(v).to_owned()
                            },
                            checked: status == v,
                        })
                        .collect(),
                    // Slots show unless another status was chosen (the script hides them live).
                    open: status.is_empty() || status == "open",
                    status_name,
                    slots,
                    messages: Vec::new(),
                    path: dp,
                }
            })
            .collect();
        let weeks_name = format!("{path}.closed_weeks");
        let chosen = f.all(&weeks_name);
        let weeks = (1..=5u8)
            .map(|week| {
                (
                    format!("第{week}"),
                    DayType::ALL[..7]
                        .iter()
                        .map(|d| {
                            let v = week_value(teikyo_domain::hours::NthWeekday { week, day: *d });
                            Opt {
                                id: html_id(&format!("{weeks_name}.{v}")),
                                checked: chosen.contains(&v),
                                label: format!("第{week}{}曜日", d.label()),
                                value: v,
                            }
                        })
                        .collect(),
                )
            })
            .collect();
        let answered_periods = f.count(&periods_key(path));
        let periods = (0..answered_periods + usize::from(!self.read_only))
            .map(|j| {
                let cp = format!("{path}.closed_periods[{j}]");
                let pair = |k: &str| {
                    let n = format!("{cp}.{k}");
                    let v = f.one(&n).to_owned();
                    (n, v)
                };
                PeriodView {
                    id: html_id(&cp),
                    number: j + 1,
                    from: pair("from"),
                    to: pair("to"),
                    note: pair("note"),
                    messages: Vec::new(),
                    path: cp,
                }
            })
            .collect::<Vec<_>>();
        let note_name = format!("{path}.note");
        HoursView {
            days,
            weeks_id: html_id(&weeks_name),
            weeks_path: weeks_name.clone(),
            weeks_name,
            weeks,
            weeks_messages: Vec::new(),
            periods_name: periods_key(path),
            periods_count: periods.len(),
            periods,
            note_id: html_id(&note_name),
            note: f.one(&note_name).to_owned(),
            note_name,
        }
    }
}

pub(crate) fn yes_no_label(v: &str) -> &'static str {
    match v {
        "yes" => "あり",
        "no" => "なし",
        "unknown" => "不明",
        _ => "",
    }
}

/// Puts each issue beside the deepest field whose path starts its path (a slot's problem on
/// the slot, a rule's on its item), and returns the summary lines in page order.
pub(crate) fn place(views: &mut [FieldView], issues: &[Issue]) -> Vec<SummaryLine> {
    let mut anchors: Vec<String> = Vec::new();
    for v in views.iter() {
        collect(v, &mut anchors);
    }
    let known: std::collections::HashSet<&str> = anchors.iter().map(String::as_str).collect();
    let mut by_anchor: HashMap<String, Vec<Message>> = HashMap::new();
    let mut summary: Vec<(usize, SummaryLine)> = Vec::new();
    let order: HashMap<&str, usize> = anchors
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), i))
        .collect();
    for issue in issues {
        let anchor = deepest(&issue.path, &known).unwrap_or_else(|| issue.item.0.clone());
        let error = issue.severity == Severity::Error;
        summary.push((
            order.get(anchor.as_str()).copied().unwrap_or(usize::MAX),
            SummaryLine {
                anchor: html_id(&anchor),
                error,
                text: issue.message.clone(),
            },
        ));
        by_anchor.entry(anchor).or_default().push(Message {
            error,
            text: issue.message.clone(),
        });
    }
    for v in views.iter_mut() {
        attach(v, &mut by_anchor);
    }
    summary.sort_by_key(|(i, l)| (!l.error, *i));
    summary.into_iter().map(|(_, l)| l).collect()
}

/// The longest prefix of `path` (cut at `.` or `[`) that is a known anchor.
fn deepest(path: &str, known: &std::collections::HashSet<&str>) -> Option<String> {
    let mut p = path;
    loop {
        if known.contains(p) {
            return Some(p.to_owned());
        }
        let cut = p.rfind(['.', '['])?;
        p = &p[..cut];
    }
}

fn collect(v: &FieldView, out: &mut Vec<String>) {
    out.push(v.name.clone());
    match &v.control {
        Control::Group(g) => {
            for r in &g.rows {
                out.push(r.path.clone());
                for f in &r.fields {
                    collect(f, out);
                }
            }
        }
        Control::Hours(h) => {
            for d in &h.days {
                out.push(d.path.clone());
                out.extend(d.slots.iter().map(|s| s.path.clone()));
            }
            out.push(h.weeks_path.clone());
            out.extend(h.periods.iter().map(|p| p.path.clone()));
        }
        Control::Coded(c) => out.extend(c.rows.iter().map(|r| r.path.clone())),
        _ => {}
    }
}

fn attach(v: &mut FieldView, by: &mut HashMap<String, Vec<Message>>) {
    if let Some(m) = by.remove(&v.name) {
        v.messages.extend(m);
    }
    match &mut v.control {
        Control::Group(g) => {
            for r in &mut g.rows {
                if let Some(m) = by.remove(&r.path) {
                    r.messages.extend(m);
                }
                for f in &mut r.fields {
                    attach(f, by);
                }
            }
        }
        Control::Hours(h) => {
            for d in &mut h.days {
                if let Some(m) = by.remove(&d.path) {
                    d.messages.extend(m);
                }
                for s in &mut d.slots {
                    if let Some(m) = by.remove(&s.path) {
                        s.messages.extend(m);
                    }
                }
            }
            if let Some(m) = by.remove(&h.weeks_path) {
                h.weeks_messages.extend(m);
            }
            for p in &mut h.periods {
                if let Some(m) = by.remove(&p.path) {
                    p.messages.extend(m);
                }
            }
        }
        Control::Coded(c) => {
            for r in &mut c.rows {
                if let Some(m) = by.remove(&r.path) {
                    r.messages.extend(m);
                }
            }
        }
        _ => {}
    }
}
