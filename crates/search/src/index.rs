//! The local search index (issue 7 §2, DESIGN §7): one tantivy index per app node, built and
//! kept current from the publication sequence. The last sequence number applied is the commit's
//! payload, so a restarted node catches up from where its index stands, and a node with a fresh
//! directory rebuilds from the start.
//!
//! Text fields (名称, フリガナ, 英語表記, 所在地) are read through [`crate::text`] (registered as
//! the tokenizer [`TOKENIZER`]); codes (都道府県, 市区町村, 機関区分, 診療科目, 疾患・治療, 外国語) are
//! exact terms.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::NaiveDateTime;

use roaring::{MultiOps, RoaringBitmap};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RegexQuery, TermQuery};
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

use crate::facets::{Facet, Facets, NO_FACILITY, OpenSet};
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

/// The name the tokenizer is registered under, changed whenever its tokens or positions change:
/// the schema then differs, and a node's older index is started over (see
/// [`SearchIndex::open`]) instead of answering phrases it was not written for.
const TOKENIZER: &str = "ja_v2";

/// The same in trigrams, for the `*3` fields (see [`crate::text::trigram_phrase`]).
const TRIGRAMS: &str = "ja3_v1";

/// Every substring of 3 to 6 characters, for the `*_n` fields (see
/// [`crate::text::substrings_of_folded`]).
const SUBSTRINGS: &str = "ja36_v1";

/// The tokenizer [`TOKENIZER`]: [`crate::text::fold`] then [`crate::text::tokens_of_folded`].
#[derive(Clone)]
struct JaTokenizer {
    /// 2 (bigrams, [`TOKENIZER`]) or 3 (trigrams, [`TRIGRAMS`]); 0 for the substrings of
    /// [`SUBSTRINGS`].
    n: usize,
    tokens: Vec<Token>,
}

impl Default for JaTokenizer {
    fn default() -> Self {
        Self::grams(2)
    }
}

impl JaTokenizer {
    fn grams(n: usize) -> Self {
        Self {
            n,
            tokens: Vec::new(),
        }
    }
}

struct JaTokenStream<'a> {
    /// Each token moved out once, not cloned (a copy of each token's text less).
    tokens: std::slice::IterMut<'a, Token>,
    current: Token,
}

impl TokenStream for JaTokenStream<'_> {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(t) => {
                self.current = std::mem::take(t);
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
        let tokens = match self.n {
            0 => crate::text::substrings_of_folded(&folded),
            n => crate::text::grams_of_folded(&folded, n),
        };
        self.tokens = tokens
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
            tokens: self.tokens.iter_mut(),
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
    /// Name, カナ and address again in trigrams, for words with runs of three characters or
    /// more: their postings are far shorter than the bigrams'.
    name3: Field,
    kana3: Field,
    address3: Field,
    /// Name and カナ as every substring of 3 to 6 characters, without positions: a word of
    /// that length is one term there ([`crate::text::whole_term`]).
    name_n: Field,
    kana_n: Field,
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
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let ja3 = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TRIGRAMS)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    // Frequencies for ranking, no positions: these fields are only looked up term by term.
    let substrings = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(SUBSTRINGS)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        facility_id: b.add_u64_field("facility_id", INDEXED | STORED | FAST),
        name: b.add_text_field("name", ja.clone()),
        kana: b.add_text_field("kana", ja.clone()),
        english: b.add_text_field("english", ja.clone()),
        reading: b.add_text_field("reading", ja.clone()),
        address: b.add_text_field("address", ja),
        name3: b.add_text_field("name3", ja3.clone()),
        kana3: b.add_text_field("kana3", ja3.clone()),
        address3: b.add_text_field("address3", ja3),
        name_n: b.add_text_field("name_n", substrings.clone()),
        kana_n: b.add_text_field("kana_n", substrings),
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

