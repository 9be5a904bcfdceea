//! How results are printed: a table for people, JSON or YAML for scripts (the API's own
//! field names), or ids only with `--quiet`.

use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;

/// Output format (`-o`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// JSON, as the REST API returns it.
    Json,
    /// YAML, the same fields as JSON.
    Yaml,
}

/// A column: header and how to render a row's cell.
pub type Column<'a, T> = (&'a str, &'a dyn Fn(&T) -> String);

/// Prints results in the chosen format.
#[derive(Clone, Copy, Debug, Default)]
pub struct Output {
    /// The format.
    pub format: Format,
    /// Ids (or names) only, one per line.
    pub quiet: bool,
}

impl Output {
    /// Renders `items` to a string.
    pub fn render_list<T: Serialize>(
        &self,
        items: &[T],
        columns: &[Column<'_, T>],
        id: &dyn Fn(&T) -> String,
    ) -> Result<String, String> {
        if self.quiet {
            return Ok(items.iter().map(|i| id(i) + "\n").collect());
        }
        match self.format {
            Format::Json => structured(items, Format::Json),
            Format::Yaml => structured(items, Format::Yaml),
            Format::Table => {
                let header: Vec<String> = columns.iter().map(|c| c.0.to_uppercase()).collect();
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|i| columns.iter().map(|c| (c.1)(i)).collect())
                    .collect();
                Ok(table(&header, &rows))
            }
        }
    }

    /// Renders one item: `fields` as `name: value` lines in a table.
    pub fn render_one<T: Serialize>(
        &self,
        item: &T,
        fields: &[(&str, String)],
        id: &str,
    ) -> Result<String, String> {
        if self.quiet {
            return Ok(format!("{id}\n"));
        }
        match self.format {
            Format::Json => structured(item, Format::Json),
            Format::Yaml => structured(item, Format::Yaml),
            Format::Table => {
                // The widest name and its colon.
                let width = fields.iter().map(|f| f.0.len() + 1).max().unwrap_or(0);
                Ok(fields
                    .iter()
                    .map(|(k, v)| format!("{:width$}  {v}\n", format!("{k}:")))
                    .collect())
            }
        }
    }

    /// Prints a list.
    pub fn list<T: Serialize>(
        &self,
        items: &[T],
        columns: &[Column<'_, T>],
        id: &dyn Fn(&T) -> String,
    ) -> Result<(), String> {
        emit(&self.render_list(items, columns, id)?)
    }

    /// Prints one item.
    pub fn one<T: Serialize>(
        &self,
        item: &T,
        fields: &[(&str, String)],
        id: &str,
    ) -> Result<(), String> {
        emit(&self.render_one(item, fields, id)?)
    }

    /// Prints the outcome of a command that returns nothing: `message` for people, `value`
    /// for scripts, `id` with `--quiet`.
    pub fn done<T: Serialize>(&self, message: &str, value: &T, id: &str) -> Result<(), String> {
        if self.quiet {
            return emit(&format!("{id}\n"));
        }
        match self.format {
            Format::Table => emit(&format!("{message}\n")),
            f => emit(&structured(value, f)?),
        }
    }

    /// Prints a text (a log) as it is, or `value` for scripts (`-o json|yaml`).
    pub fn text<T: Serialize>(&self, text: &str, value: &T) -> Result<(), String> {
        if self.quiet || self.format == Format::Table {
            return emit(text);
        }
        emit(&structured(value, self.format)?)
    }
}

fn structured<T: Serialize + ?Sized>(value: &T, format: Format) -> Result<String, String> {
    match format {
        Format::Yaml => yaml_serde::to_string(value).map_err(|e| e.to_string()),
        _ => serde_json::to_string_pretty(value)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
    }
}

pub(crate) fn emit(s: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        // `harbor project list | head` closes the pipe early: not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| e.to_string()),
    }
}

/// An API time for people: `never` for Harbor's zero time (`0001-01-01T00:00:00Z`, an
/// artifact never pulled) or none.
pub fn time(t: Option<&str>) -> String {
    match t.map(str::trim) {
        None | Some("") => "never".into(),
        Some(t) if t.starts_with("0001-01-01") => "never".into(),
        Some(t) => t.to_owned(),
    }
}

/// A robot's `expires_at` (Unix seconds, -1 for never) for people: `never` or an RFC 3339
/// UTC time.
pub fn expiry(secs: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    if secs < 0 {
        return "never".into();
    }
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

/// Left-aligned columns separated by two spaces.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(header);
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct P {
        name: String,
        public: bool,
    }

    fn items() -> Vec<P> {
        vec![
            P {
                name: "library".into(),
                public: true,
            },
            P {
                name: "a-longer-name".into(),
                public: false,
            },
        ]
    }

    #[test]
    fn never_reads_as_never() {
        assert_eq!(time(Some("0001-01-01T00:00:00.000Z")), "never");
        assert_eq!(time(None), "never");
        assert_eq!(
            time(Some("2026-12-05T21:07:11.000Z")),
            "2026-12-05T21:07:11.000Z"
        );
        assert_eq!(expiry(-1), "never");
        assert_eq!(expiry(1_796_504_831), "2026-12-05T21:07:11Z");
    }

    #[test]
    fn renders_tables_json_yaml_and_ids() {
        let name = |p: &P| p.name.clone();
        let public = |p: &P| p.public.to_string();
        let cols: [Column<'_, P>; 2] = [("name", &name), ("public", &public)];
        let t = Output::default()
            .render_list(&items(), &cols, &name)
            .unwrap();
        assert_eq!(
            t,
            "NAME           PUBLIC\nlibrary        true\na-longer-name  false\n"
        );
        let j = Output {
            format: Format::Json,
            quiet: false,
        }
        .render_list(&items(), &cols, &name)
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v[1]["name"], "a-longer-name");
        let y = Output {
            format: Format::Yaml,
            quiet: false,
        }
        .render_list(&items(), &cols, &name)
        .unwrap();
        assert!(y.contains("- name: library\n  public: true\n"), "{y}");
        let q = Output {
            format: Format::Json,
            quiet: true,
        }
        .render_list(&items(), &cols, &name)
        .unwrap();
        assert_eq!(q, "library\na-longer-name\n");
    }
}
