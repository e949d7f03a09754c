//! One scan's entropy-coded data into the components' blocks: DC first
//! and refinement passes (possibly interleaved), and at 1/4 scale the AC
//! first and refinement passes (one component each), per ITU T.81 G.1.2.

use super::bits::{Bits, Huffman};
use super::{Component, Scale, Tables};
use crate::error::{Result, corrupt};

/// Zig-zag positions of the AC terms kept at 1/4 (`Component::low`).
pub(super) const LOW: [u32; 3] = [1, 2, 4];

/// AC refinement scans to bits below this are not read at 1/4: in the
/// usual scripts the last two bits of every AC term, over half the file.
/// The three kept terms are then known to within 4 quantisation steps
/// (reconstructed at the middle of that range), which after the ≥2×
/// resize that follows changes a thumbnail by under 0.05 dB against the
/// exact area average (`tests/shrink_on_load.rs` prints it).
pub(super) const FIRST_UNREAD_BITS: u32 = 2;

/// A scan header: its components (id, DC table, AC table) and band.
pub(super) struct Header {
    members: Vec<(u8, usize, usize)>,
    band: Band,
}

impl Header {
    pub(super) fn parse(sos: &[u8]) -> Result<Self> {
        let bad = || corrupt("JPEG: malformed scan header");
        let n = *sos.first().ok_or_else(bad)? as usize;
        if !(1..=4).contains(&n) {
            return Err(bad());
        }
        let tail = sos.get(1 + 2 * n..4 + 2 * n).ok_or_else(bad)?;
        let band =
            Band { ss: u32::from(tail[0]), se: u32::from(tail[1]), ah: tail[2] >> 4, al: u32::from(tail[2] & 15) };
        if band.al > 13 || band.ss > band.se || band.se > 63 || (band.ss == 0) != (band.se == 0) {
            return Err(corrupt("JPEG: bad spectral band or approximation in a scan"));
        }
        // AC scans hold one component each (G.1.1.1.1).
        if band.ss > 0 && n > 1 {
            return Err(corrupt("JPEG: an AC scan with several components"));
        }
        let members =
            (0..n).map(|i| (sos[1 + 2 * i], (sos[2 + 2 * i] >> 4) as usize, (sos[2 + 2 * i] & 15) as usize)).collect();
        Ok(Self { members, band })
    }

    /// Whether the band overlaps that of `later`, a scan of the same component.
    fn feeds(&self, later: &Header) -> bool {
        self.members[0].0 == later.members[0].0 && self.band.ss <= later.band.se && later.band.ss <= self.band.se
    }
}

/// Which of the frame's scans to decode, in order. DC scans always. At 1/4
/// an AC scan if it holds a kept term to a bit not below `unread_bits`, or if a later
/// refinement scan that is decoded needs to know which of its band's
/// coefficients are non-zero.
pub(super) fn plan(scans: &[Header], scale: Scale, unread_bits: u32) -> Vec<bool> {
    let mut wanted = vec![false; scans.len()];
    for i in (0..scans.len()).rev() {
        let band = &scans[i].band;
        wanted[i] = match scale {
            _ if band.ss == 0 => true,
            Scale::Eighth => false,
            Scale::Quarter if band.ah > 0 && band.al < unread_bits => false,
            Scale::Quarter => {
                LOW.iter().any(|&k| (band.ss..=band.se).contains(&k))
                    || (i + 1..scans.len()).any(|j| wanted[j] && scans[j].band.ah > 0 && scans[i].feeds(&scans[j]))
            }
        };
    }
    wanted
}

/// Decodes one scan whose data `bits` reads.
pub(super) fn decode(
    mut bits: Bits,
    header: &Header,
    comps: &mut [Component],
    tables: &Tables,
    restart: usize,
) -> Result<()> {
    let band = &header.band;
    let mut members = Vec::with_capacity(header.members.len());
    for &(id, td, ta) in &header.members {
        let comp = comps
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(|| corrupt("JPEG: a scan names no component of the frame"))?;
        // A DC refinement pass carries raw bits, no Huffman codes.
        let (class, slot) = if band.ss == 0 { (0, td) } else { (1, ta) };
        let table = if band.ss == 0 && band.ah > 0 {
            None
        } else {
            let missing = || corrupt("JPEG: a scan uses a Huffman table it never defined");
            Some(tables[class].get(slot).and_then(Option::as_ref).ok_or_else(missing)?)
        };
        members.push(Member { comp, table });
    }
    if band.ss == 0 {
        return dc_scan(&mut bits, band, &members, comps, restart);
    }
    let comp = &mut comps[members[0].comp];
    for (slot, &k) in LOW.iter().enumerate() {
        if (band.ss..=band.se).contains(&k) {
            comp.low_bits[slot] = band.al;
        }
    }
    ac_scan(&mut bits, band, &members[0], comp, restart)
}

