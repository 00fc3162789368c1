//! The few statements that cannot be constants: `IN (…)` lists and multi-row
//! `VALUES` sized to a batch, and row locks only PostgreSQL takes. Their fixed parts
//! are named constants beside the code that runs them; these helpers only join them.

use crate::Backend;
use sqlx::AssertSqlSafe;
use std::borrow::Cow;

/// Locks the rows a `SELECT` returns until the transaction ends.
pub(crate) const FOR_UPDATE: &str = "
   FOR UPDATE";

/// The row-lock clause `lock` on PostgreSQL, where concurrent transactions must
/// queue on the rows they read (taken in the statement's `ORDER BY`, the one lock
/// order, so they cannot deadlock); nothing on SQLite, whose single writer already
/// runs write transactions one at a time.
pub(crate) fn row_lock(backend: Backend, lock: &'static str) -> &'static str {
    match backend {
        Backend::Postgres => lock,
        Backend::Sqlite => "",
    }
}

/// `select` followed by [`row_lock`] (no copy on SQLite).
pub(crate) fn with_row_lock(
    backend: Backend,
    select: &'static str,
    lock: &'static str,
) -> AssertSqlSafe<Cow<'static, str>> {
    AssertSqlSafe(match row_lock(backend, lock) {
        "" => Cow::Borrowed(select),
        lock => Cow::Owned(format!("{select}{lock}")),
    })
}

/// `head (…) tail` with `count` placeholders in the list, numbered from `$first`.
/// Only placeholders are generated: the values are bound, never spliced in.
pub(crate) fn in_list(head: &str, first: usize, count: usize, tail: &str) -> AssertSqlSafe<String> {
    debug_assert!(count > 0, "`IN ()` is not SQL");
    AssertSqlSafe(format!("{head} ({}){tail}", placeholders(first, count)))
}

/// `head` followed by `VALUES` with `rows` rows of `columns` placeholders each,
/// numbered row by row from `$1`.
pub(crate) fn values_rows(head: &str, columns: usize, rows: usize) -> AssertSqlSafe<String> {
    debug_assert!(columns > 0 && rows > 0, "`VALUES` needs a row");
    let rows: Vec<String> = (0..rows)
        .map(|row| format!("({})", placeholders(row * columns + 1, columns)))
        .collect();
    AssertSqlSafe(format!("{head}\nVALUES {}", rows.join(",\n       ")))
}

/// `head` (ending in `CASE id`) followed by `count` pairs `WHEN $1 THEN $2`,
/// `WHEN $3 THEN $4`, …, `END`, and a `WHERE id IN` list of the odd
/// placeholders again: one statement setting a column per row by id.
pub(crate) fn case_by_id(head: &str, count: usize) -> AssertSqlSafe<String> {
    debug_assert!(count > 0, "`CASE` needs a `WHEN`");
    let whens: Vec<String> = (0..count)
        .map(|i| format!("WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2))
        .collect();
    let ids: Vec<String> = (0..count).map(|i| format!("${}", 2 * i + 1)).collect();
    AssertSqlSafe(format!(
        "{head} {} END\n WHERE id IN ({})",
        whens.join(" "),
        ids.join(", ")
    ))
}

/// `$first, $first+1, …`: `count` placeholders.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_rows_number_their_placeholders() {
        let list = in_list(
            "SELECT a FROM t WHERE m = $1 AND a IN",
            2,
            3,
            "\n ORDER BY a",
        );
        assert_eq!(
            list.0,
            "SELECT a FROM t WHERE m = $1 AND a IN ($2, $3, $4)\n ORDER BY a"
        );
        let case = case_by_id("UPDATE t SET a = CASE id", 2);
        assert_eq!(
            case.0,
            "UPDATE t SET a = CASE id WHEN $1 THEN $2 WHEN $3 THEN $4 END\n WHERE id IN ($1, $3)"
        );
        let rows = values_rows("INSERT INTO t (a, b)", 2, 2);
        assert_eq!(
            rows.0,
            "INSERT INTO t (a, b)\nVALUES ($1, $2),\n       ($3, $4)"
        );
    }

    #[test]
    fn only_postgresql_locks_rows() {
        let select = "SELECT a FROM t ORDER BY a";
        assert_eq!(with_row_lock(Backend::Sqlite, select, FOR_UPDATE).0, select);
        assert_eq!(
            with_row_lock(Backend::Postgres, select, FOR_UPDATE).0,
            "SELECT a FROM t ORDER BY a\n   FOR UPDATE"
        );
    }
}
