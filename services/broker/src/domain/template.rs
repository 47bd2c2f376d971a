//! `@name@` placeholders in the shipped templates, filled in; a placeholder left over is an error.

/// Fills every `@name@` in `template` from `values`; trailing spaces left by empty values are
/// trimmed. Returns the name of the first placeholder with no value.
pub(crate) fn render(template: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("@{name}@"), value);
    }
    if let Some(start) = text.find('@') {
        let rest = &text[start + 1..];
        if let Some(end) = rest.find('@') {
            let name = &rest[..end];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return Err(name.to_owned());
            }
        }
    }
    let mut out: String = text.lines().map(|l| format!("{}\n", l.trim_end())).collect();
    if !template.ends_with('\n') {
        out.pop();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_and_empty_values_leave_no_trailing_space() {
        let out = render(
            "listener @port@ @bind@\nuser @user@\n",
            &[("port", "8883"), ("bind", ""), ("user", "mosquitto")],
        );
        assert_eq!(out.unwrap(), "listener 8883\nuser mosquitto\n");
    }

    #[test]
    fn a_placeholder_without_a_value_is_named() {
        assert_eq!(render("a @port@ b\n", &[]).unwrap_err(), "port");
    }

    #[test]
    fn an_email_like_at_sign_is_not_a_placeholder() {
        assert!(render("# mail me@example.org\n", &[]).is_ok());
    }
}
