//! Registry endpoints (`/registries`, `/replication/adapters`).

use harbor_api_model::{Registry, RegistryInfo, RegistryPing, RegistryUpdate};
use reqwest::Method;

use super::{Client, Result};

impl Client {
    /// Every registry, or those whose name contains `name`.
    pub async fn registries(&self, name: Option<&str>) -> Result<Vec<Registry>> {
        let path = match name {
            Some(n) => format!("/registries?q=name%3D~{}", super::encode(n)),
            None => "/registries".into(),
        };
        self.list(&path, usize::MAX).await
    }

    /// One registry.
    pub async fn registry(&self, id: i64) -> Result<Registry> {
        self.get(&format!("/registries/{id}")).await
    }

    /// The registry named `name` (exactly).
    pub async fn registry_by_name(&self, name: &str) -> Result<Option<Registry>> {
        let path = format!("/registries?q=name%3D{}", super::encode(name));
        let found: Vec<Registry> = self.list(&path, 2).await?;
        Ok(found.into_iter().find(|r| r.name == name))
    }

    /// Adds a registry; returns its id.
    pub async fn create_registry(&self, r: &Registry) -> Result<i64> {
        let body = serde_json::to_value(r).map_err(|e| super::Error::Protocol {
            url: "/registries".into(),
            detail: e.to_string(),
        })?;
        let resp = self.send(Method::POST, "/registries", Some(body)).await?;
        self.created_id(&resp)
    }

    /// Changes a registry.
    pub async fn update_registry(&self, id: i64, u: &RegistryUpdate) -> Result<()> {
        let body = serde_json::to_value(u).map_err(|e| super::Error::Protocol {
            url: format!("/registries/{id}"),
            detail: e.to_string(),
        })?;
        self.send(Method::PUT, &format!("/registries/{id}"), Some(body))
            .await
            .map(drop)
    }

    /// Deletes a registry.
    pub async fn delete_registry(&self, id: i64) -> Result<()> {
        self.send(Method::DELETE, &format!("/registries/{id}"), None)
            .await
            .map(drop)
    }

    /// Pings a stored registry (`id`) or the settings given.
    pub async fn ping_registry(&self, p: &RegistryPing) -> Result<()> {
        let body = serde_json::to_value(p).map_err(|e| super::Error::Protocol {
            url: "/registries/ping".into(),
            detail: e.to_string(),
        })?;
        self.send(Method::POST, "/registries/ping", Some(body))
            .await
            .map(drop)
    }

    /// What replication can do with a registry.
    pub async fn registry_info(&self, id: i64) -> Result<RegistryInfo> {
        self.get(&format!("/registries/{id}/info")).await
    }

    /// The registry types the server supports.
    pub async fn registry_adapters(&self) -> Result<Vec<String>> {
        self.get("/replication/adapters").await
    }
}
