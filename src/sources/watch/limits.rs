//! The kernel limits inotify runs into, said plainly: one watch per
//! directory counts against `fs.inotify.max_user_watches` (shared by every
//! process of the user), one watcher against `fs.inotify.max_user_instances`.
//! The errors name the sysctl and a value that is enough.

use std::path::Path;

pub const MAX_USER_WATCHES: &str = "/proc/sys/fs/inotify/max_user_watches";
pub const MAX_USER_INSTANCES: &str = "/proc/sys/fs/inotify/max_user_instances";

/// Reads a numeric sysctl; None where there is no such file (not Linux).
pub fn read_limit(path: &str) -> Option<u64> {
    std::fs::read_to_string(Path::new(path))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A value for `max_user_watches` that fits `dirs` more watches on top of
/// what the limit allows today, rounded up to a multiple of 1024.
pub fn watches_needed(dirs: u64, current: Option<u64>) -> u64 {
    let want = current.unwrap_or(0).saturating_add(dirs).max(dirs * 2);
    want.div_ceil(1024).saturating_mul(1024)
}

/// What to do when the watch limit is too low.
pub fn watches_advice(site: &str, dirs: u64, current: Option<u64>) -> String {
    let shown = current.map_or_else(|| "unknown".to_string(), |c| c.to_string());
    let need = watches_needed(dirs, current);
    format!(
        "site `{site}` needs {dirs} inotify watches (one per directory) but \
         fs.inotify.max_user_watches is {shown} (shared by every process of this user); \
         raise it: `sysctl -w fs.inotify.max_user_watches={need}` (and persist it in \
         /etc/sysctl.d/), or exclude directories with watch.ignore"
    )
}

/// What to do when no inotify instance can be created.
pub fn instances_advice(site: &str) -> String {
    let current = read_limit(MAX_USER_INSTANCES);
    let shown = current.map_or_else(|| "unknown".to_string(), |c| c.to_string());
    let need = current.map_or(256, |c| (c * 2).max(256));
    format!(
        "site `{site}`: cannot create an inotify instance: fs.inotify.max_user_instances \
         ({shown}) or the open-file limit is exhausted; raise it: \
         `sysctl -w fs.inotify.max_user_instances={need}` (or LimitNOFILE= for the service)"
    )
}

/// Whether `dirs` comfortably fits; a warning above half of the limit.
pub fn check_watch_budget(site: &str, dirs: u64) -> Result<Option<String>, String> {
    let Some(max) = read_limit(MAX_USER_WATCHES) else {
        return Ok(None);
    };
    if dirs >= max {
        return Err(watches_advice(site, dirs, Some(max)));
    }
    if dirs * 2 > max {
        return Ok(Some(format!(
            "site `{site}` uses {dirs} of fs.inotify.max_user_watches = {max}; \
             other watchers of this user share the rest"
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_values_are_generous_and_round() {
        assert_eq!(watches_needed(10_000, Some(8192)), 20_480);
        assert_eq!(watches_needed(100, Some(8192)), 9216);
        assert_eq!(watches_needed(3000, None), 6144);
    }

    #[test]
    fn advice_names_the_sysctl_and_the_value() {
        let a = watches_advice("www", 10_000, Some(8192));
        assert!(a.contains("fs.inotify.max_user_watches is 8192"), "{a}");
        assert!(
            a.contains("sysctl -w fs.inotify.max_user_watches=20480"),
            "{a}"
        );
        let i = instances_advice("www");
        assert!(i.contains("fs.inotify.max_user_instances"), "{i}");
    }

    #[test]
    fn budget_against_the_real_limit() {
        let Some(max) = read_limit(MAX_USER_WATCHES) else {
            return;
        };
        assert_eq!(check_watch_budget("www", 1), Ok(None));
        assert!(check_watch_budget("www", max / 2 + 1).unwrap().is_some());
        let e = check_watch_budget("www", max).unwrap_err();
        assert!(e.contains(&format!("is {max}")), "{e}");
    }
}
