//! Registry endpoints (`/registries`, `/replication/adapters`).

use harbor_api_model::{
    Registry, RegistryInfo, RegistryPing, RegistryUpdate, ReplicationExecution, ReplicationPolicy,
    ReplicationTask,
};
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

impl Client {
    /// Every replication policy.
    pub async fn replication_policies(&self) -> Result<Vec<ReplicationPolicy>> {
        self.list("/replication/policies", usize::MAX).await
    }

    /// One replication policy.
    pub async fn replication_policy(&self, id: i64) -> Result<ReplicationPolicy> {
        self.get(&format!("/replication/policies/{id}")).await
    }

    /// Creates a replication policy; returns its id.
    pub async fn create_replication_policy(&self, p: &ReplicationPolicy) -> Result<i64> {
        let body = serde_json::to_value(p).map_err(|e| super::Error::Protocol {
            url: "/replication/policies".into(),
            detail: e.to_string(),
        })?;
        let resp = self
            .send(Method::POST, "/replication/policies", Some(body))
            .await?;
        self.created_id(&resp)
    }

    /// Replaces a replication policy.
    pub async fn update_replication_policy(&self, id: i64, p: &ReplicationPolicy) -> Result<()> {
        let body = serde_json::to_value(p).map_err(|e| super::Error::Protocol {
            url: format!("/replication/policies/{id}"),
            detail: e.to_string(),
        })?;
        self.send(
            Method::PUT,
            &format!("/replication/policies/{id}"),
            Some(body),
        )
        .await
        .map(drop)
    }

    /// Deletes a replication policy.
    pub async fn delete_replication_policy(&self, id: i64) -> Result<()> {
        self.send(Method::DELETE, &format!("/replication/policies/{id}"), None)
            .await
            .map(drop)
    }

    /// Starts an execution; returns its id.
    pub async fn start_replication(&self, policy_id: i64) -> Result<i64> {
        let body = serde_json::json!({ "policy_id": policy_id });
        let resp = self
            .send(Method::POST, "/replication/executions", Some(body))
            .await?;
        self.created_id(&resp)
    }

    /// Executions, newest first, of one policy or all.
    pub async fn replication_executions(
        &self,
        policy_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ReplicationExecution>> {
        let path = match policy_id {
            Some(id) => format!("/replication/executions?policy_id={id}"),
            None => "/replication/executions".into(),
        };
        self.list(&path, limit).await
    }

    /// One execution.
    pub async fn replication_execution(&self, id: i64) -> Result<ReplicationExecution> {
        self.get(&format!("/replication/executions/{id}")).await
    }

    /// Stops an execution.
    pub async fn stop_replication(&self, id: i64) -> Result<()> {
        self.send(Method::PUT, &format!("/replication/executions/{id}"), None)
            .await
            .map(drop)
    }

    /// An execution's tasks.
    pub async fn replication_tasks(&self, id: i64) -> Result<Vec<ReplicationTask>> {
        self.list(&format!("/replication/executions/{id}/tasks"), usize::MAX)
            .await
    }

    /// A task's log.
    pub async fn replication_log(&self, execution: i64, task: i64) -> Result<String> {
        let resp = self
            .send(
                Method::GET,
                &format!("/replication/executions/{execution}/tasks/{task}/log"),
                None,
            )
            .await?;
        let url = resp.url().to_string();
        resp.text().await.map_err(|e| super::Error::Protocol {
            url,
            detail: e.to_string(),
        })
    }
}
