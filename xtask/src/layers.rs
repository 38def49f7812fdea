//! `cargo xtask layers`: checks the crate layering of docs/architecture.md#layers.
//!
//! Reads `cargo metadata --no-deps`, which lists every dependency of every
//! workspace member with its kind (normal, dev, build) and target, and checks
//! three rules:
//!
//! 1. every workspace package has a row in [`LAYERS`];
//! 2. each nimsync dependency of a package is allowed by its row (dev- and
//!    build-dependencies obey the same table as normal ones);
//! 3. the peer crates of the benchmark ([`PEERS`]) are dependencies of
//!    [`PEER_HOME`] only.
//!
//! Every violation is reported, naming the offending edge, before failing.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Stdio;

use serde_json::Value;

use crate::Args;
use crate::util::{self, Result};

/// Which nimsync crates a package may depend on.
#[derive(Debug)]
enum Allowed {
    /// Exactly these nimsync crates (possibly none).
    Only(&'static [&'static str]),
    /// Any crate at all, peers included.
    Anything,
}

/// One row of the layer table.
#[derive(Debug)]
struct Layer {
    /// The package name.
    krate: &'static str,
    /// The layer number as printed in docs/architecture.md (`-` for tooling).
    layer: &'static str,
    /// The nimsync crates it may depend on.
    allowed: Allowed,
}

/// The layer table of docs/architecture.md#layers: keep the two in step.
const LAYERS: &[Layer] = &[
    Layer {
        krate: "nimsync-channel",
        layer: "1",
        allowed: Allowed::Only(&[]),
    },
    Layer {
        krate: "nimsync-time",
        layer: "1",
        allowed: Allowed::Only(&[]),
    },
    Layer {
        krate: "nimsync-select",
        layer: "2",
        allowed: Allowed::Only(&["nimsync-channel", "nimsync-time"]),
    },
    Layer {
        krate: "nimsync-scheduler",
        layer: "2",
        allowed: Allowed::Only(&["nimsync-time"]),
    },
    Layer {
        krate: "nimsync-group",
        layer: "3",
        allowed: Allowed::Only(&["nimsync-time", "nimsync-scheduler"]),
    },
    Layer {
        krate: "nimsync-stream",
        layer: "3",
        allowed: Allowed::Only(&["nimsync-channel", "nimsync-time"]),
    },
    Layer {
        krate: "nimsync-actor",
        layer: "4",
        allowed: Allowed::Only(&[
            "nimsync-channel",
            "nimsync-time",
            "nimsync-scheduler",
            "nimsync-group",
            "nimsync-stream",
        ]),
    },
    Layer {
        krate: "nimsync",
        layer: "5",
        allowed: Allowed::Only(&[
            "nimsync-channel",
            "nimsync-time",
            "nimsync-select",
            "nimsync-scheduler",
            "nimsync-group",
            "nimsync-stream",
            "nimsync-actor",
        ]),
    },
    Layer {
        krate: "nimsync-nats",
        layer: "edge",
        allowed: Allowed::Only(&[
            "nimsync-channel",
            "nimsync-time",
            "nimsync-scheduler",
            "nimsync-group",
            "nimsync-stream",
        ]),
    },
    Layer {
        krate: "nimsync-benches",
        layer: "-",
        allowed: Allowed::Anything,
    },
    Layer {
        krate: "xtask",
        layer: "-",
        allowed: Allowed::Only(&[]),
    },
];

/// The peer crates the benchmark compares against.
const PEERS: &[&str] = &[
    "crossbeam-channel",
    "flume",
    "kanal",
    "rtrb",
    "ringbuf",
    "tokio",
    "tokio-stream",
    "async-channel",
    "async-broadcast",
    "async-executor",
    "smol",
    "async-std",
    "ractor",
    "kameo",
];

/// The only package allowed to depend on [`PEERS`] for comparison.
const PEER_HOME: &str = "nimsync-benches";

/// Peers a package needs for what it is, not to compare against: the NATS
/// bridge runs async-nats, which needs a tokio runtime
/// (docs/architecture.md#layers).
const PEER_NEEDS: &[(&str, &str)] = &[("nimsync-nats", "tokio")];

/// One dependency edge of a workspace package.
#[derive(Debug)]
struct Edge {
    /// The package name of the dependency (not its rename).
    name: String,
    /// `normal`, `dev` or `build`.
    kind: String,
    /// The `cfg(..)` or triple it is limited to, if any.
    target: Option<String>,
}

