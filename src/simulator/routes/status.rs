//! `POST /flushstatus/`: one entry per known URL of the asked vhosts whose
//! path matches the `filenames` regex, with the status words, entry key and
//! timestamp encoding the faults select.

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use serde_json::{Value, json};

use super::{Ctx, FieldErrors, REQUIRED, find_vhost_ref, list};
use crate::simulator::faults::{EntryKey, Timestamps};
use crate::simulator::reply::Reply;
use crate::simulator::state::{Data, Phase};

pub(crate) fn timestamp(t: SystemTime, how: Timestamps) -> Value {
    match how {
        Timestamps::Iso => json!(humantime::format_rfc3339_millis(t).to_string()),
        Timestamps::Unix => json!(crate::simulator::state::unix_ms(t) / 1000),
    }
}

/// The vhost domains asked about (a lone string counts as a list of one).
fn vhosts_field(v: Option<&Value>, d: &Data, errs: &mut FieldErrors) -> Vec<String> {
    let items: Vec<&Value> = match v {
        None | Some(Value::Null) => {
            errs.add("vhosts", REQUIRED);
            return Vec::new();
        }
        Some(Value::Array(a)) => a.iter().collect(),
        Some(other) => vec![other],
    };
    if items.is_empty() {
        errs.add("vhosts", "This list may not be empty.");
    }
    let mut out = Vec::new();
    for item in items {
        match find_vhost_ref(d, item) {
            Some((_, domain)) => out.push(domain),
            None => {
                let shown = item.as_str().map_or_else(|| item.to_string(), String::from);
                errs.add("vhosts", format!("Unknown vhost: {shown}"));
            }
        }
    }
    out
}

pub(super) fn status(ctx: &Ctx, d: &mut Data) -> Result<Reply, Reply> {
    let m = ctx.object()?;
    let mut errs = FieldErrors::default();
    let pattern = match m.get("filenames") {
        None | Some(Value::Null) => {
            errs.add("filenames", REQUIRED);
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errs.add("filenames", "Not a valid string.");
            None
        }
    };
    let vhosts = vhosts_field(m.get("vhosts"), d, &mut errs);
    let max = d.faults.max_filenames_len;
    let re = pattern.and_then(|p| {
        if max > 0 && p.chars().count() > max {
            errs.add(
                "filenames",
                format!("Ensure this field has no more than {max} characters."),
            );
            return None;
        }
        let re = regex::Regex::new(&p).ok();
        if re.is_none() {
            errs.add("filenames", "Invalid regex");
        }
        re
    });
    errs.into_result()?;
    let Some(re) = re else {
        return Err(Reply::field("filenames", REQUIRED));
    };

    // Latest record per URL, listed in order of first flush.
    let mut latest: HashMap<&str, usize> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (i, r) in d.flushes.iter().enumerate() {
        if !vhosts.iter().any(|v| v.eq_ignore_ascii_case(&r.vhost)) {
            continue;
        }
        if !(re.is_match(&r.path) || re.is_match(&r.decoded_path)) {
            continue;
        }
        if latest.insert(r.url.as_str(), i).is_none() {
            order.push(r.url.as_str());
        }
    }
    let now = Instant::now();
    let f = &d.faults;
    let entries: Vec<Value> = order
        .iter()
        .filter_map(|u| latest.get(u).and_then(|&i| d.flushes.get(i)))
        .map(|r| {
            let (phase, completed) = d.phase_of(r, now);
            let word = match phase {
                Phase::Pending => &f.pending_word,
                Phase::Done => &f.done_word,
                Phase::Failed => &f.failed_word,
            };
            let (key, object) = match f.entry_key {
                EntryKey::Url => ("url", r.url.clone()),
                EntryKey::Filename => ("filename", r.path.clone()),
            };
            json!({
                key: object,
                "vhost": r.vhost,
                "status": word,
                "requested_at": timestamp(r.requested_at, f.timestamps),
                "completed_at": completed.map(|t| timestamp(t, f.timestamps)),
            })
        })
        .collect();
    Ok(list(ctx, f, entries))
}
