//! `ztrisk events import --format F FILE...` (`spec/api.md` 5.4): Logpush objects, Okta System
//! Log exports, OCSF files or ztrisk's own events, plain or gzip, sent through the server's
//! ingest adapters (`/events` for `ztrisk`). Not `ztrisk import`, which loads a dump.
//!
//! A thread reads the files as streams (NDJSON line by line, a JSON array element by element)
//! and hands encoded batches to the uploader through a small channel, so memory stays at a few
//! batches whatever the size of the files.

use crate::client_cmd::{AccountArg, ApiArgs, connect};
use crate::events_cmd::{
    BATCH_TIMEOUT, Position, RETRIES, Totals, Unit, byte_progress, print_totals,
    starts_with_bracket,
};
use anyhow::{Context, anyhow, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use indicatif::ProgressBar;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use ztrisk_client::Client;
use ztrisk_client::resources::{ContentEncoding, EventsFormat, IngestSource};
use ztrisk_client::types::IngestResult;
use ztrisk_ingest::Source;
use ztrisk_ingest::body::GZIP_MAGIC;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// What the files hold: Cloudflare Logpush records of a dataset (`cloudflare/<dataset>`),
    /// Okta System Log events (`okta`), OCSF events (`ocsf`) or ztrisk's own events (`ztrisk`).
    #[arg(long, value_parser = format_parser())]
    pub format: Source,
    /// Files of records, NDJSON or a JSON array, plain or gzip (recognised by its content,
    /// whatever the name); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Records per request, at most; a request also ends at about 8 MiB of NDJSON.
    #[arg(long, default_value_t = 5_000)]
    pub batch_size: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub account: AccountArg,
}

/// The names `--format` takes, as [`Source`] writes them (a test keeps the two in step).
const FORMATS: [&str; 7] = [
    "cloudflare/access_requests",
    "cloudflare/gateway_dns",
    "cloudflare/gateway_http",
    "cloudflare/device_posture_results",
    "okta",
    "ocsf",
    "ztrisk",
];

/// A request ends at about this much NDJSON (before compression): far below the server's
/// limits (64 MiB for the adapters, 16 MiB for `/events`), and quick to send again on a retry.
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// The most records per request `--batch-size` may ask for (as `events send`).
const MAX_BATCH_RECORDS: usize = 50_000;
/// A longer line is no log record (a binary file, most likely); it stops the import rather
/// than be held in memory.
const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// Batches read ahead of the upload: enough to keep the connection busy, few enough to keep
/// memory low.
const BATCHES_AHEAD: usize = 2;
const READ_BUFFER: usize = 256 * 1024;

/// `--format`: the names listed in `--help` and completions, and a clap error listing them
/// for anything else.
fn format_parser() -> impl TypedValueParser<Value = Source> {
    PossibleValuesParser::new(FORMATS).try_map(|name| name.parse::<Source>())
}

pub async fn run(args: ImportArgs, api: &ApiArgs) -> anyhow::Result<()> {
    let account = args.account.require()?;
    let destination = Destination::of(args.format)?;
    let inputs = inputs(&args.files)?;
    let client = connect(api)?
        .with_max_retries(RETRIES)
        .with_timeout(BATCH_TIMEOUT);
    let progress = byte_progress(total_size(&inputs));
    let (outbox, mut inbox) = mpsc::channel(BATCHES_AHEAD);
    let batcher = Batcher::new(args.batch_size, destination.compresses(), outbox);
    // A plain thread, not `spawn_blocking`: if the upload fails while it waits on standard
    // input, the command still ends (the runtime would wait for a blocking task).
    let reader_progress = progress.clone();
    std::thread::spawn(move || read_inputs(&inputs, batcher, &reader_progress));

    let uploader = Uploader {
        client: &client,
        account: &account,
        destination,
    };
    let mut totals = destination.totals();
    let outcome = uploader
        .upload_all(&mut inbox, &mut totals, &progress)
        .await;
    // After a failed upload, the reading thread's next batch finds nobody and it stops.
    drop(inbox);
    progress.finish_and_clear();
    if let Err(stop) = outcome {
        // What was sent before the failure, and that sending it again does no harm.
        if totals.sent > 0 {
            print_totals(&totals, args.json);
            eprint!("{}", stop.note(destination));
        }
        return Err(stop.into_error());
    }
    print_totals(&totals, args.json);
    Ok(())
}

