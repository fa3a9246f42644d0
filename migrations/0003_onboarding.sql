-- Welcome tickets: one row per ticket thread Ticket Tool opened in the welcome or promo
-- channel. The ticket number comes from the thread name once, at creation; afterwards
-- the name is display only. The subject is the first user Ticket Tool's greeting
-- mentions (NULL until then: the ticket waits for `onb bind`).
CREATE TABLE tickets (
    thread_id        TEXT PRIMARY KEY,
    ticket_number    TEXT NOT NULL,              -- 'W0042', 'R0007'
    flow             TEXT NOT NULL CHECK (flow IN ('welcome', 'promo.r', 'promo.m', 'promo.l')),
    subject_id       TEXT,
    subject_name     TEXT NOT NULL DEFAULT '',
    thread_name      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('awaiting_subject', 'open', 'closed')),
    panel_message_id TEXT,
    -- Set by the one handler that posts the panel, so two events never post two.
    panel_claimed    INTEGER NOT NULL DEFAULT 0,
    clantag          TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    closed_at        TEXT
);
CREATE INDEX tickets_subject ON tickets (subject_id, created_at);

-- The questionnaire of a ticket: one session per thread (the primary key is what makes
-- a double click or two staff racing start one). Every accepted answer is committed
-- here before the card changes.
CREATE TABLE onboarding_sessions (
    thread_id          TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL,
    flow               TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'paused', 'completed')),
    step_qid           TEXT,                      -- the question on the card; NULL when completed
    answers_json       TEXT NOT NULL DEFAULT '{}',-- answers keyed by qid
    schema_hash        TEXT NOT NULL,             -- the flow's questions when last seen
    schema_notice      INTEGER NOT NULL DEFAULT 0,-- the recruit still has to be told the questions changed
    card_message_id    TEXT,
    summary_message_id TEXT,
    started_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    completed_at       TEXT,
    first_reminder_at  TEXT,
    warning_sent_at    TEXT,
    auto_closed_at     TEXT
);
CREATE INDEX onboarding_sessions_status ON onboarding_sessions (status);

-- The outbox learns the two onboarding tabs. SQLite cannot change a CHECK constraint,
-- so the table is rebuilt with its rows.
CREATE TABLE mirror_outbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL CHECK (kind IN ('reservations_tab', 'clan_availability',
                                                     'tickets_tab', 'sessions_tab')),
    target          TEXT    NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    enqueued_at     TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    UNIQUE (kind, target)
);
INSERT INTO mirror_outbox_new SELECT * FROM mirror_outbox;
DROP TABLE mirror_outbox;
ALTER TABLE mirror_outbox_new RENAME TO mirror_outbox;
