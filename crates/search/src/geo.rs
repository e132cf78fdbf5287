//! Places and distances for 「現在地から」「地図の範囲」「半径◯km」 (issue 7 §5). Distances are
//! great-circle (haversine) on the mean Earth radius: within a prefecture that is well under a
//! metre off the ellipsoid per kilometre, far below how coarse a 町丁目 point is.

use serde::{Deserialize, Serialize};

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Metres per degree of latitude (and of longitude at the equator).
const M_PER_DEGREE: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// The widest radius a search accepts (a prefecture is at most ~400 km across).
pub const MAX_RADIUS_M: f64 = 500_000.0;

/// WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    /// A point in Japan's bounding box, or `None` (0,0 and swapped pairs are common in data).
    pub fn in_japan(lat: f64, lon: f64) -> Option<Self> {
        teikyo_domain::Coordinates::is_in_japan(lat, lon).then_some(Self { lat, lon })
    }

    /// Metres to `other` along the great circle.
    pub fn distance_m(self, other: Point) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

/// A south-west / north-east box (a map view).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

impl Bounds {
    pub fn contains(&self, p: Point) -> bool {
        (self.south..=self.north).contains(&p.lat) && (self.west..=self.east).contains(&p.lon)
    }

    pub fn center(&self) -> Point {
        Point {
            lat: (self.south + self.north) / 2.0,
            lon: (self.west + self.east) / 2.0,
        }
    }
}

/// Where to look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "area", rename_all = "snake_case")]
pub enum Area {
    /// Within `meters` of `center` (現在地, or a place typed in).
    Radius { center: Point, meters: f64 },
    /// Within the map's view.
    Bounds(Bounds),
}

impl Area {
    /// The box that holds the whole area (what the index can range over).
    pub fn bounds(&self) -> Bounds {
        match *self {
            Self::Bounds(b) => b,
            Self::Radius { center, meters } => {
                let dlat = meters / M_PER_DEGREE;
                // Longitude degrees shrink towards the poles; Japan is far from them.
                let dlon = meters / (M_PER_DEGREE * center.lat.to_radians().cos().max(0.1));
                Bounds {
                    south: center.lat - dlat,
                    west: center.lon - dlon,
                    north: center.lat + dlat,
                    east: center.lon + dlon,
                }
            }
        }
    }

    pub fn contains(&self, p: Point) -> bool {
        match *self {
            Self::Bounds(b) => b.contains(p),
            Self::Radius { center, meters } => center.distance_m(p) <= meters,
        }
    }

