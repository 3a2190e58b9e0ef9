//! Finding records in a buffer: `{"Records":[…]}` (CloudTrail's S3 files), `{"records":[…]}`
//! (Azure's exports), a top-level JSON array, JSON Lines, or a single object (a record or an
//! EventBridge envelope).
//!
//! Broken input never costs the good records around it: JSON Lines are independent; in an
//! array, records before a truncation or syntax error are kept (serde hands elements to our
//! visitor one by one, so what was read survives the error). Bytes that are not UTF-8 are
//! reported; in JSON Lines the line is dropped, in a document they are replaced (U+FFFD) so the
//! rest of the file still decodes.

use crate::bad::{BadReason, BadRecord, Note};
use crate::cloudtrail::{decode_record, decode_record_within};
use nhiwatch_core::{Event, SourceOffset};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// How records are laid out in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// Decide from the content.
    #[default]
    Auto,
    /// One JSON document: `{"Records":[…]}`, an array, or one object.
    Document,
    /// One JSON value per line.
    Lines,
}

/// Decoder limits.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Layout.
    pub framing: Framing,
    /// Largest record accepted, in bytes. CloudTrail caps records at 256 KiB; the default
    /// leaves room for enriched exports.
    pub max_record_bytes: usize,
    /// Threads a large JSON Lines buffer is decoded on (1: the calling thread only). The
    /// output is the same whatever the number.
    pub threads: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self { framing: Framing::Auto, max_record_bytes: 1 << 20, threads: 1 }
    }
}

/// The least a thread is given of a JSON Lines buffer: below this, starting a thread costs
/// more than it saves.
const MIN_BYTES_PER_THREAD: usize = 4 << 20;

/// Everything found in one buffer.
#[derive(Debug, Default)]
pub struct DecodeOutput {
    /// Good events, in the order found. Boxed as they are decoded: an event is large, and
    /// the engine buffers it boxed, so it is never copied again on its way there.
    pub events: Vec<Box<Event>>,
    /// Rejected records and unreadable stretches.
    pub bad: Vec<BadRecord>,
    /// Repairs, counted.
    pub notes: BTreeMap<Note, u64>,
    /// First record where each repair happened (for one report line per file).
    pub first_note: BTreeMap<Note, SourceOffset>,
}

impl DecodeOutput {
    /// Adds what was found in the stretch of the same buffer that follows this one.
    fn append(&mut self, next: DecodeOutput) {
        self.events.extend(next.events);
        self.bad.extend(next.bad);
        for (note, n) in next.notes {
            *self.notes.entry(note).or_default() += n;
        }
        for (note, at) in next.first_note {
            self.first_note.entry(note).or_insert(at);
        }
    }

    fn push_record(&mut self, text: &str, shared: Option<&Arc<String>>, offset: SourceOffset, opts: &DecodeOptions) {
        if text.len() > opts.max_record_bytes {
            self.bad.push(BadRecord {
                offset,
                reason: BadReason::TooLarge,
                detail: format!("record of {} bytes exceeds the {} byte limit", text.len(), opts.max_record_bytes),
            });
            return;
        }
        let decoded = match shared {
            Some(buf) => decode_record_within(text, buf, offset.clone()),
            None => decode_record(text, offset.clone()),
        };
        match decoded {
            Ok(d) => {
                for note in d.notes {
                    *self.notes.entry(note).or_default() += 1;
                    self.first_note.entry(note).or_insert_with(|| offset.clone());
                }
                self.events.push(Box::new(d.event));
            }
            Err(e) => self.bad.push(BadRecord { offset, reason: e.reason, detail: e.detail }),
        }
    }
}

/// Decodes every record in `bytes`, read from `file` (copies the bytes; see [`decode_owned`]).
pub fn decode_buffer(bytes: &[u8], file: &Arc<str>, opts: &DecodeOptions) -> DecodeOutput {
    decode_owned(bytes.to_vec(), file, opts)
}