/// Where the records go.
#[derive(Debug, Clone, Copy)]
enum Destination {
    /// `POST /events`: ztrisk's own events.
    Native,
    /// `POST /ingest/...`: a vendor's records, read by an adapter.
    Adapter(IngestSource),
}

impl Destination {
    fn of(format: Source) -> anyhow::Result<Destination> {
        Ok(match format {
            Source::Native => Destination::Native,
            other => Destination::Adapter(other.to_string().parse()?),
        })
    }

    /// Adapters take gzip, which makes NDJSON several times smaller; `/events` is sent as
    /// `events send` sends it.
    fn compresses(self) -> bool {
        matches!(self, Destination::Adapter(_))
    }

    fn totals(self) -> Totals {
        match self {
            Destination::Native => Totals::new(Unit::Events),
            Destination::Adapter(_) => Totals {
                skipped: Some(0),
                ..Totals::new(Unit::Records)
            },
        }
    }
}

/// A file named on the command line, or standard input.
struct Input {
    /// `None`: standard input.
    path: Option<PathBuf>,
    /// As rejections name it.
    name: Arc<str>,
    size: Option<u64>,
}

/// The inputs, each checked before anything is sent: a typo in the last name should not
/// stop an import halfway.
fn inputs(files: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    files
        .iter()
        .map(|path| {
            if path.as_os_str() == "-" {
                return Ok(Input {
                    path: None,
                    name: "<stdin>".into(),
                    size: None,
                });
            }
            let name = path.display().to_string();
            let metadata =
                std::fs::metadata(path).with_context(|| format!("cannot read {name}"))?;
            if metadata.is_dir() {
                bail!("{name} is a directory: name its files (e.g. {name}/*.gz)");
            }
            Ok(Input {
                path: Some(path.clone()),
                name: name.into(),
                size: Some(metadata.len()),
            })
        })
        .collect()
}

/// The bytes the progress bar counts: the files' sizes (standard input has none).
fn total_size(inputs: &[Input]) -> Option<u64> {
    let sizes: Vec<u64> = inputs.iter().filter_map(|input| input.size).collect();
    (!sizes.is_empty()).then(|| sizes.iter().sum())
}

/// What the reading thread hands the uploader.
enum Message {
    Batch(Batch),
    /// The end of the inputs, or why reading stopped (the batches before were all sent).
    Done(anyhow::Result<()>),
}

/// One request's body and where its records come from.
struct Batch {
    /// NDJSON, gzip when the destination takes it.
    body: Vec<u8>,
    records: u64,
    /// In order; a batch can end one file and start the next.
    origins: Vec<Origin>,
}

/// Where the records of one input start in a batch.
struct Origin {
    file: Arc<str>,
    /// The index of its first record in the batch, as the server counts.
    in_batch: u64,
    /// The same record's index in the file.
    in_file: u64,
}

impl Batch {
    /// The position in the inputs of the batch's record `in_batch`.
    fn position(&self, in_batch: u64) -> Position {
        match self.origins.iter().rev().find(|o| o.in_batch <= in_batch) {
            Some(origin) => Position {
                file: Some(origin.file.clone()),
                index: origin.in_file + (in_batch - origin.in_batch),
            },
            None => Position {
                file: None,
                index: in_batch,
            },
        }
    }
}

/// Gathers records into batches and hands each, encoded, to the uploader.
struct Batcher {
    max_records: u64,
    compress: bool,
    ndjson: Vec<u8>,
    records: u64,
    origins: Vec<Origin>,
    outbox: mpsc::Sender<Message>,
}

