//! Comparison forms for place names.
//!
//! Japan Post, MLIT and people spell the same place differently: 霞が関 / 霞ヶ関 / 霞ケ関,
//! 一丁目 / 1丁目 / １丁目, 北十条西 / 北10条西, 大字山田 / 山田, 須惠町 / 須恵町. Names are
//! compared in a *key* form that folds these differences on both sides. Keys are never shown.

use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Folds characters that are interchangeable in place names. Applied to both sides of every
/// comparison, so a fold only ever makes two spellings equal; it never has to be "right".
pub(crate) fn fold_char(c: char) -> char {
    match c {
        // 霞が関 / 霞ヶ関 / 霞ケ関, 袖ヶ浦 / 袖ケ浦, 旭が丘 / 旭ケ丘
        'ヶ' | 'ヵ' | 'が' | 'ゕ' | 'ゖ' => 'ケ',
        // 一の宮 / 一ノ宮
        'の' => 'ノ',
        // Variant kanji that NFKC keeps apart but registries use interchangeably.
        '﨑' | '嵜' => '崎',
        '髙' => '高',
        '惠' => '恵',
        '𠮷' => '吉',
        '邊' | '邉' => '辺',
        // Hyphens between numbers (「1‐2‐3」, 「1−2」), the same set as the domain's fold_text.
        c if teikyo_domain::text::is_number_hyphen(c) => '-',
        _ => c,
    }
}

/// NFKC, skipping the work for text already in NFKC (nearly every embedded name): building the
/// key tables normalises some 300,000 names.
fn nfkc(s: &str) -> Cow<'_, str> {
    if is_nfkc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfkc().collect())
    }
}

/// NFKC, whitespace removed, [`fold_char`] applied: the form of municipality names, compared
/// with [`prefix_len`].
pub(crate) fn name_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_key(s, false, &mut out);
    out
}

/// [`name_key`] with kanji numerals written as ASCII digits (see [`push_key`]): the form of town
/// names and of the rest of an address.
pub(crate) fn key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_key(s, true, &mut out);
    out
}

fn kanji_digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' => 0,
        '一' => 1,
        '二' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn is_kanji_numeral(c: char) -> bool {
    c == '十' || kanji_digit(c).is_some()
}

/// Appends the key of `s` to `out` without intermediate strings.
///
/// With `numerals`, runs of kanji numerals become ASCII digits: 「三丁目」→「3丁目」,
/// 「北十条西」→「北10条西」, 「二十一」→「21」, 「一二」→「12」. Every run is rewritten, not only
/// those before 丁目: 「十日町」 becomes 「10日町」 on both sides of a comparison, which is
/// harmless, while a rule tied to 丁目/条/線/番町 would miss spellings. 百/千/万 are left alone
/// (千葉, 千代田, 百人町 are names, and no 丁目 goes that high).
pub(crate) fn push_key(s: &str, numerals: bool, out: &mut String) {
    // Start (in `out`) of the run of kanji numerals being read, if any.
    let mut run: Option<usize> = None;
    for c in nfkc(s).chars() {
        if c.is_whitespace() {
            continue;
        }
        let c = fold_char(c);
        if numerals && is_kanji_numeral(c) {
            run.get_or_insert(out.len());
        } else if let Some(start) = run.take() {
            rewrite_run(out, start);
        }
        out.push(c);
    }
    if let Some(start) = run {
        rewrite_run(out, start);
    }
}

/// Replaces the kanji numerals `out[start..]` by their value, when they have one.
fn rewrite_run(out: &mut String, start: usize) {
    let Some(run) = out.get(start..) else { return };
    let chars: Vec<char> = run.chars().collect();
    if let Some(n) = run_value(&chars) {
        out.truncate(start);
        out.push_str(&n.to_string());
    }
}

#[cfg(test)]
fn kanji_numerals_to_digits(s: &str) -> String {
    key(s)
}

/// The value of a run of kanji numerals: positional with one 十 (十, 十二, 二十, 二十三) or
/// digit by digit without (一二 = 12, 二〇 = 20). Anything else (十十) is left as written.
fn run_value(run: &[char]) -> Option<u64> {
    let tens: Vec<usize> = run
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == '十')
        .map(|(i, _)| i)
        .collect();
    match tens.as_slice() {
        [] if run.len() <= 6 => run.iter().try_fold(0u64, |acc, c| {
            kanji_digit(*c).map(|d| acc * 10 + u64::from(d))
        }),
        [i] if *i <= 1 && run.len() - i <= 2 => {
            let hi = match run.get(..*i) {
                Some([c]) => u64::from(kanji_digit(*c)?),
                _ => 1,
            };
            let lo = match run.get(i + 1..) {
                Some([c]) => u64::from(kanji_digit(*c)?),
                _ => 0,
            };
            Some(hi * 10 + lo)
        }
        _ => None,
    }
}

/// Removes a leading 大字 or 字: MLIT writes 「大字山田」 where Japan Post and most people write
/// 「山田」.
pub(crate) fn strip_aza(key: &str) -> &str {
    key.strip_prefix("大字")
        .or_else(|| key.strip_prefix('字'))
        .unwrap_or(key)
}

/// Byte length of the prefix of `text` that spells `name_key` (a [`name_key`]), comparing with [`fold_char`] and skipping whitespace in `text`. `text` should be
/// NFKC-normalised (e.g. by `teikyo_domain::text::fold_text`).
pub(crate) fn prefix_len(text: &str, name_key: &str) -> Option<usize> {
    let mut want = name_key.chars().peekable();
    for (i, c) in text.char_indices() {
        let Some(&w) = want.peek() else {
            return Some(i);
        };
        if c.is_whitespace() {
            continue;
        }
        if fold_char(c) != w {
            return None;
        }
        want.next();
    }
    want.peek().is_none().then_some(text.len())
}

