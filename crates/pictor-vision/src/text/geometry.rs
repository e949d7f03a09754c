//! The plane geometry of DB post-processing: connected regions of a bitmap,
//! their convex hulls and minimum-area rectangles.
//!
//! PP-OCR does this with OpenCV (`findContours`, `minAreaRect`) and grows the
//! boxes with pyclipper and shapely. Offsetting a rectangle by `d` with round
//! joins and taking the minimum-area rectangle again gives the same rectangle
//! grown by `d` on every side, so no polygon clipping library is needed.

use std::collections::BTreeMap;

/// A point in pixel indices (x right, y down).
pub(crate) type Point = [f32; 2];

/// The pixels of each 8-connected region of `true` values in a row-major
/// `width`-wide bitmap, given as the leftmost and rightmost pixel of every row
/// the region touches: enough for its convex hull.
pub(crate) fn regions(bitmap: &[bool], width: usize) -> Vec<Vec<Point>> {
    let height = bitmap.len() / width;
    let mut seen = vec![false; bitmap.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..bitmap.len() {
        if !bitmap[start] || seen[start] {
            continue;
        }
        // Per row the region touches: its leftmost and rightmost pixel.
        let mut rows: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            let row = rows.entry(y).or_insert((x, x));
            *row = (row.0.min(x), row.1.max(x));
            for ny in y.saturating_sub(1)..(y + 2).min(height) {
                for nx in x.saturating_sub(1)..(x + 2).min(width) {
                    let j = ny * width + nx;
                    if bitmap[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let points =
            rows.iter().flat_map(|(&y, &(l, r))| [[l as f32, y as f32], [r as f32, y as f32]]).collect::<Vec<_>>();
        out.push(points);
    }
    out
}

/// The convex hull of `points`, anticlockwise on screen (Andrew's monotone chain).
pub(crate) fn convex_hull(points: &[Point]) -> Vec<Point> {
    let mut p = points.to_vec();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: Point, a: Point, b: Point| (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    let mut hull: Vec<Point> = Vec::with_capacity(p.len() * 2);
    for pass in [&p[..], &p.iter().rev().copied().collect::<Vec<_>>()[..]] {
        let base = hull.len();
        for &q in pass {
            while hull.len() >= base + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0 {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop(); // the last point starts the other half
    }
    hull
}

/// A rotated rectangle: its corners and side lengths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    /// Top-left, top-right, bottom-right, bottom-left (see [`order_corners`]).
    pub corners: [Point; 4],
    /// The shorter side.
    pub short_side: f32,
}

/// The smallest-area rectangle around `points` (rotating calipers over the
/// hull's edges); `None` for no points.
pub(crate) fn min_area_rect(points: &[Point]) -> Option<Rect> {
    let hull = convex_hull(points);
    let first = *hull.first()?;
    let mut best: Option<(f32, [Point; 4], f32)> = None;
    for i in 0..hull.len().max(1) {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        // Axis `u` along the edge (or x for a single point), `v` across it.
        let u = if len > 0.0 { [dx / len, dy / len] } else { [1.0, 0.0] };
        let v = [-u[1], u[0]];
        let dot = |p: Point, d: Point| (p[0] - first[0]) * d[0] + (p[1] - first[1]) * d[1];
        let range =
            |d: Point| hull.iter().map(|&p| dot(p, d)).fold((f32::MAX, f32::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let ((u0, u1), (v0, v1)) = (range(u), range(v));
        let area = (u1 - u0) * (v1 - v0);
        if best.as_ref().is_none_or(|b| area < b.0) {
            let at = |s: f32, t: f32| [first[0] + s * u[0] + t * v[0], first[1] + s * u[1] + t * v[1]];
            let corners = [at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)];
            best = Some((area, corners, (u1 - u0).min(v1 - v0)));
        }
    }
    best.map(|(_, corners, short_side)| Rect { corners: order_corners(corners), short_side })
}

/// Orders four corners top-left, top-right, bottom-right, bottom-left, as
/// PP-OCR's `get_mini_boxes` does: the two leftmost points are the left side
/// (upper one first), the two rightmost the right side.
pub(crate) fn order_corners(mut c: [Point; 4]) -> [Point; 4] {
    c.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (tl, bl) = if c[1][1] > c[0][1] { (c[0], c[1]) } else { (c[1], c[0]) };
    let (tr, br) = if c[3][1] > c[2][1] { (c[2], c[3]) } else { (c[3], c[2]) };
    [tl, tr, br, bl]
}

/// `rect` grown by `distance` on every side.
pub(crate) fn grow(rect: &Rect, distance: f32) -> Rect {
    let c = rect.corners;
    let unit = |a: Point, b: Point| {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt().max(f32::EPSILON);
        [dx / len * distance, dy / len * distance]
    };
    // Along the top edge (left to right) and the left edge (top to bottom).
    let (along, down) = (unit(c[0], c[1]), unit(c[0], c[3]));
    let shift = |p: Point, sa: f32, sd: f32| [p[0] + sa * along[0] + sd * down[0], p[1] + sa * along[1] + sd * down[1]];
    let corners = [shift(c[0], -1.0, -1.0), shift(c[1], 1.0, -1.0), shift(c[2], 1.0, 1.0), shift(c[3], -1.0, 1.0)];
    Rect { corners: order_corners(corners), short_side: rect.short_side + 2.0 * distance }
}

/// The rectangle's area and perimeter.
pub(crate) fn area_perimeter(rect: &Rect) -> (f32, f32) {
    let [a, b, _, d] = rect.corners;
    let (w, h) = (dist(a, b), dist(a, d));
    (w * h, 2.0 * (w + h))
}

pub(crate) fn dist(a: Point, b: Point) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Whether `p` lies inside (or on) the convex polygon `poly`.
pub(crate) fn inside(poly: &[Point], p: Point) -> bool {
    let side = |i: usize| {
        let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
        (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    };
    let sides: Vec<f32> = (0..poly.len()).map(side).collect();
    sides.iter().all(|&s| s >= -1e-3) || sides.iter().all(|&s| s <= 1e-3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_8_connected() {
        #[rustfmt::skip]
        let bitmap = [
            true, false, false, false,
            false, true, false, true,
            false, false, false, true,
        ].to_vec();
        let r = regions(&bitmap, 4);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], vec![[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]);
    }

    #[test]
    fn min_area_rect_of_a_tilted_bar() {
        // A bar along the diagonal y = x, 10 long and ~0 thick.
        let points: Vec<Point> = (0..=10).flat_map(|i| [[i as f32, i as f32], [i as f32 + 1.0, i as f32]]).collect();
        let r = min_area_rect(&points).unwrap();
        let (area, _) = area_perimeter(&r);
        assert!(area < 10.0 * 2f32.sqrt(), "{r:?}");
        let upright = min_area_rect(&[[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [0.0, 2.0], [2.0, 1.0]]).unwrap();
        assert_eq!(upright.corners, [[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [0.0, 2.0]]);
        assert_eq!(upright.short_side, 2.0);
        let grown = grow(&upright, 1.0);
        assert_eq!(grown.corners, [[-1.0, -1.0], [5.0, -1.0], [5.0, 3.0], [-1.0, 3.0]]);
        assert!(inside(&grown.corners, [4.5, 2.9]) && !inside(&grown.corners, [5.5, 0.0]));
    }
}
