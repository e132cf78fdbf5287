//! The local search index (issue 7 §2, DESIGN §7): one tantivy index per app node, built and
//! kept current from the publication sequence. The last sequence number applied is the commit's
//! payload, so a restarted node catches up from where its index stands, and a node with a fresh
//! directory rebuilds from the start.
//!
//! Text fields (名称, フリガナ, 英語表記, 所在地) are read through [`crate::text`] (registered as
//! the tokenizer `ja`); codes (都道府県, 市区町村, 機関区分, 診療科目, 疾患・治療, 外国語) are
//! exact terms.

use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use chrono::NaiveDateTime;

use tantivy::collector::{Count, FilterCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery,
    RegexQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value as _,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term, doc,
};
use teikyo_domain::feature::Feature;
use teikyo_domain::forms::Value;
use teikyo_domain::hours::Openness;
use teikyo_domain::publication::PublishedDocument;
use teikyo_domain::{FacilityKind, PrefectureCode};
use teikyo_store::{FacilityId, Store, StoreError};

use crate::geo::{Area, Point};
use crate::listing::{Interner, Listing, ListingData, Listings};

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
    #[error("検索条件が正しくありません: {0}")]
    Query(String),
    #[error(
        "古い形式の検索用の索引（{0}）を消せません。このディレクトリを削除するか書き込めるようにしてから、起動し直してください: {1}"
    )]
    Reset(String, #[source] std::io::Error),
}

impl IndexError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Tantivy(_) => "search.index",
            Self::Directory(_) => "search.directory",
            Self::Store(_) => "search.store",
            Self::Payload(_) => "search.payload",
            Self::Query(_) => "search.query",
            Self::Reset(..) => "search.reset",
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
    /// The カナ reading with vowel length dropped, for romaji queries ([`crate::text::loose_reading`]).
    reading: Field,
    address: Field,
    prefecture: Field,
    municipality: Field,
    kind: Field,
    department: Field,
    treatment: Field,
    language: Field,
    feature: Field,
    lat: Field,
    lon: Field,
    /// The grid cells of the point ([`crate::geo::cells_of`]), for areas.
    cell: Field,
    /// [`ListingData`] as JSON: what the node keeps in memory, rebuilt from here on start.
    listing: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let ja = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("ja")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        facility_id: b.add_u64_field("facility_id", INDEXED | STORED | FAST),
        name: b.add_text_field("name", ja.clone()),
        kana: b.add_text_field("kana", ja.clone()),
        english: b.add_text_field("english", ja.clone()),
        reading: b.add_text_field("reading", ja.clone()),
        address: b.add_text_field("address", ja),
        prefecture: b.add_text_field("prefecture", STRING),
        municipality: b.add_text_field("municipality", STRING),
        kind: b.add_text_field("kind", STRING),
        department: b.add_text_field("department", STRING),
        treatment: b.add_text_field("treatment", STRING),
        language: b.add_text_field("language", STRING),
        feature: b.add_text_field("feature", STRING),
        lat: b.add_f64_field("lat", FAST),
        lon: b.add_f64_field("lon", FAST),
        cell: b.add_text_field("cell", STRING),
        listing: b.add_bytes_field("listing", STORED),
    };
    (b.build(), fields)
}

/// The order of results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Best match first.
    #[default]
    Relevance,
    /// Nearest to [`SearchQuery::from`] (or the area's centre) first.
    Distance,
}

/// What a search asks for. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Words separated by spaces; each must match the name, its reading (カナ or romaji), the
    /// English name or the address.
    pub keyword: String,
    pub prefecture: Option<PrefectureCode>,
    pub municipality: Option<String>,
    pub kind: Option<FacilityKind>,
    /// A 診療科目 code.
    pub department: Option<String>,
    /// A 疾患・治療 code (`treatments` list).
    pub treatment: Option<String>,
    /// A 外国語 code (`languages` list).
    pub language: Option<String>,
    /// Every one must hold.
    pub features: Vec<Feature>,
    /// Only facilities open at this moment (Japan time) — for the 診療科目 asked, if any.
    pub open_at: Option<NaiveDateTime>,
    pub area: Option<Area>,
    /// Where distances are measured from (現在地); the area's centre when `None`.
    pub from: Option<Point>,
    pub sort: Sort,
    pub limit: usize,
    pub offset: usize,
}

impl SearchQuery {
    fn origin(&self) -> Option<Point> {
        self.from.or(self.area.map(|a| a.center()))
    }
}

