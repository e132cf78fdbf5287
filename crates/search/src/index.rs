//! The local search index (issue 7 §2, DESIGN §7): one tantivy index per app node, built and
//! kept current from the publication sequence. The last sequence number applied is the commit's
//! payload, so a restarted node catches up from where its index stands, and a node with a fresh
//! directory rebuilds from the start.
//!
//! Text fields (名称, フリガナ, 英語表記, 所在地) are read through [`crate::text`] (registered as
//! the tokenizer `ja`); codes (都道府県, 市区町村, 機関区分, 診療科目, 疾患・治療, 外国語) are
//! exact terms.

use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RegexQuery, TermQuery,
};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value as _,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};
use teikyo_domain::forms::Value;
use teikyo_domain::publication::PublishedDocument;
use teikyo_domain::{FacilityKind, PrefectureCode};
use teikyo_store::{FacilityId, Store, StoreError};

/// How often a node looks for new publication rows.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Rows read from the publication sequence per round trip.
const CATCH_UP_BATCH: u64 = 1_000;
/// Rows applied between commits during a long catch-up (a rebuild).
const COMMIT_EVERY: usize = 50_000;

fn commit(writer: &mut IndexWriter, seq: i64) -> Result<(), IndexError> {
    let mut commit = writer.prepare_commit()?;
    commit.set_payload(&seq.to_string());
    commit.commit()?;
    Ok(())
}

/// The writer's memory budget (tantivy needs at least 15 MB per thread).
const WRITER_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("検索用の索引を操作できません: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("検索用の索引の場所を開けません: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("検索用の索引を更新するためにデータベースを読めません: {0}")]
    Store(#[from] StoreError),
    #[error(
        "検索用の索引の記録（{0}）を読めません。索引を作り直してください（teikyo index rebuild）。"
    )]
    Payload(String),
}

impl IndexError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Tantivy(_) => "search.index",
            Self::Directory(_) => "search.directory",
            Self::Store(_) => "search.store",
            Self::Payload(_) => "search.payload",
        }
    }
}

/// The tokenizer `ja`: [`crate::text::fold`] then [`crate::text::tokens_of_folded`].
#[derive(Clone, Default)]
struct JaTokenizer {
    tokens: Vec<Token>,
}

struct JaTokenStream<'a> {
    tokens: &'a [Token],
    index: usize,
    current: Token,
}

