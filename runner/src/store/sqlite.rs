//! The embedded SQLite store.
//!
//! One writer connection and a few reader connections to one database file in WAL
//! mode. Writes commit before they return, so an acknowledged job survives a crash
//! of the process. Calls run on tokio's blocking pool, never on the async workers.

use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter, types::Value};
use time::OffsetDateTime;

use super::{JobStore, ListQuery, StoreError};
use crate::callbacks::Callback;
use crate::clock::{from_millis, to_millis};
use crate::jobs::{JobRecord, Progress};

const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id                TEXT PRIMARY KEY,
    tenant            TEXT NOT NULL,
    operation         TEXT NOT NULL,
    operation_version TEXT NOT NULL,
    status            TEXT NOT NULL,
    attempt           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER,
    updated_at        INTEGER NOT NULL,
    expires_at        INTEGER,
    ttl_seconds       INTEGER NOT NULL,
    timeout_seconds   INTEGER NOT NULL,
    correlation_id    TEXT,
    params            TEXT NOT NULL,
    inputs            TEXT NOT NULL,
    output_file       TEXT,
    progress          TEXT NOT NULL,
    result            TEXT,
    error             TEXT,
    idempotency_key   TEXT,
    request_hash      TEXT,
    revision          INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_idempotency_key
    ON jobs (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_active ON jobs (status) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_by_tenant ON jobs (tenant, id);
";

/// Version 2: callbacks. `callback_due` is set while a terminal job's delivery
/// is pending, so due deliveries are one index scan away.
const MIGRATE_TO_2: &str = "
ALTER TABLE jobs ADD COLUMN callback TEXT;
ALTER TABLE jobs ADD COLUMN callback_due INTEGER;
CREATE INDEX IF NOT EXISTS jobs_by_callback_due ON jobs (callback_due) WHERE callback_due IS NOT NULL;
";

/// Version 3: the SHA-256 of the plugin a job ran (or will run) on. Jobs
/// stored before have none: the empty string.
const MIGRATE_TO_3: &str = "
ALTER TABLE jobs ADD COLUMN plugin_sha256 TEXT NOT NULL DEFAULT '';
";

const COLUMNS: &str = "id, tenant, operation, operation_version, status, attempt, created_at, \
    started_at, finished_at, updated_at, expires_at, ttl_seconds, timeout_seconds, \
    correlation_id, params, inputs, output_file, progress, result, error, idempotency_key, \
    request_hash, revision, callback, callback_due, plugin_sha256";

/// `INSERT` of every column, in `COLUMNS` order.
static INSERT: LazyLock<String> = LazyLock::new(|| {
    let placeholders = (1..=COLUMNS.split(", ").count())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("INSERT INTO jobs ({COLUMNS}) VALUES ({placeholders})")
});

/// `UPDATE` of every column but `id` (`?1`), in `COLUMNS` order.
static UPDATE: LazyLock<String> = LazyLock::new(|| {
    let assignments = COLUMNS
        .split(", ")
        .enumerate()
        .skip(1)
        .map(|(i, column)| format!("{column} = ?{}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    format!("UPDATE jobs SET {assignments} WHERE id = ?1")
});

const READERS: usize = 4;

/// Jobs in an SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut writer = Connection::open(path).map_err(backend)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA busy_timeout = 5000;
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(backend)?;
        let version: i64 = writer
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "the database at {} has schema version {version}, newer than this runner's {SCHEMA_VERSION}; use a newer longrun",
                path.display()
            )));
        }
        // One transaction: a crash half-way leaves the old version, to be
        // migrated again, never a column added under the old version number.
        let migration = writer.transaction().map_err(backend)?;
        migration.execute_batch(SCHEMA).map_err(backend)?;
        if version < 2 {
            migration.execute_batch(MIGRATE_TO_2).map_err(backend)?;
        }
        if version < 3 {
            migration.execute_batch(MIGRATE_TO_3).map_err(backend)?;
        }
        migration
            .execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(backend)?;
        migration.commit().map_err(backend)?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = Connection::open(path).map_err(backend)?;
                conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;")
                    .map_err(backend)?;
                Ok(Mutex::new(conn))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
            }),
        })
    }

    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.reader();
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }
}

impl Inner {
    /// A free reader, or the first one if all are busy.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        for reader in &self.readers {
            if let Ok(guard) = reader.try_lock() {
                return guard;
            }
        }
        self.readers[0].lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("job fields serialize")
}