impl Batcher {
    fn new(batch_size: usize, compress: bool, outbox: mpsc::Sender<Message>) -> Self {
        Self {
            max_records: batch_size.clamp(1, MAX_BATCH_RECORDS) as u64,
            compress,
            ndjson: Vec::new(),
            records: 0,
            origins: Vec::new(),
            outbox,
        }
    }

    /// Adds one record, JSON text on one line, found at `index` of `file`.
    fn push(&mut self, file: &Arc<str>, index: u64, record: &[u8]) -> anyhow::Result<()> {
        if self.records > 0 && self.ndjson.len() + record.len() + 1 > MAX_BATCH_BYTES {
            self.flush()?;
        }
        if !self
            .origins
            .last()
            .is_some_and(|origin| Arc::ptr_eq(&origin.file, file))
        {
            self.origins.push(Origin {
                file: file.clone(),
                in_batch: self.records,
                in_file: index,
            });
        }
        self.ndjson.extend_from_slice(record);
        self.ndjson.push(b'\n');
        self.records += 1;
        if self.records >= self.max_records {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands the records gathered so far to the uploader, waiting while it is
    /// [`BATCHES_AHEAD`] behind.
    fn flush(&mut self) -> anyhow::Result<()> {
        if self.records == 0 {
            return Ok(());
        }
        let body = if self.compress {
            let body = gzip(&self.ndjson).context("compressing a batch")?;
            self.ndjson.clear();
            body
        } else {
            std::mem::take(&mut self.ndjson)
        };
        let batch = Batch {
            body,
            records: std::mem::take(&mut self.records),
            origins: std::mem::take(&mut self.origins),
        };
        self.outbox
            .blocking_send(Message::Batch(batch))
            .map_err(|_| anyhow!("the upload stopped"))
    }

    /// Sends the last batch and tells the uploader how reading ended.
    fn finish(mut self, read: anyhow::Result<()>) {
        // Records read before an error are sent too: the summary then says how far it got.
        let outcome = self.flush().and(read);
        // Nobody listens any more only when the upload failed, which is reported instead.
        let _ = self.outbox.blocking_send(Message::Done(outcome));
    }
}

/// Gzip at the fastest level: NDJSON still shrinks several times, and compressing keeps up
/// with the network.
fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// The reading thread: every input in order, then the last batch.
fn read_inputs(inputs: &[Input], mut batcher: Batcher, progress: &ProgressBar) {
    let read = inputs
        .iter()
        .try_for_each(|input| read_input(input, &mut batcher, progress));
    batcher.finish(read);
}

fn read_input(input: &Input, batcher: &mut Batcher, progress: &ProgressBar) -> anyhow::Result<()> {
    let name = &input.name;
    let raw: Box<dyn Read + Send> = match &input.path {
        None => Box::new(std::io::stdin()),
        Some(path) => Box::new(Counted {
            inner: std::fs::File::open(path).with_context(|| format!("opening {name}"))?,
            progress: progress.clone(),
        }),
    };
    let mut reader = decompressed(raw).with_context(|| format!("reading {name}"))?;
    if starts_with_bracket(&mut reader).with_context(|| format!("reading {name}"))? {
        read_array(reader, name, batcher)
    } else {
        read_lines(reader, name, batcher)
    }
}

/// A file that moves the progress bar by the bytes read from it: compressed bytes for gzip,
/// as the bar's total is the files' sizes.
struct Counted<R> {
    inner: R,
    progress: ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.progress.inc(read as u64);
        Ok(read)
    }
}

/// The input's plain bytes: decompressed when it starts with gzip's magic bytes, whatever
/// its name (concatenated members, as `cat a.gz b.gz` makes, are one stream).
fn decompressed(mut raw: Box<dyn Read + Send>) -> std::io::Result<impl BufRead> {
    let mut head = [0u8; 2];
    let len = read_head(&mut raw, &mut head)?;
    let replayed = std::io::Cursor::new(head[..len].to_vec()).chain(raw);
    let plain: Box<dyn Read + Send> = if head[..len] == GZIP_MAGIC {
        Box::new(MultiGzDecoder::new(replayed))
    } else {
        Box::new(replayed)
    };
    Ok(BufReader::with_capacity(READ_BUFFER, plain))
}

/// Fills `head` (a pipe may deliver a byte at a time); shorter only at the end of the input.
fn read_head(reader: &mut impl Read, head: &mut [u8]) -> std::io::Result<usize> {
    let mut len = 0;
    while len < head.len() {
        match reader.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(read) => len += read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// NDJSON: a record per line; blank lines are not records (as on the server).
fn read_lines(
    mut reader: impl BufRead,
    file: &Arc<str>,
    batcher: &mut Batcher,
) -> anyhow::Result<()> {
    // A record, a CRLF, and one byte more to notice a longer line.
    let limit = MAX_RECORD_BYTES as u64 + 3;
    let mut line = Vec::new();
    let mut index = 0u64;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {file} after {index} records"))?;
        if read == 0 {
            return Ok(());
        }
        let record = line.trim_ascii();
        if read as u64 == limit || record.len() > MAX_RECORD_BYTES {
            bail!(
                "{file}: record {index} is longer than {} MiB; is this a file of JSON records?",
                MAX_RECORD_BYTES / (1024 * 1024)
            );
        }
        if !record.is_empty() {
            batcher.push(file, index, record)?;
            index += 1;
        }
    }
}

/// A JSON array (an Okta System Log export): element by element, each sent as a line.
fn read_array(reader: impl BufRead, file: &Arc<str>, batcher: &mut Batcher) -> anyhow::Result<()> {
    let mut elements = ArrayElements {
        file,
        batcher,
        index: 0,
        stopped: None,
    };
    let mut json = serde_json::Deserializer::from_reader(reader);
    let parsed =
        serde::Deserializer::deserialize_seq(&mut json, &mut elements).and_then(|()| json.end());
    match (parsed, elements.stopped) {
        (_, Some(why)) => Err(why),
        (Ok(()), None) => Ok(()),
        (Err(e), None) => Err(anyhow!(
            "{file} starts with '[' but is not a JSON array: {e} (after {} records)",
            elements.index
        )),
    }
}

/// Hands each element of an array to the batcher as it is parsed.
struct ArrayElements<'a> {
    file: &'a Arc<str>,
    batcher: &'a mut Batcher,
    /// The next element's index.
    index: u64,
    /// Why the batcher stopped the parse, which is then no syntax error.
    stopped: Option<anyhow::Error>,
}

impl<'de> Visitor<'de> for &mut ArrayElements<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(element) = seq.next_element::<Box<RawValue>>()? {
            let record = one_line(element.get());
            if let Err(why) = self.batcher.push(self.file, self.index, record.as_bytes()) {
                self.stopped = Some(why);
                return Err(A::Error::custom("stopped"));
            }
            self.index += 1;
        }
        Ok(())
    }
}

