//! Whether the channel can carry a message before it is stored: the adapter encodes it as the
//! sender later will (`encode-send`), and its refusal, with the adapter's reason, goes to the
//! agent at once instead of failing the message after the fact. Nothing is sent.

use super::actions::SenderActions;
use crate::events::{Attachment, Author, OutboundKind, OutboundMessage};
use crate::model::Conversation;

impl SenderActions {
    /// Asks the conversation's adapter to encode an agent message with `text` and
    /// `attachments`; `Err` with the reason when the channel cannot carry it.
    pub async fn check_encodes(
        &self,
        conversation: &Conversation,
        text: Option<&str>,
        attachments: &[Attachment],
    ) -> Result<(), String> {
        let Some(integration) = self.integrations.sender_for(&conversation.integration) else {
            return Err(format!(
                "integration `{}` is not loaded",
                conversation.integration
            ));
        };
        let info = integration.adapter.info();
        if !attachments.is_empty() && !info.capabilities.attachments {
            return Err(format!("{} takes no attachments", info.platform));
        }
        let message = OutboundMessage {
            id: "m_check".into(),
            conversation_id: conversation.id.clone(),
            customer_id: conversation.customer_id.clone(),
            text: text.map(str::to_string),
            quick_replies: Vec::new(),
            attachments: attachments.to_vec(),
            author: Author::Agent,
            author_name: None,
            in_reply_to: None,
            kind: OutboundKind::Direct,
            template: None,
            tag: None,
        };
        // Only the encoding is asked for; the instance is dropped without sending.
        match integration
            .send(&self.metrics, &message, None)
            .await
            .map(|(encoded, _unsent)| encoded)
        {
            Ok(Ok(_request)) => Ok(()),
            Ok(Err(
                crate::runtime::AdapterError::Malformed(reason)
                | crate::runtime::AdapterError::Unauthorized(reason),
            )) => Err(format!("{} cannot send this: {reason}", info.platform)),
            Ok(Err(crate::runtime::AdapterError::Misconfigured(reason))) => Err(format!(
                "integration `{}` is misconfigured: {reason}",
                integration.config.id
            )),
            Err(e) => Err(format!("the {} adapter failed: {e}", info.platform)),
        }
    }
}
