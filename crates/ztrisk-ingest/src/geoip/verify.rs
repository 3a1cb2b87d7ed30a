//! A bounds-checked walk over a whole MaxMind DB file, run before maxminddb sees it.
//!
//! maxminddb 0.26 indexes the file without bounds checks: a node count that overstates the
//! search tree makes `Reader::from_source` panic, and a bad control byte, size or pointer in a
//! record makes the lookup that reaches it panic (or, for a pointer cycle, overflow the stack).
//! It has no verifier of its own. So `GeoIp::open` runs this first: it decodes the metadata,
//! checks that the search tree fits the file, and walks every data record the tree points to,
//! following pointers, the way maxminddb will decode it. What passes can be looked up without
//! panicking; what fails becomes an `open` error instead of a crash at the first login.
//!
//! The walk costs one pass over the tree and each distinct record (pointer targets are
//! memoized), i.e. roughly reading the file once.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

const METADATA_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";
/// The spec caps the metadata at 128 KiB, so the marker is searched for only in the tail.
const METADATA_MAX_SIZE: usize = 128 * 1024;
const SEPARATOR_SIZE: usize = 16;
/// Real databases nest 4 or 5 levels; the bound keeps maxminddb's recursive decoder off the
/// end of the stack.
const MAX_DEPTH: usize = 64;

/// Checks `file` (a complete `.mmdb`) as described in the module docs.
pub(super) fn verify(file: &[u8]) -> Result<(), String> {
    let marker = find_marker(file)
        .ok_or("no MaxMind DB metadata marker (not a .mmdb file, or truncated)")?;
    let meta_start = marker + METADATA_MARKER.len();
    let mut meta = Section::new(&file[meta_start..]);
    meta.record(0, 0).map_err(|e| format!("metadata: {e}"))?;
    let node_count = meta.uint_field("node_count")?;
    let record_size = meta.uint_field("record_size")?;
    let ip_version = meta.uint_field("ip_version")?;
    let major = meta.uint_field("binary_format_major_version")?;
    if major != 2 {
        return Err(format!("unsupported binary format version {major}"));
    }
    if ip_version != 4 && ip_version != 6 {
        return Err(format!("unsupported ip_version {ip_version}"));
    }
    let node_count =
        u32::try_from(node_count).map_err(|_| format!("node_count {node_count} is too large"))?;
    let tree = Tree::new(node_count as usize, record_size)?;

    let data_start = tree
        .size()
        .checked_add(SEPARATOR_SIZE)
        .filter(|&start| start <= marker)
        .ok_or_else(|| format!("search tree of {node_count} nodes does not fit in the file"))?;
    if file[tree.size()..data_start].iter().any(|&b| b != 0) {
        return Err("no data section separator after the search tree (wrong node_count?)".into());
    }
    tree.verify(
        &file[..tree.size()],
        &mut Section::new(&file[data_start..marker]),
    )
}

fn find_marker(file: &[u8]) -> Option<usize> {
    let tail = file
        .len()
        .saturating_sub(METADATA_MAX_SIZE + METADATA_MARKER.len());
    file[tail..]
        .windows(METADATA_MARKER.len())
        .rposition(|w| w == METADATA_MARKER)
        .map(|i| tail + i)
}

struct Tree {
    node_count: usize,
    record_size: usize,
}

impl Tree {
    fn new(node_count: usize, record_size: u64) -> Result<Self, String> {
        match record_size {
            24 | 28 | 32 => Ok(Self {
                node_count,
                record_size: record_size as usize,
            }),
            _ => Err(format!("unsupported record_size {record_size}")),
        }
    }

    /// Bytes in the tree: two records per node.
    fn size(&self) -> usize {
        self.node_count * self.record_size / 4
    }

