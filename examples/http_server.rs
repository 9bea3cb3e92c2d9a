//! An HTTP/1.1 server on hyper 1.x and anyloop (feature `hyper`) on
//! 127.0.0.1 (port from the first argument, default 8080): every
//! connection is a task; `GET /` answers a greeting, any other path echoes
//! the request body back; headers must arrive within 30 s (hyper's header
//! read timeout on anyloop's timers).
//!
//! ```text
//! cargo run --features hyper --example http_server -- 8080
//! curl http://127.0.0.1:8080/ ; curl -d 'some data' http://127.0.0.1:8080/echo
//! ```

mod common;

use std::convert::Infallible;
use std::time::Duration;

use anyloop::hyper::{Io, Timer};
use anyloop::net::TcpListener;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Bytes::from_static(b"Hello from anyloop + hyper!\n"),
        _ => match req.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => Bytes::from(format!("bad body: {e}\n")),
        },
    };
    Ok(Response::new(Full::new(reply)))
}

#[anyloop::main]
async fn main() -> common::Result {
    let port = common::port_arg(8080)?;
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("http_server: listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        anyloop::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(Timer)
                .header_read_timeout(Duration::from_secs(30));
            let service = hyper::service::service_fn(handle);
            if let Err(e) = http.serve_connection(Io::new(stream), service).await {
                eprintln!("http_server: {peer}: {e}");
            }
        })
        .detach();
    }
}