/// Decodes every record in `bytes`, read from `file`. When the buffer is valid UTF-8 (the
/// usual case) events keep their record as a range of it rather than a copy.
pub fn decode_owned(bytes: Vec<u8>, file: &Arc<str>, opts: &DecodeOptions) -> DecodeOutput {
    let mut out = DecodeOutput::default();
    let framing = match opts.framing {
        Framing::Auto => detect(&bytes),
        f => f,
    };
    match String::from_utf8(bytes) {
        Ok(text) => {
            let shared = Arc::new(text);
            let threads = opts.threads.min(shared.len() / MIN_BYTES_PER_THREAD);
            match framing {
                Framing::Lines if threads > 1 => decode_lines_on_threads(&shared, file, opts, threads, &mut out),
                Framing::Lines => {
                    decode_lines(shared.as_bytes(), Some(&shared), file, opts, Start::default(), &mut out)
                }
                _ => decode_document(shared.as_bytes(), Some(&shared), file, opts, &mut out, 0),
            }
        }
        Err(e) => {
            let bytes = e.into_bytes();
            match framing {
                Framing::Lines => decode_lines(&bytes, None, file, opts, Start::default(), &mut out),
                _ => decode_document(&bytes, None, file, opts, &mut out, 0),
            }
        }
    }
    out
}

fn first_non_ws(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| !b.is_ascii_whitespace())
}

/// JSON Lines when the first line holds one complete value and more content follows.
fn detect(bytes: &[u8]) -> Framing {
    let Some(start) = first_non_ws(bytes) else {
        return Framing::Document;
    };
    if bytes[start] != b'{' {
        return Framing::Document;
    }
    let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
    let rest_has_content = first_non_ws(&bytes[end..]).is_some();
    let first_line_complete = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes[start..end]).is_ok();
    if rest_has_content && first_line_complete {
        Framing::Lines
    } else if !rest_has_content || is_records_object(&bytes[start..]) {
        Framing::Document
    } else {
        // A first line that is not a complete value: JSON Lines with a broken first line, or a
        // pretty-printed object. A pretty-printed object's first line is `{` alone.
        let first = bytes[start..end].iter().filter(|b| !b.is_ascii_whitespace()).count();
        if first <= 1 { Framing::Document } else { Framing::Lines }
    }
}

fn is_records_object(bytes: &[u8]) -> bool {
    let Some(after_brace) = bytes.strip_prefix(b"{") else {
        return false;
    };
    let i = first_non_ws(after_brace).unwrap_or(after_brace.len());
    after_brace[i..].starts_with(b"\"Records\"") || after_brace[i..].starts_with(b"\"records\"")
}

/// Where a stretch of JSON Lines starts in its file: lines and records before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Start {
    line: u64,
    record: u64,
}

impl Start {
    /// Where the stretch after `bytes` starts (`bytes` ends at a line end or the buffer's end).
    fn after(self, bytes: &[u8]) -> Start {
        let mut next = self;
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            next.line += 1;
            if first_non_ws(line).is_some() {
                next.record += 1;
            }
        }
        next
    }
}

