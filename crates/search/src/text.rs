//! Japanese text as the search index reads it (DESIGN §4: CJK bigrams, NFKC and kana folding —
//! no dictionary to install). The same functions read the facility's text when it is indexed
//! and the resident's query when it is searched, so both sides fold alike.
//!
//! Folding, in order:
//! 1. NFKC: 全角英数 → 半角, 半角カナ → 全角カナ, ㈱ → (株).
//! 2. Lower case.
//! 3. Hiragana → katakana (さとう = サトウ).
//! 4. Small kana → large (キャ = キヤ: 登記の読み often writes small kana large), ヴ → ブ,
//!    ヰ ヱ ヲ → イ エ オ.
//! 5. Long-vowel marks, middle dots and hyphen-likes dropped (センター = センタ, ・ and ー are
//!    typed inconsistently).
//!
//! Tokens: a run of CJK characters (kanji, kana, 々) becomes its overlapping bigrams (a
//! one-character run stays one token); a run of ASCII letters and digits is one token; anything
//! else separates.

use teikyo_domain::text::nfkc;

/// Folds `s` for matching (see the module documentation).
pub fn fold(s: &str) -> String {
    nfkc(s)
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(fold_char)
        .collect()
}

fn fold_char(c: char) -> Option<char> {
    // Hiragana (ぁ–ゖ) to katakana: a fixed offset of 0x60.
    let c = match c {
        '\u{3041}'..='\u{3096}' => char::from_u32(u32::from(c) + 0x60).unwrap_or(c),
        '\u{309D}' => 'ヽ',
        '\u{309E}' => 'ヾ',
        _ => c,
    };
    Some(match c {
        'ァ' => 'ア',
        'ィ' => 'イ',
        'ゥ' => 'ウ',
        'ェ' => 'エ',
        'ォ' => 'オ',
        'ッ' => 'ツ',
        'ャ' => 'ヤ',
        'ュ' => 'ユ',
        'ョ' => 'ヨ',
        'ヮ' => 'ワ',
        'ヵ' => 'カ',
        'ヶ' => 'ケ',
        'ヴ' => 'ブ',
        'ヰ' => 'イ',
        'ヱ' => 'エ',
        'ヲ' => 'オ',
        'ー' | '・' | '‐' | '‑' | '–' | '—' | '―' | '−' | '-' | '〜' | '~' => {
            return None;
        }
        other => other,
    })
}

/// Whether `c` belongs to a CJK run: kanji (incl. extension A and the compatibility block), kana
/// and the iteration marks.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}' | '\u{3006}' | '\u{3007}'        // 々 〆 〇
        | '\u{30A1}'..='\u{30FA}' | '\u{30FD}' | '\u{30FE}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}')
}

/// One token with its place in the folded text (for highlighting and phrase positions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    /// Byte offsets into the folded text.
    pub from: usize,
    pub to: usize,
    pub position: usize,
}

/// The tokens of already folded text.
pub fn tokens_of_folded(folded: &str) -> Vec<Token> {
    grams_of_folded(folded, 2)
}

