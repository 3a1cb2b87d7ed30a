//! Request bodies: gzip or plain, then a JSON array or NDJSON of records.
//!
//! Decompression is bounded: the output stops one byte past the limit, so a decompression
//! bomb costs at most the limit in memory and time before it is refused.

use crate::record::{self, Keep};
use flate2::read::MultiGzDecoder;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io::Read;

/// The two bytes every gzip member starts with (RFC 1952).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why a body cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the limit once decompressed.
    TooLarge,
    /// `Content-Encoding: gzip` (or gzip's magic bytes) but not valid gzip; says why.
    NotGzip(String),
    /// A `Content-Encoding` other than gzip or identity.
    UnsupportedEncoding(String),
}

/// A body's `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// Reads the header's value (`None`: no header).
    pub fn from_header(value: Option<&str>) -> Result<Encoding, BodyError> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Encoding::Identity);
        };
        if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") {
            Ok(Encoding::Gzip)
        } else if value.eq_ignore_ascii_case("identity") {
            Ok(Encoding::Identity)
        } else {
            Err(BodyError::UnsupportedEncoding(value.to_owned()))
        }
    }
}

/// The body as plain bytes, at most `limit` of them. Gzip is recognised by the header or,
/// because some senders gzip without saying so, by its magic bytes.
pub fn decode(body: &[u8], encoding: Encoding, limit: usize) -> Result<Cow<'_, [u8]>, BodyError> {
    let gzipped = body.starts_with(&GZIP_MAGIC);
    if encoding == Encoding::Gzip && !gzipped {
        return Err(BodyError::NotGzip(
            "the body does not start with gzip's magic bytes".into(),
        ));
    }
    if !gzipped {
        return if body.len() > limit {
            Err(BodyError::TooLarge)
        } else {
            Ok(Cow::Borrowed(body))
        };
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(8).min(limit));
    let read = MultiGzDecoder::new(body)
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out);
    match read {
        Ok(_) if out.len() > limit => Err(BodyError::TooLarge),
        Ok(_) => Ok(Cow::Owned(out)),
        Err(e) => Err(BodyError::NotGzip(e.to_string())),
    }
}

/// How the records of a body are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One JSON array of records.
    JsonArray,
    /// One record per line; blank lines are ignored.
    NdJson,
}

impl Layout {
    /// Guessed from the first character: `[` is an array, anything else NDJSON.
    pub fn sniff(body: &[u8]) -> Layout {
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') | None => Layout::JsonArray,
            Some(_) => Layout::NdJson,
        }
    }
}

/// Why a body's records cannot be listed at all (one bad line is not this: see [`Records`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordsError {
    /// The body is not JSON.
    Malformed,
    /// JSON, but not an array.
    NotAnArray,
}

/// The records of a body, each parsed alone (keeping only the fields its source reads, see
/// [`crate::record`]): for NDJSON, a line that is not JSON is an `Err` with the parser's
/// message, and the lines after it are still read.
pub enum Records<'a> {
    Values(std::vec::IntoIter<Value>),
    Array {
        items: std::vec::IntoIter<&'a RawValue>,
        keep: Keep,
    },
    Lines {
        lines: std::slice::Split<'a, u8, fn(&u8) -> bool>,
        keep: Keep,
    },
}

impl<'a> Records<'a> {
    pub fn new(body: &'a [u8], layout: Layout, keep: Keep) -> Result<Records<'a>, RecordsError> {
        match layout {
            Layout::JsonArray => match serde_json::from_slice::<Vec<&RawValue>>(body) {
                Ok(items) => Ok(Records::Array {
                    items: items.into_iter(),
                    keep,
                }),
                Err(e) if e.is_data() => Err(RecordsError::NotAnArray),
                Err(_) => Err(RecordsError::Malformed),
            },
            Layout::NdJson => Ok(Records::Lines {
                lines: body.split(is_newline as fn(&u8) -> bool),
                keep,
            }),
        }
    }

    /// Records already parsed.
    pub fn from_values(values: Vec<Value>) -> Records<'a> {
        Records::Values(values.into_iter())
    }
}

fn is_newline(b: &u8) -> bool {
    *b == b'\n'
}