/// How well a town name matches the start of the rest of an address (both in [`key`] form,
/// 大字/字 already stripped). Ordered by matched length first, so 「大通西」 of 「大通西一丁目」
/// beats the whole of a shorter town 「大通」; at equal length a full match wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TownFit {
    /// Bytes of the address matched.
    pub(crate) len: usize,
    /// The whole name matched, 丁目 number included; false when only the name before its 丁目
    /// number matched (「広坂」 of 「広坂二丁目」 for 「広坂1-1」).
    pub(crate) full: bool,
}

/// Whether `town` (key form) names the start of `rest` (key form). A town ending in 「N丁目」
/// also matches 「N-…」 and 「N番…」-less forms people write (「広坂1-1-1」).
pub(crate) fn town_fit(rest: &str, town: &str) -> Option<TownFit> {
    if town.is_empty() {
        return None;
    }
    if let Some(stem) = town.strip_suffix("丁目") {
        let base = stem.trim_end_matches(|c: char| c.is_ascii_digit());
        let number = &stem[base.len()..];
        if !number.is_empty() && !base.is_empty() {
            let after = rest.strip_prefix(base)?;
            let exact = after
                .strip_prefix(number)
                .is_some_and(|tail| !tail.starts_with(|c: char| c.is_ascii_digit()));
            return Some(if exact {
                TownFit {
                    len: town.len(),
                    full: true,
                }
            } else {
                TownFit {
                    len: base.len(),
                    full: false,
                }
            });
        }
    }
    rest.starts_with(town).then_some(TownFit {
        len: town.len(),
        full: true,
    })
}

/// The [`key`]s of a table's names in one buffer, index-aligned with the table. Built once per
/// table on first use so that a lookup compares ready keys instead of normalising every name of
/// a municipality on each call (which made a check about 0.1 ms).
pub(crate) struct KeyArena {
    text: String,
    ends: Vec<u32>,
}

impl KeyArena {
    pub(crate) fn build<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let mut arena = KeyArena {
            text: String::new(),
            ends: Vec::with_capacity(names.len()),
        };
        for name in names {
            push_key(name, true, &mut arena.text);
            let end =
                u32::try_from(arena.text.len()).unwrap_or_else(|_| panic!("key arena over 4 GiB"));
            arena.ends.push(end);
        }
        arena.text.shrink_to_fit();
        arena
    }

    /// The key of row `i` (empty for an index out of range).
    pub(crate) fn get(&self, i: usize) -> &str {
        let start = match i.checked_sub(1) {
            Some(j) => self.ends.get(j).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.text
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals() {
        assert_eq!(kanji_numerals_to_digits("広坂一丁目"), "広坂1丁目");
        assert_eq!(
            kanji_numerals_to_digits("北十条西十四丁目"),
            "北10条西14丁目"
        );
        assert_eq!(kanji_numerals_to_digits("二十三"), "23");
        assert_eq!(kanji_numerals_to_digits("二十"), "20");
        assert_eq!(kanji_numerals_to_digits("一二"), "12");
        assert_eq!(kanji_numerals_to_digits("十十"), "十十");
        assert_eq!(kanji_numerals_to_digits("千代田"), "千代田");
    }

    #[test]
    fn keys_fold_spellings() {
        assert_eq!(key("霞ヶ関１丁目"), key("霞が関一丁目"));
        assert_eq!(key("袖ケ浦市"), key("袖ヶ浦市"));
        assert_eq!(key("北 10条西"), key("北十条西"));
        assert_eq!(strip_aza("大字山田"), "山田");
        assert_eq!(strip_aza("字山田"), "山田");
    }

    #[test]
    fn town_fits() {
        let rest = key("広坂1丁目1番1号");
        let full = |len| Some(TownFit { len, full: true });
        let base = |len| Some(TownFit { len, full: false });
        assert_eq!(town_fit(&rest, &key("広坂一丁目")), full("広坂1丁目".len()));
        assert_eq!(town_fit(&rest, &key("広坂二丁目")), base("広坂".len()));
        assert_eq!(
            town_fit(&key("広坂1-1-1"), &key("広坂一丁目")),
            full("広坂1丁目".len())
        );
        assert_eq!(
            town_fit(&key("広坂11-1"), &key("広坂一丁目")),
            base("広坂".len())
        );
        assert_eq!(town_fit(&rest, &key("本町")), None);
        assert_eq!(town_fit(&rest, &key("広坂")), full("広坂".len()));
        // the base of a longer name beats a shorter whole name
        assert!(base("大通西".len()) > full("大通".len()));
    }

    #[test]
    fn key_arena() {
        let a = KeyArena::build(["霞が関", "", "広坂一丁目"].into_iter());
        assert_eq!(
            (a.get(0), a.get(1), a.get(2), a.get(3)),
            ("霞ケ関", "", "広坂1丁目", "")
        );
    }

    #[test]
    fn prefix_len_skips_spaces_and_folds() {
        assert_eq!(
            prefix_len("袖ヶ浦市 坂戸市場", "袖ケ浦市"),
            Some("袖ヶ浦市".len())
        );
        assert_eq!(prefix_len("金沢 市広坂", "金沢市"), Some("金沢 市".len()));
        assert_eq!(prefix_len("金沢", "金沢市"), None);
        assert_eq!(prefix_len("白山市", "金沢市"), None);
    }
}
