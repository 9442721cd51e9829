// `?` turns an error into the function's error type with `From`. `ChatError`
// has `From<io::Error>` (from `#[from]`), but nothing makes a `Utf8Error` one.
use stage1_echo::ChatError;

fn decode(line: &[u8]) -> Result<&str, ChatError> {
    let text = std::str::from_utf8(line)?;
    Ok(text)
}

fn main() {
    println!("{:?}", decode(b"alice:hi").is_ok());
}
