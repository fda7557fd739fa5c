//! Values read from the command line that more than one command takes.

use std::collections::BTreeMap;

use crate::failure::{Failure, usage};

/// `--metadata K=V` pairs.
pub(crate) fn metadata(pairs: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(usage(format!("--metadata takes K=V, got {p:?}"))),
        })
        .collect()
}