impl Edge {
    /// Describes the edge's kind (and target) for messages.
    fn describe_kind(&self) -> String {
        let kind = match self.kind.as_str() {
            "normal" => "dependency".to_owned(),
            other => format!("{other}-dependency"),
        };
        match &self.target {
            Some(target) => format!("{kind}, target {target}"),
            None => kind,
        }
    }
}

/// A workspace package and its dependency edges.
#[derive(Debug)]
struct Package {
    /// The package name.
    name: String,
    /// Its dependencies, all kinds.
    deps: Vec<Edge>,
}

/// Runs the check.
///
/// # Errors
/// When `cargo metadata` fails or any rule is broken.
pub(crate) fn run(args: Args) -> Result {
    if let Some(extra) = args.positionals()?.first() {
        return Err(format!("layers takes no arguments, got `{extra}`"));
    }
    let packages = metadata()?;
    let (rows, violations) = check(&packages);
    print_table(&rows);
    if violations.is_empty() {
        println!(
            "layers: ok ({} workspace packages, every dependency kind checked)",
            packages.len()
        );
        Ok(())
    } else {
        for violation in &violations {
            eprintln!("layers: {violation}");
        }
        Err(format!(
            "layers: {} violation(s) of the layer table (docs/architecture.md#layers, xtask/src/layers.rs)",
            violations.len()
        ))
    }
}

/// One printed row: crate, layer, nimsync deps, peer deps, result.
type Row = [String; 5];

/// Applies the three rules to `packages`: a table row per package, and a
/// message per violation naming the offending edge.
fn check(packages: &[Package]) -> (Vec<Row>, Vec<String>) {
    let names: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    let is_nimsync = |dep: &str| {
        names.contains(dep) || dep.starts_with("nimsync") || LAYERS.iter().any(|l| l.krate == dep)
    };

    let mut violations = Vec::new();
    let mut rows = Vec::new();
    for package in packages {
        let Some(row) = LAYERS.iter().find(|l| l.krate == package.name) else {
            violations.push(format!(
                "{}: workspace package not in the layer table: add it to the layer table \
                 in xtask/src/layers.rs and docs/architecture.md",
                package.name
            ));
            rows.push([
                package.name.clone(),
                "?".into(),
                "?".into(),
                "?".into(),
                "NOT IN TABLE".into(),
            ]);
            continue;
        };
        let mut ours = Vec::new();
        let mut peers = Vec::new();
        let before = violations.len();
        for dep in &package.deps {
            if is_nimsync(&dep.name) {
                ours.push(label(dep));
                if let Allowed::Only(allowed) = row.allowed {
                    if !allowed.contains(&dep.name.as_str()) {
                        violations.push(format!(
                            "{} -> {} ({}): {} may depend on {} (docs/architecture.md#layers)",
                            package.name,
                            dep.name,
                            dep.describe_kind(),
                            package.name,
                            allowed_text(allowed),
                        ));
                    }
                }
            }
            if PEERS.contains(&dep.name.as_str()) {
                peers.push(label(dep));
                let needed = PEER_NEEDS.contains(&(package.name.as_str(), dep.name.as_str()));
                if package.name != PEER_HOME && !needed {
                    violations.push(format!(
                        "{} -> {} ({}): peer crates may only be dependencies of {PEER_HOME}",
                        package.name,
                        dep.name,
                        dep.describe_kind(),
                    ));
                }
            }
        }
        let status = if violations.len() == before {
            "ok"
        } else {
            "VIOLATION"
        };
        rows.push([
            package.name.clone(),
            row.layer.to_owned(),
            list(&ours),
            list(&peers),
            status.to_owned(),
        ]);
    }

    (rows, violations)
}

