//! A WebSocket seen as a byte stream: each text message from the client is
//! one line, each line the server writes is one text message.
//!
//! The session reads and writes bytes, so the WebSocket is bridged to an
//! in-memory pipe (`tokio::io::duplex`) and a pump moves messages across.
//! The pipe is small: a client that does not read fills it, and the
//! session's write timeout holds on this transport as on TCP.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::time::timeout;

use crate::transport::{Companion, Reader, Writer};

/// The pipe's capacity each way, in bytes: a few batches of lines.
const PIPE: usize = 64 * 1024;

/// How long the pump may take to send its close frame, and then waits for
/// the client's answer to it.
const LINGER: Duration = Duration::from_secs(1);

/// Bridges `socket` to the halves a session uses, and returns the pump that
/// must run beside the session. Lines longer than `max_line_len` are refused
/// by the WebSocket library before they reach the pump (`max_message_size`).
/// A client that takes no message for `write_timeout` is no longer written to.
pub fn bridge(socket: WebSocket, write_timeout: Duration) -> (Reader, Writer, Companion) {
    let (session_side, pump_side) = tokio::io::duplex(PIPE);
    let (reader, writer) = tokio::io::split(session_side);
    let pump = pump(socket, pump_side, write_timeout);
    (Box::new(reader), Box::new(writer), Box::pin(pump))
}

/// Moves messages both ways until the session or the client is done, then
/// closes the WebSocket with a code that says why.
async fn pump(socket: WebSocket, pump_side: DuplexStream, write_timeout: Duration) {
    let (mut sink, mut stream) = socket.split();
    let (from_session, to_session) = tokio::io::split(pump_side);
    let code = {
        let receiving = receive(&mut stream, to_session);
        let sending = send(from_session, &mut sink, write_timeout);
        tokio::pin!(receiving, sending);
        tokio::select! {
            // The session ended (quit, kick, shutdown…): its last line is out.
            () = &mut sending => close_code::NORMAL,
            // The client closed or broke a rule: the session reads the end of
            // its input and ends; what it still writes goes out first.
            code = &mut receiving => {
                sending.await;
                code
            }
        }
    };
    let frame = CloseFrame {
        code,
        reason: reason(code).into(),
    };
    let _ = timeout(LINGER, sink.send(Message::Close(Some(frame)))).await;
    // The client answers with its own close frame; waiting for it lets the
    // client see a clean close rather than a reset.
    let _ = timeout(LINGER, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
}

/// Feeds each text message to the session as a line; returns the close code
/// once the client has closed or broken a rule.
async fn receive(
    stream: &mut SplitStream<WebSocket>,
    mut to_session: WriteHalf<DuplexStream>,
) -> u16 {
    let code = loop {
        let message = match stream.next().await {
            None => break close_code::NORMAL,
            Some(Ok(message)) => message,
            Some(Err(error)) => break broken_rule(error),
        };
        match message {
            Message::Text(text) => {
                // One message is one line: a newline inside would smuggle in
                // a second one.
                if text.as_str().contains('\n') {
                    break close_code::POLICY;
                }
                let line = text.as_str().as_bytes();
                // Waits while the session is not reading (a paused talker):
                // the client's socket then fills, as a TCP client's would.
                let written = match to_session.write_all(line).await {
                    Ok(()) => to_session.write_all(b"\n").await,
                    Err(error) => Err(error),
                };
                if written.is_err() {
                    break close_code::NORMAL;
                }
            }
            Message::Binary(_) => break close_code::UNSUPPORTED,
            Message::Close(_) => break close_code::NORMAL,
            // The library answers pings by itself.
            Message::Ping(_) | Message::Pong(_) => {}
        }
    };
    // The session reads the end of its input, as when a TCP client closes.
    let _ = to_session.shutdown().await;
    code
}

/// The close code for an error the WebSocket library reported.
fn broken_rule(error: axum::Error) -> u16 {
    match error.into_inner().downcast::<tungstenite::Error>() {
        Ok(error) => match *error {
            tungstenite::Error::Capacity(_) => close_code::SIZE,
            tungstenite::Error::Utf8(_) => close_code::INVALID,
            _ => close_code::PROTOCOL,
        },
        Err(_) => close_code::PROTOCOL,
    }
}

/// The reason a close frame gives, for a person reading the browser's console.
fn reason(code: u16) -> &'static str {
    match code {
        close_code::UNSUPPORTED => "only text messages: one line each",
        close_code::POLICY => "one line per message: no newline inside",
        close_code::SIZE => "a line is too long",
        close_code::INVALID => "text must be UTF-8",
        close_code::PROTOCOL => "WebSocket protocol error",
        _ => "",
    }
}

/// Sends what the session writes, one text message per line, until the
/// session ends, or until the client takes nothing for `write_timeout`: then
/// the pump ends, the pipe closes, and the session's next write fails.
async fn send(
    mut from_session: ReadHalf<DuplexStream>,
    sink: &mut SplitSink<WebSocket, Message>,
    write_timeout: Duration,
) {
    let mut buf = vec![0; PIPE];
    // Bytes of a line whose end has not arrived yet.
    let mut unfinished = Vec::new();
    while let Ok(read @ 1..) = from_session.read(&mut buf).await {
        unfinished.extend_from_slice(&buf[..read]);
        let complete = unfinished
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |last| last + 1);
        let sent = timeout(write_timeout, send_lines(sink, &unfinished[..complete])).await;
        if !matches!(sent, Ok(Ok(()))) {
            return;
        }
        unfinished.drain(..complete);
    }
}

/// Sends each `\n`-ended line in `lines` as a text message, with one flush.
async fn send_lines(
    sink: &mut SplitSink<WebSocket, Message>,
    lines: &[u8],
) -> Result<(), axum::Error> {
    if lines.is_empty() {
        return Ok(());
    }
    for line in lines.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        // The session writes UTF-8 only, and whole lines: nothing is lost.
        let text = String::from_utf8_lossy(line).into_owned();
        sink.feed(Message::Text(text.into())).await?;
    }
    sink.flush().await
}