impl Iterator for Records<'_> {
    type Item = Result<Value, String>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Records::Values(values) => values.next().map(Ok),
            Records::Array { items, keep } => {
                let item = items.next()?;
                Some(record::parse(item.get().as_bytes(), *keep).map_err(|e| e.to_string()))
            }
            Records::Lines { lines, keep } => {
                let line = lines.find(|line| !line.iter().all(u8::is_ascii_whitespace))?;
                Some(
                    record::parse(line, *keep)
                        .map_err(|e| format!("malformed JSON on this line: {e}")),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
        encoder.finish().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn plain_and_gzip_bodies_decode_to_the_same_bytes() {
        let plain = b"{\"a\":1}\n{\"a\":2}\n";
        let zipped = gzip(plain);
        assert_eq!(
            decode(plain, Encoding::Identity, 100).as_deref(),
            Ok(&plain[..])
        );
        assert_eq!(
            decode(&zipped, Encoding::Gzip, 100).as_deref(),
            Ok(&plain[..])
        );
        // Gzip without the header (some shippers) is recognised by its magic bytes.
        assert_eq!(
            decode(&zipped, Encoding::Identity, 100).as_deref(),
            Ok(&plain[..])
        );
        // Concatenated members, as `cat a.gz b.gz` makes, are one stream.
        let two = [gzip(b"x\n"), gzip(b"y\n")].concat();
        assert_eq!(
            decode(&two, Encoding::Gzip, 100).as_deref(),
            Ok(&b"x\ny\n"[..])
        );
    }

    #[test]
    fn bombs_and_large_bodies_are_too_large_and_bad_gzip_says_so() {
        let bomb = gzip(&vec![b' '; 10 * 1024 * 1024]);
        assert!(bomb.len() < 20 * 1024, "{}", bomb.len());
        assert_eq!(
            decode(&bomb, Encoding::Gzip, 1024 * 1024),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            decode(&[b'x'; 11], Encoding::Identity, 10),
            Err(BodyError::TooLarge)
        );
        assert!(matches!(
            decode(b"{}", Encoding::Gzip, 10),
            Err(BodyError::NotGzip(_))
        ));
        let mut truncated = gzip(b"hello world, hello world");
        truncated.truncate(truncated.len() - 6);
        assert!(matches!(
            decode(&truncated, Encoding::Gzip, 100),
            Err(BodyError::NotGzip(_))
        ));
    }

    #[test]
    fn encodings_are_read_from_the_header() {
        assert_eq!(Encoding::from_header(None), Ok(Encoding::Identity));
        assert_eq!(Encoding::from_header(Some(" GZIP ")), Ok(Encoding::Gzip));
        assert_eq!(Encoding::from_header(Some("x-gzip")), Ok(Encoding::Gzip));
        assert_eq!(
            Encoding::from_header(Some("identity")),
            Ok(Encoding::Identity)
        );
        assert_eq!(
            Encoding::from_header(Some("br")),
            Err(BodyError::UnsupportedEncoding("br".into()))
        );
    }

    #[test]
    fn records_of_each_layout_and_a_bad_line_alone() {
        let body = b"{\"a\":1}\n\n  \nnot json\n{\"a\":3}";
        assert_eq!(Layout::sniff(body), Layout::NdJson);
        let got: Vec<_> = Records::new(body, Layout::NdJson, None)
            .unwrap_or_else(|_| panic!())
            .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Ok(serde_json::json!({"a": 1})));
        assert!(
            got[1]
                .as_ref()
                .is_err_and(|e| e.starts_with("malformed JSON"))
        );
        assert_eq!(got[2], Ok(serde_json::json!({"a": 3})));

        assert_eq!(Layout::sniff(b" [1]"), Layout::JsonArray);
        let array: Vec<_> = Records::new(b"[1, 2]", Layout::JsonArray, None)
            .unwrap_or_else(|_| panic!())
            .collect();
        assert_eq!(array, vec![Ok(1.into()), Ok(2.into())]);
        assert!(matches!(
            Records::new(b"{}", Layout::JsonArray, None),
            Err(RecordsError::NotAnArray)
        ));
        assert!(matches!(
            Records::new(b"[1,", Layout::JsonArray, None),
            Err(RecordsError::Malformed)
        ));
    }
}
