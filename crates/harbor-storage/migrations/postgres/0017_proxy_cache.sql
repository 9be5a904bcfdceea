-- Proxy-cache projects (Harbor's `registry_id`): a project with a registry endpoint is a
-- pull-through cache of it. The endpoint cannot be deleted while the project exists.
ALTER TABLE projects ADD COLUMN registry_id BIGINT REFERENCES registries(id);
CREATE INDEX projects_by_registry ON projects(registry_id) WHERE registry_id IS NOT NULL;
