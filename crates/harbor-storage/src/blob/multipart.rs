//! Upload staging on object stores through multipart uploads.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use harbor_core::model::UploadId;
use harbor_core::ports::{ByteStream, UploadWriter};
use harbor_core::{Digest, Error, Result};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};

use super::layout::Layout;
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
    /// No more appends: the multipart upload is complete (its object is readable), or,
    /// without one, the tail object holds all the data.
    #[serde(default)]
    sealed: bool,
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

/// Largest object a single server-side copy may produce (S3's CopyObject limit).
pub const COPY_LIMIT: u64 = 5 * 1024 * 1024 * 1024;

pub(crate) struct MultipartStaging {
    store: Arc<dyn ObjectStore>,
    mp: Arc<dyn MultipartStore>,
    layout: Layout,
    part_size: usize,
    copy_limit: u64,
}

impl MultipartStaging {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        mp: Arc<dyn MultipartStore>,
        layout: Layout,
        part_size: usize,
    ) -> Self {
        MultipartStaging {
            store,
            mp,
            layout,
            part_size: part_size.max(1),
            copy_limit: COPY_LIMIT,
        }
    }

    /// Lowers the single-copy limit (to test the streamed copy of huge blobs).
    pub(crate) fn set_copy_limit(&mut self, limit: u64) {
        self.copy_limit = limit;
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
            .get(&self.layout.upload_tail(id))
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
        if state.sealed {
            return Err(Error::internal("cannot append to a sealed upload"));
        }
        if state.parts_len + state.tail_len != offset {
            return Err(internal(StorageError::Inconsistent(format!(
                "upload state covers {} bytes, expected {offset}",
                state.parts_len + state.tail_len
            ))));
        }
        let mut w = MultipartWriter {
            store: self.store.clone(),
            mp: self.mp.clone(),
            data: self.layout.upload_data(id),
            tail: self.layout.upload_tail(id),
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

    /// Ends appends and makes the staged bytes one readable object.
    pub(crate) async fn seal(&self, id: &UploadId, state: &str, len: u64) -> Result<String> {
        let mut st = State::parse(state)?;
        if st.parts_len + st.tail_len != len {
            return Err(internal(StorageError::Inconsistent(format!(
                "upload state covers {} bytes, expected {len}",
                st.parts_len + st.tail_len
            ))));
        }
        if st.sealed {
            return Ok(state.to_owned());
        }
        if let Some(mp_id) = st.multipart.clone() {
            let data = self.layout.upload_data(id);
            if let Some(tail) = self.read_tail(id, &st).await? {
                let part = self
                    .mp
                    .put_part(&data, &mp_id, st.parts.len(), tail.into())
                    .await
                    .map_err(internal)?;
                st.parts.push(part.content_id);
                st.parts_len += st.tail_len;
                st.tail_len = 0;
            }
            let parts = st
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
            self.delete_tail(id).await?;
        }
        st.sealed = true;
        serde_json::to_string(&st).map_err(|e| Error::internal(e.to_string()))
    }

    /// Where a sealed upload's bytes are: the completed multipart object, the tail object
    /// of a small upload, or nowhere for an empty one.
    fn sealed_data(&self, id: &UploadId, st: &State) -> Result<Option<Path>> {
        if !st.sealed {
            return Err(Error::internal("upload must be sealed first"));
        }
        Ok(if st.multipart.is_some() {
            Some(self.layout.upload_data(id))
        } else if st.tail_len > 0 {
            Some(self.layout.upload_tail(id))
        } else {
            None
        })
    }

    /// Streams a sealed upload's bytes.
    pub(crate) async fn read(&self, id: &UploadId, state: &str) -> Result<ByteStream> {
        let st = State::parse(state)?;
        match self.sealed_data(id, &st)? {
            None => Ok(futures::stream::empty().boxed()),
            Some(p) => Ok(self
                .store
                .get(&p)
                .await
                .map_err(internal)?
                .into_stream()
                .map_err(std::io::Error::other)
                .boxed()),
        }
    }

    pub(crate) async fn commit(
        &self,
        id: &UploadId,
        state: &str,
        len: u64,
        digest: &Digest,
    ) -> Result<()> {
        let sealed = self.seal(id, state, len).await?;
        let st = State::parse(&sealed)?;
        let target = self.layout.blob(digest);
        match self.sealed_data(id, &st)? {
            None => {
                self.store
                    .put(&target, PutPayload::default())
                    .await
                    .map_err(internal)?;
            }
            Some(data) if len <= self.copy_limit => {
                self.store.rename(&data, &target).await.map_err(internal)?;
            }
            Some(data) => self.copy_streamed(&data, &target).await?,
        }
        Ok(())
    }

    /// Copies an object too large for one server-side copy by streaming it through this
    /// process into a new multipart upload (a few parts in memory at a time).
    async fn copy_streamed(&self, from: &Path, to: &Path) -> Result<()> {
        let mut source = self.store.get(from).await.map_err(internal)?.into_stream();
        let upload = self.store.put_multipart(to).await.map_err(internal)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let copied = async {
            while let Some(chunk) = source.next().await {
                writer.wait_for_capacity(2).await.map_err(internal)?;
                writer.put(chunk.map_err(internal)?);
            }
            Ok::<_, harbor_core::Error>(())
        }
        .await;
        match copied {
            Ok(()) => {
                writer.finish().await.map_err(internal)?;
            }
            Err(e) => {
                let _ = writer.abort().await;
                return Err(e);
            }
        }
        match self.store.delete(from).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(internal(e)),
        }
    }

    async fn delete_tail(&self, id: &UploadId) -> Result<()> {
        match self.store.delete(&self.layout.upload_tail(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(internal(e)),
        }
    }

    pub(crate) async fn abort(&self, id: &UploadId, state: &str) -> Result<()> {
        let state = State::parse(state)?;
        let data = self.layout.upload_data(id);
        match (&state.multipart, state.sealed) {
            (Some(_), true) => match self.store.delete(&data).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(internal(e)),
            },
            (Some(mp_id), false) => self
                .mp
                .abort_multipart(&data, mp_id)
                .await
                .map_err(internal)?,
            (None, _) => {}
        }
        self.delete_tail(id).await
    }
}

/// Buffers up to one part, writes full parts, keeps the rest as the tail.
struct MultipartWriter {
    store: Arc<dyn ObjectStore>,
    mp: Arc<dyn MultipartStore>,
    /// The multipart target and the tail object of this upload.
    data: Path,
    tail: Path,
    part_size: usize,
    buf: Vec<Bytes>,
    buf_len: usize,
    state: State,
}

impl MultipartWriter {
    async fn flush_part(&mut self) -> Result<()> {
        let mp_id = match &self.state.multipart {
            Some(id) => id.clone(),
            None => {
                let id = self
                    .mp
                    .create_multipart(&self.data)
                    .await
                    .map_err(internal)?;
                self.state.multipart = Some(id.clone());
                id
            }
        };
        let payload: PutPayload = std::mem::take(&mut self.buf).into_iter().collect();
        let part = self
            .mp
            .put_part(&self.data, &mp_id, self.state.parts.len(), payload)
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
                .put(&self.tail, payload)
                .await
                .map_err(internal)?;
        }
        self.state.tail_len = self.buf_len as u64;
        serde_json::to_string(&self.state).map_err(|e| Error::internal(e.to_string()))
    }

    async fn abort(self: Box<Self>) {}
}