impl TokenStream for JaTokenStream<'_> {
    fn advance(&mut self) -> bool {
        match self.tokens.get(self.index) {
            Some(t) => {
                self.current = t.clone();
                self.index += 1;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

impl Tokenizer for JaTokenizer {
    type TokenStream<'a> = JaTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JaTokenStream<'a> {
        let folded = crate::text::fold(text);
        // Offsets are into the folded text, clamped to the original (only highlighting reads
        // them, and nothing highlights yet).
        self.tokens = crate::text::tokens_of_folded(&folded)
            .into_iter()
            .map(|t| Token {
                offset_from: t.from.min(text.len()),
                offset_to: t.to.min(text.len()),
                position: t.position,
                text: t.text,
                position_length: 1,
            })
            .collect();
        JaTokenStream {
            tokens: &self.tokens,
            index: 0,
            current: Token::default(),
        }
    }
}

#[derive(Clone, Copy)]
struct Fields {
    facility_id: Field,
    name: Field,
    kana: Field,
    english: Field,
    address: Field,
    prefecture: Field,
    municipality: Field,
    kind: Field,
    department: Field,
    treatment: Field,
    language: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let ja = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("ja")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        facility_id: b.add_u64_field("facility_id", INDEXED | STORED),
        name: b.add_text_field("name", ja.clone()),
        kana: b.add_text_field("kana", ja.clone()),
        english: b.add_text_field("english", ja.clone()),
        address: b.add_text_field("address", ja),
        prefecture: b.add_text_field("prefecture", STRING),
        municipality: b.add_text_field("municipality", STRING),
        kind: b.add_text_field("kind", STRING),
        department: b.add_text_field("department", STRING),
        treatment: b.add_text_field("treatment", STRING),
        language: b.add_text_field("language", STRING),
    };
    (b.build(), fields)
}

/// What a search asks for. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Words separated by spaces; each must match the name, its reading, the English name or
    /// the address.
    pub keyword: String,
    pub prefecture: Option<PrefectureCode>,
    pub municipality: Option<String>,
    pub kind: Option<FacilityKind>,
    /// A 診療科目 code.
    pub department: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// One result, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub facility_id: FacilityId,
    pub score: f32,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

impl SearchIndex {
    /// The index in `dir` (created when empty), or in memory with `None` (tests).
    pub fn open(dir: Option<&Path>) -> Result<Self, IndexError> {
        let (schema, fields) = schema();
        let index = match dir {
            Some(dir) => Index::open_or_create(MmapDirectory::open(dir)?, schema)?,
            None => Index::create_in_ram(schema),
        };
        index.tokenizers().register(
            "ja",
            tantivy::tokenizer::TextAnalyzer::from(JaTokenizer::default()),
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer(WRITER_BYTES)?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>, IndexError> {
        self.writer
            .lock()
            .map_err(|_| IndexError::Payload("writer lock poisoned".into()))
    }

    /// The last publication `seq` this index holds (0: none).
    pub fn seq(&self) -> Result<i64, IndexError> {
        match self.index.load_metas()?.payload {
            None => Ok(0),
            Some(p) => p.parse().map_err(|_| IndexError::Payload(p)),
        }
    }

    /// Applies the publication sequence after [`Self::seq`]: each row replaces the facility's
    /// entry (a tombstone removes it). Returns the rows applied.
    pub async fn catch_up(&self, store: &Store) -> Result<usize, IndexError> {
        let mut seq = self.seq()?;
        // An index ahead of the database belongs to another (a recreated demo database, a
        // restored backup): start over rather than miss rows.
        if seq > 0 && seq > store.publications().head().await? {
            tracing::warn!(
                seq,
                "検索用の索引がデータベースより新しいため、作り直します"
            );
            self.clear()?;
            seq = 0;
        }
        let mut applied = 0;
        let mut uncommitted = 0;
        loop {
            let rows = store.publications().since(seq, CATCH_UP_BATCH).await?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                break;
            };
            {
                let mut writer = self.writer()?;
                for row in &rows {
                    let id = u64::try_from(row.facility_id.0).unwrap_or_default();
                    writer.delete_term(Term::from_field_u64(self.fields.facility_id, id));
                    if let Some(doc) = &row.document {
                        writer.add_document(self.document(id, doc))?;
                    }
                }
                uncommitted += rows.len();
                // A commit writes and syncs segments: one per batch would dominate a rebuild.
                let done = rows.len() < usize::try_from(CATCH_UP_BATCH).unwrap_or(usize::MAX);
                if done || uncommitted >= COMMIT_EVERY {
                    commit(&mut writer, last)?;
                    uncommitted = 0;
                }
            }
            applied += rows.len();
            seq = last;
        }
        if uncommitted > 0 {
            let mut writer = self.writer()?;
            commit(&mut writer, seq)?;
        }
        if applied > 0 {
            self.reader.reload()?;
        }
        Ok(applied)
    }

    /// Empties the index (its seq back to 0), for a rebuild.
    pub fn clear(&self) -> Result<(), IndexError> {
        let mut writer = self.writer()?;
        writer.delete_all_documents()?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload("0");
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    fn document(&self, id: u64, d: &PublishedDocument) -> TantivyDocument {
        let f = &self.fields;
        let r = &d.facility;
        let mut doc = doc!(
            f.facility_id => id,
            f.name => r.names.official.clone(),
            f.kana => r.names.official_kana.clone(),
            f.address => r.address.clone(),
            f.prefecture => r.prefecture.to_string(),
            f.municipality => r.municipality.to_string(),
            f.kind => r.kind.code().to_string(),
        );
        for name in [&r.names.short, &r.names.english].into_iter().flatten() {
            doc.add_text(f.name, name);
        }
        if let Some(kana) = &r.names.short_kana {
            doc.add_text(f.kana, kana);
        }
        if let Some(english) = &r.names.english {
            doc.add_text(f.english, english);
        }
        for code in d.departments() {
            doc.add_text(f.department, code);
        }
        for s in &d.sections {
            for (id, v) in &s.answers.0 {
                match v {
                    Value::Coded(codes) if id.as_str().ends_with(".treatments") => {
                        for (code, a) in codes {
                            if a.available {
                                doc.add_text(f.treatment, code);
                            }
                        }
                    }
                    Value::Group(rows) => {
                        for row in rows {
                            for (k, v) in &row.0 {
                                if let Value::Choice(c) = v
                                    && k.as_str().ends_with(".language")
                                {
                                    doc.add_text(f.language, c);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        doc
    }

    /// The facilities matching `q`, best first, and how many match in all.
    pub fn search(&self, q: &SearchQuery) -> Result<(Vec<Hit>, usize), IndexError> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in q.keyword.split_whitespace() {
            if let Some(m) = self.word_query(word)? {
                must.push((Occur::Must, m));
            }
            // 「京都」 is also a prefecture: its facilities first (東京都's addresses contain the
            // bigram 京都 too).
            if let Some(p) = prefecture_named(word) {
                must.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(
                            Term::from_field_text(f.prefecture, &p.to_string()),
                            IndexRecordOption::Basic,
                        )),
                        3.0,
                    )),
                ));
            }
        }
        let exact = |field: Field, value: String| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, &value),
                    IndexRecordOption::Basic,
                )),
            )
        };
        if let Some(p) = q.prefecture {
            must.push(exact(f.prefecture, p.to_string()));
        }
        if let Some(m) = &q.municipality {
            must.push(exact(f.municipality, m.clone()));
        }
        if let Some(k) = q.kind {
            must.push(exact(f.kind, k.code().to_string()));
        }
        if let Some(d) = &q.department {
            must.push(exact(f.department, d.clone()));
        }
        if !must.iter().any(|(o, _)| *o == Occur::Must) {
            must.push((Occur::Must, Box::new(AllQuery)));
        }
        let query = BooleanQuery::new(must);
        let searcher = self.reader.searcher();
        let limit = q.limit.max(1);
        let (top, total) = searcher.search(
            &query,
            &(
                TopDocs::with_limit(limit)
                    .and_offset(q.offset)
                    .order_by_score(),
                Count,
            ),
        )?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc.get_first(f.facility_id).and_then(|v| v.as_u64()) {
                hits.push(Hit {
                    facility_id: FacilityId(i64::try_from(id).unwrap_or_default()),
                    score,
                });
            }
        }
        Ok((hits, total))
    }

    /// One word: a phrase of its tokens in any text field (a single CJK character matches the
    /// bigrams it starts). `None` when the word has no tokens (punctuation only).
    fn word_query(&self, word: &str) -> Result<Option<Box<dyn Query>>, IndexError> {
        let f = &self.fields;
        let tokens = crate::text::tokens(word);
        if tokens.is_empty() {
            return Ok(None);
        }
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in [
            (f.name, 2.0),
            (f.kana, 1.5),
            (f.english, 1.5),
            (f.address, 1.0),
        ] {
            let q: Box<dyn Query> = match tokens.as_slice() {
                [one] if one.chars().count() == 1 && !one.is_ascii() => Box::new(
                    RegexQuery::from_pattern(&format!("{}.*", regex_escape(one)), field)?,
                ),
                [one] => Box::new(TermQuery::new(
                    Term::from_field_text(field, one),
                    IndexRecordOption::WithFreqs,
                )),
                many => Box::new(PhraseQuery::new(
                    many.iter()
                        .map(|t| Term::from_field_text(field, t))
                        .collect(),
                )),
            };
            any.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
        }
        Ok(Some(Box::new(BooleanQuery::new(any))))
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// The prefecture a word names: 「京都」「京都府」 → 26, 「北海道」 → 01.
fn prefecture_named(word: &str) -> Option<PrefectureCode> {
    let w = teikyo_domain::text::nfkc(word);
    PrefectureCode::all().find(|p| {
        let name = p.name();
        name == w
            || (w.chars().count() >= 2
                && name.strip_suffix(['都', '道', '府', '県']) == Some(w.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_name_prefectures_with_or_without_their_suffix() {
        assert_eq!(prefecture_named("京都").map(|p| p.number()), Some(26));
        assert_eq!(prefecture_named("東京都").map(|p| p.number()), Some(13));
        assert_eq!(prefecture_named("北海道").map(|p| p.number()), Some(1));
        assert_eq!(prefecture_named("金沢"), None);
    }

    #[test]
    fn the_tokenizer_folds_like_queries() {
        let mut t = JaTokenizer::default();
        let mut s = t.token_stream("さとう内科");
        let mut out = Vec::new();
        while s.advance() {
            out.push(s.token().text.clone());
        }
        assert_eq!(out, ["サト", "トウ", "ウ内", "内科"]);
    }
}