/// Decodes a large JSON Lines buffer on `threads` threads: it is cut at line ends into that
/// many stretches, each decoded with the line and record numbers it starts at, and the
/// results are joined in order, so the output is the same as one pass.
fn decode_lines_on_threads(
    shared: &Arc<String>,
    file: &Arc<str>,
    opts: &DecodeOptions,
    threads: usize,
    out: &mut DecodeOutput,
) {
    let bytes = shared.as_bytes();
    let mut cuts = vec![0];
    for k in 1..threads {
        let from = (bytes.len() / threads * k).max(cuts.last().copied().unwrap_or(0));
        let cut = memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |i| from + i + 1);
        if cut < bytes.len() {
            cuts.push(cut);
        }
    }
    cuts.push(bytes.len());
    let stretches: Vec<&[u8]> = cuts.windows(2).map(|w| &bytes[w[0]..w[1]]).collect();
    let parts: Vec<DecodeOutput> = std::thread::scope(|scope| {
        // Counting lines is far cheaper than decoding them: each thread counts its stretch,
        // then decodes it from where the stretches before it end.
        let counts: Vec<_> = stretches.iter().map(|s| scope.spawn(move || Start::default().after(s))).collect();
        let mut start = Start::default();
        let mut starts = Vec::with_capacity(stretches.len());
        for c in counts {
            starts.push(start);
            let n = c.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            start = Start { line: start.line + n.line, record: start.record + n.record };
        }
        let decoders: Vec<_> = stretches
            .iter()
            .zip(starts)
            .map(|(s, at)| {
                scope.spawn(move || {
                    let mut part = DecodeOutput::default();
                    decode_lines(s, Some(shared), file, opts, at, &mut part);
                    part
                })
            })
            .collect();
        decoders.into_iter().map(|d| d.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    for part in parts {
        out.append(part);
    }
}

/// Decodes JSON Lines in `bytes` (all of `shared`, or a stretch of it that ends at a line
/// end), numbering lines and records from `at`.
fn decode_lines(
    bytes: &[u8],
    shared: Option<&Arc<String>>,
    file: &Arc<str>,
    opts: &DecodeOptions,
    at: Start,
    out: &mut DecodeOutput,
) {
    let Start { line: mut line_no, mut record } = at;
    let mut start = 0;
    // A final empty line (after the last line end) is blank, so it is not read.
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let line = &bytes[start..end];
        start = end + 1;
        line_no += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if first_non_ws(line).is_none() {
            continue;
        }
        let offset = SourceOffset { file: file.clone(), line: Some(line_no), record };
        record += 1;
        if line.len() > opts.max_record_bytes {
            out.bad.push(BadRecord {
                offset,
                reason: BadReason::TooLarge,
                detail: format!("line of {} bytes exceeds the {} byte record limit", line.len(), opts.max_record_bytes),
            });
            continue;
        }
        // A shared buffer was validated whole; only a buffer with bad bytes is checked per line.
        let text = match shared {
            Some(buf) => (line.as_ptr() as usize)
                .checked_sub(buf.as_ptr() as usize)
                .and_then(|at| buf.get(at..))
                .and_then(|rest| rest.get(..line.len())),
            None => None,
        };
        let text = match text.map(Ok).unwrap_or_else(|| std::str::from_utf8(line)) {
            Ok(t) => t,
            Err(e) => {
                out.bad.push(BadRecord {
                    offset,
                    reason: BadReason::InvalidUtf8,
                    detail: format!("bytes that are not UTF-8 at column {}", e.valid_up_to() + 1),
                });
                continue;
            }
        };
        if is_records_object(text.trim_start().as_bytes()) {
            // A batch of records on one line (a Kafka message or an S3 object copied as a line).
            decode_document(text.as_bytes(), shared, file, opts, out, line_no - 1);
        } else {
            out.push_record(text, shared, offset, opts);
        }
    }
}

fn decode_document(
    bytes: &[u8],
    shared: Option<&Arc<String>>,
    file: &Arc<str>,
    opts: &DecodeOptions,
    out: &mut DecodeOutput,
    line_base: u64,
) {
    let text: std::borrow::Cow<'_, str> = match std::str::from_utf8(bytes) {
        Ok(t) => t.into(),
        Err(e) => {
            let (line, _) = line_col(bytes, e.valid_up_to());
            out.bad.push(BadRecord {
                offset: SourceOffset { file: file.clone(), line: Some(line_base + line), record: 0 },
                reason: BadReason::InvalidUtf8,
                detail: format!(
                    "bytes that are not UTF-8 from byte {}; replaced with U+FFFD so the rest of the file is kept",
                    e.valid_up_to()
                ),
            });
            String::from_utf8_lossy(bytes)
        }
    };
    let text: &str = &text;
    let Some(start) = first_non_ws(text.as_bytes()) else {
        return;
    };
    let body = &text[start..];
    let is_array = body.starts_with('[');
    if !is_array && !is_records_object(body.as_bytes()) {
        let offset =
            SourceOffset { file: file.clone(), line: Some(line_base + line_col(text.as_bytes(), start).0), record: 0 };
        out.push_record(body.trim_end(), shared, offset, opts);
        return;
    }
    let mut items: Vec<&RawValue> = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let result = if is_array {
        ElementCollector { items: &mut items }.deserialize(&mut de)
    } else {
        RecordsCollector { items: &mut items }.deserialize(&mut de)
    };
    let result = result.and_then(|()| de.end());
    let mut lines = LineCounter::new(text);
    for (index, item) in items.iter().enumerate() {
        let raw = item.get();
        let pos = (raw.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        let offset =
            SourceOffset { file: file.clone(), line: Some(line_base + lines.line_at(pos)), record: index as u64 };
        if !raw.starts_with('{') {
            out.bad.push(BadRecord {
                offset,
                reason: BadReason::WrongType,
                detail: format!("record {index} is not a JSON object"),
            });
            continue;
        }
        out.push_record(raw, shared, offset, opts);
    }
    if let Err(e) = result {
        let kept = items.len();
        let offset = SourceOffset { file: file.clone(), line: Some(line_base + e.line() as u64), record: kept as u64 };
        let (reason, detail) = if e.is_eof() {
            (BadReason::Truncated, format!("input ends early; the {kept} records before it were kept"))
        } else {
            (
                BadReason::InvalidJson,
                format!("{e}; the {kept} records before it were kept, the rest of the file could not be read"),
            )
        };
        out.bad.push(BadRecord { offset, reason, detail });
    }
}

/// 1-based (line, column) of a byte position.
fn line_col(bytes: &[u8], pos: usize) -> (u64, u64) {
    let pos = pos.min(bytes.len());
    let before = &bytes[..pos];
    let line = memchr::memchr_iter(b'\n', before).count() as u64 + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() as u64 + 1;
    (line, col)
}

/// Counts lines up to increasing positions without rescanning.
struct LineCounter<'a> {
    text: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self { text: text.as_bytes(), pos: 0, line: 1 }
    }

    fn line_at(&mut self, pos: usize) -> u64 {
        let pos = pos.min(self.text.len());
        if pos > self.pos {
            self.line += memchr::memchr_iter(b'\n', &self.text[self.pos..pos]).count() as u64;
            self.pos = pos;
        }
        self.line
    }
}

