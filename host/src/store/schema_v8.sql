-- clearctx schema, version 8: team chat (team_send_message, team_broadcast, team_ask,
-- team_reply). Messages share the inbox with contract notifications, so one paged query
-- lists both, unread first.

-- Who sent a chat item (NULL: a notification), the question it is or answers, and when it
-- reached its recipient (as a turn through the outbox, or read with team_check_inbox).
ALTER TABLE inbox ADD COLUMN sender TEXT;
ALTER TABLE inbox ADD COLUMN ask_id TEXT;
ALTER TABLE inbox ADD COLUMN delivered_at_ms INTEGER;
-- The read part of an inbox, newest first; the unread part reads off inbox_unread.
CREATE INDEX inbox_recipient ON inbox(recipient, id);
-- Chat items still to be delivered as a turn when their recipient goes idle.
CREATE INDEX inbox_undelivered ON inbox(recipient, id)
    WHERE sender IS NOT NULL AND delivered_at_ms IS NULL;

-- One row per send (a broadcast is one), for the rate limit and the bounce check.
CREATE TABLE chat_sends (
    seq       INTEGER PRIMARY KEY REFERENCES events(seq),
    team      TEXT    NOT NULL,
    sender    TEXT    NOT NULL,
    recipient TEXT,                          -- NULL for a broadcast
    pair      TEXT,                          -- the two names, sorted, for a direct message
    kind      TEXT    NOT NULL,              -- message | broadcast | question | answer
    at_ms     INTEGER NOT NULL
);
CREATE INDEX chat_sends_sender ON chat_sends(sender, at_ms);
CREATE INDEX chat_sends_pair ON chat_sends(pair, kind, seq) WHERE pair IS NOT NULL;

-- A question (team_ask) and, once given, its answer. `depth` is how deep in a chain of asks
-- it was made (1: not while answering one).
CREATE TABLE chat_asks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    team           TEXT    NOT NULL,
    asker          TEXT    NOT NULL,
    asked          TEXT    NOT NULL,
    question       TEXT    NOT NULL,
    depth          INTEGER NOT NULL,
    asked_at_ms    INTEGER NOT NULL,
    deadline_ms    INTEGER NOT NULL,         -- when the asker stops waiting
    answer         TEXT,
    answered_at_ms INTEGER
);
CREATE INDEX chat_asks_asked ON chat_asks(asked, answered_at_ms, deadline_ms);
CREATE INDEX chat_asks_asker ON chat_asks(asker, answered_at_ms, deadline_ms);

-- The chat reaction (delivering waiting messages when a worker goes idle) starts where the
-- log ends: nothing before this version is a chat message.
INSERT INTO reaction_cursors (name, seq) SELECT 'chat', coalesce(max(seq), 0) FROM events;
