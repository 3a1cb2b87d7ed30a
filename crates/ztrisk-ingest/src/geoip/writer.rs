//! A minimal MaxMind DB writer, so that tests can build tiny `.mmdb` files instead of
//! committing binary databases. It follows the MaxMind DB format spec 2.0
//! (<https://maxmind.github.io/MaxMind-DB/>): a binary search tree of 24/28/32-bit records,
//! a 16-byte zero separator, the data section, then `\xAB\xCD\xEFMaxMind.com` and the
//! metadata map.
//!
//! It writes every type a reader can meet (pointer, string, double, bytes, uint16/32/64/128,
//! int32, map, array, boolean, float). Map keys are deduplicated into pointers the way
//! MaxMind's writers do, so readers are exercised on pointers too. Overlapping networks are
//! allowed; the more specific one wins wherever they overlap, regardless of insertion order.

use std::collections::HashMap;
use std::net::IpAddr;

/// A value in the data section.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Double(f64),
    Bytes(Vec<u8>),
    Uint16(u16),
    Uint32(u32),
    Map(Vec<(String, Value)>),
    Int32(i32),
    Uint64(u64),
    Uint128(u128),
    Array(Vec<Value>),
    Bool(bool),
    Float(f32),
}

impl Value {
    pub fn str(s: &str) -> Self {
        Value::String(s.to_owned())
    }

    pub fn map<const N: usize>(entries: [(&str, Value); N]) -> Self {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
}

/// Builds one database in memory: insert networks, then [`MmdbWriter::build`].
pub struct MmdbWriter {
    ip_version: u16,
    record_size: u16,
    database_type: String,
    networks: Vec<(u128, u8, Value)>,
}

impl MmdbWriter {
    /// `ip_version` 4 (32-bit tree) or 6 (128-bit tree, IPv4 under `::/96`);
    /// `record_size` 24, 28 or 32.
    pub fn new(ip_version: u16, record_size: u16, database_type: &str) -> Self {
        assert!(
            ip_version == 4 || ip_version == 6,
            "ip_version {ip_version}"
        );
        assert!(
            [24, 28, 32].contains(&record_size),
            "record_size {record_size}"
        );
        Self {
            ip_version,
            record_size,
            database_type: database_type.to_owned(),
            networks: Vec::new(),
        }
    }

    /// Maps `cidr` (e.g. `"81.2.69.0/24"` or `"2001:db8::/32"`) to `value`.
    pub fn insert(&mut self, cidr: &str, value: Value) -> &mut Self {
        let (addr, len) = cidr
            .split_once('/')
            .unwrap_or_else(|| panic!("{cidr}: no prefix length"));
        let addr: IpAddr = addr.parse().unwrap_or_else(|e| panic!("{cidr}: {e}"));
        let len: u8 = len.parse().unwrap_or_else(|e| panic!("{cidr}: {e}"));
        // Keys are left-aligned in a 128-bit integer so that one trie walk serves both
        // tree widths: an IPv4-only tree reads the top 32 bits, an IPv6 tree all 128.
        let (bits, len) = match (addr, self.ip_version) {
            (IpAddr::V4(v4), 4) => (u128::from(u32::from(v4)) << 96, len),
            // MaxMind's layout: IPv4 lives at ::a.b.c.d, i.e. under ::/96.
            (IpAddr::V4(v4), _) => (u128::from(u32::from(v4)), len + 96),
            (IpAddr::V6(v6), 6) => (u128::from(v6), len),
            (IpAddr::V6(_), _) => panic!("{cidr}: IPv6 network in an IPv4 database"),
        };
        assert!(len <= self.bit_count(), "{cidr}: prefix too long");
        self.networks.push((bits, len, value));
        self
    }

    fn bit_count(&self) -> u8 {
        if self.ip_version == 4 { 32 } else { 128 }
    }

