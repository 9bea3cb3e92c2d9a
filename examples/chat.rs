//! Line chat server on 127.0.0.1 (port from the first argument, default
//! 8889): every line a client sends goes to every other client.
//!
//! Each client has an outgoing [`Queue`]; its writer takes from it and
//! `drain`s, so a client that does not read blocks only its own writer.
//! When its queue is full too, the client is too slow: it is disconnected
//! (`StreamWriter::abort`) and nobody else waits for it.
//!
//! ```text
//! cargo run --example chat -- 8889
//! nc 127.0.0.1 8889
//! ```

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::rc::Rc;

use anyloop::net::{StreamReader, StreamWriter};
use anyloop::queue::Queue;
use anyloop::sync::Event;

/// Lines waiting for a slow client before it is disconnected.
const BACKLOG: usize = 64;

/// A connected client, as the others see it.
struct Client {
    /// Lines to send to it.
    queue: Queue<Rc<[u8]>>,
    /// Set when it is disconnected for being too slow.
    kicked: Event,
}

type Clients = Rc<RefCell<BTreeMap<u64, Client>>>;

/// Sends `line` to every client but `from`; disconnects the ones that
/// cannot keep up.
fn broadcast(clients: &Clients, from: u64, line: &[u8]) {
    let line: Rc<[u8]> = line.into();
    clients.borrow_mut().retain(|&id, client| {
        if id == from {
            return true;
        }
        match client.queue.put_nowait(line.clone()) {
            Ok(()) => true,
            Err(_) => {
                println!("chat: client {id} is too slow, disconnecting it");
                client.queue.shutdown(true);
                client.kicked.set();
                false
            }
        }
    });
}

async fn client(id: u64, clients: Clients, mut reader: StreamReader, writer: StreamWriter) {
    let queue = Queue::new(BACKLOG);
    let kicked = Event::new();
    clients.borrow_mut().insert(
        id,
        Client {
            queue: queue.clone(),
            kicked: kicked.clone(),
        },
    );
    let name = match writer.peer_addr() {
        Ok(a) => a.to_string(),
        Err(_) => format!("client {id}"),
    };
    println!("chat: {name} joined as {id}");
    broadcast(&clients, id, format!("* {id} joined\n").as_bytes());

    // Outgoing: the queue, paced by drain. Ends when the queue is shut
    // down: after the client left, or when it was too slow.
    let mut outgoing = std::pin::pin!(async {
        writer.write(format!("* welcome, you are {id}\n").as_bytes());
        while let Ok(line) = queue.get().await {
            writer.write(&line);
            if writer.drain().await.is_err() {
                break;
            }
        }
        writer.close();
        let _ = writer.wait_closed().await;
    });

    // Incoming: one line at a time, to everybody else.
    let incoming = async {
        loop {
            let line = reader.readline().await?;
            if line.is_empty() {
                return io::Result::Ok(());
            }
            let mut msg = format!("{id}: ").into_bytes();
            msg.extend_from_slice(&line);
            if !msg.ends_with(b"\n") {
                msg.push(b'\n');
            }
            broadcast(&clients, id, &msg);
        }
    };

    let serve = async {
        let read = futures_lite::future::or(async { Some(incoming.await) }, async {
            (&mut outgoing).await;
            None
        })
        .await;
        // The client left (or failed): flush what is queued for it.
        if let Some(res) = read {
            if let Err(e) = res {
                println!("chat: {name}: {e}");
            }
            if let Some(c) = clients.borrow_mut().remove(&id) {
                c.queue.shutdown(false);
            }
            outgoing.await;
        }
    };
    let too_slow = async {
        kicked.wait().await;
        writer.abort();
    };
    futures_lite::future::or(serve, too_slow).await;
    println!("chat: {name} left");
    broadcast(&clients, id, format!("* {id} left\n").as_bytes());
}

#[anyloop::main]
async fn main() -> common::Result {
    let port = common::port_arg(8889)?;
    let clients: Clients = Rc::default();
    let next_id = Rc::new(std::cell::Cell::new(1u64));
    let server = anyloop::net::start_server(
        move |reader, writer| {
            let id = next_id.replace(next_id.get() + 1);
            client(id, clients.clone(), reader, writer)
        },
        "127.0.0.1",
        port,
    )
    .await?;
    println!("chat: listening on {}", server.local_addr()?);
    server.serve_forever().await;
    Ok(())
}
