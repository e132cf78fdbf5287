//! Text normalisation shared by every parser of user or file input.
//!
//! People type codes with 全角 digits, Japanese hyphens (－ ‐ ー), spaces and a leading 〒;
//! files from Excel carry the same. Every code parser runs input through [`code_chars`]
//! first so that `９２０－０９６２` and `920-0962` are the same postal code.

use unicode_normalization::UnicodeNormalization;

/// NFKC-normalise a string (全角 ASCII → 半角, 半角カナ → 全角カナ, compatibility forms folded).
pub fn nfkc(s: &str) -> String {
    s.nfkc().collect()
}

/// Characters people use as a hyphen between digit groups. NFKC maps U+FF0D to '-', but not
/// U+2010–U+2015, U+2212 (minus), U+30FC (長音, typed by mistake in IME input) or U+FF70.
fn is_hyphen_like(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FF70}' | '\u{FE63}'
    )
}

/// A hyphen-like character written between numbers (「1‐2‐3」, 「1−2」), which text comparison
/// folds to '-'. Unlike [`is_hyphen_like`] it leaves ー (U+30FC), which belongs to katakana
/// words (センター).
pub fn is_number_hyphen(c: char) -> bool {
    is_hyphen_like(c) && c != '\u{30FC}'
}

/// NFKC, then drop spaces, hyphen-like separators and a leading 〒 mark: the form in which
/// numeric codes are compared and stored.
pub fn code_chars(s: &str) -> String {
    nfkc(s)
        .trim()
        .trim_start_matches('〒')
        .chars()
        .filter(|c| !c.is_whitespace() && !is_hyphen_like(*c))
        .collect()
}

/// NFKC and trim, with every hyphen-like character made '-': the form in which free text such as
/// an address is compared (「広坂１丁目１−１」 → 「広坂1丁目1-1」).
pub fn fold_text(s: &str) -> String {
    nfkc(s)
        .trim()
        .chars()
        .map(|c| {
            if is_hyphen_like(c) && c != '\u{30FC}' {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// A telephone or FAX number as written: digits and hyphens (全角 and Japanese hyphens folded),
/// 10 or 11 digits.
pub fn is_phone_number(s: &str) -> bool {
    let v = nfkc(s).trim().replace(['‐', '－', 'ー', '−'], "-");
    let digits = v.chars().filter(char::is_ascii_digit).count();
    v.chars().all(|c| c.is_ascii_digit() || c == '-') && (10..=11).contains(&digits)
}

/// A plausible mail address: one `@`, a dotted domain, ASCII, at most 254 characters, no
/// spaces or control characters. Deliverability is the mail server's to say.
pub fn is_email(s: &str) -> bool {
    let e = s.trim();
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && e.len() <= 254
        && e.is_ascii()
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// True when every character is katakana (incl. ー and ・), a space or an ASCII/full-width digit or
/// letter: what a フリガナ field may hold once NFKC has turned 半角カナ into 全角.
pub fn is_katakana_reading(s: &str) -> bool {
    !s.trim().is_empty()
        && s.chars().all(|c| {
            matches!(c, '\u{30A0}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}')
                || c.is_whitespace()
                || c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '・' | '（' | '）' | '(' | ')' | '-' | '.' | '&' | '＆' | '，' | ','
                )
        })
}

/// A date as Japanese text reads it: 「2026年3月31日」.
pub fn date_ja(d: chrono::NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_chars_folds_width_hyphens_and_postal_mark() {
        assert_eq!(code_chars("〒９２０－０９６２"), "9200962");
        assert_eq!(code_chars(" 920‐0962 "), "9200962");
        assert_eq!(code_chars("920ー0962"), "9200962");
        assert_eq!(code_chars("０１１０１１３７１９"), "0110113719");
    }

    #[test]
    fn fold_text_keeps_long_vowel_mark() {
        assert_eq!(fold_text("ﾒﾃﾞｨｶﾙｾﾝﾀｰ１−１"), "メディカルセンター1-1");
    }

    #[test]
    fn katakana_reading() {
        assert!(is_katakana_reading("カナザワシリツビョウイン"));
        assert!(is_katakana_reading("イリョウホウジン　サクラカイ"));
        assert!(!is_katakana_reading("金沢"));
        assert!(!is_katakana_reading("かなざわ"));
        assert!(!is_katakana_reading(""));
    }
}
