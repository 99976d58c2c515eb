//! Deterministic zips: one executable entry, mode 0755, a fixed 1980-01-01 timestamp, no
//! extra fields, deflate level 9. The same bootstrap always gives the same bytes.

use std::io::Write;
use std::path::Path;

use zip::write::SimpleFileOptions;

/// Writes `zip_path` holding `file` under the name `entry` (`bootstrap`, or
/// `extensions/<name>` for an extension layer).
pub fn zip_one(zip_path: &Path, file: &Path, entry: &str) -> Result<(), String> {
    let data = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let tmp = zip_path.with_extension(format!("zip.{}.tmp", std::process::id()));
    let out = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut zip = zip::ZipWriter::new(out);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", zip_path.display());
    zip.start_file(entry, options).map_err(|e| fail(&e))?;
    zip.write_all(&data).map_err(|e| fail(&e))?;
    zip.finish().map_err(|e| fail(&e))?;
    std::fs::rename(&tmp, zip_path).map_err(|e| fail(&e))
}
