//! DB (differentiable binarisation) post-processing: from PP-OCRv4's text
//! probability map to rotated line boxes in image pixels.
//!
//! Follows rapidocr 1.4.4's `DBPostProcess` with its configuration: binarise
//! at [`THRESH`], dilate by a 2×2 square, one minimum-area rectangle per
//! connected region, keep it if the mean probability inside is at least
//! [`BOX_THRESH`], grow it by `area × UNCLIP_RATIO / perimeter`, scale it to
//! the image. OpenCV traces region outlines (`findContours`); the regions are
//! taken as 8-connected pixel sets here, which gives the same outer outlines.

use super::geometry::{self, Point, Rect};

/// Probability above which a map pixel is text.
pub(crate) const THRESH: f32 = 0.3;
/// Minimum mean probability inside a box.
pub(crate) const BOX_THRESH: f32 = 0.5;
/// How much a box grows, relative to area / perimeter.
pub(crate) const UNCLIP_RATIO: f32 = 1.6;
/// Boxes with a shorter side (map pixels) below this are noise.
const MIN_SIZE: f32 = 3.0;
/// At most this many regions are considered (as rapidocr's `max_candidates`).
const MAX_CANDIDATES: usize = 1000;

/// A probability map (`width × height`, row-major).
pub(crate) struct ProbMap<'a> {
    pub data: &'a [f32],
    pub width: usize,
    pub height: usize,
}

/// Line boxes (clockwise from top-left) in the pixels of an `image_w × image_h` image.
pub(crate) fn boxes(map: &ProbMap<'_>, image_w: usize, image_h: usize) -> Vec<[Point; 4]> {
    let bitmap = dilate(&map.data.iter().map(|&p| p > THRESH).collect::<Vec<_>>(), map.width);
    let mut out = Vec::new();
    for region in geometry::regions(&bitmap, map.width).iter().take(MAX_CANDIDATES) {
        let Some(rect) = geometry::min_area_rect(region).filter(|r| r.short_side >= MIN_SIZE) else { continue };
        if score(map, &rect) < BOX_THRESH {
            continue;
        }
        let (area, perimeter) = geometry::area_perimeter(&rect);
        let grown = geometry::grow(&rect, area * UNCLIP_RATIO / perimeter);
        if grown.short_side < MIN_SIZE + 2.0 {
            continue;
        }
        if let Some(quad) = to_image(&grown, map, image_w, image_h) {
            out.push(quad);
        }
    }
    sort_reading_order(&mut out);
    out
}

/// OpenCV's `dilate` with a 2×2 kernel (anchor at its centre): a pixel is set
/// when it or its left, upper or upper-left neighbour is.
fn dilate(bitmap: &[bool], width: usize) -> Vec<bool> {
    (0..bitmap.len())
        .map(|i| {
            let (x, y) = (i % width, i / width);
            let at = |dx: usize, dy: usize| x >= dx && y >= dy && bitmap[i - dy * width - dx];
            at(0, 0) || at(1, 0) || at(0, 1) || at(1, 1)
        })
        .collect()
}

/// Mean probability of the map pixels inside `rect` (rapidocr's "fast" score:
/// the corners truncated to whole pixels).
fn score(map: &ProbMap<'_>, rect: &Rect) -> f32 {
    let poly = rect.corners.map(|p| p.map(f32::trunc));
    let span = |axis: usize, n: usize| {
        let lo = rect.corners.iter().map(|p| p[axis]).fold(f32::MAX, f32::min).floor().clamp(0.0, (n - 1) as f32);
        let hi = rect.corners.iter().map(|p| p[axis]).fold(f32::MIN, f32::max).ceil().clamp(0.0, (n - 1) as f32);
        lo as usize..=hi as usize
    };
    let (mut sum, mut count) = (0.0f64, 0usize);
    for y in span(1, map.height) {
        for x in span(0, map.width) {
            if geometry::inside(&poly, [x as f32, y as f32]) {
                sum += f64::from(map.data[y * map.width + x]);
                count += 1;
            }
        }
    }
    if count == 0 { 0.0 } else { (sum / count as f64) as f32 }
}

/// The box scaled from map to image pixels, rounded and clipped as rapidocr
/// does; `None` when it is 3 pixels or less across.
fn to_image(rect: &Rect, map: &ProbMap<'_>, image_w: usize, image_h: usize) -> Option<[Point; 4]> {
    let (sx, sy) = (image_w as f32 / map.width as f32, image_h as f32 / map.height as f32);
    let (max_x, max_y) = ((image_w - 1) as f32, (image_h - 1) as f32);
    let quad = rect.corners.map(|[x, y]| [(x * sx).round().clamp(0.0, max_x), (y * sy).round().clamp(0.0, max_y)]);
    let quad = geometry::order_corners(quad);
    let (w, h) = (geometry::dist(quad[0], quad[1]), geometry::dist(quad[0], quad[3]));
    (w.trunc() > 3.0 && h.trunc() > 3.0).then_some(quad)
}

/// Top to bottom, then left to right among boxes whose tops are within 10
/// pixels (rapidocr's `sorted_boxes`).
fn sort_reading_order(boxes: &mut [[Point; 4]]) {
    boxes.sort_by(|a, b| a[0][1].total_cmp(&b[0][1]).then(a[0][0].total_cmp(&b[0][0])));
    for i in 0..boxes.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            if (boxes[j + 1][0][1] - boxes[j][0][1]).abs() < 10.0 && boxes[j + 1][0][0] < boxes[j][0][0] {
                boxes.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bright_bar_gives_one_grown_box() {
        let (w, h) = (40, 20);
        let data: Vec<f32> = (0..w * h)
            .map(|i| if (5..35).contains(&(i % w)) && (8..12).contains(&(i / w)) { 0.9 } else { 0.0 })
            .collect();
        let boxes = boxes(&ProbMap { data: &data, width: w, height: h }, 80, 40);
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let [tl, tr, br, bl] = boxes[0];
        assert!(tl[0] < 10.0 && tr[0] > 70.0 && tl[1] < 16.0 && bl[1] > 24.0, "{:?}", boxes[0]);
        assert_eq!((tl[1], tr[0]), (tr[1], br[0]));
    }

    #[test]
    fn reading_order_groups_lines() {
        let at = |x: f32, y: f32| [[x, y], [x + 5.0, y], [x + 5.0, y + 5.0], [x, y + 5.0]];
        let mut b = vec![at(50.0, 3.0), at(0.0, 40.0), at(0.0, 5.0)];
        sort_reading_order(&mut b);
        assert_eq!(b, vec![at(0.0, 5.0), at(50.0, 3.0), at(0.0, 40.0)]);
    }
}
