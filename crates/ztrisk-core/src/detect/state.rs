//! What detection remembers about one user, and its storage format.
//!
//! Kept small because a server holds one per active user: 32 bytes inline (the remembered
//! login and a pointer), with the rarely used parts (window buffers, repeat suppression) in a
//! box that exists only while one of them is non-empty.
//!
//! # Binary format, version 1
//!
//! ```text
//! u8      version (1)
//! u8      flags: 1 login, 2 high_dlp window, 4 failed_logins window,
//!                8 predefined firings, 16 custom firings, 32 login IP (other bits must be 0)
//! login:  zigzag-varint ts, f32 LE lat, f32 LE lon, then with flag 32 a u32 LE IP tag (>= 2)
//! window: varint n (1..=MAX_WINDOW_LEN), zigzag-varint first ts, n-1 varint deltas (sorted)
//! fired:  varint n (1..=9), n × (u8 predefined index, zigzag-varint ts), indices increasing
//! custom: varint n (1..=MAX_CUSTOM_SUPPRESSIONS), n × (u8 len, id bytes, zigzag-varint ts),
//!         ids valid behavior ids in strictly increasing order
//! ```
//! Sections appear in flag order, only when non-empty; varints are LEB128 and minimal; nothing
//! may follow. So the encoding is canonical: `decode(b) == Some(s)` implies `encode(&s) == b`.

use super::{MAX_CUSTOM_SUPPRESSIONS, MAX_WINDOW_LEN, REPEAT_SUPPRESSION_MS};
use crate::BehaviorId;
use crate::behaviors::Predefined;

const VERSION: u8 = 1;
const F_LOGIN: u8 = 1;
const F_DLP: u8 = 2;
const F_FAILED: u8 = 4;
const F_FIRED: u8 = 8;
const F_CUSTOM: u8 = 16;
const F_LOGIN_IP: u8 = 32;

/// The remembered successful login (the latest by event time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Login {
    pub(super) ts: i64,
    pub(super) lat: f32,
    pub(super) lon: f32,
    /// Which IP it came from, for `same_ip_is_same_place`.
    pub(super) ip: IpTag,
}

/// A 32-bit tag of an IP address (FNV-1a of its canonical octets), so the state stays small: 4
/// bytes instead of 16. Two addresses sharing a tag (about one pair in four billion) would be
/// taken for one place. `1` stands for "no IP"; it is also the niche that keeps
/// `Option<Login>` as small as `Login`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IpTag(std::num::NonZeroU32);

const NO_IP: std::num::NonZeroU32 = std::num::NonZeroU32::MIN;

impl IpTag {
    pub(super) fn of(ip: Option<std::net::IpAddr>) -> Self {
        let Some(ip) = ip else {
            return Self(NO_IP);
        };
        let octets: Vec<u8> = match ip.to_canonical() {
            std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
            std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        let hash = octets.iter().fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
        });
        // 0 and 1 are not tags of an address.
        Self(std::num::NonZeroU32::new(hash.max(2)).unwrap_or(NO_IP))
    }

    fn known(self) -> Option<u32> {
        (self.0 != NO_IP).then_some(self.0.get())
    }

    fn from_stored(tag: u32) -> Option<Self> {
        std::num::NonZeroU32::new(tag)
            .filter(|t| t.get() >= 2)
            .map(Self)
    }

    /// Both logins came from the same known IP.
    pub(super) fn same_known(self, other: IpTag) -> bool {
        self.known().is_some() && self == other
    }
}

/// Everything detection remembers about one user between events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserState {
    pub(super) login: Option<Login>,
    /// `None` whenever every part of it would be empty.
    pub(super) extra: Option<Box<Extra>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Extra {
    /// Sorted event times of the last `threshold` DLP matches.
    pub(super) dlp: Vec<i64>,
    /// Sorted event times of the last `threshold` failed logins.
    pub(super) failed: Vec<i64>,
    /// Latest firing time per predefined behavior (`Predefined as u8`), sorted by behavior.
    pub(super) fired: Vec<(u8, i64)>,
    /// Latest firing time per custom behavior, sorted by id.
    pub(super) custom: Vec<(Box<str>, i64)>,
}

impl Extra {
    fn is_empty(&self) -> bool {
        self.dlp.is_empty()
            && self.failed.is_empty()
            && self.fired.is_empty()
            && self.custom.is_empty()
    }
}