fn record_params(job: &JobRecord) -> Vec<Value> {
    fn time(t: Option<OffsetDateTime>) -> Value {
        t.map(|t| Value::Integer(to_millis(t)))
            .unwrap_or(Value::Null)
    }
    fn text(s: &Option<String>) -> Value {
        s.clone().map(Value::Text).unwrap_or(Value::Null)
    }
    vec![
        Value::Text(job.id.clone()),
        Value::Text(job.tenant.clone()),
        Value::Text(job.operation.clone()),
        Value::Text(job.operation_version.clone()),
        Value::Text(job.status.as_str().to_owned()),
        Value::Integer(job.attempt.into()),
        Value::Integer(to_millis(job.created_at)),
        time(job.started_at),
        time(job.finished_at),
        Value::Integer(to_millis(job.updated_at)),
        time(job.expires_at),
        Value::Integer(job.ttl_seconds as i64),
        Value::Integer(job.timeout_seconds as i64),
        text(&job.correlation_id),
        Value::Text(json(&job.params)),
        Value::Text(json(&job.inputs)),
        text(&job.output_file),
        Value::Text(json(&job.progress)),
        job.result
            .as_ref()
            .map(|r| Value::Text(json(r)))
            .unwrap_or(Value::Null),
        job.error
            .as_ref()
            .map(|e| Value::Text(json(e)))
            .unwrap_or(Value::Null),
        text(&job.idempotency_key),
        text(&job.request_hash),
        Value::Integer(job.revision as i64),
        job.callback
            .as_ref()
            .map(|c| Value::Text(json(c)))
            .unwrap_or(Value::Null),
        callback_due(job),
        Value::Text(job.plugin_sha256.clone()),
    ]
}

