//! The entropy-coded bit stream: Huffman tables and a bit reader.

use crate::error::{Result, corrupt};

/// A Huffman table: a 9-bit lookup for short codes, canonical ranges for the rest.
#[derive(Clone)]
pub(super) struct Huffman {
    lookup: Vec<(u8, u8)>, // (code length, symbol); length 0 = not a short code
    maxcode: [i32; 17],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
}

const LOOKUP_BITS: u32 = 9;

impl Huffman {
    pub(super) fn new(counts: &[u8], values: Vec<u8>) -> Self {
        let mut lookup = vec![(0u8, 0u8); 1 << LOOKUP_BITS];
        let (mut maxcode, mut valptr, mut mincode) = ([-1i32; 17], [0i32; 17], [0i32; 17]);
        let (mut code, mut k) = (0i32, 0usize);
        for len in 1..=16 {
            let n = counts[len - 1] as usize;
            valptr[len] = k as i32;
            mincode[len] = code;
            for _ in 0..n {
                if len as u32 <= LOOKUP_BITS && k < values.len() {
                    let shift = LOOKUP_BITS - len as u32;
                    let first = (code as usize) << shift;
                    for slot in lookup.iter_mut().skip(first).take(1 << shift) {
                        *slot = (len as u8, values[k]);
                    }
                }
                code += 1;
                k += 1;
            }
            maxcode[len] = if n > 0 { code - 1 } else { -1 };
            code <<= 1;
        }
        Self { lookup, maxcode, valptr, mincode, values }
    }
}

/// Reads entropy-coded bits, un-stuffing 0xFF00 and stopping at markers.
pub(super) struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    count: u32,
}

impl<'a> Bits<'a> {
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        Self { data, pos, acc: 0, count: 0 }
    }

    fn fill(&mut self) {
        // Eight bytes at once when none is 0xFF (no stuffing, no marker).
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(chunk.try_into().unwrap());
            let inverted = !word;
            let has_ff = inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                let take = (64 - self.count) / 8;
                if take == 0 {
                    return;
                }
                let fresh = if take == 8 { word } else { word >> (64 - 8 * take) };
                self.acc |= fresh << (64 - self.count - 8 * take);
                self.pos += take as usize;
                self.count += 8 * take;
                return;
            }
        }
        while self.count <= 56 {
            let byte = match self.data.get(self.pos) {
                Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                    self.pos += 2;
                    0xFF
                }
                Some(&0xFF) | None => 0, // a marker: pad with zeros, do not consume
                Some(&b) => {
                    self.pos += 1;
                    b
                }
            };
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (≤ 57) bits, refilling only when fewer are buffered.
    fn peek(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.fill();
        }
        (self.acc >> (64 - n)) as u32
    }

    fn skip(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    pub(super) fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let v = self.peek(n);
        self.skip(n);
        v
    }

    pub(super) fn symbol(&mut self, t: &Huffman) -> Result<u8> {
        let (len, sym) = t.lookup[self.peek(LOOKUP_BITS) as usize];
        if len > 0 {
            self.skip(u32::from(len));
            return Ok(sym);
        }
        let mut code = self.bits(LOOKUP_BITS) as i32;
        for len in LOOKUP_BITS as usize + 1..=16 {
            code = (code << 1) | self.bits(1) as i32;
            if code <= t.maxcode[len] {
                let at = (t.valptr[len] + code - t.mincode[len]) as usize;
                return t.values.get(at).copied().ok_or_else(|| corrupt("JPEG: bad Huffman code"));
            }
        }
        Err(corrupt("JPEG: bad Huffman code"))
    }

    /// Steps over `n` bits, any number.
    pub(super) fn discard(&mut self, mut n: u32) {
        while n > 0 {
            let step = n.min(32);
            if self.count < step {
                self.fill();
            }
            self.skip(step);
            n -= step;
        }
    }

    /// A signed `size`-bit value (JPEG's EXTEND of a magnitude category).
    pub(super) fn signed(&mut self, size: u32) -> i32 {
        let v = self.bits(size) as i32;
        if size > 0 && v < 1 << (size - 1) { v - (1 << size) + 1 } else { v }
    }

    /// Drops buffered bits and steps over an RSTn marker, if one is next.
    pub(super) fn restart(&mut self) {
        self.acc = 0;
        self.count = 0;
        if self.data.get(self.pos) == Some(&0xFF) && matches!(self.data.get(self.pos + 1), Some(0xD0..=0xD7)) {
            self.pos += 2;
        }
    }
}
