-- Who created a robot, as Harbor reports it: `creator_type` `local` (a user) or `robot`,
-- and `creator_ref`, that account's id (0 for robots made before this was recorded).
ALTER TABLE robots ADD COLUMN creator_type TEXT NOT NULL DEFAULT 'local';
ALTER TABLE robots ADD COLUMN creator_ref BIGINT NOT NULL DEFAULT 0;