/// When a terminal job's pending delivery is due; NULL otherwise.
fn callback_due(job: &JobRecord) -> Value {
    job.callback
        .as_ref()
        .filter(|_| job.status.is_terminal())
        .and_then(|c| c.due_at())
        .map(|t| Value::Integer(to_millis(t)))
        .unwrap_or(Value::Null)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<JobRecord> {
    fn parse<T: serde::de::DeserializeOwned>(idx: usize, text: String) -> rusqlite::Result<T> {
        serde_json::from_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
        })
    }
    fn opt<T: serde::de::DeserializeOwned>(
        idx: usize,
        text: Option<String>,
    ) -> rusqlite::Result<Option<T>> {
        text.map(|t| parse(idx, t)).transpose()
    }
    let status: String = row.get(4)?;
    Ok(JobRecord {
        id: row.get(0)?,
        tenant: row.get(1)?,
        operation: row.get(2)?,
        operation_version: row.get(3)?,
        status: status.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into())
        })?,
        attempt: row.get(5)?,
        created_at: from_millis(row.get(6)?),
        started_at: row.get::<_, Option<i64>>(7)?.map(from_millis),
        finished_at: row.get::<_, Option<i64>>(8)?.map(from_millis),
        updated_at: from_millis(row.get(9)?),
        expires_at: row.get::<_, Option<i64>>(10)?.map(from_millis),
        ttl_seconds: row.get::<_, i64>(11)? as u64,
        timeout_seconds: row.get::<_, i64>(12)? as u64,
        correlation_id: row.get(13)?,
        params: parse(14, row.get(14)?)?,
        inputs: parse(15, row.get(15)?)?,
        output_file: row.get(16)?,
        progress: parse(17, row.get(17)?)?,
        result: opt(18, row.get(18)?)?,
        error: opt(19, row.get(19)?)?,
        idempotency_key: row.get(20)?,
        request_hash: row.get(21)?,
        revision: row.get::<_, i64>(22)? as u64,
        callback: opt(23, row.get(23)?)?,
        plugin_sha256: row.get(25)?,
    })
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn insert(&self, job: &JobRecord) -> Result<(), StoreError> {
        let values = record_params(job);
        self.write(move |conn| {
            let inserted = conn
                .prepare_cached(&INSERT)
                .and_then(|mut stmt| stmt.execute(params_from_iter(values)));
            match inserted {
                Ok(_) => Ok(()),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Err(StoreError::DuplicateIdempotencyKey)
                }
                Err(e) => Err(backend(e)),
            }
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"))
                .and_then(|mut stmt| stmt.query_row([id], from_row).optional())
                .map_err(backend)
        })
        .await
    }

    async fn get_by_idempotency_key(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        let (tenant, key) = (tenant.to_owned(), key.to_owned());
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE tenant = ?1 AND idempotency_key = ?2"
            ))
            .and_then(|mut stmt| stmt.query_row([tenant, key], from_row).optional())
            .map_err(backend)
        })
        .await
    }

    async fn update(&self, job: &JobRecord) -> Result<(), StoreError> {
        let values = record_params(job);
        self.write(move |conn| {
            conn.prepare_cached(&UPDATE)
                .and_then(|mut stmt| stmt.execute(params_from_iter(values)))
                .map(|_| ())
                .map_err(backend)
        })
        .await
    }

    async fn update_progress(
        &self,
        id: &str,
        progress: &Progress,
        revision: u64,
        updated_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (id, progress) = (id.to_owned(), json(progress));
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE jobs SET progress = ?2, revision = ?3, updated_at = ?4
                 WHERE id = ?1 AND status IN ('queued', 'running') AND revision < ?3",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    progress,
                    revision as i64,
                    to_millis(updated_at)
                ])
            })
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn set_expiry(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE jobs SET expires_at = ?2 WHERE id = ?1 AND expires_at IS NOT NULL",
            )
            .and_then(|mut stmt| stmt.execute(params![id, to_millis(expires_at)]))
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM jobs WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute([id]))
                .map(|n| n > 0)
                .map_err(backend)
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<JobRecord>, StoreError> {
        let query = query.clone();
        self.read(move |conn| {
            let mut sql = format!("SELECT {COLUMNS} FROM jobs WHERE tenant = ?1");
            let mut values = vec![Value::Text(query.tenant.clone())];
            let mut bind = |sql: &mut String, clause: &str, value: Value| {
                values.push(value);
                sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
            };
            if !query.statuses.is_empty() {
                let list = query
                    .statuses
                    .iter()
                    .map(|s| format!("'{}'", s.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                sql.push_str(&format!(" AND status IN ({list})"));
            }
            if let Some(op) = &query.operation {
                bind(&mut sql, " AND operation = ?", Value::Text(op.clone()));
            }
            if let Some(t) = query.created_after {
                bind(
                    &mut sql,
                    " AND created_at > ?",
                    Value::Integer(to_millis(t)),
                );
            }
            if let Some(t) = query.created_before {
                bind(
                    &mut sql,
                    " AND created_at < ?",
                    Value::Integer(to_millis(t)),
                );
            }
            if let Some(id) = &query.before_id {
                bind(&mut sql, " AND id < ?", Value::Text(id.clone()));
            }
            if let Some(now) = query.now {
                bind(
                    &mut sql,
                    " AND (expires_at IS NULL OR expires_at > ? OR callback_due IS NOT NULL)",
                    Value::Integer(to_millis(now)),
                );
            }
            bind(
                &mut sql,
                " ORDER BY id DESC LIMIT ?",
                Value::Integer(query.limit as i64),
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(params_from_iter(values), from_row)
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
        .await
    }

    async fn expired(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<String>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ?1 \
                     AND callback_due IS NULL LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![to_millis(now), limit as i64], |row| row.get(0))
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
                .map_err(backend)
        })
        .await
    }

    async fn unfinished(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM jobs WHERE status IN ('queued', 'running') ORDER BY id"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([], from_row).map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
        .await
    }

    async fn due_callbacks(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM jobs WHERE callback_due IS NOT NULL AND callback_due <= ?1 \
                     ORDER BY callback_due LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![to_millis(now), limit as i64], from_row)
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
        .await
    }

    async fn update_callback(
        &self,
        id: &str,
        callback: &Callback,
        updated_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        let due = callback.due_at().map(to_millis);
        let callback = json(callback);
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE jobs SET callback = ?2, callback_due = ?3, updated_at = ?4, \
                 revision = revision + 1 WHERE id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(params![id, callback, due, to_millis(updated_at)]))
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn all_ids(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id FROM jobs")
                .map_err(backend)?;
            let rows = stmt.query_map([], |row| row.get(0)).map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
                .map_err(backend)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_millis;
    use crate::jobs::{InputMeta, ResultMeta, Status};

    fn record(id: &str, created_ms: i64) -> JobRecord {
        JobRecord {
            id: id.to_owned(),
            tenant: String::new(),
            operation: "probe".into(),
            operation_version: "1.0.0".into(),
            plugin_sha256: "ab".repeat(32),
            status: Status::Queued,
            attempt: 1,
            created_at: from_millis(created_ms),
            started_at: None,
            finished_at: None,
            updated_at: from_millis(created_ms),
            expires_at: None,
            ttl_seconds: 60,
            timeout_seconds: 10,
            correlation_id: Some("c-1".into()),
            params: serde_json::json!({"steps": 2}),
            inputs: vec![InputMeta {
                name: "data".into(),
                media_type: "text/plain".into(),
                size: 3,
                sha256: "ab".into(),
            }],
            output_file: None,
            progress: Progress::default(),
            result: None,
            error: None,
            idempotency_key: None,
            request_hash: None,
            revision: 1,
            callback: None,
        }
    }

    #[tokio::test]
    async fn round_trips_and_updates() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let mut job = record("01", 1000);
        store.insert(&job).await.unwrap();
        assert_eq!(store.get("01").await.unwrap().unwrap(), job);

        job.status = Status::Succeeded;
        job.result = Some(ResultMeta {
            media_type: "application/json".into(),
            size: 2,
            sha256: "cd".into(),
        });
        job.expires_at = Some(from_millis(5000));
        job.revision = 3;
        store.update(&job).await.unwrap();
        // A late progress flush must not undo the terminal record.
        store
            .update_progress("01", &Progress::default(), 9, from_millis(2000))
            .await
            .unwrap();
        assert_eq!(store.get("01").await.unwrap().unwrap(), job);

        assert!(
            store
                .expired(from_millis(4999), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.expired(from_millis(5000), 10).await.unwrap(),
            vec!["01"]
        );
        assert!(store.delete("01").await.unwrap());
        assert!(!store.delete("01").await.unwrap());
        assert!(store.get("01").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn idempotency_keys_are_unique_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let mut a = record("01", 1);
        a.idempotency_key = Some("k".into());
        store.insert(&a).await.unwrap();
        let mut b = record("02", 2);
        b.idempotency_key = Some("k".into());
        assert!(matches!(
            store.insert(&b).await,
            Err(StoreError::DuplicateIdempotencyKey)
        ));
        b.tenant = "other".into();
        store.insert(&b).await.unwrap();
        assert_eq!(
            store
                .get_by_idempotency_key("", "k")
                .await
                .unwrap()
                .unwrap()
                .id,
            "01"
        );
    }

    #[tokio::test]
    async fn lists_newest_first_with_filters_and_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        for i in 0..5 {
            let mut job = record(&format!("0{i}"), i * 1000);
            if i % 2 == 0 {
                job.status = Status::Running;
            }
            store.insert(&job).await.unwrap();
        }
        let page = |before_id: Option<&str>| ListQuery {
            limit: 2,
            before_id: before_id.map(str::to_owned),
            ..ListQuery::default()
        };
        let ids = |jobs: Vec<JobRecord>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
        assert_eq!(ids(store.list(&page(None)).await.unwrap()), ["04", "03"]);
        assert_eq!(
            ids(store.list(&page(Some("03"))).await.unwrap()),
            ["02", "01"]
        );
        let running = ListQuery {
            statuses: vec![Status::Running],
            created_after: Some(from_millis(0)),
            limit: 10,
            ..ListQuery::default()
        };
        assert_eq!(ids(store.list(&running).await.unwrap()), ["04", "02"]);
        assert_eq!(store.unfinished().await.unwrap().len(), 5);
    }

    #[tokio::test]
    async fn migrates_a_version_2_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            // The schema of version 2, with one job in it.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute_batch(MIGRATE_TO_2).unwrap();
            conn.execute_batch("PRAGMA user_version = 2").unwrap();
            let mut values = record_params(&record("01", 1));
            values.pop();
            let columns = COLUMNS.trim_end_matches(", plugin_sha256");
            let placeholders = (1..=values.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            conn.execute(
                &format!("INSERT INTO jobs ({columns}) VALUES ({placeholders})"),
                params_from_iter(values),
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let mut old = store.get("01").await.unwrap().unwrap();
        assert_eq!(old.plugin_sha256, "", "a job stored before has no digest");
        old.plugin_sha256 = "cd".repeat(32);
        store.update(&old).await.unwrap();
        assert_eq!(store.get("01").await.unwrap().unwrap(), old);
        store.insert(&record("02", 2)).await.unwrap();
        assert_eq!(
            store.get("02").await.unwrap().unwrap().plugin_sha256,
            "ab".repeat(32)
        );
        drop(store);
        // Opening again does not migrate again.
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.get("01").await.unwrap().unwrap(), old);
    }

    #[tokio::test]
    async fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let store = SqliteStore::open(&path).unwrap();
            store.insert(&record("01", 1)).await.unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.get("01").await.unwrap().is_some());
    }
}