/// Valid JSON on one line: a line break can only be whitespace between tokens (strings
/// escape theirs), so it becomes a space.
fn one_line(json: &str) -> Cow<'_, str> {
    if json.contains(['\n', '\r']) {
        Cow::Owned(json.replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(json)
    }
}

/// Sends batches as the reading thread produces them.
struct Uploader<'a> {
    client: &'a Client,
    account: &'a str,
    destination: Destination,
}

impl Uploader<'_> {
    async fn upload_all(
        &self,
        inbox: &mut mpsc::Receiver<Message>,
        totals: &mut Totals,
        progress: &ProgressBar,
    ) -> Result<(), Stop> {
        loop {
            match inbox.recv().await {
                Some(Message::Batch(mut batch)) => {
                    let body = std::mem::take(&mut batch.body);
                    let mut result = self.send(body).await.map_err(|error| Stop::Upload {
                        error,
                        at: batch.position(0),
                    })?;
                    pointers_within_records(&mut result);
                    totals.add_at(&result, |index| batch.position(index));
                    totals.sent += batch.records;
                    progress.set_message(format!("{} {} sent", totals.sent, totals.unit.plural()));
                }
                Some(Message::Done(read)) => return read.map_err(Stop::Read),
                None => {
                    return Err(Stop::Read(anyhow!(
                        "reading the files stopped unexpectedly"
                    )));
                }
            }
        }
    }

    /// Sends one batch's body (retries resend the same buffer, without copying it).
    async fn send(&self, body: Vec<u8>) -> anyhow::Result<IngestResult> {
        let events = self.client.zero_trust().risk_scoring().events();
        let result = match self.destination {
            Destination::Native => {
                events
                    .ingest_raw(self.account, body, EventsFormat::NdJson)
                    .await
            }
            Destination::Adapter(source) => {
                events
                    .ingest_source(
                        self.account,
                        source,
                        body,
                        EventsFormat::NdJson,
                        ContentEncoding::Gzip,
                    )
                    .await
            }
        };
        Ok(result?)
    }
}

