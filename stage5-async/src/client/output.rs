//! Writing to the client, never waiting on it for long.

use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

use super::Session;
use crate::ChatError;

impl Session {
    // ANCHOR: write
    /// Writes `text` within the configured write timeout. A client whose
    /// socket takes nothing for that long is not reading; waiting longer
    /// would only tie up this task.
    pub(super) async fn write(&mut self, text: &str) -> Result<(), ChatError> {
        let limit = self.shared.config.write_timeout;
        match timeout(limit, self.writer.write_all(text.as_bytes())).await {
            Ok(written) => Ok(written?),
            Err(_) => Err(ChatError::TooSlow { after: limit }),
        }
    }
    // ANCHOR_END: write
}
