-- Recruitment panels (`clanmatch`, `clansearch`): the filters, page and flipped cards
-- live here, keyed by a short id their components carry, so a panel keeps working
-- after a restart or deploy. One live panel per owner per channel and kind.
CREATE TABLE recruitment_panels (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT    NOT NULL CHECK (kind IN ('match', 'search')),
    owner_id           INTEGER NOT NULL,
    channel_id         INTEGER NOT NULL,
    panel_message_id   INTEGER,
    results_message_id INTEGER,
    filters            TEXT    NOT NULL,
    page               INTEGER NOT NULL DEFAULT 0,
    flipped            TEXT    NOT NULL DEFAULT '',
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    UNIQUE (kind, owner_id, channel_id)
);

-- The daily recruiter report's figures as posted, so its Summary / Bracket buttons show
-- that day's numbers after a restart.
CREATE TABLE recruiter_reports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    day        TEXT    NOT NULL,
    figures    TEXT    NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER,
    trigger    TEXT    NOT NULL,
    posted_at  TEXT    NOT NULL
);