/// Applies suppression to the last firing time `last`: `false` if `ts` is less than `min_gap`
/// ms from it (either way), otherwise records `ts` (keeping the later time) and `true`.
fn try_fire(last: &mut i64, ts: i64, min_gap: u64) -> bool {
    if ts.abs_diff(*last) < min_gap {
        return false;
    }
    *last = (*last).max(ts);
    true
}

impl UserState {
    /// A compact binary form for storage.
    pub fn encode(&self) -> Vec<u8> {
        let extra = self.extra.as_deref().filter(|e| !e.is_empty());
        let mut flags = 0;
        if let Some(login) = self.login {
            flags |= F_LOGIN;
            if login.ip.known().is_some() {
                flags |= F_LOGIN_IP;
            }
        }
        if let Some(e) = extra {
            for (set, bit) in [
                (!e.dlp.is_empty(), F_DLP),
                (!e.failed.is_empty(), F_FAILED),
                (!e.fired.is_empty(), F_FIRED),
                (!e.custom.is_empty(), F_CUSTOM),
            ] {
                if set {
                    flags |= bit;
                }
            }
        }
        let mut out = Vec::with_capacity(32);
        out.push(VERSION);
        out.push(flags);
        if let Some(login) = self.login {
            put_varint(&mut out, zigzag(login.ts));
            out.extend_from_slice(&login.lat.to_le_bytes());
            out.extend_from_slice(&login.lon.to_le_bytes());
            if let Some(tag) = login.ip.known() {
                out.extend_from_slice(&tag.to_le_bytes());
            }
        }
        if let Some(e) = extra {
            for window in [&e.dlp, &e.failed] {
                if let Some(&first) = window.first() {
                    put_varint(&mut out, window.len() as u64);
                    put_varint(&mut out, zigzag(first));
                    for pair in window.windows(2) {
                        put_varint(&mut out, pair[1].abs_diff(pair[0]));
                    }
                }
            }
            if !e.fired.is_empty() {
                put_varint(&mut out, e.fired.len() as u64);
                for &(behavior, ts) in &e.fired {
                    out.push(behavior);
                    put_varint(&mut out, zigzag(ts));
                }
            }
            if !e.custom.is_empty() {
                put_varint(&mut out, e.custom.len() as u64);
                for (id, ts) in &e.custom {
                    out.push(id.len() as u8);
                    out.extend_from_slice(id.as_bytes());
                    put_varint(&mut out, zigzag(*ts));
                }
            }
        }
        out
    }