/// The same with CJK runs as overlapping `n`-grams (a run no longer than `n` is one token).
pub fn grams_of_folded(folded: &str, n: usize) -> Vec<Token> {
    let n = n.max(1);
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = folded.char_indices().collect();
    let end_of = |i: usize| chars.get(i + 1).map_or(folded.len(), |(o, _)| *o);
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if is_cjk(c) {
            let mut j = i;
            while j + 1 < chars.len() && is_cjk(chars[j + 1].1) {
                j += 1;
            }
            if j - i < n {
                push(&mut out, folded, start, end_of(j), false);
            } else {
                for (k, (from, _)) in chars.iter().enumerate().take(j + 2 - n).skip(i) {
                    push(&mut out, folded, *from, end_of(k + n - 1), k > i);
                }
            }
            i = j + 1;
        } else if c.is_ascii_alphanumeric() {
            let mut j = i;
            while j + 1 < chars.len() && chars[j + 1].1.is_ascii_alphanumeric() {
                j += 1;
            }
            push(&mut out, folded, start, end_of(j), false);
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// Empty positions between groups of tokens (a CJK run's bigrams, a lone CJK character, an
/// ASCII word). A bigram overlaps the one before it, so a phrase need not name every bigram of
/// a run: every second one and the last pin the same characters ([`phrase`]). The gap keeps
/// such a phrase from spanning two groups: a kept bigram is at most 2 positions after the one
/// before it, and the next group starts 3 after a group's last token.
const GROUP_GAP: usize = 2;

fn push(out: &mut Vec<Token>, folded: &str, from: usize, to: usize, overlaps: bool) {
    let position = match out.last() {
        None => 0,
        Some(previous) if overlaps => previous.position + 1,
        Some(previous) => previous.position + 1 + GROUP_GAP,
    };
    out.push(Token {
        text: folded.get(from..to).unwrap_or_default().to_owned(),
        from,
        to,
        position,
    });
}

/// Folds and tokenises `s`.
pub fn tokens(s: &str) -> Vec<String> {
    tokens_of_folded(&fold(s))
        .into_iter()
        .map(|t| t.text)
        .collect()
}

/// A word as a phrase: its tokens at their positions, without the bigrams the ones kept
/// already pin (in a run ア|アイ|イウ|ウエ|エオ, アイ@0 ウエ@2 エオ@3 match exactly where all four
/// do). Each bigram named costs a posting list and its positions on every search: a phrase of
/// half of them is about a fifth cheaper (perf, 245k facilities).
pub fn phrase(word: &str) -> Vec<(usize, String)> {
    phrase_of(&tokens_of_folded(&fold(word)))
}

/// [`phrase`] in trigrams ([`grams_of_folded`] with 3): for a word whose every CJK run has three
/// characters or more ([`in_trigrams`]), a phrase of far rarer terms — fewer documents to
/// intersect and fewer positions to read.
pub fn trigram_phrase(word: &str) -> Vec<(usize, String)> {
    phrase_of(&grams_of_folded(&fold(word), 3))
}

/// The longest word looked up as one term of the `*_n` fields ([`substrings_of_folded`]).
pub const WHOLE_MAX: usize = 6;

/// Every substring of 3 to [`WHOLE_MAX`] characters of each CJK run (a shorter run: none), for
/// the fields where a word of that length is one term: its documents without a phrase, that
/// is without reading positions (perf, 245k facilities: a phrase of two trigrams cost about
/// 90 ns per document found, most of it in positions).
pub fn substrings_of_folded(folded: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = folded.char_indices().collect();
    let end_of = |i: usize| chars.get(i + 1).map_or(folded.len(), |(o, _)| *o);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_cjk(chars[i].1) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < chars.len() && is_cjk(chars[j + 1].1) {
            j += 1;
        }
        let run = &chars[i..=j];
        for (k, (from, _)) in run.iter().enumerate() {
            for n in 3..=WHOLE_MAX.min(run.len() - k) {
                let (from, to) = (*from, end_of(i + k + n - 1));
                out.push(Token {
                    text: folded.get(from..to).unwrap_or_default().to_owned(),
                    from,
                    to,
                    position: out.len(),
                });
            }
        }
        i = j + 1;
    }
    out
}

/// `word` folded, when it is one CJK run of 3 to [`WHOLE_MAX`] characters: one term of the
/// `*_n` fields, matching exactly where its phrase would.
pub fn whole_term(word: &str) -> Option<String> {
    let folded = fold(word);
    let n = folded.chars().count();
    ((3..=WHOLE_MAX).contains(&n) && folded.chars().all(is_cjk)).then_some(folded)
}

/// Whether `word` has CJK and every CJK run of it is at least three characters long (a shorter
/// run has no trigram; its bigram is in the bigram fields).
pub fn in_trigrams(word: &str) -> bool {
    let folded = fold(word);
    let mut runs = 0;
    let mut run = 0;
    for c in folded.chars().chain(std::iter::once(' ')) {
        if is_cjk(c) {
            run += 1;
        } else if run > 0 {
            if run < 3 {
                return false;
            }
            runs += 1;
            run = 0;
        }
    }
    runs > 0
}

fn phrase_of(tokens: &[Token]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::with_capacity(tokens.len());
    let mut kept_previous = false;
    for (i, t) in tokens.iter().enumerate() {
        let inside_run = i > 0
            && tokens[i - 1].position + 1 == t.position
            && tokens
                .get(i + 1)
                .is_some_and(|n| t.position + 1 == n.position);
        let keep = !(inside_run && kept_previous);
        if keep {
            out.push((t.position, t.text.clone()));
        }
        kept_previous = keep;
    }
    out
}

/// The vowel a (folded, large) katakana ends in.
fn vowel(c: char) -> Option<char> {
    const ROWS: [(&str, char); 5] = [
        ("アカガサザタダナハバパマヤラワ", 'a'),
        ("イキギシジチヂニヒビピミリ", 'i'),
        ("ウクグスズツヅヌフブプムユル", 'u'),
        ("エケゲセゼテデネヘベペメレ", 'e'),
        ("オコゴソゾトドノホボポモヨロ", 'o'),
    ];
    ROWS.iter()
        .find(|(row, _)| row.contains(c))
        .map(|(_, v)| *v)
}

/// A folded reading with vowel length dropped, so that romaji typed the usual way (Hepburn
/// without macrons: トウキョウ → tokyo, オオノ → ono, ニイガタ → niigata) meets the registered
/// カナ: a vowel kana that only lengthens the vowel before it (オ・ウ after an o, ウ after a u,
/// イ after an i, ア after an a, エ after an e) is dropped. Both sides fold alike, so what this
/// merges only ever adds matches.
pub fn loose_reading(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len());
    let mut previous: Option<char> = None;
    for c in folded.chars() {
        let lengthens = matches!(
            (previous, c),
            (Some('o'), 'オ' | 'ウ')
                | (Some('u'), 'ウ')
                | (Some('i'), 'イ')
                | (Some('a'), 'ア')
                | (Some('e'), 'エ')
        );
        if !lengthens {
            out.push(c);
            previous = vowel(c);
        }
    }
    out
}

