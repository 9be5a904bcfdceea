//! A project's webhook policies (`/projects/{p}/webhook/...`), their executions and task
//! logs, the last trigger per event type and the supported event types.

pub use harbor_api_model::{
    Execution as WebhookExecution, SupportedWebhookEventTypes, Task as WebhookTask,
    WebhookLastTrigger, WebhookPolicy, WebhookTargetObject, WebhookTestResult,
};
use reqwest::Method;

use super::{Client, Error, Result, encode};

fn base(project: &str) -> String {
    format!("/projects/{}/webhook", encode(project))
}

fn body(policy: &WebhookPolicy) -> Result<serde_json::Value> {
    serde_json::to_value(policy).map_err(|e| Error::Setup(e.to_string()))
}

impl Client {
    /// A project's webhook policies (auth headers come back as `*****`).
    pub async fn webhook_policies(&self, project: &str) -> Result<Vec<WebhookPolicy>> {
        self.list(&format!("{}/policies", base(project)), usize::MAX)
            .await
    }

    /// One webhook policy.
    pub async fn webhook_policy(&self, project: &str, id: i64) -> Result<WebhookPolicy> {
        self.get(&format!("{}/policies/{id}", base(project))).await
    }

    /// Creates a webhook policy (project admins); returns its id.
    pub async fn create_webhook_policy(&self, project: &str, p: &WebhookPolicy) -> Result<i64> {
        let path = format!("{}/policies", base(project));
        let r = self.send(Method::POST, &path, Some(body(p)?)).await?;
        self.created_id(&r)
    }

    /// Replaces a webhook policy; a target whose `auth_header` is `*****` keeps the
    /// stored header.
    pub async fn update_webhook_policy(
        &self,
        project: &str,
        id: i64,
        p: &WebhookPolicy,
    ) -> Result<()> {
        let path = format!("{}/policies/{id}", base(project));
        self.send(Method::PUT, &path, Some(body(p)?))
            .await
            .map(drop)
    }

    /// Deletes a webhook policy.
    pub async fn delete_webhook_policy(&self, project: &str, id: i64) -> Result<()> {
        let path = format!("{}/policies/{id}", base(project));
        self.send(Method::DELETE, &path, None).await.map(drop)
    }

    /// Sends a test event to each of the policy's targets (Harbor-rs's extension).
    pub async fn test_webhook_policy(
        &self,
        project: &str,
        id: i64,
    ) -> Result<Vec<WebhookTestResult>> {
        let path = format!("{}/policies/{id}/test", base(project));
        let r = self.send(Method::POST, &path, None).await?;
        self.json(r).await
    }

    /// The policy's executions (one per delivery), newest first, at most `limit`;
    /// `status` narrows them (`Pending`, `Running`, `Success`, `Error`, `Stopped`).
    pub async fn webhook_executions(
        &self,
        project: &str,
        id: i64,
        status: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WebhookExecution>> {
        let mut path = format!("{}/policies/{id}/executions", base(project));
        if let Some(s) = status {
            path.push_str(&format!("?status={}", encode(s)));
        }
        self.list(&path, limit).await
    }

    /// An execution's tasks (a webhook execution has one).
    pub async fn webhook_tasks(
        &self,
        project: &str,
        id: i64,
        execution: i64,
    ) -> Result<Vec<WebhookTask>> {
        let path = format!(
            "{}/policies/{id}/executions/{execution}/tasks",
            base(project)
        );
        self.list(&path, usize::MAX).await
    }

    /// A task's log, as text (one line per attempt).
    pub async fn webhook_task_log(
        &self,
        project: &str,
        id: i64,
        execution: i64,
        task: i64,
    ) -> Result<String> {
        let path = format!(
            "{}/policies/{id}/executions/{execution}/tasks/{task}/log",
            base(project)
        );
        let r = self.request(Method::GET, &path, None).await?;
        let url = r.url().to_string();
        r.text().await.map_err(|e| Error::Protocol {
            url,
            detail: e.to_string(),
        })
    }

    /// The last trigger of each event type of each policy.
    pub async fn webhook_last_triggers(&self, project: &str) -> Result<Vec<WebhookLastTrigger>> {
        self.get(&format!("{}/lasttrigger", base(project))).await
    }

    /// The event types, notify types and payload formats the server supports.
    pub async fn webhook_events(&self, project: &str) -> Result<SupportedWebhookEventTypes> {
        self.get(&format!("{}/events", base(project))).await
    }
}
