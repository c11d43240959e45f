//! Path to URL mapping (temporary stand-in until the mapping branch lands).
use crate::config::raw::RawSite;
#[derive(Debug)]
pub struct SiteMap { name: String, vhost: String }
impl SiteMap {
    pub fn compile(raw: &RawSite, _i: usize) -> Result<SiteMap, Vec<String>> { Ok(SiteMap { name: raw.name.clone(), vhost: raw.vhost.clone() }) }
    pub fn name(&self) -> &str { &self.name }
    pub fn vhost(&self) -> &str { &self.vhost }
}