    /// The complete `.mmdb` file.
    pub fn build(&self) -> Vec<u8> {
        let mut trie = Trie {
            nodes: vec![[Slot::Empty; 2]],
        };
        // Shorter prefixes first, so that a more specific network overwrites the part of a
        // broader one it covers rather than being overwritten by it.
        let mut order: Vec<usize> = (0..self.networks.len()).collect();
        order.sort_by_key(|&i| self.networks[i].1);
        for i in order {
            let (bits, len, _) = &self.networks[i];
            trie.insert(*bits, *len, i);
        }

        let mut data = DataWriter::default();
        let offsets: Vec<usize> = self
            .networks
            .iter()
            .map(|(_, _, v)| data.write(v))
            .collect();

        let node_count = trie.nodes.len();
        let mut out = Vec::new();
        for node in &trie.nodes {
            let [left, right] = node.map(|slot| match slot {
                Slot::Empty => node_count,
                Slot::Node(n) => n,
                // Data records point past the tree and the 16-byte separator.
                Slot::Data(i) => node_count + 16 + offsets[i],
            });
            write_node(&mut out, self.record_size, left, right);
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&data.out);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let metadata = Value::map([
            (
                "node_count",
                Value::Uint32(u32::try_from(node_count).unwrap_or(u32::MAX)),
            ),
            ("record_size", Value::Uint16(self.record_size)),
            ("ip_version", Value::Uint16(self.ip_version)),
            ("database_type", Value::str(&self.database_type)),
            ("languages", Value::Array(vec![Value::str("en")])),
            ("binary_format_major_version", Value::Uint16(2)),
            ("binary_format_minor_version", Value::Uint16(0)),
            ("build_epoch", Value::Uint64(1_700_000_000)),
            (
                "description",
                Value::map([("en", Value::str("ztrisk test database"))]),
            ),
        ]);
        // A fresh writer: pointers in the metadata would be relative to its own start.
        let mut meta = DataWriter::default();
        meta.write(&metadata);
        out.extend_from_slice(&meta.out);
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Empty,
    Node(usize),
    /// Index into `MmdbWriter::networks`.
    Data(usize),
}

/// A binary trie; node 0 is the root.
struct Trie {
    nodes: Vec<[Slot; 2]>,
}

impl Trie {
    fn insert(&mut self, bits: u128, len: u8, data: usize) {
        if len == 0 {
            // `::/0` or `0.0.0.0/0`: both halves of the root.
            self.nodes[0] = [Slot::Data(data); 2];
            return;
        }
        let mut node = 0;
        for depth in 0..len - 1 {
            let bit = usize::from(bits >> (127 - depth) & 1 == 1);
            node = match self.nodes[node][bit] {
                Slot::Node(next) => next,
                // Descend into a broader network or empty space: split it, keeping the
                // old content on both sides so only our own subnet changes.
                old => {
                    self.nodes.push([old; 2]);
                    let next = self.nodes.len() - 1;
                    self.nodes[node][bit] = Slot::Node(next);
                    next
                }
            };
        }
        let bit = usize::from(bits >> (127 - (len - 1)) & 1 == 1);
        // Replacing a subtree here would leave unreachable nodes but no wrong answers;
        // `build` inserts broader networks first so it does not happen there.
        self.nodes[node][bit] = Slot::Data(data);
    }
}

fn write_node(out: &mut Vec<u8>, record_size: u16, left: usize, right: usize) {
    let (l, r) = (left as u32, right as u32);
    match record_size {
        24 => {
            out.extend_from_slice(&l.to_be_bytes()[1..]);
            out.extend_from_slice(&r.to_be_bytes()[1..]);
        }
        // Two 24-bit halves with the top nibbles of both records in the middle byte.
        28 => {
            out.extend_from_slice(&l.to_be_bytes()[1..]);
            out.push(((l >> 24 & 0x0F) << 4 | (r >> 24 & 0x0F)) as u8);
            out.extend_from_slice(&r.to_be_bytes()[1..]);
        }
        _ => {
            out.extend_from_slice(&l.to_be_bytes());
            out.extend_from_slice(&r.to_be_bytes());
        }
    }
}

/// Serializes values into a data section, remembering where each map key went.
#[derive(Default)]
struct DataWriter {
    out: Vec<u8>,
    keys: HashMap<String, usize>,
}

impl DataWriter {
    /// Appends `value` and returns its offset in the section.
    fn write(&mut self, value: &Value) -> usize {
        let start = self.out.len();
        match value {
            Value::String(s) => self.payload(2, s.as_bytes()),
            Value::Double(f) => self.payload(3, &f.to_be_bytes()),
            Value::Bytes(b) => self.payload(4, b),
            Value::Uint16(n) => self.payload(5, minimal(&n.to_be_bytes())),
            Value::Uint32(n) => self.payload(6, minimal(&n.to_be_bytes())),
            Value::Map(entries) => {
                self.control(7, entries.len());
                for (key, value) in entries {
                    match self.keys.get(key) {
                        Some(&at) => self.pointer(at),
                        None => {
                            let at = self.write(&Value::String(key.clone()));
                            self.keys.insert(key.clone(), at);
                        }
                    }
                    self.write(value);
                }
            }
            Value::Int32(n) => self.payload(8, &n.to_be_bytes()),
            Value::Uint64(n) => self.payload(9, minimal(&n.to_be_bytes())),
            Value::Uint128(n) => self.payload(10, minimal(&n.to_be_bytes())),
            Value::Array(items) => {
                self.control(11, items.len());
                for item in items {
                    self.write(item);
                }
            }
            // A boolean's value is its size; it has no payload.
            Value::Bool(b) => self.control(14, usize::from(*b)),
            Value::Float(f) => self.payload(15, &f.to_be_bytes()),
        }
        start
    }

