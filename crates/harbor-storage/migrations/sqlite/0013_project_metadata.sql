-- Harbor's project metadata keys other than `public` (which has its own column), as a JSON
-- object of strings: {"severity":"high","auto_scan":"false"}. Validated by
-- harbor_core::project_meta before they are written.
ALTER TABLE projects ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
