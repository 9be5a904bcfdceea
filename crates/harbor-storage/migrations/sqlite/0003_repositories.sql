-- Repository records for the REST API: the project a repository belongs to, its
-- description and its pull count. Repositories created before this migration get their
-- project from their name (`<project>/...`, the range [project/, project0) since `0` is
-- the byte after `/`); a repository whose project does not exist keeps NULL until a
-- project of that name is created.

ALTER TABLE repositories ADD COLUMN project_id BIGINT;
ALTER TABLE repositories ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE repositories ADD COLUMN pull_count BIGINT NOT NULL DEFAULT 0;

UPDATE repositories SET project_id = (
    SELECT p.id FROM projects p
    WHERE repositories.name >= p.name || '/' AND repositories.name < p.name || '0'
);

-- A project's repositories by name; listings newest first or by update time.
CREATE INDEX repositories_by_project ON repositories(project_id, name);
CREATE INDEX repositories_by_creation ON repositories(created_at, id);
CREATE INDEX repositories_by_update ON repositories(updated_at, id);
