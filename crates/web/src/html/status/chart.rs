//! The dashboard's charts, drawn on the server as inline SVG (no JavaScript, no chart library):
//! this module computes the geometry, `status_dashboard.html` writes the markup. Each chart has a
//! `<title>` and `<desc>` and a table with the exact numbers next to it, so the picture is never
//! the only way to read them. Coordinates are in the SVG's own units (`viewBox`); the SVG
//! scales to the width of the screen.

use chrono::Datelike;
use teikyo_domain::completeness::{DayPoint, StatusCounts};
use teikyo_domain::report::ReportStatus;

/// Segments of a bar, left to right: done first, then what is still open. The class colours
/// them (`teikyo.css`).
pub(crate) const ORDER: [ReportStatus; 5] = [
    ReportStatus::Confirmed,
    ReportStatus::Resubmitted,
    ReportStatus::Submitted,
    ReportStatus::InProgress,
    ReportStatus::NotReported,
];

fn n(v: f64) -> String {
    format!("{v:.1}")
}

pub(crate) struct Tick {
    pub(crate) pos: String,
    pub(crate) label: String,
}

pub(crate) struct Segment {
    pub(crate) class: &'static str,
    pub(crate) x: String,
    pub(crate) width: String,
    pub(crate) title: String,
}

pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) y: String,
    pub(crate) text_y: String,
    pub(crate) segments: Vec<Segment>,
    pub(crate) value: String,
}

/// 100 % stacked horizontal bars, one per group, with the report rate after each.
pub(crate) struct BarChart {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) label_end: u32,
    pub(crate) plot_x: u32,
    pub(crate) plot_width: u32,
    pub(crate) value_x: u32,
    pub(crate) bar_height: u32,
    pub(crate) axis_y: String,
    pub(crate) tick_y: String,
    pub(crate) ticks: Vec<Tick>,
    pub(crate) bars: Vec<Bar>,
}

const BAR_WIDTH: u32 = 480;
const LABEL_END: u32 = 122;
const PLOT_X: u32 = 128;
const PLOT_W: f64 = 296.0;
const BAR_H: u32 = 22;
const BAR_GAP: u32 = 12;
const TOP: u32 = 8;

/// Bars for `groups` (label, counts), in the order given.
pub(crate) fn stacked_bars(groups: &[(String, StatusCounts)]) -> BarChart {
    let mut bars = Vec::new();
    for (i, (label, counts)) in groups.iter().enumerate() {
        let top = f64::from(TOP) + i as f64 * f64::from(BAR_H + BAR_GAP);
        let total = counts.total();
        let mut x = f64::from(PLOT_X);
        let mut segments = Vec::new();
        for status in ORDER {
            let count = counts.get(status);
            if count == 0 || total == 0 {
                continue;
            }
            let width = PLOT_W * count as f64 / total as f64;
            segments.push(Segment {
                class: status.id(),
                x: n(x),
                width: n(width),
                title: format!("{label}：{} {count} 施設", status.label()),
            });
            x += width;
        }
        bars.push(Bar {
            label: label.clone(),
            y: n(top),
            text_y: n(top + f64::from(BAR_H) / 2.0 + 5.0),
            segments,
            value: counts.reported_share().percent(),
        });
    }
    let rows = u32::try_from(groups.len()).unwrap_or(u32::MAX / 64);
    let axis = TOP + rows * (BAR_H + BAR_GAP);
    let ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|share| Tick {
            pos: n(f64::from(PLOT_X) + PLOT_W * share),
            label: format!("{}%", (share * 100.0) as u32),
        })
        .collect();
    BarChart {
        width: BAR_WIDTH,
        height: axis + 24,
        label_end: LABEL_END,
        plot_x: PLOT_X,
        plot_width: PLOT_W as u32,
        value_x: PLOT_X + PLOT_W as u32 + 8,
        bar_height: BAR_H,
        axis_y: n(f64::from(axis)),
        tick_y: n(f64::from(axis) + 16.0),
        ticks,
        bars,
    }
}

