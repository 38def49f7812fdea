//! `benches/targets.toml`: peer-relative targets (gated by `--check`) and
//! the report's absolute floors (printed only).
//!
//! The file is a small TOML subset: `[scenario-id]` headers and
//! `key = number` lines, `#` comments.

use std::collections::BTreeMap;

/// Targets per scenario id: key -> value.
pub type Targets = BTreeMap<String, BTreeMap<String, f64>>;

/// Keys a scenario may set.
pub const KEYS: &[&str] = &[
    "min_ratio",
    "max_cpu_ratio",
    "min_p50_ratio",
    "min_p99_ratio",
    "floor_mmsgs",
];

/// Reads the targets file (default `benches/targets.toml` next to this
/// crate). A missing or malformed file is an error with its path.
pub fn load(path: Option<&str>) -> Targets {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/targets.toml");
    let path = path.unwrap_or(default);
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read targets file {path}: {e}"));
    parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(text: &str) -> Result<Targets, String> {
    let mut out = Targets::new();
    let mut section: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().trim_matches('"').to_string();
            out.entry(name.clone()).or_default();
            section = Some(name);
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or(format!("line {}: expected `key = number`", n + 1))?;
        let (k, v) = (k.trim(), v.trim());
        if !KEYS.contains(&k) {
            return Err(format!(
                "line {}: unknown key `{k}` (known: {})",
                n + 1,
                KEYS.join(", ")
            ));
        }
        let v: f64 = v
            .parse()
            .map_err(|_| format!("line {}: `{v}` is not a number", n + 1))?;
        let s = section
            .as_ref()
            .ok_or(format!("line {}: key outside a [scenario] section", n + 1))?;
        out.get_mut(s)
            .expect("section inserted")
            .insert(k.to_string(), v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_sections_and_rejects_unknown_keys() {
        let t = super::parse("# c\n[a]\nmin_ratio = 1.5 # note\n[b]\nfloor_mmsgs=52\n").unwrap();
        assert_eq!(t["a"]["min_ratio"], 1.5);
        assert_eq!(t["b"]["floor_mmsgs"], 52.0);
        assert!(
            super::parse("[a]\nspeed = 1\n")
                .unwrap_err()
                .contains("unknown key")
        );
        assert!(
            super::parse("min_ratio = 1\n")
                .unwrap_err()
                .contains("outside")
        );
    }
}