/// One result, in the order asked for.
#[derive(Debug, Clone)]
pub struct Hit {
    pub facility_id: FacilityId,
    pub score: f32,
    /// Metres from the query's origin, when it has one and the facility has coordinates.
    pub distance_m: Option<f64>,
    pub listing: Arc<Listing>,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    interner: Interner,
    /// Replaced whole after each catch-up; a search clones the `Arc` once.
    listings: RwLock<Arc<Listings>>,
}

impl SearchIndex {
    /// The index in `dir` (created when empty), or in memory with `None` (tests).
    pub fn open(dir: Option<&Path>) -> Result<Self, IndexError> {
        let (schema, fields) = schema();
        let index = match dir {
            Some(dir) => match Index::open_or_create(MmapDirectory::open(dir)?, schema.clone()) {
                Ok(index) => index,
                // An index written by an older version (another schema): this node's index is
                // its own and rebuilt from the publication sequence, so start it over.
                Err(tantivy::TantivyError::SchemaError(e)) => {
                    tracing::warn!(error = %e, dir = %dir.display(), "検索用の索引の形式が変わったため、作り直します");
                    let reset = |e| IndexError::Reset(dir.display().to_string(), e);
                    std::fs::remove_dir_all(dir).map_err(reset)?;
                    std::fs::create_dir_all(dir).map_err(reset)?;
                    Index::create_in_dir(dir, schema)?
                }
                Err(e) => return Err(e.into()),
            },
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
        let this = Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            interner: Interner::default(),
            listings: RwLock::new(Arc::new(Listings::new())),
        };
        this.load_listings()?;
        Ok(this)
    }

    /// Rebuilds the in-memory listings from the stored ones (a restarted node).
    fn load_listings(&self) -> Result<(), IndexError> {
        let searcher = self.reader.searcher();
        let mut listings =
            Listings::with_capacity(usize::try_from(searcher.num_docs()).unwrap_or_default());
        for segment in searcher.segment_readers() {
            let store = segment
                .get_store_reader(64)
                .map_err(tantivy::TantivyError::from)?;
            for doc in store.iter::<TantivyDocument>(segment.alive_bitset()) {
                let doc = doc?;
                let Some(id) = doc
                    .get_first(self.fields.facility_id)
                    .and_then(|v| v.as_u64())
                else {
                    continue;
                };
                let Some(bytes) = doc
                    .get_first(self.fields.listing)
                    .and_then(|v| v.as_bytes())
                else {
                    continue;
                };
                let data: ListingData = serde_json::from_slice(bytes)
                    .map_err(|e| IndexError::Payload(format!("listing {id}: {e}")))?;
                listings.insert(id, Arc::new(self.interner.listing(facility_id(id), data)));
            }
        }
        self.replace_listings(listings);
        Ok(())
    }

