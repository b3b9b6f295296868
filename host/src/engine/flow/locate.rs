//! Where a step or a field is in a flow file, for error messages: a line scan of the source,
//! since the YAML decoder keeps no positions once a value is decoded.

/// The line and column of the field of step `step` whose value is `value`.
pub(super) fn locate_value(source: &str, step: &str, value: &str) -> Option<(usize, usize)> {
    let (step_line, step_column) = locate(source, step, None)?;
    for (i, line) in source.lines().enumerate().skip(step_line) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && indent < step_column {
            break;
        }
        if let Some((_, v)) = trimmed.split_once(':')
            && v.trim().trim_matches(|c| c == '"' || c == '\'') == value
        {
            return Some((i + 1, indent + 1));
        }
    }
    None
}

/// The line and column of a top-level key.
pub(super) fn locate_top(source: &str, key: &str) -> Option<(usize, usize)> {
    source
        .lines()
        .position(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with(':'))
        .map(|i| (i + 1, 1))
}

/// The line and column of step `step` under `steps:`, or of its `field` when given and found.
pub(super) fn locate(source: &str, step: &str, field: Option<&str>) -> Option<(usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let steps_at = lines
        .iter()
        .position(|l| l.starts_with("steps") && l[5..].trim_start().starts_with(':'))?;
    let mut step_at = None;
    let mut step_indent = 0;
    for (i, line) in lines.iter().enumerate().skip(steps_at + 1) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if step_at.is_none() {
            let key = trimmed.trim_matches(|c| c == '"' || c == '\'');
            if indent > 0
                && (key.starts_with(&format!("{step}:"))
                    || trimmed.starts_with(&format!("\"{step}\":")))
            {
                step_at = Some((i + 1, indent + 1));
                step_indent = indent;
            }
            continue;
        }
        if !trimmed.is_empty() && !trimmed.starts_with('#') && indent <= step_indent {
            break;
        }
        if let Some(field) = field {
            let item = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            if item.starts_with(&format!("{field}:")) || item.starts_with(&format!("\"{field}\":"))
            {
                return Some((i + 1, indent + 1 + (trimmed.len() - item.len())));
            }
        }
    }
    if field.is_some() { None } else { step_at }
}
