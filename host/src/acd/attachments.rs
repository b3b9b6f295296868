//! Files agents send: uploaded to an interaction they hold, kept in the store, and named in a
//! reply by id. The platform fetches each from `{public_url}/media/{id}` (an unguessable
//! address), as Messenger, Instagram, WhatsApp and open messaging fetch attachments by URL;
//! whether the channel takes it is asked of the adapter before the reply is stored.

use super::agents::Acd;
use super::error::AcdError;
use crate::config::AgentConfig;
use crate::events::{Attachment, AttachmentKind};
use crate::model::Conversation;
use crate::store::{NewAttachment, StoredAttachment};

/// The longest file name kept.
const MAX_FILENAME: usize = 200;

/// An upload as the agent sent it.
pub struct Upload {
    pub filename: String,
    pub mime_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// The kind of attachment a MIME type makes.
pub fn kind_of(mime_type: &str) -> AttachmentKind {
    match mime_type.split('/').next().unwrap_or("") {
        "image" => AttachmentKind::Image,
        "video" => AttachmentKind::Video,
        "audio" => AttachmentKind::Audio,
        _ => AttachmentKind::File,
    }
}

/// The last part of a path, without control characters, at most [`MAX_FILENAME`] long.
fn clean_filename(name: &str) -> String {
    name.rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME)
        .collect::<String>()
        .trim()
        .to_string()
}

/// `type/subtype` (parameters dropped, lower case), or `None` when it is not one.
fn clean_mime(mime: &str) -> Option<String> {
    let essence = mime.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    (token(kind) && token(sub)).then_some(essence)
}

impl Acd {
    /// Stores a file the agent will send in interaction `id`, which they must hold.
    pub async fn upload(
        &self,
        agent: &AgentConfig,
        id: &str,
        upload: Upload,
    ) -> Result<StoredAttachment, AcdError> {
        self.held_by(agent, id).await?;
        let filename = clean_filename(&upload.filename);
        if filename.is_empty() {
            return Err(AcdError::Invalid("name the file: `?filename=NAME`".into()));
        }
        if upload.bytes.is_empty() {
            return Err(AcdError::Invalid("the file is empty".into()));
        }
        let mime_type = match upload.mime_type.as_deref() {
            None => "application/octet-stream".to_string(),
            Some(mime) => clean_mime(mime).ok_or_else(|| {
                AcdError::Invalid(format!("`{mime}` is not a media type (type/subtype)"))
            })?,
        };
        Ok(self
            .store
            .put_attachment(
                NewAttachment {
                    conversation: id.to_string(),
                    agent: agent.id.clone(),
                    filename,
                    mime_type,
                    bytes: upload.bytes,
                },
                crate::model::now_ms(),
            )
            .await?)
    }

    /// Where platforms (and agents) fetch an upload.
    pub fn media_url(&self, id: &str) -> String {
        format!("{}/media/{id}", self.public_url)
    }

    /// An upload and its bytes, for whoever has its address.
    pub async fn media(&self, id: &str) -> Result<(StoredAttachment, Vec<u8>), AcdError> {
        self.store
            .attachment_bytes(id)
            .await?
            .ok_or_else(|| AcdError::NotFound("no such file".into()))
    }

    /// The attachments a reply in `conversation` names, as the adapter gets them: each must be
    /// an upload of this interaction.
    pub(super) async fn attachments_of(
        &self,
        conversation: &Conversation,
        ids: &[String],
    ) -> Result<Vec<Attachment>, AcdError> {
        let mut attachments = Vec::with_capacity(ids.len());
        for id in ids {
            let stored = self
                .store
                .attachment(id)
                .await?
                .filter(|a| a.conversation == conversation.id)
                .ok_or_else(|| {
                    AcdError::Invalid(format!(
                        "`{id}` is not a file uploaded to interaction `{}`",
                        conversation.id
                    ))
                })?;
            attachments.push(Attachment {
                kind: kind_of(&stored.mime_type),
                url: Some(self.media_url(&stored.id)),
                media_id: None,
                mime_type: Some(stored.mime_type),
                filename: Some(stored.filename),
                caption: None,
            });
        }
        Ok(attachments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types_are_cleaned() {
        assert_eq!(clean_filename("C:\\Users\\al\\label.png"), "label.png");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\u{0}b\n.pdf"), "ab.pdf");
        assert_eq!(clean_filename("dir/"), "");
        assert_eq!(
            clean_mime("Image/PNG; charset=x").as_deref(),
            Some("image/png")
        );
        assert_eq!(clean_mime("text/html<script>"), None);
        assert_eq!(clean_mime("nothing"), None);
        assert_eq!(kind_of("image/png"), AttachmentKind::Image);
        assert_eq!(kind_of("application/pdf"), AttachmentKind::File);
    }
}
