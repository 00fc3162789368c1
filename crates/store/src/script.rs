//! Statements sent together.
//!
//! sqlx runs each SQLite connection on a thread of its own and sends it every
//! statement as a message, waiting for the answer: two thread wake-ups per
//! statement, which cost several times a small statement's own work (see
//! `bench/PROFILE.md`). A query text holding several statements is one message:
//! sqlx-sqlite prepares and steps them one after the other on its thread, binding
//! `$N` across all of them, and streams each statement's rows and its result back.
//! So the statements of a write transaction that do not need one another's
//! answers in Rust go to SQLite as one [`Script`].
//!
//! PostgreSQL's extended protocol takes one statement per message when it has
//! parameters, so there a script runs its statements one after the other: the
//! same statements in the same order, with the same results, on both engines.
//!
//! Every statement of a script runs even when an earlier one's result will
//! refuse the write (a compare-and-swap that matched no row). Scripts are for
//! transactions: the caller checks the outcomes and returns an error, which
//! rolls the whole transaction back, so nothing of a refused script is kept.
//! An error raised by the database stops the script where it happened.
//!
//! sqlx calls several statements in one prepared query deprecated (its issue
//! 3108) but still runs them in 0.9; the conformance tests run scripts on both
//! engines, so an upgrade that drops it fails there, not in production.

use crate::{Backend, StoreResult};
use futures_util::TryStreamExt;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{AnyConnection, Arguments, AssertSqlSafe, Either, Executor};
use std::borrow::Cow;

/// A bound value. Owned, so a statement can be built before the script runs.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
    OptionalText(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::OptionalText(v)
    }
}

/// One statement and its arguments (`$1`… numbered within the statement).
#[derive(Clone, Debug)]
pub(crate) struct Statement {
    sql: Cow<'static, str>,
    values: Vec<Value>,
}

impl Statement {
    pub(crate) fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Statement {
            sql: sql.into(),
            values: Vec::new(),
        }
    }

    /// Binds the next `$N`.
    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    /// Runs this statement by itself.
    pub(crate) async fn run(self, conn: &mut AnyConnection) -> StoreResult<Outcome> {
        let mut outcomes = run_one(conn, self.sql, self.values).await?;
        Ok(outcomes.pop().unwrap_or_default())
    }
}

/// What one statement of a script did.
#[derive(Default)]
pub(crate) struct Outcome {
    /// Rows the statement inserted, updated or deleted (meaningless for a SELECT).
    pub rows_affected: u64,
    /// Rows it returned (a SELECT, or `RETURNING`).
    pub rows: Vec<AnyRow>,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("rows_affected", &self.rows_affected)
            .field("rows", &self.rows.len())
            .finish()
    }
}

/// Statements to run in order on one connection (see the module docs).
#[derive(Debug)]
pub(crate) struct Script {
    backend: Backend,
    statements: Vec<Statement>,
}

impl Script {
    pub(crate) fn new(backend: Backend) -> Self {
        Script {
            backend,
            statements: Vec::new(),
        }
    }

    /// Adds a statement; its outcome will be at the index returned.
    pub(crate) fn push(&mut self, statement: Statement) -> usize {
        self.statements.push(statement);
        self.statements.len() - 1
    }

    /// How many statements it holds: the index the next one pushed gets.
    pub(crate) fn len(&self) -> usize {
        self.statements.len()
    }

    /// PostgreSQL: the statements as one data-modifying `WITH`, one round trip
    /// instead of one each. Statement `i` is named `q{i}`; one without
    /// `RETURNING` returns `1` per row it wrote, so `select` can count them
    /// (`SELECT (SELECT count(*) FROM q3)`). PostgreSQL runs the parts in no
    /// set order and all on one snapshot, so this is only for statements that
    /// do not read what another one writes, and whose row locks no other
    /// transaction takes in another order.
    pub(crate) fn into_with_clause(self, select: &str) -> Statement {
        let mut sql = String::from("WITH ");
        let mut values = Vec::new();
        for (i, s) in self.statements.into_iter().enumerate() {
            if i > 0 {
                sql.push_str(",\n");
            }
            sql.push_str(&format!("q{i} AS ("));
            let returns = s.sql.to_ascii_uppercase().contains("RETURNING");
            append(&mut sql, &mut values, s);
            if !returns {
                sql.push_str("\nRETURNING 1");
            }
            sql.push(')');
        }
        sql.push('\n');
        sql.push_str(select);
        Statement {
            sql: Cow::Owned(sql),
            values,
        }
    }

