//! The CSV the import reads: RFC 4180 with a header row, rows addressed by
//! column name, every error naming its file, line and column.

use anyhow::{Result, anyhow, bail};

/// Rows read from one file at most.
pub const ROWS_MAX: usize = 100_000;

/// One CSV file: its header and rows, with line numbers for errors.
pub struct Table {
    file: String,
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    /// Parses RFC 4180 CSV: comma-separated, a field in double quotes may hold
    /// commas, newlines and doubled quotes; a field that does not start with a
    /// quote is taken as written (so `["a","b"]` needs no quoting).
    pub fn parse(file: &str, text: &str) -> Result<Table> {
        let mut records: Vec<(usize, Vec<String>)> = vec![];
        let mut field = String::new();
        let mut record: Vec<String> = vec![];
        let (mut line, mut record_line) = (1usize, 1usize);
        let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
        let mut quoted = false;
        let mut at_field_start = true;
        while let Some(c) = chars.next() {
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    '\n' => {
                        line += 1;
                        field.push('\n');
                    }
                    c => field.push(c),
                }
                continue;
            }
            match c {
                '"' if at_field_start => {
                    quoted = true;
                    at_field_start = false;
                }
                ',' => {
                    record.push(std::mem::take(&mut field));
                    at_field_start = true;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    record.push(std::mem::take(&mut field));
                    records.push((record_line, std::mem::take(&mut record)));
                    line += 1;
                    record_line = line;
                    at_field_start = true;
                }
                c => {
                    field.push(c);
                    at_field_start = false;
                }
            }
            if records.len() > ROWS_MAX {
                bail!("{file}: more than {ROWS_MAX} rows");
            }
        }
        if quoted {
            bail!("{file}:{record_line}: a quoted field is not closed");
        }
        if !field.is_empty() || !record.is_empty() {
            record.push(field);
            records.push((record_line, record));
        }
        records.retain(|(_, r)| !(r.len() == 1 && r[0].trim().is_empty()));
        let mut records = records.into_iter();
        let (_, header) = records
            .next()
            .ok_or_else(|| anyhow!("{file}: empty (a header row is needed)"))?;
        let header: Vec<String> = header
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let rows: Vec<_> = records.collect();
        for (n, r) in &rows {
            if r.len() > header.len() {
                bail!(
                    "{file}:{n}: {} fields, the header has {}",
                    r.len(),
                    header.len()
                );
            }
        }
        Ok(Table {
            file: file.into(),
            header,
            rows,
        })
    }

    pub fn has(&self, column: &str) -> bool {
        self.header.iter().any(|h| h == column)
    }

    /// The rows as column → value (trimmed; missing trailing fields are empty).
    pub fn records(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|(line, fields)| Row {
            table: self,
            line: *line,
            fields,
        })
    }
}

/// One row of a [`Table`].
pub struct Row<'a> {
    table: &'a Table,
    line: usize,
    fields: &'a [String],
}

impl Row<'_> {
    pub fn get(&self, column: &str) -> Option<&str> {
        let i = self.table.header.iter().position(|h| h == column)?;
        self.fields
            .get(i)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn at(&self, column: &str) -> String {
        format!("{}:{} ({column})", self.table.file, self.line)
    }

    pub fn required(&self, column: &str) -> Result<&str> {
        self.get(column)
            .ok_or_else(|| anyhow!("{}: required", self.at(column)))
    }

    pub fn int(&self, column: &str) -> Result<Option<i64>> {
        self.get(column)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| anyhow!("{}: `{v}` is not a whole number", self.at(column)))
            })
            .transpose()
    }

    pub fn minor(&self, column: &str) -> Result<Option<i64>> {
        match self.int(column)? {
            Some(v) if v < 0 => bail!("{}: must not be negative", self.at(column)),
            other => Ok(other),
        }
    }

    pub fn flag(&self, column: &str, default: bool) -> Result<bool> {
        match self.get(column).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "yes" | "1") => Ok(true),
            Some("false" | "no" | "0") => Ok(false),
            Some(v) => bail!("{}: `{v}` is not true or false", self.at(column)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted_or_hold_raw_json() {
        let t = Table::parse(
            "p.csv",
            "id,title,eligible\r\na,\"Roses, red\",[\"x\"]\n\nb,\"say \"\"hi\"\"\",\n",
        )
        .unwrap();
        let rows: Vec<_> = t.records().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get("title"), Some("Roses, red"));
        assert_eq!(rows[0].get("eligible"), Some("[\"x\"]"));
        assert_eq!(rows[1].get("title"), Some("say \"hi\""));
        assert_eq!(rows[1].get("eligible"), None);
        assert!(Table::parse("p.csv", "a,b\n1,2,3\n").is_err());
        assert!(Table::parse("p.csv", "a\n\"open\n").is_err());
        assert!(Table::parse("p.csv", "").is_err());
    }
}