/// What one search reads, consistent with itself: the index as of a catch-up, the listings
/// and the filter bitmaps made from it. Replaced whole after each catch-up; a search clones the
/// `Arc` once and holds no lock.
struct Snapshot {
    searcher: Searcher,
    listings: Listings,
    facets: Facets,
    /// Counts snapshots, so an [`OpenSet`] knows which listings it was computed from.
    generation: u64,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    interner: Interner,
    snapshot: RwLock<Arc<Snapshot>>,
    generations: AtomicU64,
    /// Which facilities are open now, shared by every search until one opens or closes.
    open: Mutex<Option<Arc<OpenSet>>>,
}

impl SearchIndex {
    /// The index in `dir` (created when empty), or in memory with `None` (tests).
    pub fn open(dir: Option<&Path>) -> Result<Self, IndexError> {
        let this = Self::open_unloaded(dir)?;
        this.load_listings()?;
        Ok(this)
    }

    /// The index in `dir` emptied, for a rebuild: its documents' listings are not read first
    /// (3.5 s of a 245k rebuild went on reading what was about to be deleted).
    pub fn open_cleared(dir: &Path) -> Result<Self, IndexError> {
        let this = Self::open_unloaded(Some(dir))?;
        this.clear()?;
        Ok(this)
    }

    /// The index, its writer (which holds the directory's lock) and empty listings.
    fn open_unloaded(dir: Option<&Path>) -> Result<Self, IndexError> {
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
            TOKENIZER,
            tantivy::tokenizer::TextAnalyzer::from(JaTokenizer::default()),
        );
        index.tokenizers().register(
            TRIGRAMS,
            tantivy::tokenizer::TextAnalyzer::from(JaTokenizer::grams(3)),
        );
        index.tokenizers().register(
            SUBSTRINGS,
            tantivy::tokenizer::TextAnalyzer::from(JaTokenizer::grams(0)),
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer(WRITER_BYTES)?;
        let searcher = reader.searcher();
        let this = Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            interner: Interner::default(),
            snapshot: RwLock::new(Arc::new(Snapshot {
                searcher,
                listings: Listings::new(),
                facets: Facets::default(),
                generation: 0,
            })),
            generations: AtomicU64::new(0),
            open: Mutex::new(None),
        };
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
        self.replace_snapshot(listings)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn facet_fields(&self) -> [(Facet, Field); 8] {
        let f = &self.fields;
        Facet::ALL.map(|facet| {
            let field = match facet {
                Facet::Prefecture => f.prefecture,
                Facet::Municipality => f.municipality,
                Facet::Kind => f.kind,
                Facet::Department => f.department,
                Facet::Treatment => f.treatment,
                Facet::Language => f.language,
                Facet::Feature => f.feature,
                Facet::Cell => f.cell,
            };
            (facet, field)
        })
    }