    /// Runs the statements in order and returns one outcome per statement, or
    /// the first error the database raised.
    pub(crate) async fn run(self, conn: &mut AnyConnection) -> StoreResult<Vec<Outcome>> {
        match self.backend {
            Backend::Sqlite if self.statements.len() > 1 => {
                let expected = self.statements.len();
                let (sql, values) = joined(self.statements);
                let outcomes = run_one(conn, sql, values).await?;
                // sqlx ends every statement's stream with its result; anything
                // else means the text did not split into the statements pushed.
                if outcomes.len() != expected {
                    return Err(crate::StoreError::Corrupt(format!(
                        "a script of {expected} statements ran as {}",
                        outcomes.len()
                    )));
                }
                Ok(outcomes)
            }
            _ => {
                let mut outcomes = Vec::with_capacity(self.statements.len());
                for s in self.statements {
                    outcomes.push(s.run(conn).await?);
                }
                Ok(outcomes)
            }
        }
    }
}

/// Runs one query text (one statement, or several on SQLite) and splits what it
/// streams back into one outcome per statement.
async fn run_one(
    conn: &mut AnyConnection,
    sql: Cow<'static, str>,
    values: Vec<Value>,
) -> StoreResult<Vec<Outcome>> {
    let mut args = AnyArguments::default();
    for v in values {
        match v {
            Value::Int(i) => args.add(i),
            Value::Text(s) => args.add(s),
            Value::OptionalText(s) => args.add(s),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    let query = sqlx::query_with(AssertSqlSafe(sql), args);
    let mut stream = conn.fetch_many(query);
    let mut outcomes = Vec::new();
    let mut current = Outcome::default();
    while let Some(item) = stream.try_next().await? {
        match item {
            Either::Right(row) => current.rows.push(row),
            Either::Left(done) => {
                current.rows_affected = done.rows_affected();
                outcomes.push(std::mem::take(&mut current));
            }
        }
    }
    Ok(outcomes)
}

/// The statements as one text, each statement's `$N` moved past the arguments
/// of the statements before it, and all their arguments in order.
fn joined(statements: Vec<Statement>) -> (Cow<'static, str>, Vec<Value>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    for s in statements {
        if !sql.is_empty() {
            sql.push_str(";\n");
        }
        append(&mut sql, &mut values, s);
    }
    (Cow::Owned(sql), values)
}

/// Appends `s` to a text being joined: its `$N` moved past the `values` bound
/// so far, its own values after them.
fn append(sql: &mut String, values: &mut Vec<Value>, s: Statement) {
    renumber_into(sql, &s.sql, values.len());
    values.extend(s.values);
}

/// Appends `sql` to `out` with every `$N` placeholder outside quotes written as
/// `$(N + offset)`. The statements are the store's own constants: their only
/// `$` followed by a digit are placeholders, and their only quotes are
/// single-quoted literals.
fn renumber_into(out: &mut String, sql: &str, offset: usize) {
    let mut chars = sql.char_indices().peekable();
    let mut quoted = false;
    while let Some((_, c)) = chars.next() {
        out.push(c);
        match c {
            '\'' => quoted = !quoted,
            '$' if !quoted => {
                let mut n: usize = 0;
                let mut digits = 0;
                while let Some(&(_, d)) = chars.peek() {
                    let Some(v) = d.to_digit(10) else { break };
                    n = n * 10 + v as usize;
                    digits += 1;
                    chars.next();
                }
                if digits > 0 {
                    out.push_str(&(n + offset).to_string());
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_joined_with_their_placeholders_moved_along() {
        let script = vec![
            Statement::new("UPDATE t SET a = $1 WHERE id = $2")
                .bind(1_i64)
                .bind("x"),
            Statement::new("SELECT '$1', json_extract(doc, '$.a') FROM t WHERE b = $1 AND c = $10")
                .bind("y")
                .bind(2_i64),
            Statement::new("DELETE FROM t"),
        ];
        let (sql, values) = joined(script);
        assert_eq!(
            sql,
            "UPDATE t SET a = $1 WHERE id = $2;\n\
             SELECT '$1', json_extract(doc, '$.a') FROM t WHERE b = $3 AND c = $12;\n\
             DELETE FROM t"
        );
        assert_eq!(values.len(), 4);
    }

    #[test]
    fn a_with_clause_names_each_statement_and_makes_it_return() {
        let mut script = Script::new(Backend::Postgres);
        script.push(
            Statement::new("UPDATE t SET a = $1 WHERE id = $2")
                .bind(1_i64)
                .bind("x"),
        );
        script.push(Statement::new("DELETE FROM u WHERE id = $1 RETURNING b").bind("y"));
        let one = script.into_with_clause("SELECT (SELECT count(*) FROM q0), (SELECT b FROM q1)");
        assert_eq!(
            one.sql,
            "WITH q0 AS (UPDATE t SET a = $1 WHERE id = $2\nRETURNING 1),\n\
             q1 AS (DELETE FROM u WHERE id = $3 RETURNING b)\n\
             SELECT (SELECT count(*) FROM q0), (SELECT b FROM q1)"
        );
        assert_eq!(one.values.len(), 3);
    }

    /// A fresh store per available engine, with a scratch table.
    async fn stores() -> Vec<(crate::Store, Option<tempfile::TempDir>)> {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("script.db").display());
        let mut out = vec![(crate::Store::open(&url).await.expect("open"), Some(dir))];
        if let Some(url) = crate::testing::fresh_postgres_url().await {
            out.push((crate::Store::open(&url).await.expect("open"), None));
        }
        for (store, _) in &out {
            sqlx::query(
                "CREATE TABLE counters (id BIGINT PRIMARY KEY, n BIGINT NOT NULL CHECK (n >= 0))",
            )
            .execute(&store.write)
            .await
            .expect("table");
        }
        out
    }

    fn take(id: i64, by: i64) -> Statement {
        Statement::new("UPDATE counters SET n = n - $1 WHERE id = $2 AND n >= $3")
            .bind(by)
            .bind(id)
            .bind(by)
    }

    /// Each statement gets its own outcome, in order, and sees what the ones
    /// before it wrote, on both engines (one text on SQLite, one by one on
    /// PostgreSQL).
    #[tokio::test]
    async fn a_script_answers_per_statement_and_each_sees_the_last() {
        use sqlx::Row;
        for (store, _dir) in stores().await {
            let mut conn = store.write.acquire().await.unwrap();
            let mut script = Script::new(store.backend);
            script.push(
                Statement::new("INSERT INTO counters (id, n) VALUES ($1, $2), ($3, $4)")
                    .bind(1_i64)
                    .bind(5_i64)
                    .bind(2_i64)
                    .bind(0_i64),
            );
            let taken = script.push(take(1, 3));
            let refused = script.push(take(2, 1));
            let read =
                script.push(Statement::new("SELECT n FROM counters WHERE id = $1").bind(1_i64));
            let deleted = script
                .push(Statement::new("DELETE FROM counters WHERE n < $1 RETURNING id").bind(3_i64));
            let done = script.run(&mut conn).await.unwrap();
            let name = format!("{:?}", store.backend);
            assert_eq!(done.len(), 5, "{name}");
            assert_eq!(done[0].rows_affected, 2, "{name}");
            assert_eq!(done[taken].rows_affected, 1, "{name}");
            assert_eq!(done[refused].rows_affected, 0, "{name}");
            let n: i64 = done[read].rows[0].try_get(0).unwrap();
            assert_eq!(n, 2, "{name}: the read sees the update before it");
            let mut ids: Vec<i64> = done[deleted]
                .rows
                .iter()
                .map(|r| r.try_get(0).unwrap())
                .collect();
            ids.sort();
            assert_eq!(ids, vec![1, 2], "{name}");
            assert_eq!(done[deleted].rows_affected, 2, "{name}");
        }
    }

    /// A statement the database refuses stops the script there: the error is
    /// returned and the statements after it do not run.
    #[tokio::test]
    async fn a_refused_statement_stops_the_script() {
        for (store, _dir) in stores().await {
            let mut conn = store.write.acquire().await.unwrap();
            let mut script = Script::new(store.backend);
            script.push(
                Statement::new("INSERT INTO counters (id, n) VALUES ($1, $2)")
                    .bind(1_i64)
                    .bind(1_i64),
            );
            script.push(
                Statement::new("UPDATE counters SET n = n - $1 WHERE id = $2")
                    .bind(2_i64)
                    .bind(1_i64),
            );
            script.push(
                Statement::new("INSERT INTO counters (id, n) VALUES ($1, $2)")
                    .bind(2_i64)
                    .bind(1_i64),
            );
            let failed = script.run(&mut conn).await;
            assert!(
                matches!(failed, Err(crate::StoreError::Constraint(_))),
                "{:?}: {failed:?}",
                store.backend
            );
            let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM counters ORDER BY id")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            assert_eq!(
                ids,
                vec![1],
                "{:?}: only the statement before the refused one ran",
                store.backend
            );
        }
    }
}
