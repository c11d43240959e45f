//! Flushes and flush status against the simulator: every answer shape,
//! batch splitting on 413 and on 400-too-many, field errors naming URLs,
//! and every status word, entry key, timestamp format and pagination.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use edgeflush::cloakfusion::{ApiError, Client, FlushState, StatusEntry, path_regex};
use edgeflush::simulator::{EntryKey, Faults, FlushResponse, Timestamps};

use crate::common::{VHOST, client_for, sim, sim_with};

fn urls(paths: &[&str]) -> Vec<String> {
    paths
        .iter()
        .map(|p| format!("https://{VHOST}{p}"))
        .collect()
}

fn many(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://{VHOST}/f/{i}.css"))
        .collect()
}

async fn status_of(c: &Client, paths: &[&str]) -> Vec<StatusEntry> {
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let mut out = Vec::new();
    for re in path_regex(&paths, 200) {
        out.extend(c.flush_status(&re, &[VHOST.to_string()]).await.unwrap());
    }
    out
}

/// Polls until no entry is pending (the simulator finishes after 100 ms).
async fn settled(c: &Client, paths: &[&str]) -> Vec<StatusEntry> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entries = status_of(c, paths).await;
        if entries.iter().all(|e| e.state != FlushState::Pending) || Instant::now() > deadline {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn flush_answers_object_with_number_or_string_id() {
    let sim = sim().await;
    let c = client_for(&sim);
    let r = c.flush(&urls(&["/a.css"])).await.unwrap();
    assert_eq!(r.id.as_deref(), Some("1"));
    sim.state().set_faults(Faults {
        ids_as_strings: true,
        flush_response: FlushResponse::Accepted,
        ..Faults::default()
    });
    let r = c.flush(&urls(&["/b.css"])).await.unwrap();
    assert_eq!(r.id.as_deref(), Some("2"));
    sim.state().set_faults(Faults {
        flush_response: FlushResponse::Ok,
        ..Faults::default()
    });
    assert_eq!(
        c.flush(&urls(&["/c"])).await.unwrap().id.as_deref(),
        Some("3")
    );
    let body = &sim.state().requests()[0].body;
    assert_eq!(body["urls"][0], "https://www.example.com/a.css");
    assert_eq!(
        sim.state().flushed_urls(),
        urls(&["/a.css", "/b.css", "/c"])
    );
}

#[tokio::test]
async fn flush_accepts_empty_204_and_202() {
    let sim = sim().await;
    let c = client_for(&sim);
    for (shape, status) in [(FlushResponse::Empty, 204), (FlushResponse::Empty202, 202)] {
        sim.state().set_faults(Faults {
            flush_response: shape,
            ..Faults::default()
        });
        let r = c.flush(&urls(&["/x.js"])).await.unwrap();
        assert_eq!(r.id, None);
        assert_eq!(sim.state().requests().last().unwrap().status, status);
    }
    // Nothing to flush: nothing sent.
    let before = sim.state().requests().len();
    assert_eq!(c.flush(&[]).await.unwrap().id, None);
    assert_eq!(sim.state().requests().len(), before);
}

async fn split_case(too_many_as_400: bool) {
    let sim = sim_with(Faults {
        max_urls_per_flush: 3,
        too_many_as_400,
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    let all = many(10);
    let single = c.flush(&all).await.unwrap_err();
    assert_eq!(single.kind(), "too_large", "{single:?}");
    assert!(!single.is_retryable());

    let results = c.flush_split(&all).await;
    assert!(
        results
            .iter()
            .all(|(chunk, r)| r.is_ok() && chunk.len() <= 3)
    );
    let sent: Vec<String> = results.iter().flat_map(|(c, _)| c.clone()).collect();
    assert_eq!(sent, all);
    assert_eq!(sim.state().flushed_urls(), all);
    let refused = sim
        .state()
        .requests()
        .iter()
        .filter(|r| r.status == if too_many_as_400 { 400 } else { 413 })
        .count();
    // The lone flush, then 10 -> 5 -> 3: later chunks are cut up front.
    assert_eq!(refused, 3);
}

#[tokio::test]
async fn flush_split_on_413() {
    split_case(false).await;
}

#[tokio::test]
async fn flush_split_on_400_too_many() {
    split_case(true).await;
}

#[tokio::test]
async fn flush_split_keeps_other_errors_per_chunk() {
    let sim = sim_with(Faults {
        max_urls_per_flush: 2,
        reject_url_regex: Some("/f/3\\.css$".into()),
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    let results = c.flush_split(&many(4)).await;
    assert_eq!(results.len(), 2);
    assert!(results[0].1.is_ok());
    let e = results[1].1.as_ref().unwrap_err();
    assert_eq!(e.rejected_urls(), vec![format!("https://{VHOST}/f/3.css")]);
}

#[tokio::test]
async fn field_errors_name_rejected_urls() {
    let sim = sim_with(Faults {
        reject_url_regex: Some("bad".into()),
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    let batch = urls(&["/ok.css", "/bad-1.css", "/bad-2.css"]);
    let e = c.flush(&batch).await.unwrap_err();
    let ApiError::Rejected { status, fields, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 400);
    assert_eq!(fields["urls"].len(), 2);
    assert_eq!(e.rejected_urls(), batch[1..].to_vec());
    assert!(!e.is_retryable());
    assert!(sim.state().flushed_urls().is_empty());

    let e = c
        .flush(&["https://unknown.example.org/x".to_string()])
        .await
        .unwrap_err();
    let ApiError::Rejected { fields, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(fields["urls"][0].contains("Unknown vhost"), "{fields:?}");
}

#[tokio::test]
async fn status_pending_then_done_by_url() {
    let sim = sim().await;
    let c = client_for(&sim);
    assert!(
        status_of(&c, &["/a.css"]).await.is_empty(),
        "unknown objects have no entry"
    );
    c.flush(&urls(&["/a.css", "/blog/index.html"]))
        .await
        .unwrap();
    sim.state().set_faults(Faults {
        stuck_url_regex: Some("index".into()),
        ..Faults::default()
    });
    let first = status_of(&c, &["/a.css", "/blog/index.html"]).await;
    let stuck = first.iter().find(|e| e.path == "/blog/index.html").unwrap();
    assert_eq!(stuck.state, FlushState::Pending);
    assert_eq!(stuck.raw_status, "pending");
    assert_eq!(stuck.completed_at, None);
    sim.state().set_faults(Faults::default());
    let done = settled(&c, &["/a.css", "/blog/index.html"]).await;
    assert_eq!(done.len(), 2);
    for e in &done {
        assert_eq!(e.state, FlushState::Done, "{e:?}");
        assert_eq!(e.vhost.as_deref(), Some(VHOST));
        assert_eq!(
            e.url.as_deref(),
            Some(format!("https://{VHOST}{}", e.path).as_str())
        );
        let (req, comp) = (e.requested_at.unwrap(), e.completed_at.unwrap());
        assert!(comp >= req);
        assert!(req > SystemTime::now() - Duration::from_secs(600));
    }
    let body = sim.state().requests().last().unwrap().body.clone();
    assert_eq!(body["vhosts"][0], VHOST);
    assert!(body["filenames"].as_str().unwrap().starts_with("^/("));
}

#[tokio::test]
async fn every_status_word_filename_entries_unix_times_and_pages() {
    let sim = sim().await;
    let c = client_for(&sim);
    let paths = [
        "/w/1.css",
        "/w/2.css",
        "/w/3.css",
        "/w/fail.css",
        "/w/stuck.css",
    ];
    c.flush(&urls(&paths)).await.unwrap();
    settled(&c, &paths[..4]).await;
    let states = |done: &str, failed: &str, pending: &str, key, ts, pages| Faults {
        done_word: done.into(),
        failed_word: failed.into(),
        pending_word: pending.into(),
        fail_url_regex: Some("fail".into()),
        stuck_url_regex: Some("stuck".into()),
        entry_key: key,
        timestamps: ts,
        pages,
        page_size: 2,
        ..Faults::default()
    };
    let done_words = [
        "done",
        "completed",
        "complete",
        "finished",
        "success",
        "FLUSHED",
    ];
    let failed_words = ["failed", "ERROR"];
    let pending_words = ["pending", "queued", "in_progress", "processing", "mystery"];
    for (i, done) in done_words.iter().enumerate() {
        let failed = failed_words[i % failed_words.len()];
        let pending = pending_words[i % pending_words.len()];
        let key = if i % 2 == 0 {
            EntryKey::Filename
        } else {
            EntryKey::Url
        };
        let ts = if i % 2 == 0 {
            Timestamps::Unix
        } else {
            Timestamps::Iso
        };
        sim.state()
            .set_faults(states(done, failed, pending, key, ts, i % 3 != 0));
        let entries = status_of(&c, &paths).await;
        assert_eq!(entries.len(), 5, "{done}");
        for e in &entries {
            let expected = match e.path.as_str() {
                "/w/fail.css" => (FlushState::Failed, failed),
                "/w/stuck.css" => (FlushState::Pending, pending),
                _ => (FlushState::Done, *done),
            };
            assert_eq!((e.state, e.raw_status.as_str()), expected, "{e:?}");
            assert_eq!(e.url.is_some(), key == EntryKey::Url);
            let req = e.requested_at.unwrap();
            assert!(req > UNIX_EPOCH + Duration::from_secs(1_600_000_000));
            assert_eq!(e.completed_at.is_some(), e.path != "/w/stuck.css");
        }
    }
    // The paged answers were fetched by POSTing the same body to `next`.
    let reqs = sim.state().requests();
    let paged: Vec<_> = reqs.iter().filter(|r| r.query.contains("page=")).collect();
    assert!(!paged.is_empty());
    for r in paged {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/v1/flushstatus/");
        assert_eq!(r.body["vhosts"][0], VHOST);
        assert!(r.body["filenames"].is_string());
    }
}

#[tokio::test]
async fn long_expressions_are_split_over_calls() {
    let sim = sim_with(Faults {
        max_filenames_len: 60,
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    let all = many(12);
    c.flush(&all).await.unwrap();
    let paths: Vec<String> = (0..12).map(|i| format!("/f/{i}.css")).collect();
    let exprs = path_regex(&paths, 60);
    assert!(exprs.len() > 1);
    let mut seen = Vec::new();
    for re in &exprs {
        for e in c.flush_status(re, &[VHOST.to_string()]).await.unwrap() {
            seen.push(e.path);
        }
    }
    seen.sort();
    let mut want = paths.clone();
    want.sort();
    assert_eq!(seen, want);
    // One expression over the limit is refused by the server as a field error.
    let e = c
        .flush_status(&path_regex(&paths, 10_000)[0], &[VHOST.to_string()])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "rejected", "{e:?}");
}
