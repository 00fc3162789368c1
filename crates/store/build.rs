//! `sqlx::migrate!` embeds the files of `migrations/` at compile time but cannot tell
//! cargo to watch the folders for *new* files; this does, so adding a migration (or a
//! per-engine override) rebuilds the store.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