    /// The point distances are measured from.
    pub fn center(&self) -> Point {
        match *self {
            Self::Bounds(b) => b.center(),
            Self::Radius { center, .. } => center,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_between_known_places() {
        // 東京駅 → 新宿駅 ≈ 6.1 km; 東京駅 → 大阪駅 ≈ 403 km.
        let tokyo = Point {
            lat: 35.681236,
            lon: 139.767125,
        };
        let shinjuku = Point {
            lat: 35.690921,
            lon: 139.700258,
        };
        let osaka = Point {
            lat: 34.702485,
            lon: 135.495951,
        };
        assert!((tokyo.distance_m(shinjuku) - 6_130.0).abs() < 100.0);
        assert!((tokyo.distance_m(osaka) - 403_000.0).abs() < 3_000.0);
        assert_eq!(tokyo.distance_m(tokyo), 0.0);
    }

    #[test]
    fn a_radius_box_holds_its_circle() {
        let center = Point {
            lat: 35.0,
            lon: 135.0,
        };
        let area = Area::Radius {
            center,
            meters: 2_000.0,
        };
        let b = area.bounds();
        for (lat, lon) in [
            (b.north, center.lon),
            (b.south, center.lon),
            (center.lat, b.east),
            (center.lat, b.west),
        ] {
            let d = center.distance_m(Point { lat, lon });
            assert!((d - 2_000.0).abs() < 5.0, "edge at {d} m");
        }
        assert!(area.contains(Point {
            lat: 35.01,
            lon: 135.0
        }));
        assert!(!area.contains(Point {
            lat: 35.02,
            lon: 135.0
        }));
    }

    #[test]
    fn points_outside_japan_are_refused() {
        assert!(Point::in_japan(0.0, 0.0).is_none());
        assert!(Point::in_japan(139.7, 35.6).is_none());
        assert!(Point::in_japan(35.6, 139.7).is_some());
    }
}

/// Grid cells for finding the facilities in an area by terms instead of scanning every
/// coordinate (a range over 245,000 values costs more than the rest of a search). Each point is
/// indexed in one cell of each level; an area is the cells of the finest level that covers it
/// in at most [`MAX_CELLS`], and the listings then keep only the points really inside.
const CELL_LEVELS: [(&str, f64); 3] = [("c2", 0.02), ("c10", 0.1), ("c50", 0.5)];

/// Cells one area may ask for; a larger area (all of Japan in view) scans the coordinates.
pub const MAX_CELLS: usize = 36;

fn cell(prefix: &str, size: f64, lat: f64, lon: f64) -> String {
    format!(
        "{prefix}:{}:{}",
        (lat / size).floor() as i64,
        (lon / size).floor() as i64
    )
}

/// The cells a point is indexed in, one per level.
pub fn cells_of(p: Point) -> Vec<String> {
    CELL_LEVELS
        .iter()
        .map(|(prefix, size)| cell(prefix, *size, p.lat, p.lon))
        .collect()
}

/// The cells of the finest level covering `b` in at most [`MAX_CELLS`]; `None` when even the
/// coarsest needs more.
pub fn cells_covering(b: &Bounds) -> Option<Vec<String>> {
    CELL_LEVELS.iter().find_map(|(prefix, size)| {
        let (s, n) = (
            (b.south / size).floor() as i64,
            (b.north / size).floor() as i64,
        );
        let (w, e) = (
            (b.west / size).floor() as i64,
            (b.east / size).floor() as i64,
        );
        let count = usize::try_from((n - s + 1) * (e - w + 1)).ok()?;
        (count <= MAX_CELLS).then(|| {
            (s..=n)
                .flat_map(|y| (w..=e).map(move |x| format!("{prefix}:{y}:{x}")))
                .collect()
        })
    })
}

#[cfg(test)]
mod cell_tests {
    use super::*;

    #[test]
    fn an_area_is_covered_by_the_cells_of_every_point_inside_it() {
        let kanazawa = Point {
            lat: 36.5613,
            lon: 136.6562,
        };
        let area = Area::Radius {
            center: kanazawa,
            meters: 2_000.0,
        };
        let cells = cells_covering(&area.bounds()).expect("a 2 km radius is few cells");
        assert!(cells.len() <= 9 && cells[0].starts_with("c2:"), "{cells:?}");
        // Points all over the box (its corners too) have their finest cell among them.
        let b = area.bounds();
        for i in 0..=10 {
            for j in 0..=10 {
                let p = Point {
                    lat: b.south + (b.north - b.south) * f64::from(i) / 10.0,
                    lon: b.west + (b.east - b.west) * f64::from(j) / 10.0,
                };
                assert!(cells.contains(&cells_of(p)[0]), "{p:?}");
            }
        }
        // A prefecture in view: a coarser level; all of Japan: none (the coordinates are scanned).
        let ishikawa = Bounds {
            south: 36.0,
            west: 136.2,
            north: 37.9,
            east: 137.4,
        };
        assert!(cells_covering(&ishikawa).expect("cells")[0].starts_with("c50:"));
        let japan = Bounds {
            south: 24.0,
            west: 122.0,
            north: 46.0,
            east: 146.0,
        };
        assert_eq!(cells_covering(&japan), None);
    }
}
