//! Files agents upload to send (see [`AttachmentStore`]), kept in the database beside the
//! conversation they belong to (as in the embedded engine), so every host serves every upload.

use async_trait::async_trait;
use tokio_postgres::Row;

use super::PgStore;
use super::db::{exec, row, unit};
use crate::model::new_id;
use crate::store::api::{AttachmentStore, NewAttachment, StoredAttachment};

const COLUMNS: &str = "id, conversation, agent, filename, mime_type, size, created_at";

fn stored(r: &Row) -> anyhow::Result<StoredAttachment> {
    Ok(StoredAttachment {
        id: r.try_get(0)?,
        conversation: r.try_get(1)?,
        agent: r.try_get(2)?,
        filename: r.try_get(3)?,
        mime_type: r.try_get(4)?,
        size: r.try_get(5)?,
        created_at: r.try_get(6)?,
    })
}

#[async_trait]
impl AttachmentStore for PgStore {
    async fn put_attachment(&self, a: NewAttachment, now: i64) -> anyhow::Result<StoredAttachment> {
        // The id is the file's address for platforms: long and random, never guessed.
        let id = format!("{}{}", new_id("att"), uuid::Uuid::new_v4().simple());
        let size = a.bytes.len() as i64;
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "INSERT INTO attachments (id, conversation, agent, filename, mime_type, size, bytes, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &id,
                    &a.conversation,
                    &a.agent,
                    &a.filename,
                    &a.mime_type,
                    &size,
                    &a.bytes,
                    &now,
                ],
            )
            .await
        })?;
        Ok(StoredAttachment {
            id,
            conversation: a.conversation,
            agent: a.agent,
            filename: a.filename,
            mime_type: a.mime_type,
            size,
            created_at: now,
        })
    }

    async fn attachment(&self, id: &str) -> anyhow::Result<Option<StoredAttachment>> {
        row(
            &self.pool.get().await?,
            &format!("SELECT {COLUMNS} FROM attachments WHERE id = $1"),
            &[&id],
        )
        .await?
        .map(|r| stored(&r))
        .transpose()
    }

    async fn attachment_bytes(
        &self,
        id: &str,
    ) -> anyhow::Result<Option<(StoredAttachment, Vec<u8>)>> {
        row(
            &self.pool.get().await?,
            &format!("SELECT {COLUMNS}, bytes FROM attachments WHERE id = $1"),
            &[&id],
        )
        .await?
        .map(|r| Ok((stored(&r)?, r.try_get(7)?)))
        .transpose()
    }
}
