// A frame borrows the buffer it was parsed from, so the buffer cannot be
// drained to make room for the next read while the frame is still in use.
use stage3_protocol::FrameIter;

fn main() {
    let mut buf = b"QUIT:gone fishing\n".to_vec();
    let mut frames = FrameIter::new(&buf, 1024);
    let quit = frames.next();
    let consumed = frames.consumed();
    buf.drain(..consumed);
    println!("{quit:?}");
}
