-- Seat reservations: a recruiter holds a seat in a clan for a recruit while the ticket is
-- open. The store is the source of truth; the Reservations tab is its mirror.
CREATE TABLE reservations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id         TEXT    NOT NULL,
    ticket_user_id    TEXT    NOT NULL,
    recruiter_id      TEXT    NOT NULL,
    clan_tag          TEXT    NOT NULL,
    reserved_until    TEXT    NOT NULL,  -- YYYY-MM-DD, UTC
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    status            TEXT    NOT NULL
        CHECK (status IN ('active', 'released', 'expired', 'cancelled',
                          'closed_same_clan', 'closed_other_clan')),
    notes             TEXT    NOT NULL DEFAULT '',
    username_snapshot TEXT    NOT NULL DEFAULT ''
);
-- One active hold per recruit, enforced by the database itself.
CREATE UNIQUE INDEX reservations_one_active_per_recruit
    ON reservations (ticket_user_id) WHERE status = 'active';
CREATE INDEX reservations_clan_status ON reservations (clan_tag, status);
CREATE INDEX reservations_updated ON reservations (updated_at);

-- What the sheet mirror still has to write: one row per target (the Reservations tab,
-- or one clan's availability cells). A change bumps `version`, so a flush that read
-- version n removes the row only if nothing changed since.
CREATE TABLE mirror_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL CHECK (kind IN ('reservations_tab', 'clan_availability')),
    target          TEXT    NOT NULL,  -- '' for the tab, the clan tag for availability
    version         INTEGER NOT NULL DEFAULT 1,
    enqueued_at     TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    UNIQUE (kind, target)
);