    fn payload(&mut self, type_num: u8, bytes: &[u8]) {
        self.control(type_num, bytes.len());
        self.out.extend_from_slice(bytes);
    }

    /// The control byte: 3 type bits (0 = extended: type - 7 in the next byte) and 5 size
    /// bits, where 29..=31 mean the size continues in the next 1..=3 bytes.
    fn control(&mut self, type_num: u8, size: usize) {
        let type_bits = if type_num <= 7 { type_num << 5 } else { 0 };
        let (size_bits, extra): (u8, Vec<u8>) = match size {
            0..29 => (size as u8, vec![]),
            29..285 => (29, vec![(size - 29) as u8]),
            285..65_821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
            _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
        };
        self.out.push(type_bits | size_bits);
        if type_num > 7 {
            self.out.push(type_num - 7);
        }
        self.out.extend_from_slice(&extra);
    }

    /// A pointer (type 1) to `target`: `001SSVVV`, where SS picks 11, 19, 27 or 32 value
    /// bits, the top 3 of the first three widths taken from VVV, and each width adds a bias.
    fn pointer(&mut self, target: usize) {
        let t = target as u32;
        match target {
            0..2048 => self
                .out
                .extend_from_slice(&[0x20 | (t >> 8) as u8, t as u8]),
            2048..526_336 => {
                let v = t - 2048;
                self.out
                    .extend_from_slice(&[0x28 | (v >> 16) as u8, (v >> 8) as u8, v as u8]);
            }
            526_336..134_744_064 => {
                let v = t - 526_336;
                self.out.push(0x30 | (v >> 24) as u8);
                self.out.extend_from_slice(&v.to_be_bytes()[1..]);
            }
            _ => {
                self.out.push(0x38);
                self.out.extend_from_slice(&t.to_be_bytes());
            }
        }
    }
}

/// Unsigned integers are stored in as few bytes as they need (zero in none).
fn minimal(be: &[u8]) -> &[u8] {
    let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    &be[first..]
}
