// `inbox` borrows part of `self` mutably; a `&mut self` method call wants all
// of `self`, `inbox` included. `Server::read_from` borrows the fields apart.
struct Server {
    inboxes: Vec<Vec<u8>>,
    names: Vec<String>,
}

impl Server {
    fn handle_line(&mut self, line: &[u8]) {
        self.names.push(String::from_utf8_lossy(line).into_owned());
    }

    fn read_from(&mut self, index: usize) {
        let inbox = &mut self.inboxes[index];
        self.handle_line(inbox);
        inbox.clear();
    }
}

fn main() {
    let mut server = Server {
        inboxes: vec![b"alice".to_vec()],
        names: Vec::new(),
    };
    server.read_from(0);
}
