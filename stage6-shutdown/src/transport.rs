//! The doors a client can come through.

/// Which door a client came through: for logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Plain TCP, the line protocol as `nc` speaks it.
    Tcp,
    /// TCP wrapped in TLS.
    Tls,
    /// A WebSocket, one text message per line.
    WebSocket,
}

impl Transport {
    /// The name used in logs and in the metrics' `transport` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::WebSocket => "websocket",
        }
    }
}