    /// Swaps in `listings` with the reader's current searcher and the bitmaps read from it.
    fn replace_snapshot(&self, listings: Listings) -> Result<(), IndexError> {
        let searcher = self.reader.searcher();
        let facets = Facets::read(&searcher, &self.facet_fields())?;
        let snapshot = Arc::new(Snapshot {
            searcher,
            listings,
            facets,
            generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
        });
        match self.snapshot.write() {
            Ok(mut s) => *s = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        Ok(())
    }

    /// The open set for `at`, computed when the shared one does not hold for it.
    fn open_set(&self, snapshot: &Snapshot, at: NaiveDateTime) -> Arc<OpenSet> {
        let Ok(mut shared) = self.open.lock() else {
            return Arc::new(OpenSet::compute(
                &snapshot.listings,
                snapshot.generation,
                at,
            ));
        };
        match shared.as_ref() {
            Some(set) if set.holds(snapshot.generation, at) => Arc::clone(set),
            _ => {
                let set = Arc::new(OpenSet::compute(
                    &snapshot.listings,
                    snapshot.generation,
                    at,
                ));
                *shared = Some(Arc::clone(&set));
                set
            }
        }
    }

    /// The listing of a published facility, if this node has it.
    pub fn listing(&self, id: FacilityId) -> Option<Arc<Listing>> {
        let id = u64::try_from(id.0).ok()?;
        self.snapshot().listings.get(&id).cloned()
    }

    /// How many facilities this node can find.
    pub fn len(&self) -> usize {
        self.snapshot().listings.len()
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
        // From an empty index (a rebuild) only the rows of this catch-up have documents to
        // replace: the listings say which. (A delete per row costs a term lookup per segment at
        // every commit.)
        let from_empty = seq == 0;
        // No merges while the whole sequence is written: `compact` (or the next catch-up's
        // commits) joins the segments once, instead of merging them again and again.
        self.writer()?.set_merge_policy(if from_empty {
            Box::new(tantivy::indexer::NoMergePolicy)
        } else {
            Box::new(tantivy::indexer::LogMergePolicy::default())
        });
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
                let listings = listings.get_or_insert_with(|| self.snapshot().listings.clone());
                for row in &rows {
                    let id = u64::try_from(row.facility_id.0).unwrap_or_default();
                    if !from_empty || listings.get(&id).is_some() {
                        writer.delete_term(Term::from_field_u64(self.fields.facility_id, id));
                    }
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
            self.replace_snapshot(listings)?;
            self.interner.prune();
        }
        Ok(applied)
    }

    /// Merges the index into one segment (after a rebuild): every search visits each segment
    /// — its term dictionaries, its postings — so one segment answers fastest.
    pub fn compact(&self) -> Result<(), IndexError> {
        // Nothing else merges meanwhile: a catch-up from an empty index (a rebuild's) starts
        // no merge of its own.
        let segments = self.index.searchable_segment_ids()?;
        if segments.len() < 2 {
            return Ok(());
        }
        self.writer()?.merge(&segments).wait()?;
        self.reader.reload()?;
        self.replace_snapshot(self.snapshot().listings.clone())
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
        self.replace_snapshot(Listings::new())?;
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
            f.kana3 => r.names.official_kana.clone(),
            f.kana_n => r.names.official_kana.clone(),
            f.address3 => r.address.clone(),
            f.prefecture => r.prefecture.to_string(),
            f.municipality => r.municipality.to_string(),
            f.kind => r.kind.code().to_string(),
        );
        for name in std::iter::once(&r.names.official)
            .chain([&r.names.short, &r.names.english].into_iter().flatten())
        {
            doc.add_text(f.name3, name);
            doc.add_text(f.name_n, name);
        }
        for name in [&r.names.short, &r.names.english].into_iter().flatten() {
            doc.add_text(f.name, name);
        }
        if let Some(kana) = &r.names.short_kana {
            doc.add_text(f.kana, kana);
            doc.add_text(f.kana3, kana);
            doc.add_text(f.kana_n, kana);
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

    /// The tantivy query of the words (with the prefectures they name ranked first); `None`
    /// when the words have no tokens (punctuation only, or none), and the filters alone decide.
    fn text_query(&self, q: &SearchQuery) -> Result<Option<BooleanQuery>, IndexError> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in q.keyword.split_whitespace() {
            if let Some(m) = self.word_query(word)? {
                clauses.push((Occur::Must, m));
            }
            // 「京都」 is also a prefecture: its facilities first (東京都's addresses contain the
            // bigram 京都 too).
            if let Some(p) = prefecture_named(word) {
                clauses.push((
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
        if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
            return Ok(None);
        }
        Ok(Some(BooleanQuery::new(clauses)))
    }

    /// The facilities the exact filters of `q` allow — codes, the cells around its area, and
    /// 現在診療中 as far as the open set decides it — or `None` when it has no such filter.
    fn allowed(
        &self,
        snapshot: &Snapshot,
        q: &SearchQuery,
    ) -> Result<Option<RoaringBitmap>, IndexError> {
        let facets = &snapshot.facets;
        let mut terms: Vec<(Facet, String)> = Vec::new();
        if let Some(p) = q.prefecture {
            terms.push((Facet::Prefecture, p.to_string()));
        }
        if let Some(m) = &q.municipality {
            terms.push((Facet::Municipality, m.clone()));
        }
        if let Some(k) = q.kind {
            terms.push((Facet::Kind, k.code().to_string()));
        }
        for (facet, code) in [
            (Facet::Department, &q.department),
            (Facet::Treatment, &q.treatment),
            (Facet::Language, &q.language),
        ] {
            if let Some(code) = code {
                terms.push((facet, code.clone()));
            }
        }
        for feature in &q.features {
            terms.push((Facet::Feature, feature.id().to_owned()));
        }
        let mut sets: Vec<&RoaringBitmap> = Vec::with_capacity(terms.len() + 2);
        for (facet, term) in &terms {
            match facets.get(*facet, term) {
                Some(set) => sets.push(set),
                // A code no facility has: nothing matches.
                None => return Ok(Some(RoaringBitmap::new())),
            }
        }
        let cells: Option<RoaringBitmap> = match q.area {
            Some(area) => {
                let b = area.bounds();
                if !(b.south <= b.north && b.west <= b.east) {
                    return Err(IndexError::Query(
                        "地図の範囲（南西と北東の緯度・経度）が逆になっています。地図を動かしてからもう一度検索してください".into(),
                    ));
                }
                // The cells around the area (the listings keep what is really inside); an
                // area too large for cells is checked facility by facility.
                crate::geo::cells_covering(&b).map(|cells| {
                    cells
                        .iter()
                        .filter_map(|c| facets.get(Facet::Cell, c))
                        .union()
                })
            }
            None => None,
        };
        sets.extend(cells.as_ref());
        let open = q.open_at.map(|at| self.open_set(snapshot, at));
        if let Some(open) = &open {
            // With a 診療科目, its own hours decide among those not closed as a whole.
            sets.push(if q.department.is_some() {
                &open.maybe
            } else {
                &open.open
            });
        }
        sets.sort_by_key(|s| s.len());
        let Some((first, rest)) = sets.split_first() else {
            return Ok(None);
        };
        let mut allowed = (*first).clone();
        for set in rest {
            if allowed.is_empty() {
                break;
            }
            allowed &= *set;
        }
        Ok(Some(allowed))
    }

    /// The facilities matching `q`, in the order asked for, and how many match in all.
    pub fn search(&self, q: &SearchQuery) -> Result<(Vec<Hit>, usize), IndexError> {
        let snapshot = self.snapshot();
        let allowed = self.allowed(&snapshot, q)?;
        // What the bitmaps cannot decide: the exact area, and a 診療科目's own hours.
        let keep =
            (q.area.is_some() || (q.open_at.is_some() && q.department.is_some())).then(|| Keep {
                snapshot: Arc::clone(&snapshot),
                area: q.area,
                open_at: q.open_at,
                department: q.department.clone(),
            });
        match self.text_query(q)? {
            Some(query) => self.search_words(&snapshot, q, &query, allowed, keep),
            None => Ok(search_filters(&snapshot, q, allowed, keep)),
        }
    }

    /// A search with words: tantivy scores them, the bitmaps and `keep` filter.
    fn search_words(
        &self,
        snapshot: &Arc<Snapshot>,
        q: &SearchQuery,
        query: &BooleanQuery,
        allowed: Option<RoaringBitmap>,
        keep: Option<Keep>,
    ) -> Result<(Vec<Hit>, usize), IndexError> {
        let searcher = &snapshot.searcher;
        let listings = &snapshot.listings;
        let limit = q.limit.max(1);
        let origin = q.origin();
        let filter = Filter {
            snapshot: Arc::clone(snapshot),
            allowed: allowed.map(Arc::new),
            keep,
        };
        let (top, total): (Vec<(f32, DocAddress)>, usize) = match (q.sort, origin) {
            (Sort::Distance, Some(origin)) => {
                let near = Arc::clone(snapshot);
                let nearest = TopDocs::with_limit(limit).and_offset(q.offset).tweak_score(
                    move |segment: &tantivy::SegmentReader| {
                        let members = near.facets.members_of(segment.segment_id());
                        let near = Arc::clone(&near);
                        move |doc: tantivy::DocId, _score: tantivy::Score| -> f64 {
                            let point = usize::try_from(doc)
                                .ok()
                                .and_then(|d| members.get(d))
                                .and_then(|m| near.listings.get(&u64::from(*m)))
                                .and_then(|l| l.point);
                            match point {
                                Some(p) => -origin.distance_m(p),
                                None => f64::NEG_INFINITY,
                            }
                        }
                    },
                );
                let (top, total) = searcher.search(query, &filter.around((nearest, Count)))?;
                (top.into_iter().map(|(_, a)| (0.0, a)).collect(), total)
            }
            _ => searcher.search(
                query,
                &filter.around((
                    TopDocs::with_limit(limit)
                        .and_offset(q.offset)
                        .order_by_score(),
                    Count,
                )),
            )?,
        };
        let hits = top
            .into_iter()
            .filter_map(|(score, addr)| {
                let m = usize::try_from(addr.doc_id)
                    .ok()
                    .and_then(|d| snapshot.facets.members(addr.segment_ord).get(d))?;
                let listing = listings.get(&u64::from(*m))?;
                Some(Hit {
                    facility_id: listing.facility_id,
                    score,
                    distance_m: origin.zip(listing.point).map(|(o, p)| o.distance_m(p)),
                    listing: Arc::clone(listing),
                })
            })
            .collect();
        Ok((hits, total))
    }

    /// One word: a phrase of its tokens in any text field (a single CJK character matches the
    /// bigrams it starts). `None` when the word has no tokens (punctuation only).
    fn word_query(&self, word: &str) -> Result<Option<Box<dyn Query>>, IndexError> {
        let f = &self.fields;
        let tokens = crate::text::phrase(word);
        if tokens.is_empty() {
            return Ok(None);
        }

        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // Runs of three characters or more are looked for in trigrams (the English name keeps
        // its bigrams: its words are Latin).
        let trigrams = crate::text::in_trigrams(word).then(|| crate::text::trigram_phrase(word));
        // A word of one run of 3 to 6 characters is one term of the substring fields.
        let whole = crate::text::whole_term(word);
        for (field, in_trigrams, substrings, boost) in [
            (f.name, Some(f.name3), Some(f.name_n), 2.0),
            (f.kana, Some(f.kana3), Some(f.kana_n), 1.5),
            (f.english, None, None, 1.5),
            (f.address, Some(f.address3), None, 1.0),
        ] {
            if let (Some(field), Some(term)) = (substrings, &whole) {
                let q = TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::WithFreqs,
                );
                any.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
                continue;
            }
            let (field, tokens) = match (in_trigrams, &trigrams) {
                (Some(field3), Some(tokens3)) => (field3, tokens3),
                _ => (field, &tokens),
            };
            let q: Box<dyn Query> = match tokens.as_slice() {
                [(_, one)] if one.chars().count() == 1 && !one.is_ascii() => Box::new(
                    RegexQuery::from_pattern(&format!("{}.*", regex_escape(one)), field)?,
                ),
                [(_, one)] => Box::new(TermQuery::new(
                    Term::from_field_text(field, one),
                    IndexRecordOption::WithFreqs,
                )),
                many => phrase(field, many),
            };
            any.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
        }
        // Romaji (「sato」「shinjuku」) against the reading of the name.
        if let Some(reading) = crate::text::romaji_reading(word) {
            let tokens = crate::text::phrase(&reading);
            let q: Option<Box<dyn Query>> = match tokens.as_slice() {
                [] => None,
                [(_, one)] => Some(Box::new(TermQuery::new(
                    Term::from_field_text(f.reading, one),
                    IndexRecordOption::WithFreqs,
                ))),
                many => Some(phrase(f.reading, many)),
            };
            if let Some(q) = q {
                any.push((Occur::Should, Box::new(BoostQuery::new(q, 1.5))));
            }
        }
        Ok(Some(Box::new(BooleanQuery::new(any))))
    }
}

/// A search without words: the bitmaps select, `keep` decides what they cannot, and the order
/// is the distance from the origin or, for relevance (every facility matches the filters
/// equally), the facility id — the same on every node, so a cursor reads on where it left off
/// whichever node answers.
fn search_filters(
    snapshot: &Snapshot,
    q: &SearchQuery,
    allowed: Option<RoaringBitmap>,
    keep: Option<Keep>,
) -> (Vec<Hit>, usize) {
    let listings = &snapshot.listings;
    let selected = allowed.as_ref().unwrap_or(snapshot.facets.all());
    let limit = q.limit.max(1);
    let origin = q.origin();
    let kept = selected.iter().filter_map(|m| {
        let id = u64::from(m);
        let listing = listings.get(&id)?;
        keep.as_ref()
            .is_none_or(|k| k.keeps_listing(listing))
            .then_some(listing)
    });
    let hit = |listing: &Arc<Listing>, distance_m: Option<f64>| Hit {
        facility_id: listing.facility_id,
        score: 0.0,
        distance_m,
        listing: Arc::clone(listing),
    };
    match (q.sort, origin) {
        (Sort::Distance, Some(origin)) => {
            // Without coordinates: last, by id.
            let mut near: Vec<(f64, &Arc<Listing>)> = kept
                .map(|l| (l.point.map_or(f64::INFINITY, |p| origin.distance_m(p)), l))
                .collect();
            let total = near.len();
            let order = |a: &(f64, &Arc<Listing>), b: &(f64, &Arc<Listing>)| {
                a.0.total_cmp(&b.0)
                    .then(a.1.facility_id.0.cmp(&b.1.facility_id.0))
            };
            let end = q.offset.saturating_add(limit).min(total);
            if end < total {
                near.select_nth_unstable_by(end, order);
                near.truncate(end);
            }
            near.sort_unstable_by(order);
            let hits = near
                .iter()
                .skip(q.offset)
                .map(|(d, l)| hit(l, d.is_finite().then_some(*d)))
                .collect();
            (hits, total)
        }
        _ => {
            let distance = |l: &Arc<Listing>| origin.zip(l.point).map(|(o, p)| o.distance_m(p));
            if keep.is_none() {
                // Every selected facility matches: count the bitmap, read only the page.
                let total = usize::try_from(selected.len()).unwrap_or(usize::MAX);
                let from = u32::try_from(q.offset)
                    .ok()
                    .and_then(|n| selected.select(n));
                let hits = match from {
                    Some(from) => selected
                        .range(from..)
                        .filter_map(|m| listings.get(&u64::from(m)))
                        .take(limit)
                        .map(|l| hit(l, distance(l)))
                        .collect(),
                    None => Vec::new(),
                };
                return (hits, total);
            }
            let mut total = 0;
            let mut hits = Vec::with_capacity(limit);
            for l in kept {
                if total >= q.offset && hits.len() < limit {
                    hits.push(hit(l, distance(l)));
                }
                total += 1;
            }
            (hits, total)
        }
    }
}

/// What the listings decide per facility the bitmaps selected: the exact area, and a
/// 診療科目's own hours.
#[derive(Clone)]
struct Keep {
    snapshot: Arc<Snapshot>,
    area: Option<Area>,
    open_at: Option<NaiveDateTime>,
    department: Option<String>,
}

impl Keep {
    fn keeps(&self, id: u64) -> bool {
        self.snapshot
            .listings
            .get(&id)
            .is_some_and(|l| self.keeps_listing(l))
    }

    fn keeps_listing(&self, l: &Listing) -> bool {
        if let Some(area) = self.area
            && !l.point.is_some_and(|p| area.contains(p))
        {
            return false;
        }
        if let Some(at) = self.open_at
            && self.department.is_some()
            && l.openness(self.department.as_deref(), at) != Openness::Open
        {
            return false;
        }
        true
    }
}

/// A words search's filter: documents of a listed facility, among the bitmaps' facilities,
/// that `keep` keeps. (Instead of tantivy's `FilterCollector`, which opens the id column per
/// segment per search.)
#[derive(Clone)]
struct Filter {
    snapshot: Arc<Snapshot>,
    allowed: Option<Arc<RoaringBitmap>>,
    keep: Option<Keep>,
}

impl Filter {
    fn admits(&self, m: u32) -> bool {
        m != NO_FACILITY
            && self.allowed.as_ref().is_none_or(|a| a.contains(m))
            && self.keep.as_ref().is_none_or(|k| k.keeps(u64::from(m)))
    }

    fn around<C: Collector>(&self, inner: C) -> Filtered<C> {
        Filtered {
            inner,
            filter: self.clone(),
        }
    }
}

struct Filtered<C> {
    inner: C,
    filter: Filter,
}

struct FilteredSegment<S> {
    inner: S,
    members: Arc<[u32]>,
    filter: Filter,
}

impl<C: Collector> Collector for Filtered<C> {
    type Fruit = C::Fruit;
    type Child = FilteredSegment<C::Child>;

    fn for_segment(
        &self,
        ord: tantivy::SegmentOrdinal,
        segment: &tantivy::SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(FilteredSegment {
            inner: self.inner.for_segment(ord, segment)?,
            members: self.filter.snapshot.facets.members_of(segment.segment_id()),
            filter: self.filter.clone(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    fn merge_fruits(
        &self,
        fruits: Vec<<Self::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<Self::Fruit> {
        self.inner.merge_fruits(fruits)
    }
}

impl<S: SegmentCollector> SegmentCollector for FilteredSegment<S> {
    type Fruit = S::Fruit;

    fn collect(&mut self, doc: tantivy::DocId, score: tantivy::Score) {
        let m = usize::try_from(doc)
            .ok()
            .and_then(|d| self.members.get(d))
            .copied()
            .unwrap_or(NO_FACILITY);
        if self.filter.admits(m) {
            self.inner.collect(doc, score);
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.inner.harvest()
    }
}

fn facility_id(id: u64) -> FacilityId {
    FacilityId(i64::try_from(id).unwrap_or_default())
}

/// The phrase of [`crate::text::phrase`]'s tokens in `field`.
fn phrase(field: Field, tokens: &[(usize, String)]) -> Box<dyn Query> {
    Box::new(PhraseQuery::new_with_offset(
        tokens
            .iter()
            .map(|(at, t)| (*at, Term::from_field_text(field, t)))
            .collect(),
    ))
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
    fn a_phrase_of_every_second_bigram_stays_within_one_run() {
        let mut b = Schema::builder();
        let ja = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let name = b.add_text_field("name", ja);
        let index = Index::create_in_ram(b.build());
        index.tokenizers().register(
            TOKENIZER,
            tantivy::tokenizer::TextAnalyzer::from(JaTokenizer::default()),
        );
        let mut writer: IndexWriter = index.writer(WRITER_BYTES).expect("a writer");
        for n in [
            "阿部こどもクリニック",
            "阿部 こどもクリニック",
            "阿部 Xこども",
            "阿部医院 こども",
        ] {
            writer.add_document(doc!(name => n)).expect("a document");
        }
        writer.commit().expect("commit");
        let searcher = index.reader().expect("a reader").searcher();
        let count = |word: &str| {
            searcher
                .search(&*phrase(name, &crate::text::phrase(word)), &Count)
                .expect("search")
        };
        // 阿部@0 こど@2: only where 部こ joins them too, not across a space (nor across the
        // word between: 阿部 X こど would put こど two after 阿部 without the gap).
        assert_eq!(crate::text::phrase("阿部こど").len(), 2);
        assert_eq!(count("阿部こど"), 1);
        assert_eq!(count("阿部こどもく"), 1);
        assert_eq!(count("こどもクリ"), 2);
        assert_eq!(count("xこど"), 1);
        assert_eq!(count("医院こど"), 0);
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
