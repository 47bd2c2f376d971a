//! `roomsense doctor`: looks at a broker the way an attacker would, and at the board the way
//! the broker needs it, and says in plain words what is wrong and how to fix it.
//!
//! [`run`] does the looking (`checks`); the [`Report`] it returns is plain data, rendered as
//! text or JSON, with the exit status the binary returns.

mod checks;
mod tls;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

pub use checks::run;

/// What to check.
#[derive(Debug, Clone)]
pub struct DoctorRequest {
    /// The broker's address as the node uses it.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The CA when that port speaks TLS; plain MQTT when `None`.
    pub tls_ca: Option<PathBuf>,
    /// The TLS listener to check (host, port), and the CA its certificate should chain to.
    pub tls: Option<(String, u16)>,
    /// The CA for the TLS check; without one, the chain is not checked.
    pub ca_file: Option<PathBuf>,
    /// The node's own login from its config: `Err` when it cannot be read, `None` when none is
    /// configured.
    pub node_login: Option<Result<(String, String), String>>,
    /// Topic filters the node's login is meant to read; anything else it can read is reported.
    pub node_own_topics: Vec<String>,
    /// Where the broker keeps its persistence.
    pub data_dir: PathBuf,
    /// How long to listen for what a login can read.
    pub listen_for: Duration,
    /// Now, wall clock.
    pub now: SystemTime,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Fine.
    Ok,
    /// Could not be checked (said why).
    Skipped,
    /// Works, but worth fixing.
    Warn,
    /// Broken: something will not work.
    Fail,
    /// Works, and lets someone in who should not be: fix it first.
    Unsafe,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Skipped => "skipped",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
            Self::Unsafe => "UNSAFE",
        }
    }
}

/// One check's finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name, for machines: `reachable`, `anonymous_login`, `anonymous_read`,
    /// `node_login`, `node_read`, `tls`, `plain_on_network`, `clock`, `disk`.
    pub id: &'static str,
    /// The outcome.
    pub level: Level,
    /// One sentence: what was found.
    pub summary: String,
    /// Evidence (topics read, certificate details), one item per line.
    pub details: Vec<String>,
    /// What to do about it, when something should be done.
    pub fix: Option<String>,
}

impl Check {
    pub(crate) fn new(id: &'static str, level: Level, summary: impl Into<String>) -> Self {
        Self { id, level, summary: summary.into(), details: Vec::new(), fix: None }
    }

    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub(crate) fn details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

/// Every finding of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The broker looked at, `host:port`.
    pub broker: String,
    /// No check found anything unsafe.
    pub safe: bool,
    /// The findings, in the order checked.
    pub checks: Vec<Check>,
}

impl Report {
    pub(crate) fn new(broker: String, checks: Vec<Check>) -> Self {
        let safe = checks.iter().all(|c| c.level != Level::Unsafe);
        Self { broker, safe, checks }
    }

    /// 0 when nothing is unsafe or broken, 1 when something is unsafe, 2 when something is
    /// broken but nothing unsafe.
    pub fn exit_code(&self) -> u8 {
        match self.checks.iter().map(|c| c.level).max() {
            Some(Level::Unsafe) => 1,
            Some(Level::Fail) => 2,
            _ => 0,
        }
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = format!("roomsense doctor: {}\n\n", self.broker);
        for c in &self.checks {
            out.push_str(&format!("[{:^7}] {}\n", c.level.label(), c.summary));
            for d in &c.details {
                out.push_str(&format!("          {d}\n"));
            }
            if let Some(fix) = &c.fix {
                out.push_str(&format!("          fix: {fix}\n"));
            }
        }
        let count = |l: Level| self.checks.iter().filter(|c| c.level == l).count();
        out.push_str(&format!(
            "\n{}: {} unsafe, {} broken, {} warnings\n",
            if self.safe { "safe" } else { "NOT SAFE" },
            count(Level::Unsafe),
            count(Level::Fail),
            count(Level::Warn)
        ));
        out
    }

    /// The report for machines.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report should serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_unsafe_finding_makes_the_report_unsafe_and_the_exit_status_one() {
        let report = Report::new(
            "127.0.0.1:1883".into(),
            vec![
                Check::new("reachable", Level::Ok, "reachable"),
                Check::new("disk", Level::Fail, "disk full"),
                Check::new("anonymous_login", Level::Unsafe, "anonymous allowed")
                    .fix("allow_anonymous false"),
            ],
        );
        assert!(!report.safe);
        assert_eq!(report.exit_code(), 1);
        let text = report.to_text();
        assert!(
            text.contains("[UNSAFE ] anonymous allowed\n          fix: allow_anonymous false\n"),
            "{text}"
        );
        assert!(text.ends_with("NOT SAFE: 1 unsafe, 1 broken, 0 warnings\n"), "{text}");
    }

    #[test]
    fn warnings_alone_exit_zero_and_broken_alone_exit_two() {
        let warn = Report::new("h:1".into(), vec![Check::new("tls", Level::Warn, "expires soon")]);
        assert_eq!(warn.exit_code(), 0);
        assert!(warn.safe);
        let fail = Report::new("h:1".into(), vec![Check::new("reachable", Level::Fail, "no")]);
        assert_eq!(fail.exit_code(), 2);
    }

    #[test]
    fn the_json_form_names_each_check_and_level() {
        let report = Report::new("h:1".into(), vec![Check::new("clock", Level::Ok, "sane")]);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["safe"], true);
        assert_eq!(v["checks"][0]["id"], "clock");
        assert_eq!(v["checks"][0]["level"], "ok");
    }
}
