//! One method per endpoint of the seed (`/vhosts/`, `/vhostsproperty/`,
//! `/flush/`, `/flushstatus/`, `/traffic/`), plus batch splitting for
//! flushes the server finds too large.

use std::collections::VecDeque;
use std::time::SystemTime;

use reqwest::Method;
use serde_json::{Value, json};

use super::client::Client;
use super::decode;
use super::error::ApiError;
use super::types::{
    FlushReceipt, PropertiesSpec, StatusEntry, Upserted, Vhost, VhostProperties, VhostSpec,
};

/// The outcome of each chunk `flush_split` sent (or gave up on).
pub type SplitResults = Vec<(Vec<String>, Result<FlushReceipt, ApiError>)>;

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::Config(format!("cannot encode request: {e}")))
}

impl Client {
    /// Every vhost, following pages.
    pub async fn list_vhosts(&self) -> Result<Vec<Vhost>, ApiError> {
        self.collect_pages(Method::GET, self.endpoint("/vhosts/"), None, |b| {
            decode::page(b, "vhost list")
        })
        .await
    }

    /// Creates or updates the vhost with `spec.domain_name`; `created` is
    /// true when the server answered 201.
    pub async fn upsert_vhost(&self, spec: &VhostSpec) -> Result<Upserted<Vhost>, ApiError> {
        let body = to_json(spec)?;
        let answer = self
            .send(Method::POST, self.endpoint("/vhosts/"), Some(&body), 0)
            .await?;
        Ok(Upserted {
            created: answer.status == 201,
            value: Client::object(&answer, "vhost")?,
        })
    }

    /// Every vhost's properties, following pages.
    pub async fn list_properties(&self) -> Result<Vec<VhostProperties>, ApiError> {
        let url = self.endpoint(&self.inner.properties_path);
        self.collect_pages(Method::GET, url, None, |b| decode::page(b, "property list"))
            .await
    }

    /// Sets the properties of one vhost; unset options are left as they are.
    pub async fn set_properties(&self, spec: &PropertiesSpec) -> Result<VhostProperties, ApiError> {
        let body = to_json(spec)?;
        let url = self.endpoint(&self.inner.properties_path);
        let answer = self.send(Method::POST, url, Some(&body), 0).await?;
        Client::object(&answer, "vhost properties")
    }

    /// Asks the CDN to purge `urls` (absolute URLs). Any 2xx is accepted.
    /// Nothing is sent for an empty list.
    pub async fn flush(&self, urls: &[String]) -> Result<FlushReceipt, ApiError> {
        if urls.is_empty() {
            return Ok(FlushReceipt::default());
        }
        let body = json!({ "urls": urls });
        let cost = u32::try_from(urls.len()).unwrap_or(u32::MAX);
        let answer = self
            .send(Method::POST, self.endpoint("/flush/"), Some(&body), cost)
            .await?;
        decode::flush_receipt(&answer.body)
    }

    /// Flushes `urls`, halving any chunk the server finds too large (413, or
    /// 400 about too many URLs) until it fits or is a single URL. Results
    /// come in URL order, one per chunk sent. Once a size was refused, later
    /// chunks are cut below it up front instead of being refused again.
    pub async fn flush_split(&self, urls: &[String]) -> SplitResults {
        let mut out = Vec::new();
        let mut queue: VecDeque<Vec<String>> = VecDeque::new();
        if !urls.is_empty() {
            queue.push_back(urls.to_vec());
        }
        let mut cap = usize::MAX;
        while let Some(chunk) = queue.pop_front() {
            if chunk.len() > cap {
                for piece in chunk.chunks(cap).rev() {
                    queue.push_front(piece.to_vec());
                }
                continue;
            }
            match self.flush(&chunk).await {
                Err(ApiError::TooLarge { .. }) if chunk.len() > 1 => {
                    let half = chunk.len().div_ceil(2);
                    cap = cap.min(half);
                    tracing::debug!(size = chunk.len(), half, "flush batch too large, splitting");
                    let (a, b) = chunk.split_at(half);
                    queue.push_front(b.to_vec());
                    queue.push_front(a.to_vec());
                }
                result => out.push((chunk, result)),
            }
        }
        out
    }

    /// Status of the flushes of objects whose path matches
    /// `filenames_regex` on `vhosts`. Pages are followed by POSTing the same
    /// body to each `next` link. Objects the server does not know have no
    /// entry.
    pub async fn flush_status(
        &self,
        filenames_regex: &str,
        vhosts: &[String],
    ) -> Result<Vec<StatusEntry>, ApiError> {
        let body = json!({ "filenames": filenames_regex, "vhosts": vhosts });
        self.collect_pages(
            Method::POST,
            self.endpoint("/flushstatus/"),
            Some(&body),
            decode::status_page,
        )
        .await
    }

    /// Traffic figures as raw JSON (the shape is not documented): one
    /// object for a vhost, or what the server gives without one (often an
    /// array). `window` is sent as ISO 8601 `from`/`to`.
    pub async fn traffic(
        &self,
        vhost: Option<&str>,
        window: Option<(SystemTime, SystemTime)>,
    ) -> Result<Value, ApiError> {
        let mut url = self.endpoint("/traffic/");
        {
            let mut q = url.query_pairs_mut();
            if let Some(v) = vhost {
                q.append_pair("vhost", v);
            }
            if let Some((from, to)) = window {
                q.append_pair("from", &humantime::format_rfc3339_seconds(from).to_string());
                q.append_pair("to", &humantime::format_rfc3339_seconds(to).to_string());
            }
        }
        let answer = self.send(Method::GET, url, None, 0).await?;
        decode::json(&answer.body, "traffic")
    }
}