    fn current_listings(&self) -> Arc<Listings> {
        match self.listings.read() {
            Ok(l) => Arc::clone(&l),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace_listings(&self, listings: Listings) {
        match self.listings.write() {
            Ok(mut l) => *l = Arc::new(listings),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(listings),
        }
    }

    /// The listing of a published facility, if this node has it.
    pub fn listing(&self, id: FacilityId) -> Option<Arc<Listing>> {
        let id = u64::try_from(id.0).ok()?;
        self.current_listings().get(&id).cloned()
    }

    /// How many facilities this node can find.
    pub fn len(&self) -> usize {
        self.current_listings().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        // Copied once per catch-up that has rows, changed, then swapped in whole.
        let mut listings: Option<Listings> = None;
        loop {
            let rows = store.publications().since(seq, CATCH_UP_BATCH).await?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                break;
            };
            {
                let mut writer = self.writer()?;
                let listings = listings.get_or_insert_with(|| (*self.current_listings()).clone());
                for row in &rows {
                    let id = u64::try_from(row.facility_id.0).unwrap_or_default();
                    writer.delete_term(Term::from_field_u64(self.fields.facility_id, id));
                    match &row.document {
                        Some(doc) => {
                            let listing = self.interner.listing_of(row.facility_id, doc);
                            writer.add_document(self.document(id, doc, &listing)?)?;
                            listings.insert(id, Arc::new(listing));
                        }
                        None => {
                            listings.remove(&id);
                        }
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
        if let Some(listings) = listings {
            self.replace_listings(listings);
            self.interner.prune();
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
        self.replace_listings(Listings::new());
        self.interner.prune();
        Ok(())
    }

    fn document(
        &self,
        id: u64,
        d: &PublishedDocument,
        listing: &Listing,
    ) -> Result<TantivyDocument, IndexError> {
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
        for kana in std::iter::once(&r.names.official_kana).chain(r.names.short_kana.as_ref()) {
            doc.add_text(
                f.reading,
                crate::text::loose_reading(&crate::text::fold(kana)),
            );
        }
        if let Some(english) = &r.names.english {
            doc.add_text(f.english, english);
        }
        for code in d.departments() {
            doc.add_text(f.department, code);
        }
        for code in d.languages() {
            doc.add_text(f.language, code);
        }
        for feature in d.features() {
            doc.add_text(f.feature, feature.id());
        }
        for s in &d.sections {
            for (id, v) in &s.answers.0 {
                if let Value::Coded(codes) = v
                    && id.as_str().ends_with(".treatments")
                {
                    for (code, a) in codes {
                        if a.available {
                            doc.add_text(f.treatment, code);
                        }
                    }
                }
            }
        }
        if let Some(p) = listing.point {
            doc.add_f64(f.lat, p.lat);
            doc.add_f64(f.lon, p.lon);
            for cell in crate::geo::cells_of(p) {
                doc.add_text(f.cell, cell);
            }
        }
        let stored = listing
            .to_json()
            .map_err(|e| IndexError::Payload(format!("listing {id}: {e}")))?;
        doc.add_bytes(f.listing, &stored);
        Ok(doc)
    }

    /// The tantivy query of everything but 現在診療中 and the exact area, which the listings
    /// decide (the area's box is a range over the coordinates here).
    fn query(&self, q: &SearchQuery) -> Result<BooleanQuery, IndexError> {
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
        let exact = |field: Field, value: &str| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, value),
                    IndexRecordOption::Basic,
                )),
            )
        };
        if let Some(p) = q.prefecture {
            must.push(exact(f.prefecture, &p.to_string()));
        }
        if let Some(m) = &q.municipality {
            must.push(exact(f.municipality, m));
        }
        if let Some(k) = q.kind {
            must.push(exact(f.kind, &k.code().to_string()));
        }
        if let Some(d) = &q.department {
            must.push(exact(f.department, d));
        }
        if let Some(t) = &q.treatment {
            must.push(exact(f.treatment, t));
        }
        if let Some(l) = &q.language {
            must.push(exact(f.language, l));
        }
        for feature in &q.features {
            must.push(exact(f.feature, feature.id()));
        }
        if let Some(area) = q.area {
            let b = area.bounds();
            if !(b.south <= b.north && b.west <= b.east) {
                return Err(IndexError::Query(
                    "地図の範囲（南西と北東の緯度・経度）が逆になっています。地図を動かしてからもう一度検索してください".into(),
                ));
            }
            match crate::geo::cells_covering(&b) {
                // The cells around the area; the listings keep what is really inside.
                Some(cells) => must.push((
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(
                        Box::new(BooleanQuery::new(
                            cells
                                .iter()
                                .map(|c| -> (Occur, Box<dyn Query>) {
                                    (
                                        Occur::Should,
                                        Box::new(TermQuery::new(
                                            Term::from_field_text(f.cell, c),
                                            IndexRecordOption::Basic,
                                        )),
                                    )
                                })
                                .collect(),
                        )),
                        0.0,
                    )),
                )),
                None => {
                    for (field, low, high) in [(f.lat, b.south, b.north), (f.lon, b.west, b.east)] {
                        must.push((
                            Occur::Must,
                            Box::new(RangeQuery::new(
                                Bound::Included(Term::from_field_f64(field, low)),
                                Bound::Included(Term::from_field_f64(field, high)),
                            )),
                        ));
                    }
                }
            }
        }
        if !must.iter().any(|(o, _)| *o == Occur::Must) {
            must.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(BooleanQuery::new(must))
    }

    /// The facilities matching `q`, in the order asked for, and how many match in all.
    pub fn search(&self, q: &SearchQuery) -> Result<(Vec<Hit>, usize), IndexError> {
        let query = self.query(q)?;
        let searcher = self.reader.searcher();
        let listings = self.current_listings();
        let limit = q.limit.max(1);
        let origin = q.origin();
        let keep: Option<Keep> = (q.open_at.is_some() || q.area.is_some()).then(|| Keep {
            listings: Arc::clone(&listings),
            area: q.area,
            open_at: q.open_at,
            department: q.department.clone(),
        });
        let (top, total): (Vec<(f32, DocAddress)>, usize) = match (q.sort, origin) {
            (Sort::Distance, Some(origin)) => {
                let nearest = TopDocs::with_limit(limit).and_offset(q.offset).tweak_score(
                    move |segment: &tantivy::SegmentReader| {
                        let lat = segment.fast_fields().f64("lat").ok();
                        let lon = segment.fast_fields().f64("lon").ok();
                        move |doc: tantivy::DocId, _score: tantivy::Score| -> f64 {
                            let at = lat
                                .as_ref()
                                .and_then(|c| c.first(doc))
                                .zip(lon.as_ref().and_then(|c| c.first(doc)));
                            match at {
                                Some((lat, lon)) => -origin.distance_m(Point { lat, lon }),
                                None => f64::NEG_INFINITY,
                            }
                        }
                    },
                );
                let (top, total) = collect(&searcher, &query, nearest, keep)?;
                (top.into_iter().map(|(_, a)| (0.0, a)).collect(), total)
            }
            _ => collect(
                &searcher,
                &query,
                TopDocs::with_limit(limit)
                    .and_offset(q.offset)
                    .order_by_score(),
                keep,
            )?,
        };
        let mut hits = Vec::with_capacity(top.len());
        // Opening a fast-field column reads its block index: once per segment, not per hit.
        let mut columns: Vec<Option<tantivy::columnar::Column<u64>>> =
            vec![None; searcher.segment_readers().len()];
        for (score, addr) in top {
            let slot = usize::try_from(addr.segment_ord).unwrap_or(usize::MAX);
            let Some(cached) = columns.get_mut(slot) else {
                continue;
            };
            let column = match cached {
                Some(c) => c,
                None => cached.insert(
                    searcher
                        .segment_reader(addr.segment_ord)
                        .fast_fields()
                        .u64("facility_id")?,
                ),
            };
            let Some(listing) = column.first(addr.doc_id).and_then(|id| listings.get(&id)) else {
                continue;
            };
            hits.push(Hit {
                facility_id: listing.facility_id,
                score,
                distance_m: origin.zip(listing.point).map(|(o, p)| o.distance_m(p)),
                listing: Arc::clone(listing),
            });
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
        // Romaji (「sato」「shinjuku」) against the reading of the name.
        if let Some(reading) = crate::text::romaji_reading(word) {
            let tokens = crate::text::tokens(&reading);
            let q: Option<Box<dyn Query>> = match tokens.as_slice() {
                [] => None,
                [one] => Some(Box::new(TermQuery::new(
                    Term::from_field_text(f.reading, one),
                    IndexRecordOption::WithFreqs,
                ))),
                many => Some(Box::new(PhraseQuery::new(
                    many.iter()
                        .map(|t| Term::from_field_text(f.reading, t))
                        .collect(),
                ))),
            };
            if let Some(q) = q {
                any.push((Occur::Should, Box::new(BoostQuery::new(q, 1.5))));
            }
        }
        Ok(Some(Box::new(BooleanQuery::new(any))))
    }
}

/// What the listings decide per matching facility: the exact area and 現在診療中.
#[derive(Clone)]
struct Keep {
    listings: Arc<Listings>,
    area: Option<Area>,
    open_at: Option<NaiveDateTime>,
    department: Option<String>,
}

impl Keep {
    fn keeps(&self, id: u64) -> bool {
        let Some(l) = self.listings.get(&id) else {
            return false;
        };
        if let Some(area) = self.area
            && !l.point.is_some_and(|p| area.contains(p))
        {
            return false;
        }
        if let Some(at) = self.open_at
            && l.openness(self.department.as_deref(), at) != Openness::Open
        {
            return false;
        }
        true
    }
}

/// Runs `collector` with a count, through `keep` when there is one.
fn collect<C>(
    searcher: &Searcher,
    query: &dyn Query,
    collector: C,
    keep: Option<Keep>,
) -> Result<(C::Fruit, usize), IndexError>
where
    C: tantivy::collector::Collector + Send + Sync,
{
    Ok(match keep {
        None => searcher.search(query, &(collector, Count))?,
        Some(keep) => searcher.search(
            query,
            &FilterCollector::new(
                "facility_id".to_owned(),
                move |id: u64| keep.keeps(id),
                (collector, Count),
            ),
        )?,
    })
}

fn facility_id(id: u64) -> FacilityId {
    FacilityId(i64::try_from(id).unwrap_or_default())
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
    fn an_index_of_an_older_schema_is_started_over() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut old = Schema::builder();
        let id = old.add_u64_field("facility_id", INDEXED | STORED | FAST);
        let index = Index::create_in_dir(dir.path(), old.build()).expect("an old index");
        let mut writer: IndexWriter = index.writer(WRITER_BYTES).expect("a writer");
        writer.add_document(doc!(id => 7u64)).expect("a document");
        let mut commit = writer.prepare_commit().expect("prepare");
        commit.set_payload("41");
        commit.commit().expect("commit");
        drop(writer);
        let opened = SearchIndex::open(Some(dir.path())).expect("opened after starting over");
        assert_eq!(opened.seq().expect("seq"), 0, "caught up from the start");
        assert!(opened.is_empty());
        // And it is this schema's now: opening it again keeps it.
        drop(opened);
        assert!(SearchIndex::open(Some(dir.path())).is_ok());
    }

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
