//! Helpers for tests that need a real database (used by this crate's conformance
//! suite and by the server's API tests).

use sqlx::Connection;

/// The environment variable naming the PostgreSQL server tests may use, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`. CI always sets it.
pub const PG_URL_ENV: &str = "ANYCART_TEST_DATABASE_URL";

/// Creates an empty, uniquely named database on the test PostgreSQL server and
/// returns its URL, or `None` (after saying so on stderr) when [`PG_URL_ENV`] is
/// unset. Panics if the variable is set but the server cannot be reached: a
/// configured-but-broken database must fail the run, never skip silently.
pub async fn fresh_postgres_url() -> Option<String> {
    let Ok(admin_url) = std::env::var(PG_URL_ENV) else {
        eprintln!(
            "SKIPPED (postgres): set {PG_URL_ENV}=postgres://… to run this test against PostgreSQL too"
        );
        return None;
    };
    Some(
        create_database(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{PG_URL_ENV} is set but PostgreSQL is unusable: {e}")),
    )
}

/// Creates an empty, uniquely named database on the server at `admin_url` and
/// returns its URL (tests and benchmarks each get their own).
pub async fn create_database(admin_url: &str) -> Result<String, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    let name = format!("anycart_t_{}", uuid::Uuid::now_v7().simple());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await.ok();
    Ok(with_database(admin_url, &name))
}

/// Replaces the database name in a `postgres://…/db?params` URL.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{}", &base[..path_start], database);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            super::with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
    }
}