    /// Reads [`UserState::encode`]'s output; `None` if it is not one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader { bytes };
        if r.byte()? != VERSION {
            return None;
        }
        let flags = r.byte()?;
        if flags & !(F_LOGIN | F_DLP | F_FAILED | F_FIRED | F_CUSTOM | F_LOGIN_IP) != 0
            || (flags & F_LOGIN_IP != 0 && flags & F_LOGIN == 0)
        {
            return None;
        }
        let login = if flags & F_LOGIN != 0 {
            let ts = unzigzag(r.varint()?);
            let lat = f32::from_le_bytes(r.array()?);
            let lon = f32::from_le_bytes(r.array()?);
            if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
                return None;
            }
            let ip = if flags & F_LOGIN_IP != 0 {
                IpTag::from_stored(u32::from_le_bytes(r.array()?))?
            } else {
                IpTag(NO_IP)
            };
            Some(Login { ts, lat, lon, ip })
        } else {
            None
        };
        let mut extra = Extra::default();
        if flags & F_DLP != 0 {
            extra.dlp = r.window()?;
        }
        if flags & F_FAILED != 0 {
            extra.failed = r.window()?;
        }
        if flags & F_FIRED != 0 {
            let n = r.count(Predefined::ALL.len())?;
            let mut fired = Vec::with_capacity(n);
            for _ in 0..n {
                let behavior = r.byte()?;
                if usize::from(behavior) >= Predefined::ALL.len()
                    || fired.last().is_some_and(|&(prev, _)| prev >= behavior)
                {
                    return None;
                }
                fired.push((behavior, unzigzag(r.varint()?)));
            }
            extra.fired = fired;
        }
        if flags & F_CUSTOM != 0 {
            let n = r.count(MAX_CUSTOM_SUPPRESSIONS)?;
            let mut custom: Vec<(Box<str>, i64)> = Vec::with_capacity(n);
            for _ in 0..n {
                let len = usize::from(r.byte()?);
                let id = std::str::from_utf8(r.take(len)?).ok()?;
                if id.parse::<BehaviorId>().is_err()
                    || custom.last().is_some_and(|(prev, _)| **prev >= *id)
                {
                    return None;
                }
                custom.push((id.into(), unzigzag(r.varint()?)));
            }
            extra.custom = custom;
        }
        if !r.bytes.is_empty() {
            return None;
        }
        Some(Self {
            login,
            extra: (!extra.is_empty()).then(|| Box::new(extra)),
        })
    }

    /// Forgets windows and repeat suppression after an admin reset (keeps the last login, so
    /// impossible travel still has something to compare with).
    pub fn reset(&mut self) {
        self.extra = None;
    }

    /// Heap bytes this state owns beyond its own `size_of` (capacities, not lengths).
    pub fn heap_bytes(&self) -> usize {
        self.extra.as_deref().map_or(0, |e| {
            size_of::<Extra>()
                + (e.dlp.capacity() + e.failed.capacity()) * size_of::<i64>()
                + e.fired.capacity() * size_of::<(u8, i64)>()
                + e.custom.capacity() * size_of::<(Box<str>, i64)>()
                + e.custom.iter().map(|(id, _)| id.len()).sum::<usize>()
        })
    }

    /// Event time of the remembered successful login with a location, if any.
    pub fn last_login_time(&self) -> Option<i64> {
        self.login.map(|l| l.ts)
    }

    /// Drops the box of rarely used parts once it is empty.
    pub(super) fn compact(&mut self) {
        if self.extra.as_deref().is_some_and(Extra::is_empty) {
            self.extra = None;
        }
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// The window buffer of a windowed behavior (`failed_logins`, otherwise `high_dlp`).
    pub(super) fn window_mut(&mut self, p: Predefined) -> &mut Vec<i64> {
        let extra = self.extra_mut();
        if p == Predefined::FailedLogins {
            &mut extra.failed
        } else {
            &mut extra.dlp
        }
    }

    /// Repeat suppression for a predefined behavior that is about to fire at `ts`: `true` (and
    /// remembered) if it may.
    pub(super) fn fire_predefined(&mut self, p: Predefined, ts: i64) -> bool {
        self.fire_predefined_after(p, ts, REPEAT_SUPPRESSION_MS.unsigned_abs())
    }

    /// Like [`Self::fire_predefined`], with `min_gap` ms required since the last firing.
    pub(super) fn fire_predefined_after(&mut self, p: Predefined, ts: i64, min_gap: u64) -> bool {
        let key = p as u8;
        let fired = &mut self.extra_mut().fired;
        match fired.binary_search_by_key(&key, |&(b, _)| b) {
            Ok(i) => try_fire(&mut fired[i].1, ts, min_gap),
            Err(i) => {
                fired.insert(i, (key, ts));
                true
            }
        }
    }

    /// Repeat suppression for a custom behavior; at most [`MAX_CUSTOM_SUPPRESSIONS`] are
    /// remembered, the one that fired longest ago is forgotten first.
    pub(super) fn fire_custom(&mut self, id: &str, ts: i64) -> bool {
        let custom = &mut self.extra_mut().custom;
        match custom.binary_search_by(|(k, _)| (**k).cmp(id)) {
            Ok(i) => try_fire(&mut custom[i].1, ts, REPEAT_SUPPRESSION_MS.unsigned_abs()),
            Err(i) => {
                custom.insert(i, (id.into(), ts));
                if custom.len() > MAX_CUSTOM_SUPPRESSIONS {
                    let oldest = custom
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, (_, t))| *t)
                        .map(|(i, _)| i);
                    if let Some(oldest) = oldest {
                        custom.remove(oldest);
                    }
                }
                true
            }
        }
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// A minimal LEB128 varint of at most 64 bits.
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            let payload = u64::from(b & 0x7f);
            if i == 9 && payload > 1 {
                return None; // beyond 64 bits
            }
            v |= payload << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    return None; // not minimal
                }
                return Some(v);
            }
        }
        None
    }

    /// A count from 1 to `max`.
    fn count(&mut self, max: usize) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (1..=max).contains(&n).then_some(n)
    }

    fn window(&mut self) -> Option<Vec<i64>> {
        let n = self.count(MAX_WINDOW_LEN)?;
        // Each entry takes at least one byte: refuse counts the input cannot hold before
        // allocating for them.
        if n - 1 > self.bytes.len() {
            return None;
        }
        let mut window = Vec::with_capacity(n);
        let mut t = unzigzag(self.varint()?);
        window.push(t);
        for _ in 1..n {
            t = t.checked_add_unsigned(self.varint()?)?;
            window.push(t);
        }
        Some(window)
    }
}