/// Pointers into the record rather than the batch (`/2345/QueryName` becomes `/QueryName`):
/// batches are the import's own affair, and the position already names the record.
fn pointers_within_records(result: &mut IngestResult) {
    for rejection in &mut result.rejected {
        let batch_index = format!("/{}", rejection.index);
        for item in &mut rejection.errors {
            let Some(source) = &mut item.source else {
                continue;
            };
            match source.pointer.strip_prefix(&batch_index) {
                Some("") => item.source = None,
                Some(within) if within.starts_with('/') => source.pointer = within.to_owned(),
                _ => {}
            }
        }
    }
}

/// Why an import ended early.
enum Stop {
    /// A batch was refused or could not be sent, even after retries.
    Upload { error: anyhow::Error, at: Position },
    /// An input could not be read (missing, bad gzip, not JSON records...).
    Read(anyhow::Error),
}

impl Stop {
    /// What was done, on standard error before the error itself.
    fn note(&self, destination: Destination) -> String {
        let again = match destination {
            Destination::Native => "events with an `id` count as duplicates",
            Destination::Adapter(_) => "records already stored count as duplicates",
        };
        match self {
            Stop::Upload { at, .. } => {
                let file = at.file.as_deref().unwrap_or("the input");
                format!(
                    "note: the import stopped at {file} record {}; the records before it were \
                     sent. Importing the same files again is safe: {again}.\n",
                    at.index
                )
            }
            Stop::Read(_) => format!(
                "note: the records read before the error were sent. Importing the same files \
                 again is safe: {again}.\n"
            ),
        }
    }

    fn into_error(self) -> anyhow::Error {
        match self {
            Stop::Upload { error, .. } | Stop::Read(error) => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_the_sources_names() {
        let mut sources: Vec<String> = Source::all().map(|s| s.to_string()).collect();
        let mut formats: Vec<String> = FORMATS.iter().map(|s| s.to_string()).collect();
        sources.sort();
        formats.sort();
        assert_eq!(sources, formats);
    }

    #[test]
    fn positions_follow_files_across_a_batch() {
        let (a, b): (Arc<str>, Arc<str>) = ("a.gz".into(), "b.gz".into());
        let batch = Batch {
            body: Vec::new(),
            records: 5,
            origins: vec![
                Origin {
                    file: a.clone(),
                    in_batch: 0,
                    in_file: 98,
                },
                Origin {
                    file: b.clone(),
                    in_batch: 2,
                    in_file: 0,
                },
            ],
        };
        let at = |i| {
            let p = batch.position(i);
            (p.file.map(|f| f.to_string()), p.index)
        };
        assert_eq!(at(1), (Some("a.gz".into()), 99));
        assert_eq!(at(2), (Some("b.gz".into()), 0));
        assert_eq!(at(4), (Some("b.gz".into()), 2));
    }

    #[test]
    fn array_elements_become_lines() {
        assert_eq!(one_line("{\"a\":\n  [1,\r\n 2]}"), "{\"a\":   [1,   2]}");
        assert!(matches!(one_line("{\"a\":\"x\\ny\"}"), Cow::Borrowed(_)));
    }
}
