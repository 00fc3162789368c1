//! The schema: one migrations folder for both engines, with per-engine files only
//! where the dialects differ.
//!
//! - `migrations/NNNN_description.sql` runs on SQLite and PostgreSQL alike.
//! - `migrations/sqlite/NNNN_description.sql` or `migrations/postgres/…` replaces the
//!   shared file of the same version on that engine only (or, with a version no
//!   shared file has, adds a migration for that engine only).
//!
//! sqlx's `migrate!` embeds one folder, so each folder is embedded on its own and
//! [`migrator`] merges them by version. Nothing is re-encoded on the way: every
//! migration keeps the version, description and SHA-384 checksum sqlx computed from
//! its file, which is what `_sqlx_migrations` of existing databases holds (the store
//! refuses to open a database whose recorded checksum no longer matches). The tests
//! below and `tests/conformance/migrations.rs` prove it against
//! `tests/fixtures/released_migrations/`.
//!
//! **Adding a migration.** Write `migrations/NNNN_what_it_does.sql` with the next
//! free version, in the portable dialect the schema uses (TEXT ids, BIGINT minor
//! units and unix-ms times, BIGINT 0/1 booleans, JSON in TEXT, `ON CONFLICT`,
//! `RETURNING`, partial indexes), and run the conformance suite on both engines.
//! Once released, a migration's bytes are frozen: editing even a comment changes its
//! checksum and every existing database refuses to open; write a new migration
//! instead.
//!
//! **Adding a per-engine override.** Only for a *new* migration whose statement has
//! no portable spelling (e.g. PostgreSQL's `CREATE INDEX CONCURRENTLY`, SQLite's
//! table rebuild to change a column). Put the portable version (or the one most
//! engines share) in `migrations/` and the other dialect's file, with the *same* file
//! name, in `migrations/<engine>/`. Never override a released migration: that
//! engine's databases already recorded the shared file's checksum.

use crate::Backend;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::collections::BTreeMap;

/// Migrations both engines run (subfolders are not read: they are the overrides).
static SHARED: Migrator = sqlx::migrate!("./migrations");
/// SQLite's overrides of [`SHARED`].
static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
/// PostgreSQL's overrides of [`SHARED`].
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// The migrations `backend` runs: the shared ones, with that engine's overrides.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let overrides = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    Migrator::with_migrations(merge(SHARED.iter(), overrides.iter()))
}

/// `shared` with each of `overrides` in place of the shared migration of the same
/// version (and kind), or added when no shared one has it. An override must keep
/// the description (the file name) of the migration it replaces: a different one
/// means a misnumbered file, which would silently drop a shared migration.
fn merge<'m>(
    shared: impl Iterator<Item = &'m Migration>,
    overrides: impl Iterator<Item = &'m Migration>,
) -> Vec<Migration> {
    let mut by_version: BTreeMap<(i64, MigrationType), Migration> = shared
        .map(|m| ((m.version, m.migration_type), m.clone()))
        .collect();
    for m in overrides {
        if let Some(replaced) = by_version.get(&(m.version, m.migration_type)) {
            assert_eq!(
                replaced.description, m.description,
                "migration override {} must have the same file name as the shared file it replaces",
                m.version
            );
        }
        by_version.insert((m.version, m.migration_type), m.clone());
    }
    by_version.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::SqlSafeStr;

    /// Copies of the files existing databases were migrated with (frozen).
    static RELEASED: Migrator = sqlx::migrate!("./tests/fixtures/released_migrations");

    /// What `_sqlx_migrations` records of a migration, and how sqlx runs it.
    fn identity(m: &Migration) -> (i64, String, MigrationType, Vec<u8>, bool) {
        (
            m.version,
            m.description.to_string(),
            m.migration_type,
            m.checksum.to_vec(),
            m.no_tx,
        )
    }

    #[test]
    fn merged_migrations_keep_the_released_versions_descriptions_and_checksums() {
        assert!(RELEASED.iter().count() >= 6, "the fixture is embedded");
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let merged = migrator(backend);
            let ours: BTreeMap<i64, _> = merged.iter().map(|m| (m.version, m)).collect();
            for released in RELEASED.iter() {
                let Some(now) = ours.get(&released.version) else {
                    panic!(
                        "{backend:?}: released migration {} is gone",
                        released.version
                    );
                };
                assert_eq!(
                    identity(now),
                    identity(released),
                    "{backend:?}: migration {} changed; existing databases would refuse it",
                    released.version
                );
                assert_eq!(now.sql.as_str(), released.sql.as_str());
            }
        }
    }

    #[test]
    fn without_an_override_both_engines_run_the_shared_file() {
        let overridden: Vec<i64> = SQLITE
            .iter()
            .chain(POSTGRES.iter())
            .map(|m| m.version)
            .collect();
        let portable = |backend| -> Vec<_> {
            migrator(backend)
                .iter()
                .filter(|m| !overridden.contains(&m.version))
                .map(identity)
                .collect()
        };
        let shared: Vec<_> = SHARED
            .iter()
            .filter(|m| !overridden.contains(&m.version))
            .map(identity)
            .collect();
        assert_eq!(portable(Backend::Sqlite), shared);
        assert_eq!(portable(Backend::Postgres), shared);
    }

    fn migration(version: i64, description: &'static str, sql: &'static str) -> Migration {
        Migration::new(
            version,
            description.into(),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    }

    #[test]
    fn an_override_replaces_its_shared_file_and_an_engine_only_file_is_added() {
        let shared = [
            migration(1, "init", "CREATE TABLE a (x BIGINT);"),
            migration(2, "index", "CREATE INDEX a_x ON a (x);"),
        ];
        let overrides = [
            migration(2, "index", "CREATE INDEX CONCURRENTLY a_x ON a (x);"),
            migration(3, "pg only", "SELECT 1;"),
        ];
        let merged = merge(shared.iter(), overrides.iter());
        let got: Vec<_> = merged
            .iter()
            .map(|m| (m.version, m.sql.as_str().to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "CREATE TABLE a (x BIGINT);".to_string()),
                (2, "CREATE INDEX CONCURRENTLY a_x ON a (x);".to_string()),
                (3, "SELECT 1;".to_string()),
            ]
        );
        assert_eq!(merged[1].checksum, overrides[0].checksum);
    }

    #[test]
    #[should_panic(expected = "same file name")]
    fn a_misnumbered_override_is_refused() {
        let shared = [migration(2, "index", "CREATE INDEX a_x ON a (x);")];
        let overrides = [migration(2, "other", "SELECT 1;")];
        merge(shared.iter(), overrides.iter());
    }
}