/// A scan's spectral band `ss..=se` and successive approximation bits.
struct Band {
    ss: u32,
    se: u32,
    ah: u8,
    al: u32,
}

/// A component of a scan, with its table.
struct Member<'t> {
    comp: usize,
    /// None in a DC refinement scan.
    table: Option<&'t Huffman>,
}

/// Counts units between restart markers; at each, the bit reader steps over
/// the marker and the caller resets its predictions.
struct Restarts {
    interval: usize,
    units: usize,
}

impl Restarts {
    fn after_unit(&mut self, bits: &mut Bits) -> bool {
        self.units += 1;
        let due = self.interval > 0 && self.units.is_multiple_of(self.interval);
        if due {
            bits.restart();
        }
        due
    }
}

fn dc_scan(bits: &mut Bits, band: &Band, members: &[Member], comps: &mut [Component], restart: usize) -> Result<()> {
    let mut preds = vec![0i32; members.len()];
    let mut restarts = Restarts { interval: restart, units: 0 };
    if let [m] = members {
        let comp = &mut comps[m.comp];
        for by in 0..comp.ch {
            for bx in 0..comp.cw {
                dc_block(bits, band, m, &mut preds[0], comp, by * comp.bw + bx)?;
                if restarts.after_unit(bits) {
                    preds.fill(0);
                }
            }
        }
        return Ok(());
    }
    let first = &comps[members[0].comp];
    let (mcu_rows, mcu_cols) = (first.bh / first.v, first.bw / first.h);
    for my in 0..mcu_rows {
        for mx in 0..mcu_cols {
            for (k, m) in members.iter().enumerate() {
                let comp = &mut comps[m.comp];
                for v in 0..comp.v {
                    for h in 0..comp.h {
                        let at = (my * comp.v + v) * comp.bw + mx * comp.h + h;
                        dc_block(bits, band, m, &mut preds[k], comp, at)?;
                    }
                }
            }
            if restarts.after_unit(bits) {
                preds.fill(0);
            }
        }
    }
    Ok(())
}

/// One block's DC term: a first pass (a table given) or a refinement bit.
fn dc_block(bits: &mut Bits, band: &Band, m: &Member, pred: &mut i32, comp: &mut Component, at: usize) -> Result<()> {
    match m.table {
        Some(table) => {
            let s = u32::from(bits.symbol(table)?);
            if s > 11 {
                return Err(corrupt("JPEG: DC difference out of range"));
            }
            *pred = pred.wrapping_add(bits.signed(s));
            comp.dc[at] = *pred << band.al;
            comp.seen = true;
        }
        None => comp.dc[at] |= (bits.bits(1) as i32) << band.al,
    }
    Ok(())
}

fn ac_scan(bits: &mut Bits, band: &Band, m: &Member, comp: &mut Component, restart: usize) -> Result<()> {
    let table = m.table.expect("AC scans always have a table");
    let mut pass = AcPass { band, table, eobrun: 0 };
    let mut restarts = Restarts { interval: restart, units: 0 };
    for by in 0..comp.ch {
        for bx in 0..comp.cw {
            let at = by * comp.bw + bx;
            if band.ah == 0 {
                pass.first(bits, comp, at)?
            } else {
                pass.refine(bits, comp, at)?
            }
            if restarts.after_unit(bits) {
                pass.eobrun = 0;
            }
        }
    }
    Ok(())
}

/// An AC pass over one component, with its end-of-band run.
struct AcPass<'a> {
    band: &'a Band,
    table: &'a Huffman,
    /// Blocks still to come with nothing more in this band.
    eobrun: u32,
}

