// Like the server, keep the QUIT frame for after the loop, in a variable that
// holds a `Frame<'static>`. A frame that borrows a local buffer does not fit.
use stage3_protocol::{Frame, FrameIter};

fn main() {
    let buf = b"QUIT:gone fishing\n".to_vec();
    let mut ending: Option<Frame<'static>> = None;
    for frame in FrameIter::new(&buf, 1024).flatten() {
        ending = Some(frame);
    }
    println!("{ending:?}");
}
