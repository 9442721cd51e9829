//! A WebSocket seen as a byte stream of lines, the way stage 6 maps them:
//! each text message is one line without its `\n`.
//!
//! [`WsReader`] turns every text message into its text and a `\n`;
//! [`WsWriter`] cuts what is written at each `\n` (dropping a `\r` before
//! it) and sends each line as one text message. Both poll the socket
//! directly, with no task or copy in between, so that a load run over
//! WebSocket measures the server, not a bridge.

use std::io;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::{ConnectError, Reader, Writer};

/// Upgrades `stream` to a WebSocket at `url` and splits it into lines.
pub async fn upgrade<S>(stream: S, url: &str) -> Result<(Reader, Writer), ConnectError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (socket, _response) = tokio_tungstenite::client_async(url, stream)
        .await
        .map_err(|e| ConnectError::Handshake(format!("WebSocket upgrade at {url} failed: {e}")))?;
    let (sink, stream) = socket.split();
    let reader = WsReader {
        stream,
        pending: Vec::new(),
        at: 0,
        failed: None,
        closed: false,
    };
    let writer = WsWriter {
        sink,
        line: Vec::new(),
        ready: None,
    };
    Ok((Box::new(reader), Box::new(writer)))
}

/// The reading half: text messages become lines.
pub struct WsReader<S> {
    stream: SplitStream<WebSocketStream<S>>,
    /// The message being handed out, with its `\n`.
    pending: Vec<u8>,
    /// How much of `pending` was handed out already.
    at: usize,
    /// What went wrong after the lines of the last read, to report next.
    failed: Option<io::Error>,
    /// Whether the server's close frame (or the stream's end) has come:
    /// nothing is read after it. Over TLS, a server that then drops the
    /// connection without close_notify would turn the next read into an error.
    closed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsReader<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(failure) = this.failed.take() {
            return Poll::Ready(Err(failure));
        }
        let mut filled = false;
        while buf.remaining() > 0 {
            if this.at < this.pending.len() {
                let n = buf.remaining().min(this.pending.len() - this.at);
                buf.put_slice(&this.pending[this.at..this.at + n]);
                this.at += n;
                filled = true;
                continue;
            }
            if this.closed {
                break;
            }
            // Messages already here join this read, as the lines of one TCP
            // segment would; the first one not here yet ends it.
            let next = match this.stream.poll_next_unpin(cx) {
                Poll::Pending if filled => break,
                Poll::Pending => return Poll::Pending,
                Poll::Ready(next) => next,
            };
            let failure = match next {
                // A close, or the connection's end, is the end of the lines.
                None | Some(Ok(Message::Close(_))) => {
                    this.closed = true;
                    break;
                }
                Some(Ok(Message::Text(text))) => {
                    this.pending.clear();
                    this.pending.extend_from_slice(text.as_bytes());
                    this.pending.push(b'\n');
                    this.at = 0;
                    continue;
                }
                Some(Ok(Message::Binary(_))) => io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the server sent a binary WebSocket message; the chat speaks text",
                ),
                // Pings are answered by the library; pongs and raw frames carry no line.
                Some(Ok(_)) => continue,
                Some(Err(error)) => io::Error::other(error),
            };
            if !filled {
                return Poll::Ready(Err(failure));
            }
            // Hand out the lines before it first; the failure is next.
            this.failed = Some(failure);
            break;
        }
        Poll::Ready(Ok(()))
    }
}

