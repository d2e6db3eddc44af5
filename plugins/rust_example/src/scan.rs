//! A small JSON checker for IngestMetric messages: validates the whole text
//! (RFC 8259, UTF-8, nesting at most 1024 deep) in one pass without
//! allocating, and checks the top-level fields as it goes, with the C++
//! example's messages.

use std::ops::Range;

const MAX_DEPTH: usize = 1024;

/// What the checks learned about a valid IngestMetric.
pub struct Metric {
    /// The "type" string's contents (c, d or s).
    pub kind: Range<usize>,
    pub has_transformed: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Object,
    Array,
    String,
    Integer,
    Number,
    Other, // true, false, null
}

// The IngestMetric's required fields, as bits.
const ORG_ID: u32 = 1;
const PROJECT_ID: u32 = 2;
const TIMESTAMP: u32 = 4;
const RETENTION: u32 = 8;
const NAME: u32 = 16;
const TYPE: u32 = 32;
const TAGS: u32 = 64;
const VALUE: u32 = 128;
const ALL: u32 = 255;

pub struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

type Invalid = ();

impl<'a> Scanner<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        Scanner { s, i: 0 }
    }

    /// Checks an IngestMetric; Err with the reason the C++ example gives.
    pub fn metric(mut self) -> Result<Metric, &'static str> {
        if std::str::from_utf8(self.s).is_err() {
            return Err("not valid JSON");
        }
        let mut metric = Metric { kind: 0..0, has_transformed: false };
        let mut seen = 0u32;
        let mut failed: Option<&'static str> = None;
        self.ws();
        let top = if self.peek() == Some(b'{') {
            self.top_object(&mut metric, &mut seen, &mut failed).map(|_| Kind::Object)
        } else {
            self.value(0)
        };
        self.ws();
        if top.is_err() || self.i != self.s.len() {
            return Err("not valid JSON");
        }
        if top != Ok(Kind::Object) {
            return Err("not a JSON object");
        }
        if let Some(why) = failed {
            return Err(why);
        }
        if seen != ALL {
            return Err("missing field(s): needs org_id, project_id, name, type, timestamp, tags, \
                        value, retention_days");
        }
        Ok(metric)
    }

    fn top_object(
        &mut self,
        metric: &mut Metric,
        seen: &mut u32,
        failed: &mut Option<&'static str>,
    ) -> Result<(), Invalid> {
        self.expect(b'{')?;
        self.ws();
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let start = self.i;
            let kind = self.value(1)?;
            if failed.is_none() {
                *failed = self.check(&self.s[key.start + 1..key.end - 1], kind, start, metric, seen);
            }
            self.ws();
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',')?;
        }
    }

    // One top-level field, as the C++ example's check(); Some(why) fails it.
    fn check(
        &self,
        key: &[u8],
        kind: Kind,
        start: usize,
        metric: &mut Metric,
        seen: &mut u32,
    ) -> Option<&'static str> {
        match key {
            b"org_id" | b"project_id" | b"timestamp" | b"retention_days" => {
                if kind != Kind::Integer {
                    return Some("org_id, project_id, timestamp and retention_days must be integers");
                }
                *seen |= match key {
                    b"org_id" => ORG_ID,
                    b"project_id" => PROJECT_ID,
                    b"timestamp" => TIMESTAMP,
                    _ => RETENTION,
                };
            }
            b"name" => {
                if kind != Kind::String {
                    return Some("field name must be a string");
                }
                *seen |= NAME;
            }
            b"type" => {
                let text = &self.s[start..self.i];
                if kind != Kind::String || !matches!(text, b"\"c\"" | b"\"d\"" | b"\"s\"") {
                    return Some("field type must be one of \"c\", \"d\", \"s\"");
                }
                metric.kind = start + 1..self.i - 1;
                *seen |= TYPE;
            }
            b"tags" => {
                if kind != Kind::Object {
                    return Some("field tags must be an object");
                }
                *seen |= TAGS;
            }
            b"value" => {
                if !matches!(kind, Kind::Integer | Kind::Number | Kind::Array) {
                    return Some("field value must be a number or a list");
                }
                *seen |= VALUE;
            }
            b"transformed" => metric.has_transformed = true,
            _ => {}
        }
        None
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), Invalid> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(())
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Kind, Invalid> {
        if depth > MAX_DEPTH {
            return Err(());
        }
        match self.peek().ok_or(())? {
            b'{' => {
                self.i += 1;
                self.ws();
                if self.eat(b'}') {
                    return Ok(Kind::Object);
                }
                loop {
                    self.ws();
                    self.string()?;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    if self.eat(b'}') {
                        return Ok(Kind::Object);
                    }
                    self.expect(b',')?;
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.eat(b']') {
                    return Ok(Kind::Array);
                }
                loop {
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    if self.eat(b']') {
                        return Ok(Kind::Array);
                    }
                    self.expect(b',')?;
                }
            }
            b'"' => self.string().map(|_| Kind::String),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => self.number(),
        }
    }

    fn word(&mut self, w: &[u8]) -> Result<Kind, Invalid> {
        if self.s[self.i..].starts_with(w) {
            self.i += w.len();
            Ok(Kind::Other)
        } else {
            Err(())
        }
    }

    /// A string with its quotes: its range in the text.
    fn string(&mut self) -> Result<Range<usize>, Invalid> {
        let start = self.i;
        self.expect(b'"')?;
        loop {
            match self.peek().ok_or(())? {
                b'"' => {
                    self.i += 1;
                    return Ok(start..self.i);
                }
                b'\\' => {
                    self.i += 1;
                    match self.peek().ok_or(())? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hex = self.s.get(self.i + 1..self.i + 5).ok_or(())?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(());
                            }
                            self.i += 5;
                        }
                        _ => return Err(()),
                    }
                }
                c if c < 0x20 => return Err(()),
                _ => self.i += 1,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Kind, Invalid> {
        let start = self.i;
        self.eat(b'-');
        let first = self.peek();
        let n = self.digits();
        if n == 0 || (first == Some(b'0') && n > 1) {
            return Err(());
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            if self.digits() == 0 {
                return Err(());
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.i += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(());
            }
        }
        if integer {
            // As simdjson: an integer that fits 64 bits (signed or not).
            let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| ())?;
            if text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
                return Ok(Kind::Number);
            }
            return Ok(Kind::Integer);
        }
        Ok(Kind::Number)
    }
}

/// Appends `json` (one valid value) without the whitespace between tokens.
pub fn minify(json: &[u8], out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
        }
    }
}

/// The top-level fields of a valid JSON object: (key with quotes, value).
pub fn fields(json: &[u8]) -> Vec<(Range<usize>, Range<usize>)> {
    let mut s = Scanner::new(json);
    let mut out = Vec::new();
    s.ws();
    if !s.eat(b'{') {
        return out;
    }
    loop {
        s.ws();
        if s.eat(b'}') {
            return out;
        }
        let key = match s.string() {
            Ok(key) => key,
            Err(_) => return out,
        };
        s.ws();
        let _ = s.expect(b':');
        s.ws();
        let start = s.i;
        if s.value(1).is_err() {
            return out;
        }
        out.push((key, start..s.i));
        s.ws();
        s.eat(b',');
    }
}
