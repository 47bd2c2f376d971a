//! The demo's live view: one line per published topic, redrawn in place on a terminal, or one
//! line per change when the output is a pipe or a file.

use std::collections::BTreeMap;

/// What the broker holds for the demo's topics, as last seen.
#[derive(Debug, Default)]
pub(crate) struct LiveView {
    values: BTreeMap<String, String>,
    drawn: usize,
}

/// Widest payload shown before it is cut.
const MAX_VALUE_CHARS: usize = 60;

impl LiveView {
    /// Records a message; returns the line to print when the output is not a terminal, or
    /// `None` when nothing changed.
    pub(crate) fn update(&mut self, topic: &str, payload: &[u8]) -> Option<String> {
        let value = summarize(topic, payload);
        if self.values.get(topic) == Some(&value) {
            return None;
        }
        let line = format!("{topic} {value}");
        self.values.insert(topic.to_owned(), value);
        Some(line)
    }

    /// The whole table, one line per topic.
    pub(crate) fn lines(&self) -> Vec<String> {
        let width = self.values.keys().map(String::len).max().unwrap_or(0);
        self.values.iter().map(|(topic, value)| format!("  {topic:<width$}  {value}")).collect()
    }

    /// The ANSI text that redraws the table over the previous drawing.
    pub(crate) fn redraw(&mut self) -> String {
        let lines = self.lines();
        let mut out = String::new();
        if self.drawn > 0 {
            out.push_str(&format!("\x1b[{}F", self.drawn));
        }
        for line in &lines {
            out.push_str("\x1b[2K");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("\x1b[J");
        self.drawn = lines.len();
        out
    }
}

/// Discovery messages are long JSON: show what they announce, not the bytes.
fn summarize(topic: &str, payload: &[u8]) -> String {
    if topic.ends_with("/config") {
        if payload.is_empty() {
            return "(removed)".into();
        }
        let value = serde_json::from_slice::<serde_json::Value>(payload).ok();
        if let Some(cmps) = value.as_ref().and_then(|v| v.get("components")?.as_object()) {
            return format!("device discovery, {} entities", cmps.len());
        }
    }
    let text = String::from_utf8_lossy(payload).replace(['\n', '\r'], " ");
    if text.chars().count() > MAX_VALUE_CHARS {
        let cut: String = text.chars().take(MAX_VALUE_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_printed_only_when_it_changes() {
        let mut v = LiveView::default();
        assert_eq!(
            v.update("roomsense/demo/status", b"online").as_deref(),
            Some("roomsense/demo/status online")
        );
        assert_eq!(v.update("roomsense/demo/status", b"online"), None);
        assert!(v.update("roomsense/demo/status", b"offline").is_some());
    }

    #[test]
    fn discovery_is_summarized_and_long_values_are_cut() {
        let mut v = LiveView::default();
        v.update("homeassistant/device/demo/config", br#"{"components":{"a":{},"b":{}}}"#);
        v.update("roomsense/demo/x", "y".repeat(200).as_bytes());
        let lines = v.lines();
        assert!(lines[0].ends_with("device discovery, 2 entities"), "{lines:?}");
        assert!(lines[1].ends_with('…'));
    }

    #[test]
    fn a_redraw_moves_back_over_the_previous_table() {
        let mut v = LiveView::default();
        v.update("a", b"1");
        let first = v.redraw();
        assert!(!first.contains("\x1b[1F"));
        v.update("b", b"2");
        assert!(v.redraw().starts_with("\x1b[1F"));
    }
}