/// The cumulative report and confirmation rates over the window, as two lines.
pub(crate) struct LineChart {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) left: u32,
    pub(crate) right: u32,
    pub(crate) reported: String,
    pub(crate) confirmed: String,
    pub(crate) y_ticks: Vec<Tick>,
    pub(crate) x_ticks: Vec<Tick>,
    pub(crate) x_label_y: u32,
    /// The last day's points: (x, y of the report rate, y of the confirmation rate).
    pub(crate) last: Option<(String, String, String)>,
}

const LINE_W: u32 = 480;
const LINE_H: u32 = 240;
const LEFT: u32 = 44;
const RIGHT: u32 = 468;
const LINE_TOP: u32 = 12;
const BOTTOM: u32 = 208;

pub(crate) fn cumulative(points: &[DayPoint]) -> LineChart {
    let width = f64::from(RIGHT - LEFT);
    let height = f64::from(BOTTOM - LINE_TOP);
    let x_of = |i: usize| {
        if points.len() <= 1 {
            f64::from(LEFT) + width / 2.0
        } else {
            f64::from(LEFT) + width * i as f64 / (points.len() - 1) as f64
        }
    };
    let y_of = |ratio: f64| f64::from(BOTTOM) - height * ratio;
    let line = |pick: &dyn Fn(&DayPoint) -> f64| {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{},{}", n(x_of(i)), n(y_of(pick(p)))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let y_ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|r| Tick {
            pos: n(y_of(*r)),
            label: format!("{}%", (r * 100.0) as u32),
        })
        .collect();
    // First, middle and last day: enough to read the time axis at 360 px.
    let mut at: Vec<usize> = vec![0, points.len() / 2, points.len().saturating_sub(1)];
    at.dedup();
    let x_ticks = if points.is_empty() {
        Vec::new()
    } else {
        at.into_iter()
            .filter_map(|i| {
                points.get(i).map(|p| Tick {
                    pos: n(x_of(i)),
                    label: format!("{}/{}", p.day.month(), p.day.day()),
                })
            })
            .collect()
    };
    LineChart {
        width: LINE_W,
        height: LINE_H,
        left: LEFT,
        right: RIGHT,
        reported: line(&|p| p.reported.ratio()),
        confirmed: line(&|p| p.confirmed.ratio()),
        y_ticks,
        x_ticks,
        x_label_y: BOTTOM + 20,
        last: points.last().map(|p| {
            let i = points.len() - 1;
            (
                n(x_of(i)),
                n(y_of(p.reported.ratio())),
                n(y_of(p.confirmed.ratio())),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use teikyo_domain::completeness::{Share, over_window};

    #[test]
    fn bars_split_in_proportion_and_lines_rise() {
        let mut c = StatusCounts::default();
        c.add(ReportStatus::Confirmed, 1);
        c.add(ReportStatus::NotReported, 3);
        let chart = stacked_bars(&[("病院".to_owned(), c)]);
        let bar = &chart.bars[0];
        assert_eq!(bar.value, "25.0%");
        let widths: Vec<_> = bar.segments.iter().map(|s| s.width.as_str()).collect();
        assert_eq!(widths, ["74.0", "222.0"]);
        assert_eq!(bar.segments[1].x, "202.0");
        assert_eq!(bar.segments[0].class, "confirmed");

        let d = |day| NaiveDate::from_ymd_opt(2027, 1, day).unwrap();
        let points = over_window(d(1), d(3), 4, &[(d(1), 2), (d(3), 2)], &[]);
        let chart = cumulative(&points);
        // 50 % on the first day (half way up), 100 % at the end (the top).
        assert_eq!(
            chart.reported,
            "44.0,110.0 256.0,110.0 468.0,12.0".to_owned()
        );
        assert_eq!(chart.x_ticks.len(), 3);
        assert_eq!(chart.x_ticks[2].label, "1/3");
        assert_eq!(Share::new(0, 4).ratio(), 0.0);
    }
}