/// Collects array elements as raw JSON, keeping those read before an error.
struct ElementCollector<'a, 'de> {
    items: &'a mut Vec<&'de RawValue>,
}

impl<'de> DeserializeSeed<'de> for ElementCollector<'_, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ElementCollector<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of CloudTrail records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            self.items.push(item);
        }
        Ok(())
    }
}

/// Reads `{"Records": [...], ...}`, collecting the records.
struct RecordsCollector<'a, 'de> {
    items: &'a mut Vec<&'de RawValue>,
}

impl<'de> DeserializeSeed<'de> for RecordsCollector<'_, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordsCollector<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a \"Records\" array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            // `Records`: CloudTrail's S3 files; `records`: Azure's Event Hubs and storage exports.
            if key == "Records" || key == "records" {
                map.next_value_seed(ElementCollector { items: &mut *self.items })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str) -> String {
        format!(
            r#"{{"eventTime":"2026-03-14T02:47:12Z","eventName":"ListUsers","eventID":"{id}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}}}}"#
        )
    }

    fn decode(bytes: &[u8]) -> DecodeOutput {
        decode_buffer(bytes, &Arc::from("f.json"), &DecodeOptions::default())
    }

    fn ids(out: &DecodeOutput) -> Vec<&str> {
        out.events.iter().map(|e| e.event_id.as_str()).collect()
    }

    #[test]
    fn reads_every_framing() {
        let records = format!(r#"{{"Records":[{},{}]}}"#, rec("a"), rec("b"));
        assert_eq!(ids(&decode(records.as_bytes())), ["a", "b"]);
        let array = format!("[\n  {},\n  {}\n]", rec("a"), rec("b"));
        let out = decode(array.as_bytes());
        assert_eq!(ids(&out), ["a", "b"]);
        assert_eq!(out.events[1].offset.line, Some(3));
        let lines = format!("{}\n\n{}\n", rec("a"), rec("b"));
        let out = decode(lines.as_bytes());
        assert_eq!(ids(&out), ["a", "b"]);
        assert_eq!(out.events[1].offset.line, Some(3));
        assert_eq!(ids(&decode(rec("a").as_bytes())), ["a"]);
        let pretty =
            "{\n  \"eventTime\": \"2026-03-14T02:47:12Z\",\n  \"eventName\": \"X\",\n  \"eventID\": \"p\"\n}\n";
        assert_eq!(ids(&decode(pretty.as_bytes())), ["p"]);
    }

    #[test]
    fn truncation_keeps_the_records_before_it() {
        let records = format!(r#"{{"Records":[{},{},{}]}}"#, rec("a"), rec("b"), rec("c"));
        let cut = &records.as_bytes()[..records.len() - 40];
        let out = decode(cut);
        assert_eq!(ids(&out), ["a", "b"]);
        assert_eq!(out.bad.len(), 1);
        assert_eq!(out.bad[0].reason, BadReason::Truncated);
    }

    #[test]
    fn bad_lines_do_not_cost_their_neighbours() {
        let mut input = Vec::new();
        input.extend_from_slice(rec("a").as_bytes());
        input.extend_from_slice(b"\nnot json at all\n");
        input.extend_from_slice(b"{\"eventName\":\"X\",\"eventTime\":\"2026-03-14T02:47:12Z\",\"bad\":\"\xff\xfe\"}\n");
        input.extend_from_slice(b"{\"eventName\":\"NoTime\"}\n");
        input.extend_from_slice(rec("b").as_bytes());
        let out = decode(&input);
        assert_eq!(ids(&out), ["a", "b"]);
        let reasons: Vec<_> = out.bad.iter().map(|b| (b.offset.line, b.reason)).collect();
        assert_eq!(
            reasons,
            [(Some(2), BadReason::InvalidJson), (Some(3), BadReason::InvalidUtf8), (Some(4), BadReason::MissingField)]
        );
    }

    #[test]
    fn oversized_records_are_rejected_not_fatal() {
        let big = format!(r#"{{"eventTime":"2026-03-14T02:47:12Z","eventName":"X","pad":"{}"}}"#, "x".repeat(2 << 20));
        let input = format!("{}\n{}\n{}\n", rec("a"), big, rec("b"));
        let out = decode(input.as_bytes());
        assert_eq!(ids(&out), ["a", "b"]);
        assert_eq!(out.bad[0].reason, BadReason::TooLarge);
    }

    #[test]
    fn non_utf8_inside_a_document_keeps_the_file() {
        let mut input = format!(r#"{{"Records":[{},"#, rec("a")).into_bytes();
        input.extend_from_slice(
            b"{\"eventTime\":\"2026-03-14T02:47:12Z\",\"eventName\":\"X\",\"eventID\":\"u\",\"userAgent\":\"\xff\"},",
        );
        input.extend_from_slice(format!("{}]}}", rec("b")).as_bytes());
        let out = decode(&input);
        assert_eq!(ids(&out), ["a", "u", "b"]);
        assert_eq!(out.bad[0].reason, BadReason::InvalidUtf8);
    }

    /// What a decode found, in order, as text (events by id and place; bad records and
    /// repairs in full).
    fn found(out: &DecodeOutput) -> Vec<String> {
        let events =
            out.events.iter().map(|e| format!("{} {} {:?} {}", e.event_id, e.action, e.offset.line, e.offset.record));
        let bad = out.bad.iter().map(|b| format!("bad {b} (record {})", b.offset.record));
        let notes = out.notes.iter().map(|(n, k)| format!("note {n:?} {k} first {:?}", out.first_note.get(n)));
        events.chain(bad).chain(notes).collect()
    }

    #[test]
    fn a_buffer_decoded_on_several_threads_gives_what_one_pass_gives() {
        let mut input = String::new();
        for i in 0..60 {
            match i % 10 {
                0 => input.push('\n'),
                1 => input.push_str(&format!("{}\r\n", rec(&format!("crlf-{i}")))),
                2 => input.push_str("{ not json\n"),
                3 => input.push_str("{\"eventName\":\"NoTime\"}\n"),
                4 => input.push_str(&format!(
                    "{{\"eventTime\":\"2026-03-14T02:47:12Z\",\"eventName\":\"X\",\"sourceIPAddress\":\"075.050.255.{i}\"}}\n"
                )),
                5 => input.push_str(&format!("{{\"Records\":[{},{}]}}\n", rec(&format!("batch-{i}-a")), rec(&format!("batch-{i}-b")))),
                6 => input.push_str(&format!("{}{}\n", rec(&format!("long-{i}")), " ".repeat(300))),
                _ => input.push_str(&format!("{}\n", rec(&format!("plain-{i}")))),
            }
        }
        input.push_str(&rec("last-without-line-end"));
        let shared = Arc::new(input);
        let opts = DecodeOptions { max_record_bytes: 400, ..DecodeOptions::default() };
        let file: Arc<str> = Arc::from("export.jsonl");
        let mut one = DecodeOutput::default();
        decode_lines(shared.as_bytes(), Some(&shared), &file, &opts, Start::default(), &mut one);
        assert!(one.events.len() > 30 && one.bad.len() > 10 && !one.notes.is_empty(), "{:?}", found(&one));
        for threads in 2..=9 {
            let mut many = DecodeOutput::default();
            decode_lines_on_threads(&shared, &file, &opts, threads, &mut many);
            assert_eq!(found(&many), found(&one), "{threads} threads");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn never_panics_on_cut_records(cut in 0usize..400) {
            let records = format!(r#"{{"Records":[{},{}]}}"#, rec("a"), rec("b"));
            let cut = cut.min(records.len());
            let out = decode(&records.as_bytes()[..cut]);
            proptest::prop_assert!(out.events.len() <= 2);
        }
    }
}
