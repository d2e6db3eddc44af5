//! lines (sink): appends each record's value and a newline to the file
//! `config.path`, synced before the batch is reported written. At least
//! once: a replay after a crash appends its records again. A batch the file
//! cannot take (a full disk) is reported for a retry with the error, after
//! what it wrote in part is cut off, so a retry never leaves half a line;
//! the file is therefore the step's alone (one processing thread).

use std::fs::{File, OpenOptions};
use std::io::Write;

use streams_plugin::{Function, InitContext, Sink, SinkBatch, SinkReports};

use crate::scan;

pub struct Lines {
    file: File,
    path: String,
    buf: Vec<u8>, // a batch's lines, reused
}

/// `config.path`: a JSON string without escapes.
fn path_of(config: &str) -> Result<String, String> {
    let json = config.as_bytes();
    let (_, value) = scan::fields(json)
        .into_iter()
        .find(|(key, _)| &json[key.clone()] == b"\"path\"")
        .ok_or("config.path: required (the file to append to)")?;
    let text = &json[value];
    if text.len() < 2 || text[0] != b'"' || text.contains(&b'\\') {
        return Err("config.path: expected a string without escapes".to_string());
    }
    Ok(String::from_utf8_lossy(&text[1..text.len() - 1]).into_owned())
}

impl Function for Lines {
    fn create(ctx: &InitContext) -> Result<Self, String> {
        let path = path_of(ctx.config_json())?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("config.path: cannot open {}: {}", path, e))?;
        Ok(Lines { file, path, buf: Vec::new() })
    }
}

impl Lines {
    fn append(&mut self) -> std::io::Result<()> {
        let before = self.file.metadata()?.len();
        let written = self.file.write_all(&self.buf).and_then(|_| self.file.sync_data());
        if written.is_err() {
            let _ = self.file.set_len(before);
        }
        written
    }
}

impl Sink for Lines {
    fn write(&mut self, batch: &SinkBatch, reports: &mut SinkReports) {
        self.buf.clear();
        for record in batch.records() {
            self.buf.extend_from_slice(record.value());
            self.buf.push(b'\n');
        }
        match self.append() {
            Ok(()) => reports.written(batch.id()),
            Err(e) => reports.retry(batch.id(), &format!("{}: {}", self.path, e)),
        };
    }
}
