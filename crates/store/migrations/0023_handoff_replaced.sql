-- One live hand-off code per session: issuing a code for a session marks the
-- session's earlier unclaimed codes replaced (they stop working at once), and the
-- unique index makes it impossible for two codes of one session to be current at
-- the same time, even when two requests issue codes concurrently (the loser's
-- insert fails and it draws again, replacing the winner's code).
ALTER TABLE handoffs ADD COLUMN replaced_at_ms BIGINT;
-- Codes issued before this migration: only each session's newest stays current.
UPDATE handoffs
   SET replaced_at_ms = created_at_ms
 WHERE EXISTS (
       SELECT 1
         FROM handoffs newer
        WHERE newer.merchant_id = handoffs.merchant_id
          AND newer.session_id = handoffs.session_id
          AND (newer.created_at_ms > handoffs.created_at_ms
               OR (newer.created_at_ms = handoffs.created_at_ms
                   AND newer.code_mac > handoffs.code_mac)));
CREATE UNIQUE INDEX handoffs_current ON handoffs (merchant_id, session_id)
    WHERE replaced_at_ms IS NULL;