    /// Every record is a node, "empty" (`node_count`) or a data pointer, and every data
    /// pointer leads to a record that decodes.
    fn verify(&self, tree: &[u8], data: &mut Section) -> Result<(), String> {
        let node_bytes = self.record_size / 4;
        for (node, bytes) in tree.chunks_exact(node_bytes).enumerate() {
            for (side, record) in self.records(bytes).into_iter().enumerate() {
                if record <= self.node_count {
                    continue;
                }
                // maxminddb computes `record - node_count - 16` unchecked.
                let offset = (record - self.node_count)
                    .checked_sub(SEPARATOR_SIZE)
                    .filter(|&offset| offset < data.bytes.len())
                    .ok_or_else(|| {
                        format!("node {node} record {side} points outside the data section")
                    })?;
                data.record(offset, 0)
                    .map_err(|e| format!("data record at offset {offset}: {e}"))?;
            }
        }
        Ok(())
    }

    fn records(&self, node: &[u8]) -> [usize; 2] {
        let be = |bytes: &[u8]| bytes.iter().fold(0, |acc, &b| acc << 8 | usize::from(b));
        match self.record_size {
            24 => [be(&node[..3]), be(&node[3..])],
            // The middle byte holds the top nibble of each record.
            28 => [
                usize::from(node[3] >> 4) << 24 | be(&node[..3]),
                usize::from(node[3] & 0x0F) << 24 | be(&node[4..]),
            ],
            _ => [be(&node[..4]), be(&node[4..])],
        }
    }
}

/// One control byte with its decoded type and size.
struct Header {
    type_num: u8,
    size: usize,
    /// Where the payload starts (after the control, extended-type and size bytes).
    payload: usize,
}

/// A data section (or the metadata, which is laid out the same way), where pointers are
/// offsets from its start.
struct Section<'a> {
    bytes: &'a [u8],
    /// Nesting height of each record already checked; `None` while it is being checked, so
    /// that a pointer cycle is caught instead of followed forever.
    checked: HashMap<usize, Option<usize>>,
}

