-- Job runs: one row per run, inserted when it starts, completed when it ends.
CREATE TABLE job_runs (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    job                       TEXT    NOT NULL,
    trace                     TEXT    NOT NULL,
    trigger                   TEXT    NOT NULL,
    actor                     TEXT    NOT NULL,
    started_at                TEXT    NOT NULL,
    finished_at               TEXT,
    result                    TEXT    NOT NULL
        CHECK (result IN ('running', 'ok', 'error', 'timeout', 'panic', 'interrupted')),
    duration_ms               INTEGER,
    error                     TEXT,
    detail                    TEXT,
    orphaned_offload_possible INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX job_runs_job_started ON job_runs (job, started_at);
CREATE INDEX job_runs_started ON job_runs (started_at);

-- Per-job state that must survive restarts.
CREATE TABLE job_state (
    job             TEXT PRIMARY KEY,
    paused          INTEGER NOT NULL DEFAULT 0,
    paused_by       TEXT,
    paused_at       TEXT,
    last_daily_date TEXT,
    updated_at      TEXT NOT NULL
);

-- Who did what: operator actions and notable automatic ones.
CREATE TABLE audit_events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