/// The writing half: each line becomes a text message.
pub struct WsWriter<S> {
    sink: SplitSink<WebSocketStream<S>, Message>,
    /// The start of a line whose `\n` has not been written yet.
    line: Vec<u8>,
    /// A whole line waiting for room in the socket.
    ready: Option<String>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsWriter<S> {
    /// Hands the waiting line, if any, to the socket's buffer.
    fn poll_hand_over(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.ready.is_some() {
            ready!(self.sink.poll_ready_unpin(cx)).map_err(io::Error::other)?;
            let line = self.ready.take().unwrap_or_default();
            self.sink
                .start_send_unpin(Message::text(line))
                .map_err(io::Error::other)?;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsWriter<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_hand_over(cx))?;
        let Some(end) = buf.iter().position(|&b| b == b'\n') else {
            this.line.extend_from_slice(buf);
            return Poll::Ready(Ok(buf.len()));
        };
        this.line.extend_from_slice(&buf[..end]);
        if this.line.ends_with(b"\r") {
            this.line.pop();
        }
        let line = String::from_utf8(mem::take(&mut this.line)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "a WebSocket text message must be UTF-8",
            )
        })?;
        this.ready = Some(line);
        // The `\n` is taken too: it is the end of the message.
        Poll::Ready(Ok(end + 1))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_hand_over(cx))?;
        this.sink.poll_flush_unpin(cx).map_err(io::Error::other)
    }

    /// Sends what is waiting, then a close frame.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        self.get_mut()
            .sink
            .poll_close_unpin(cx)
            .map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::time::timeout;

    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    /// A WebSocket server for one client: it answers each text message with
    /// `got <text>`, and sends `extra` first.
    async fn echo_server(extra: Vec<Message>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
            for message in extra {
                socket.send(message).await.unwrap();
            }
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    let answer = format!("got {}", text.as_str());
                    socket.send(Message::text(answer)).await.unwrap();
                }
            }
        });
        format!("ws://{addr}/ws")
    }

    async fn connect(url: &str) -> (BufReader<Reader>, Writer) {
        let addr = url
            .trim_start_matches("ws://")
            .trim_end_matches("/ws")
            .to_owned();
        let stream = TcpStream::connect(addr).await.unwrap();
        let (reader, writer) = upgrade(stream, url).await.unwrap();
        (BufReader::new(reader), writer)
    }

    async fn next_line(reader: &mut BufReader<Reader>) -> String {
        let mut line = String::new();
        timeout(WAIT, reader.read_line(&mut line))
            .await
            .expect("a line within 5 s")
            .expect("reading a line");
        line
    }

    #[tokio::test]
    async fn each_line_is_one_message_each_way() {
        let url = echo_server(vec![Message::text("hello"), Message::text("")]).await;
        let (mut reader, mut writer) = connect(&url).await;
        assert_eq!(next_line(&mut reader).await, "hello\n");
        assert_eq!(next_line(&mut reader).await, "\n");
        // Two lines in one write, the second cut in two, one ending in \r\n.
        writer.write_all(b"one\r\ntw").await.unwrap();
        writer.write_all(b"o\n").await.unwrap();
        writer.flush().await.unwrap();
        assert_eq!(next_line(&mut reader).await, "got one\n");
        assert_eq!(next_line(&mut reader).await, "got two\n");
    }

    #[tokio::test]
    async fn nothing_is_read_after_the_close_frame() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
            socket.send(Message::text("last")).await.unwrap();
            socket.send(Message::Close(None)).await.unwrap();
            // A text frame "late" past the close, and the connection kept
            // open: reading on would fail, or wait.
            socket.get_mut().write_all(b"\x81\x04late").await.unwrap();
            std::future::pending::<()>().await;
        });
        let (mut reader, _writer) = connect(&url).await;
        assert_eq!(next_line(&mut reader).await, "last\n");
        for _ in 0..2 {
            let after = next_line(&mut reader).await;
            assert_eq!(after, "", "the close frame ends the lines for good");
        }
    }

    #[tokio::test]
    async fn a_binary_message_is_an_error_and_a_close_the_end() {
        let url = echo_server(vec![
            Message::binary(vec![1, 2, 3]),
            Message::text("after"),
            Message::Close(None),
        ])
        .await;
        let (mut reader, _writer) = connect(&url).await;
        let mut line = String::new();
        let error = timeout(WAIT, reader.read_line(&mut line))
            .await
            .expect("an answer within 5 s")
            .expect_err("a binary message is no line");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        assert_eq!(next_line(&mut reader).await, "after\n");
        assert_eq!(
            next_line(&mut reader).await,
            "",
            "a close frame ends the lines"
        );
    }
}