/// Runs `cargo metadata` and returns the workspace packages, sorted by name.
fn metadata() -> Result<Vec<Package>> {
    let mut cmd = util::cargo();
    cmd.args(["metadata", "--format-version", "1", "--no-deps"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    eprintln!("$ {}", util::display(&cmd));
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", util::display(&cmd)))?;
    if !output.status.success() {
        return Err(format!(
            "`{}` failed ({})",
            util::display(&cmd),
            util::describe(output.status)
        ));
    }
    let json: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cannot parse `cargo metadata` output: {e}"))?;
    parse(&json)
}

/// Extracts the workspace packages and their dependencies from metadata.
fn parse(json: &Value) -> Result<Vec<Package>> {
    let bad = |what: &str| format!("unexpected `cargo metadata` output: {what}");
    let members: BTreeSet<&str> = json["workspace_members"]
        .as_array()
        .ok_or_else(|| bad("no `workspace_members` array"))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut packages = Vec::new();
    for package in json["packages"]
        .as_array()
        .ok_or_else(|| bad("no `packages` array"))?
    {
        let id = package["id"].as_str().unwrap_or_default();
        if !members.contains(id) {
            continue;
        }
        let name = package["name"]
            .as_str()
            .ok_or_else(|| bad("a package without a name"))?
            .to_owned();
        let mut deps = Vec::new();
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            deps.push(Edge {
                name: dep["name"]
                    .as_str()
                    .ok_or_else(|| bad("a dependency without a name"))?
                    .to_owned(),
                kind: dep["kind"].as_str().unwrap_or("normal").to_owned(),
                target: dep["target"].as_str().map(str::to_owned),
            });
        }
        packages.push(Package { name, deps });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

/// `name` or `name (dev)` / `name (build)` for the table.
fn label(dep: &Edge) -> String {
    if dep.kind == "normal" {
        dep.name.clone()
    } else {
        format!("{} ({})", dep.name, dep.kind)
    }
}

/// Comma-separated list, or `-` when empty.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}

/// What an `Allowed::Only` list permits, in words.
fn allowed_text(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "no nimsync crate".to_owned()
    } else {
        format!("only {}", allowed.join(", "))
    }
}

/// Prints the rows under a header, columns padded to fit.
fn print_table(rows: &[Row]) {
    let header = ["crate", "layer", "nimsync deps", "peer deps", "result"];
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::from(" ");
        for (cell, width) in cells.iter().zip(widths) {
            let _ = write!(out, " {cell:<width$} ");
        }
        println!("{}", out.trim_end());
    };
    line(header);
    for row in rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
}

/// Unit tests of the rules, on made-up workspaces.
#[cfg(test)]
mod tests {
    use super::*;

    /// A package with `(name, kind)` dependencies.
    fn package(name: &str, deps: &[(&str, &str)]) -> Package {
        Package {
            name: name.to_owned(),
            deps: deps
                .iter()
                .map(|&(name, kind)| Edge {
                    name: name.to_owned(),
                    kind: kind.to_owned(),
                    target: None,
                })
                .collect(),
        }
    }

    /// The workspace as it stands, plus a lawful layer-2 crate, passes.
    #[test]
    fn current_shape_passes() {
        let packages = [
            package("nimsync-channel", &[("crossbeam-utils", "normal")]),
            package(
                "nimsync-benches",
                &[("nimsync-channel", "normal"), ("tokio", "dev")],
            ),
            package("nimsync-select", &[("nimsync-channel", "normal")]),
            package("xtask", &[("serde_json", "normal")]),
        ];
        let (rows, violations) = check(&packages);
        assert_eq!(rows.len(), 4);
        assert!(violations.is_empty(), "{violations:?}");
    }

    /// A dev-dependency obeys the table and its edge is named.
    #[test]
    fn upward_dev_dependency_is_named() {
        let packages = [package("nimsync-channel", &[("nimsync-time", "dev")])];
        let (_, violations) = check(&packages);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].starts_with("nimsync-channel -> nimsync-time (dev-dependency)"));
    }

    /// xtask may use no nimsync crate, not even as a build-dependency.
    #[test]
    fn xtask_may_not_use_nimsync_crates() {
        let packages = [package("xtask", &[("nimsync-channel", "build")])];
        let (_, violations) = check(&packages);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].contains("build-dependency"));
    }

    /// A peer crate outside nimsync-benches is refused.
    #[test]
    fn peers_only_in_benches() {
        let packages = [package("nimsync-channel", &[("flume", "dev")])];
        let (_, violations) = check(&packages);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].contains("nimsync-benches"));
    }

    /// A workspace package missing from the table is an error.
    #[test]
    fn unknown_package_is_an_error() {
        let packages = [package("nimsync-extra", &[])];
        let (rows, violations) = check(&packages);
        assert_eq!(rows[0][4], "NOT IN TABLE");
        assert!(violations[0].contains("add it to the layer table in xtask/src/layers.rs"));
    }
}
