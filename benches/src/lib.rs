//! Helpers shared by nhiwatch's benchmark binaries: generated input and memory readings.

/// Peak resident memory of this process in KiB (`VmHWM`), where the OS reports it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

/// Reads a count from the environment, with a default (lets CI smoke-run a bench quickly).
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Splits JSON Lines into pieces of `per_piece` lines (the files an archive would hold).
pub fn split_lines(input: &[u8], per_piece: usize) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut current = Vec::new();
    let mut lines = 0;
    for line in input.split_inclusive(|b| *b == b'\n') {
        current.extend_from_slice(line);
        lines += 1;
        if lines == per_piece {
            pieces.push(std::mem::take(&mut current));
            lines = 0;
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}
