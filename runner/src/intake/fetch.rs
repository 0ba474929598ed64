//! `{"url": …}` inputs: fetched by the runner before it answers, through the URL
//! guard, connecting only to the addresses the guard checked, without following
//! redirects, within a time and size limit. The body goes to a staging file as
//! it arrives ([`StagingFile`]), not into memory.

use crate::config::Config;
use crate::problem::{Problem, ProblemKind};
use crate::store::{StagedInput, StagingFile};
use crate::url_guard;

/// A fetched input.
pub struct Fetched {
    /// The bytes, staged on disk.
    pub data: StagedInput,
    /// The response's Content-Type, or `application/octet-stream`.
    pub media_type: String,
}

/// Fetch `url` for input `name`, at most `max` bytes.
pub async fn fetch(name: &str, url: &str, max: usize, config: &Config) -> Result<Fetched, Problem> {
    let checked = url_guard::check(url, config.allow_private_networks)
        .await
        .map_err(|p| {
            let message = p.detail.clone();
            p.with(
                "errors",
                serde_json::json!([{"input": name, "message": message}]),
            )
        })?;
    let failed = |message: String| super::invalid_input(name, message);
    let client = checked
        .client(config.fetch_timeout)
        .map_err(|e| failed(format!("could not prepare the fetch: {e}")))?;
    let mut response = client
        .get(checked.url.clone())
        .send()
        .await
        .map_err(|e| failed(format!("fetching {url} failed: {e}")))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(failed(format!(
            "fetching {url} answered {status}; redirects are not followed"
        )));
    }
    if !status.is_success() {
        return Err(failed(format!("fetching {url} answered {status}")));
    }
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(too_large(name, url, max));
    }
    let media_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let keep_failed = super::staging_failed(name);
    let mut file = StagingFile::create(&config.data_dir)
        .await
        .map_err(keep_failed)?;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failed(format!("reading {url} failed: {e}")))?
    {
        if file.size() + chunk.len() as u64 > max as u64 {
            return Err(too_large(name, url, max));
        }
        file.write(&chunk).await.map_err(keep_failed)?;
    }
    let data = file.finish().await.map_err(keep_failed)?;
    Ok(Fetched { data, media_type })
}

fn too_large(name: &str, url: &str, max: usize) -> Problem {
    Problem::new(
        ProblemKind::PayloadTooLarge,
        format!("input `{name}`: {url} is larger than the limit of {max} bytes"),
    )
}
