//! Upload staging on object stores through multipart uploads.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use harbor_core::model::UploadId;
use harbor_core::ports::UploadWriter;
use harbor_core::{Digest, Error, Result};
use object_store::multipart::{MultipartStore, PartId};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::layout::{blob_path, upload_data_path, upload_tail_path};
use crate::error::{StorageError, internal};

/// The persisted staging state of one upload.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    /// Multipart upload id, once the first full part was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    multipart: Option<String>,
    /// Part ids in order.
    #[serde(default)]
    parts: Vec<String>,
    /// Bytes held by the parts.
    #[serde(default)]
    parts_len: u64,
    /// Bytes held by the `tail` object (not yet a part).
    #[serde(default)]
    tail_len: u64,
}

impl State {
    fn parse(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Ok(State::default());
        }
        serde_json::from_str(s)
            .map_err(|e| internal(StorageError::Inconsistent(format!("upload state: {e}"))))
    }
}

pub(crate) struct MultipartStaging {
    store: Arc<dyn ObjectStore>,
    mp: Arc<dyn MultipartStore>,
    part_size: usize,
}

impl MultipartStaging {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        mp: Arc<dyn MultipartStore>,
        part_size: usize,
    ) -> Self {
        MultipartStaging {
            store,
            mp,
            part_size: part_size.max(1),
        }
    }

    pub(crate) fn part_size(&self) -> usize {
        self.part_size
    }

    async fn read_tail(&self, id: &UploadId, state: &State) -> Result<Option<Bytes>> {
        if state.tail_len == 0 {
            return Ok(None);
        }
        let bytes = self
            .store
            .get(&upload_tail_path(id))
            .await
            .map_err(internal)?
            .bytes()
            .await
            .map_err(internal)?;
        if bytes.len() as u64 != state.tail_len {
            return Err(internal(StorageError::Inconsistent(format!(
                "upload tail has {} bytes, expected {}",
                bytes.len(),
                state.tail_len
            ))));
        }
        Ok(Some(bytes))
    }

    pub(crate) async fn open(
        &self,
        id: &UploadId,
        state: &str,
        offset: u64,
    ) -> Result<Box<dyn UploadWriter>> {
        let state = State::parse(state)?;
        if state.parts_len + state.tail_len != offset {
            return Err(internal(StorageError::Inconsistent(format!(
                "upload state covers {} bytes, expected {offset}",
                state.parts_len + state.tail_len
            ))));
        }
        let mut w = MultipartWriter {
            store: self.store.clone(),
            mp: self.mp.clone(),
            id: id.clone(),
            part_size: self.part_size,
            buf: Vec::new(),
            buf_len: 0,
            state,
        };
        if let Some(tail) = self.read_tail(id, &w.state).await? {
            w.buf_len = tail.len();
            w.buf.push(tail);
            w.state.tail_len = 0;
        }
        Ok(Box::new(w))
    }

    pub(crate) async fn commit(
        &self,
        id: &UploadId,
        state: &str,
        len: u64,
        digest: &Digest,
    ) -> Result<()> {
        let mut state = State::parse(state)?;
        if state.parts_len + state.tail_len != len {
            return Err(internal(StorageError::Inconsistent(format!(
                "upload state covers {} bytes, expected {len}",
                state.parts_len + state.tail_len
            ))));
        }
        let tail = self.read_tail(id, &state).await?;
        let target = blob_path(digest);
        match state.multipart.clone() {
            None => {
                // Smaller than one part: a single put.
                let payload = tail.map(PutPayload::from).unwrap_or_default();
                self.store.put(&target, payload).await.map_err(internal)?;
            }
            Some(mp_id) => {
                let data = upload_data_path(id);
                if let Some(tail) = tail {
                    let part = self
                        .mp
                        .put_part(&data, &mp_id, state.parts.len(), tail.into())
                        .await
                        .map_err(internal)?;
                    state.parts.push(part.content_id);
                }
                let parts = state
                    .parts
                    .iter()
                    .map(|p| PartId {
                        content_id: p.clone(),
                    })
                    .collect();
                self.mp
                    .complete_multipart(&data, &mp_id, parts)
                    .await
                    .map_err(internal)?;
                self.store.rename(&data, &target).await.map_err(internal)?;
            }
        }
        self.delete_tail(id).await
    }

    async fn delete_tail(&self, id: &UploadId) -> Result<()> {
        match self.store.delete(&upload_tail_path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(internal(e)),
        }
    }

    pub(crate) async fn abort(&self, id: &UploadId, state: &str) -> Result<()> {
        let state = State::parse(state)?;
        if let Some(mp_id) = &state.multipart {
            self.mp
                .abort_multipart(&upload_data_path(id), mp_id)
                .await
                .map_err(internal)?;
        }
        self.delete_tail(id).await
    }
}

/// Buffers up to one part, writes full parts, keeps the rest as the tail.
struct MultipartWriter {
    store: Arc<dyn ObjectStore>,
    mp: Arc<dyn MultipartStore>,
    id: UploadId,
    part_size: usize,
    buf: Vec<Bytes>,
    buf_len: usize,
    state: State,
}

impl MultipartWriter {
    async fn flush_part(&mut self) -> Result<()> {
        let data = upload_data_path(&self.id);
        let mp_id = match &self.state.multipart {
            Some(id) => id.clone(),
            None => {
                let id = self.mp.create_multipart(&data).await.map_err(internal)?;
                self.state.multipart = Some(id.clone());
                id
            }
        };
        let payload: PutPayload = std::mem::take(&mut self.buf).into_iter().collect();
        let part = self
            .mp
            .put_part(&data, &mp_id, self.state.parts.len(), payload)
            .await
            .map_err(internal)?;
        self.state.parts.push(part.content_id);
        self.state.parts_len += self.buf_len as u64;
        self.buf_len = 0;
        Ok(())
    }
}

#[async_trait]
impl UploadWriter for MultipartWriter {
    async fn write(&mut self, chunk: Bytes) -> Result<()> {
        self.buf_len += chunk.len();
        self.buf.push(chunk);
        if self.buf_len >= self.part_size {
            self.flush_part().await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<String> {
        if self.buf_len > 0 {
            let payload: PutPayload = std::mem::take(&mut self.buf).into_iter().collect();
            self.store
                .put(&upload_tail_path(&self.id), payload)
                .await
                .map_err(internal)?;
        }
        self.state.tail_len = self.buf_len as u64;
        serde_json::to_string(&self.state).map_err(|e| Error::internal(e.to_string()))
    }

    async fn abort(self: Box<Self>) {}
}
