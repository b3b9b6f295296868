//! Files agents upload to send (see [`AttachmentStore`]), kept in the database beside the
//! conversation they belong to.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::model::new_id;
use crate::store::api::{AttachmentStore, NewAttachment, StoredAttachment};

const COLUMNS: &str = "id, conversation, agent, filename, mime_type, size, created_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAttachment> {
    Ok(StoredAttachment {
        id: r.get(0)?,
        conversation: r.get(1)?,
        agent: r.get(2)?,
        filename: r.get(3)?,
        mime_type: r.get(4)?,
        size: r.get(5)?,
        created_at: r.get(6)?,
    })
}

fn put(conn: &Connection, a: &NewAttachment, now: i64) -> anyhow::Result<StoredAttachment> {
    // The id is the file's address for platforms: long and random, never guessed.
    let id = format!("{}{}", new_id("att"), uuid::Uuid::new_v4().simple());
    let size = a.bytes.len() as i64;
    conn.prepare_cached(
        "INSERT INTO attachments (id, conversation, agent, filename, mime_type, size, bytes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        a.conversation,
        a.agent,
        a.filename,
        a.mime_type,
        size,
        a.bytes,
        now
    ])?;
    Ok(StoredAttachment {
        id,
        conversation: a.conversation.clone(),
        agent: a.agent.clone(),
        filename: a.filename.clone(),
        mime_type: a.mime_type.clone(),
        size,
        created_at: now,
    })
}

fn get(conn: &Connection, id: &str) -> anyhow::Result<Option<StoredAttachment>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM attachments WHERE id = ?1"))?
        .query_row(params![id], row)
        .optional()?)
}

fn get_bytes(conn: &Connection, id: &str) -> anyhow::Result<Option<(StoredAttachment, Vec<u8>)>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, bytes FROM attachments WHERE id = ?1"
        ))?
        .query_row(params![id], |r| Ok((row(r)?, r.get(7)?)))
        .optional()?)
}

#[async_trait]
impl AttachmentStore for SqliteStore {
    async fn put_attachment(
        &self,
        attachment: NewAttachment,
        now: i64,
    ) -> anyhow::Result<StoredAttachment> {
        self.db.call(move |c| put(c, &attachment, now)).await
    }

    async fn attachment(&self, id: &str) -> anyhow::Result<Option<StoredAttachment>> {
        let id = id.to_string();
        self.reads.call(move |c| get(c, &id)).await
    }

    async fn attachment_bytes(
        &self,
        id: &str,
    ) -> anyhow::Result<Option<(StoredAttachment, Vec<u8>)>> {
        let id = id.to_string();
        self.reads.call(move |c| get_bytes(c, &id)).await
    }
}