impl<'a> Section<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            checked: HashMap::new(),
        }
    }

    fn slice(&self, at: usize, len: usize) -> Result<&'a [u8], String> {
        at.checked_add(len)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| format!("{len} bytes at offset {at} run past the end"))
    }

    /// Decodes a control byte exactly as maxminddb does, including its quirks (it reads
    /// size bytes for pointers too), so that both agree on where everything is.
    fn header(&self, at: usize) -> Result<Header, String> {
        let ctrl = self.slice(at, 1)?[0];
        let mut payload = at + 1;
        let mut type_num = ctrl >> 5;
        if type_num == 0 {
            // maxminddb adds 7 to the extended type byte without checking for overflow.
            type_num = self.slice(payload, 1)?[0]
                .checked_add(7)
                .ok_or_else(|| format!("bad extended type at offset {at}"))?;
            payload += 1;
        }
        let size = usize::from(ctrl & 0x1F);
        let (size, size_bytes) = match size {
            0..29 => (size, 0),
            29 => (29, 1),
            30 => (285, 2),
            _ => (65_821, 3),
        };
        let extra = self
            .slice(payload, size_bytes)?
            .iter()
            .fold(0, |acc, &b| acc << 8 | usize::from(b));
        Ok(Header {
            type_num,
            size: size + extra,
            payload: payload + size_bytes,
        })
    }

    /// A pointer's target and the offset after it.
    fn pointer(&self, h: &Header) -> Result<(usize, usize), String> {
        let len = (h.size >> 3 & 0x3) + 1;
        let base = if len == 4 { 0 } else { h.size & 0x7 };
        let value = self
            .slice(h.payload, len)?
            .iter()
            .fold(base, |acc, &b| acc << 8 | usize::from(b));
        let bias = [0, 0, 2048, 526_336, 0][len];
        Ok((value + bias, h.payload + len))
    }

    /// Checks the value at `at` (a record from the search tree, or a pointer's target) once,
    /// and returns its nesting height.
    fn record(&mut self, at: usize, depth: usize) -> Result<usize, String> {
        match self.checked.entry(at) {
            Entry::Occupied(seen) => match *seen.get() {
                Some(height) if depth + height <= MAX_DEPTH => Ok(height),
                Some(_) => Err(format!("data nested more than {MAX_DEPTH} levels deep")),
                None => Err(format!("pointer cycle through offset {at}")),
            },
            Entry::Vacant(slot) => {
                slot.insert(None);
                let (_, height) = self.value(at, depth)?;
                self.checked.insert(at, Some(height));
                Ok(height)
            }
        }
    }

    /// Checks the value at `at`, `depth` levels down, returning where it ends and how many
    /// levels it spans itself (1 for a scalar).
    fn value(&mut self, at: usize, depth: usize) -> Result<(usize, usize), String> {
        if depth >= MAX_DEPTH {
            return Err(format!("data nested more than {MAX_DEPTH} levels deep"));
        }
        let h = self.header(at)?;
        let scalar = |max_size: usize| -> Result<(usize, usize), String> {
            if h.size > max_size {
                return Err(format!(
                    "type {} of size {} at offset {at}",
                    h.type_num, h.size
                ));
            }
            self.slice(h.payload, h.size)?;
            Ok((h.payload + h.size, 1))
        };
        match h.type_num {
            1 => {
                let (target, end) = self.pointer(&h)?;
                if self.header(target)?.type_num == 1 {
                    return Err(format!("pointer at offset {at} points to another pointer"));
                }
                Ok((end, self.record(target, depth)?))
            }
            // Strings and bytes; UTF-8 errors are maxminddb's to report, they do not panic.
            2 | 4 => scalar(usize::MAX),
            // double, float: maxminddb slices the size it is given before checking it.
            3 if h.size == 8 => scalar(8),
            15 if h.size == 4 => scalar(4),
            5 => scalar(2),
            6 | 8 => scalar(4),
            9 => scalar(8),
            10 => scalar(16),
            7 => {
                let mut next = h.payload;
                let mut height = 0;
                for _ in 0..h.size {
                    next = self.key(next)?.1;
                    let (end, inner) = self.value(next, depth + 1)?;
                    (next, height) = (end, height.max(inner));
                }
                Ok((next, height + 1))
            }
            11 => {
                let mut next = h.payload;
                let mut height = 0;
                for _ in 0..h.size {
                    let (end, inner) = self.value(next, depth + 1)?;
                    (next, height) = (end, height.max(inner));
                }
                Ok((next, height + 1))
            }
            14 if h.size <= 1 => Ok((h.payload, 1)),
            t => Err(format!(
                "invalid value (type {t}, size {}) at offset {at}",
                h.size
            )),
        }
    }

    /// Checks a map key (a string, or a pointer to one); returns it and where it ends.
    fn key(&self, at: usize) -> Result<(&'a [u8], usize), String> {
        let h = self.header(at)?;
        let (string, end) = match h.type_num {
            1 => {
                let (target, end) = self.pointer(&h)?;
                (self.header(target)?, Some(end))
            }
            _ => (h, None),
        };
        if string.type_num != 2 {
            return Err(format!("map key at offset {at} is not a string"));
        }
        let key = self.slice(string.payload, string.size)?;
        Ok((key, end.unwrap_or(string.payload + string.size)))
    }

    /// Reads an unsigned integer from the metadata map at offset 0 (already checked by
    /// `record`, so this cannot run off the end or loop).
    fn uint_field(&mut self, name: &str) -> Result<u64, String> {
        let missing = || format!("metadata has no unsigned integer `{name}`");
        let map = self.header(0)?;
        if map.type_num != 7 {
            return Err("metadata is not a map".into());
        }
        let mut next = map.payload;
        for _ in 0..map.size {
            let (key, value_at) = self.key(next)?;
            if key == name.as_bytes() {
                let value = self.header(value_at)?;
                return match value.type_num {
                    5 | 6 | 9 => {
                        let bytes = self.slice(value.payload, value.size)?;
                        Ok(bytes.iter().fold(0, |acc, &b| acc << 8 | u64::from(b)))
                    }
                    _ => Err(missing()),
                };
            }
            next = self.value(value_at, 1)?.0;
        }
        Err(missing())
    }
}
