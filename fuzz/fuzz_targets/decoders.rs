//! Cloakfusion API answers: the input is a body fed to every success
//! decoder, and to the error mapping with the status and `Retry-After` taken
//! from its first line. Decoders answer or give a typed decode error; a 429
//! always carries a wait no longer than the cap; nothing panics.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use edgeflush::cloakfusion::error::MAX_RETRY_AFTER;
use edgeflush::fuzzing as f;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for e in [
        f::decode_vhosts(data).err(),
        f::decode_properties(data).err(),
        f::decode_vhost(data).err(),
        f::decode_status(data).err(),
        f::decode_flush_receipt(data).err(),
    ]
    .into_iter()
    .flatten()
    {
        assert_eq!(e.kind(), "decode", "{e:?}");
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = f::timestamp(&v);
    }
    let _ = f::snippet(data);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let (first, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let first = String::from_utf8_lossy(first);
    let status = 100 + u16::from(*data.first().unwrap_or(&0)) * 2 % 500;
    let retry_after = first.get(1..).filter(|s| !s.is_empty());
    if let Some(h) = retry_after {
        assert!(f::retry_after(h, now).is_none_or(|d| d <= MAX_RETRY_AFTER));
    }
    for status in [status, 429] {
        let e = f::api_error(status, retry_after, body, now);
        if status == 429 {
            assert!(
                e.retry_after().is_some_and(|d| d <= MAX_RETRY_AFTER),
                "{e:?}"
            );
        }
        let _ = e.rejected_urls();
    }
});
