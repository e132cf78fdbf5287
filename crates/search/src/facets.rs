//! The exact filters of a search (都道府県, 市区町村, 機関区分, 診療科目, 疾患・治療, 外国語, the
//! features, the map's grid cells) and 現在診療中, as compressed bitmaps of facility ids.
//!
//! Why (issue 7 bench, perf on 245,000 facilities): most searches residents make have no words
//! — 「東京都 駐車場あり 現在診療中」 — and tantivy answered them by walking and scoring every
//! matching posting, then asking each facility whether it was open: three quarters of a
//! search's time. Bitmaps intersect and count those thousands in microseconds, and the open set
//! is computed once for every query until some facility opens or closes.
//!
//! The bitmaps are read from the index's own postings after each catch-up, so they hold
//! exactly what tantivy holds (one definition of the terms: `SearchIndex::document`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use roaring::RoaringBitmap;
use std::sync::Arc;
use tantivy::postings::BlockSegmentPostings;
use tantivy::schema::{Field, IndexRecordOption};

use tantivy::index::SegmentId;
use tantivy::{DocId, Searcher, TantivyError};
use teikyo_domain::hours::Openness;

use crate::listing::{Listings, minute_of};

/// The exact-term fields of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Facet {
    Prefecture,
    Municipality,
    Kind,
    Department,
    Treatment,
    Language,
    Feature,
    Cell,
}

impl Facet {
    pub(crate) const ALL: [Facet; 8] = [
        Facet::Prefecture,
        Facet::Municipality,
        Facet::Kind,
        Facet::Department,
        Facet::Treatment,
        Facet::Language,
        Facet::Feature,
        Facet::Cell,
    ];

    fn slot(self) -> usize {
        self as usize
    }
}

/// Per facet, per term, the facilities that have it; every facility; and per segment of the
/// searcher they were read from, its documents' facility ids.
#[derive(Debug, Default)]
pub(crate) struct Facets {
    terms: [HashMap<Box<str>, RoaringBitmap>; 8],
    all: RoaringBitmap,
    /// In the searcher's segment order. Opening the `facility_id` column reads its block index
    /// (a fifth of a words search's time, perf); this is read once per catch-up instead.
    segments: Vec<(SegmentId, Arc<[u32]>)>,
}

/// A document without a facility (deleted, or without an id) in [`Facets::members`].
pub(crate) const NO_FACILITY: u32 = u32::MAX;

/// A facility id as a bitmap member (ids are the database's sequence, far below `u32::MAX`).
pub(crate) fn member(id: u64) -> Option<u32> {
    u32::try_from(id).ok()
}

impl Facets {
    /// Reads the postings of `fields` (each facet's field) from every live document of
    /// `searcher`, mapped to facility ids through the `facility_id` column.
    pub(crate) fn read(
        searcher: &Searcher,
        fields: &[(Facet, Field)],
    ) -> Result<Self, TantivyError> {
        let mut facets = Facets::default();
        for segment in searcher.segment_readers() {
            let ids = segment.fast_fields().u64("facility_id")?;
            let alive = segment.alive_bitset();
            let members: Arc<[u32]> = (0..segment.max_doc())
                .map(|doc| {
                    if alive.is_some_and(|a| !a.is_alive(doc)) {
                        return NO_FACILITY;
                    }
                    ids.first(doc).and_then(member).unwrap_or(NO_FACILITY)
                })
                .collect();
            let of = |doc: DocId| -> Option<u32> {
                members
                    .get(usize::try_from(doc).ok()?)
                    .copied()
                    .filter(|m| *m != NO_FACILITY)
            };
            for m in members.iter().filter(|m| **m != NO_FACILITY) {
                facets.all.insert(*m);
            }
            for (facet, field) in fields {
                let inverted = segment.inverted_index(*field)?;
                let mut terms = inverted.terms().stream()?;
                while terms.advance() {
                    let Ok(term) = std::str::from_utf8(terms.key()) else {
                        continue;
                    };
                    let mut postings: BlockSegmentPostings = inverted
                        .read_block_postings_from_terminfo(
                            terms.value(),
                            IndexRecordOption::Basic,
                        )?;
                    let bitmap = facets.terms[facet.slot()]
                        .entry(Box::from(term))
                        .or_default();
                    while !postings.docs().is_empty() {
                        for doc in postings.docs() {
                            if let Some(m) = of(*doc) {
                                bitmap.insert(m);
                            }
                        }
                        postings.advance();
                    }
                }
            }
            facets.segments.push((segment.segment_id(), members));
        }
        for terms in &mut facets.terms {
            terms.retain(|_, b| !b.is_empty());
        }
        Ok(facets)
    }

    /// The facilities with `term` (`None`: none has it).
    pub(crate) fn get(&self, facet: Facet, term: &str) -> Option<&RoaringBitmap> {
        self.terms[facet.slot()].get(term)
    }

    /// The facility ids of the documents of the searcher's segment `ord`.
    pub(crate) fn members(&self, ord: u32) -> &[u32] {
        usize::try_from(ord)
            .ok()
            .and_then(|i| self.segments.get(i))
            .map_or(&[], |(_, m)| m)
    }

    /// The same, by segment id (for tantivy's callbacks that see only the segment).
    pub(crate) fn members_of(&self, segment: SegmentId) -> Arc<[u32]> {
        self.segments
            .iter()
            .find(|(id, _)| *id == segment)
            .map_or_else(|| Arc::from([]), |(_, m)| Arc::clone(m))
    }

    /// Every facility the index holds.
    pub(crate) fn all(&self) -> &RoaringBitmap {
        &self.all
    }
}

/// Adds `m`, at the end when it is the largest (listings come in id order: no search).
fn append(set: &mut RoaringBitmap, m: u32) {
    if set.try_push(m).is_err() {
        set.insert(m);
    }
}

/// Which facilities are open, as a whole, from one minute until the first minute any of them
/// opens or closes (each listing knows how long its own answer holds).
#[derive(Debug)]
pub(crate) struct OpenSet {
    /// The listings it was computed from ([`crate::index`]'s snapshot generation).
    pub(crate) generation: u64,
    from: u64,
    until: u64,
    /// 診療中 as a whole.
    pub(crate) open: RoaringBitmap,
    /// 診療中 or 不明 as a whole: a facility closed as a whole is closed for each 診療科目 too,
    /// so these are the only ones a 診療科目's own hours can find open.
    pub(crate) maybe: RoaringBitmap,
}

impl OpenSet {
    pub(crate) fn compute(listings: &Listings, generation: u64, at: NaiveDateTime) -> Self {
        let from = minute_of(at);
        let mut until = u64::MAX;
        let mut open = RoaringBitmap::new();
        let mut maybe = RoaringBitmap::new();
        for (id, listing) in listings.iter() {
            let Some(m) = member(id) else {
                continue;
            };
            let (openness, holds_until) = listing.openness_window(at, from);
            until = until.min(holds_until);
            match openness {
                Openness::Open => {
                    append(&mut open, m);
                    append(&mut maybe, m);
                }
                Openness::Unknown => {
                    append(&mut maybe, m);
                }
                Openness::Closed => {}
            }
        }
        Self {
            generation,
            from,
            until: until.max(from + 1),
            open,
            maybe,
        }
    }

    /// Whether this set answers for `at` and these listings.
    pub(crate) fn holds(&self, generation: u64, at: NaiveDateTime) -> bool {
        let minute = minute_of(at);
        self.generation == generation && self.from <= minute && minute < self.until
    }
}