/// A word typed in romaji as the loose reading it spells (「Satō」「satou」「sato」 →
/// loose サト), or `None` when it is not romaji (digits, an English word kana cannot spell).
pub fn romaji_reading(word: &str) -> Option<String> {
    let lower: String = nfkc(word)
        .chars()
        .flat_map(char::to_lowercase)
        .flat_map(|c| {
            // Macrons and circumflexes are long vowels.
            let (base, long) = match c {
                'ā' | 'â' => ('a', true),
                'ī' | 'î' => ('i', true),
                'ū' | 'û' => ('u', true),
                'ē' | 'ê' => ('e', true),
                'ō' | 'ô' => ('o', true),
                other => (other, false),
            };
            std::iter::once(base).chain(long.then_some(base))
        })
        .collect();
    if lower.chars().count() < 2 || !lower.chars().all(|c| c.is_ascii_lowercase() || c == '\'') {
        return None;
    }
    let kana = wana_kana::ConvertJapanese::to_katakana(lower.as_str());
    if kana.chars().any(|c| c.is_ascii()) {
        return None;
    }
    Some(loose_reading(&fold(&kana)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hiragana_katakana_and_half_width_kana_fold_together() {
        assert_eq!(fold("さとう"), "サトウ");
        assert_eq!(fold("ｻﾄｳ"), "サトウ");
        assert_eq!(fold("サトウ"), "サトウ");
    }

    #[test]
    fn full_width_letters_and_digits_fold_to_ascii_lower_case() {
        assert_eq!(fold("ＡＢＣクリニック１２３"), "abcクリニツク123");
        assert_eq!(tokens("ＡＢＣ　Clinic"), ["abc", "clinic"]);
    }

    #[test]
    fn long_vowels_small_kana_and_dots_are_typed_inconsistently() {
        assert_eq!(fold("センター"), fold("センタ"));
        assert_eq!(fold("キャッスル"), fold("キヤツスル"));
        assert_eq!(fold("ヴィラ"), fold("ブイラ"));
        assert_eq!(fold("メディカル・ケア"), fold("メディカルケア"));
        assert_eq!(fold("いりょうほうじん"), fold("イリヨウホウジン"));
    }

    #[test]
    fn cjk_runs_become_bigrams_and_ascii_runs_words() {
        assert_eq!(
            tokens("金沢中央病院"),
            ["金沢", "沢中", "中央", "央病", "病院"]
        );
        assert_eq!(tokens("京都"), ["京都"]);
        assert_eq!(tokens("東京都"), ["東京", "京都"]);
        assert_eq!(tokens("内"), ["内"]);
        assert_eq!(
            tokens("佐藤内科 Sato Clinic 2F"),
            ["佐藤", "藤内", "内科", "sato", "clinic", "2f"]
        );
        // 々 stays in its run.
        assert_eq!(tokens("佐々木"), ["佐々", "々木"]);
    }

    #[test]
    fn romaji_meets_the_registered_reading() {
        let reading = |kana: &str| loose_reading(&fold(kana));
        assert_eq!(
            romaji_reading("sato").as_deref(),
            Some(reading("サトウ").as_str())
        );
        assert_eq!(
            romaji_reading("Satou").as_deref(),
            Some(reading("サトウ").as_str())
        );
        assert_eq!(
            romaji_reading("Satō").as_deref(),
            Some(reading("さとう").as_str())
        );
        assert_eq!(
            romaji_reading("tokyo").as_deref(),
            Some(reading("トウキョウ").as_str())
        );
        assert_eq!(
            romaji_reading("ono").as_deref(),
            Some(reading("オオノ").as_str())
        );
        assert_eq!(
            romaji_reading("chuo").as_deref(),
            Some(reading("チュウオウ").as_str())
        );
        assert_eq!(
            romaji_reading("shinjuku").as_deref(),
            Some(reading("シンジュク").as_str())
        );
        assert_eq!(
            romaji_reading("naika").as_deref(),
            Some(reading("ないか").as_str())
        );
        // Not romaji: digits, one letter, letters kana cannot spell.
        assert_eq!(romaji_reading("2f"), None);
        assert_eq!(romaji_reading("x"), None);
        assert_eq!(romaji_reading("clinic"), None);
    }

    #[test]
    fn offsets_point_into_the_folded_text() {
        let folded = fold("北区 さくら医院");
        let t = tokens_of_folded(&folded);
        assert_eq!(&folded[t[0].from..t[0].to], "北区");
        assert_eq!(t.last().map(|t| t.text.as_str()), Some("医院"));
        // A run's bigrams follow each other; the next group starts after a gap.
        assert_eq!(
            t.iter().map(|t| t.position).collect::<Vec<_>>(),
            [0, 3, 4, 5, 6]
        );
    }

    #[test]
    fn a_phrase_names_every_second_bigram_of_a_run_and_the_last() {
        let texts = |w: &str| -> Vec<(usize, String)> { phrase(w) };
        let p = |v: &[(usize, &str)]| -> Vec<(usize, String)> {
            v.iter().map(|(i, t)| (*i, (*t).to_owned())).collect()
        };
        assert_eq!(
            texts("金沢中央病院"),
            p(&[(0, "金沢"), (2, "中央"), (4, "病院")])
        );
        assert_eq!(
            texts("むらかみこ"),
            p(&[(0, "ムラ"), (2, "カミ"), (3, "ミコ")])
        );
        assert_eq!(texts("京都"), p(&[(0, "京都")]));
        // Trigrams for words whose every run has three characters or more.
        assert!(in_trigrams("むらかみこ"));
        assert!(in_trigrams("abc内科医院"));
        assert!(!in_trigrams("京都"));
        assert!(!in_trigrams("阿部 こども"));
        assert!(!in_trigrams("abc"));
        assert_eq!(
            trigram_phrase("むらかみこ"),
            p(&[(0, "ムラカ"), (2, "カミコ")])
        );
        assert_eq!(
            grams_of_folded(&fold("金沢 こども"), 3)
                .iter()
                .map(|t| (t.position, t.text.as_str()))
                .collect::<Vec<_>>(),
            [(0, "金沢"), (3, "コドモ")]
        );
        // Words of one run of 3 to 6 characters are one term of the substring fields, which
        // hold every such substring of every run.
        assert_eq!(whole_term("むらかみこ").as_deref(), Some("ムラカミコ"));
        assert_eq!(whole_term("京都"), None);
        assert_eq!(whole_term("金沢中央病院前"), None);
        assert_eq!(whole_term("abc内科"), None);
        assert_eq!(
            substrings_of_folded(&fold("金沢市 こども"))
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>(),
            ["金沢市", "コドモ"]
        );
        let all = substrings_of_folded(&fold("金沢中央病院前"));
        // 7 characters: 5 of 3, 4 of 4, 3 of 5 and 2 of 6.
        assert_eq!(all.len(), 5 + 4 + 3 + 2);
        assert!(all.iter().any(|t| t.text == "中央病院前"));
        assert!(!all.iter().any(|t| t.text == "金沢中央病院前"));
        // Groups are all kept, at their positions.
        assert_eq!(texts("abc内科"), p(&[(0, "abc"), (3, "内科")]));
        assert_eq!(
            texts("2f佐藤内科"),
            p(&[(0, "2f"), (3, "佐藤"), (5, "内科")])
        );
    }
}