impl AcPass<'_> {
    /// A first pass (G.1.2.2): new coefficients, each shifted up by `al`.
    fn first(&mut self, bits: &mut Bits, comp: &mut Component, at: usize) -> Result<()> {
        if self.eobrun > 0 {
            self.eobrun -= 1;
            return Ok(());
        }
        let mut k = self.band.ss;
        while k <= self.band.se {
            let rs = bits.symbol(self.table)?;
            let (r, s) = (u32::from(rs >> 4), u32::from(rs & 15));
            if s == 0 {
                if r < 15 {
                    self.eobrun = (1 << r) - 1 + bits.bits(r);
                    break;
                }
                k += 16;
                continue;
            }
            k += r;
            if k > self.band.se {
                return Err(corrupt("JPEG: AC coefficient past the end of its band"));
            }
            let value = bits.signed(s) << self.band.al;
            comp.nonzero[at] |= 1 << k;
            if let Some(slot) = LOW.iter().position(|&p| p == k) {
                comp.low[at][slot] = value;
            }
            k += 1;
        }
        Ok(())
    }

    /// A refinement pass (G.1.2.3): one more bit of every coefficient already
    /// non-zero (correction bits), and coefficients becoming ±1 at this bit.
    fn refine(&mut self, bits: &mut Bits, comp: &mut Component, at: usize) -> Result<()> {
        let (se, p1) = (self.band.se, 1i32 << self.band.al);
        let mut nonzero = comp.nonzero[at];
        let mut k = self.band.ss;
        if self.eobrun == 0 {
            while k <= se {
                let rs = bits.symbol(self.table)?;
                let (r, s) = (u32::from(rs >> 4), rs & 15);
                let new = match s {
                    0 if r < 15 => {
                        self.eobrun = (1 << r) + bits.bits(r);
                        break;
                    }
                    0 => None, // ZRL: 16 zero coefficients
                    1 => Some(if bits.bits(1) == 1 { p1 } else { -p1 }),
                    _ => return Err(corrupt("JPEG: a refinement scan codes a coefficient wider than one bit")),
                };
                // The (r+1)th still-zero coefficient from k, passing non-zero ones.
                let mut zeros = !nonzero & band_mask(k, se);
                for _ in 0..r {
                    zeros &= zeros.wrapping_sub(1);
                }
                if zeros == 0 {
                    if new.is_some() {
                        return Err(corrupt("JPEG: AC coefficient past the end of its band"));
                    }
                    correct(bits, comp, at, nonzero & band_mask(k, se), p1);
                    k = se + 1;
                    break;
                }
                let target = zeros.trailing_zeros();
                correct(bits, comp, at, nonzero & band_mask(k, se) & ((1u64 << target) - 1), p1);
                if let Some(value) = new {
                    nonzero |= 1 << target;
                    if let Some(slot) = LOW.iter().position(|&p| p == target) {
                        comp.low[at][slot] = value;
                    }
                }
                k = target + 1;
            }
        }
        if self.eobrun > 0 {
            if k <= se {
                correct(bits, comp, at, nonzero & band_mask(k, se), p1);
            }
            self.eobrun -= 1;
        }
        comp.nonzero[at] = nonzero;
        Ok(())
    }
}

/// Bits `from..=to` set (both ≤ 63).
fn band_mask(from: u32, to: u32) -> u64 {
    (u64::MAX >> (63 - to)) & (u64::MAX << from)
}

/// Reads one correction bit for each already non-zero coefficient in
/// `coefs`, in zig-zag order, applying those of the kept low terms and
/// stepping over the rest at once.
fn correct(bits: &mut Bits, comp: &mut Component, at: usize, coefs: u64, p1: i32) {
    let kept = coefs & 0b1_0110;
    if kept == 0 {
        bits.discard(coefs.count_ones());
        return;
    }
    // Bits for positions up to the last kept one come one by one.
    let upto = 64 - kept.leading_zeros();
    let mut read = 0;
    for k in 1..upto {
        if coefs & (1 << k) == 0 {
            continue;
        }
        read += 1;
        let bit = bits.bits(1);
        if let Some(slot) = LOW.iter().position(|&p| p == k)
            && bit == 1
        {
            let v = &mut comp.low[at][slot];
            if *v & p1 == 0 {
                *v += if *v >= 0 { p1 } else { -p1 };
            }
        }
    }
    bits.discard(coefs.count_ones() - read);
}
