//! hyper 1.x on anyloop (feature `hyper`): an HTTPS fetch (HTTP/1.1 and
//! HTTP/2 chosen by ALPN) against a local TLS server, and hyper's timer
//! (header read timeout) on anyloop's timers.
#![cfg(all(feature = "hyper", feature = "tls", not(target_family = "wasm")))]

mod common;

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use anyloop::hyper::{Executor, Io, Timer};
use anyloop::net::{tls, ConnectOptions, ServerOptions, StreamPair, StreamReader, StreamWriter};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let reply = format!("{:?} {} {}", parts.version, parts.uri.path(), body.len());
    Ok(Response::new(Full::new(Bytes::from(reply))))
}

/// Serves HTTP/2 or HTTP/1.1 on a TLS connection, as ALPN decided.
async fn serve(r: StreamReader, w: StreamWriter) -> io::Result<()> {
    let h2 = w
        .tls_info()
        .and_then(|i| i.alpn_protocol().map(|p| p == b"h2"))
        == Some(true);
    let io = Io::new(StreamPair::new(r, w));
    let service = hyper::service::service_fn(hello);
    if h2 {
        hyper::server::conn::http2::Builder::new(Executor)
            .timer(Timer)
            .serve_connection(io, service)
            .await
    } else {
        hyper::server::conn::http1::Builder::new()
            .timer(Timer)
            .serve_connection(io, service)
            .await
    }
    .map_err(io::Error::other)
}

fn cert() -> (Vec<u8>, Vec<u8>) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    (c.cert.der().to_vec(), c.signing_key.serialize_der())
}

/// GETs `path` over HTTPS offering `alpn`; returns the negotiated
/// protocol and the body.
async fn fetch(port: u16, root: &[u8], alpn: &[u8], path: &str) -> (Vec<u8>, String) {
    let cfg = tls::ClientConfig::with_root_certificates([root])
        .unwrap()
        .alpn_protocols([alpn]);
    let (r, w) = ConnectOptions::new()
        .ssl(cfg)
        .server_hostname("localhost")
        .open_connection("127.0.0.1", port)
        .await
        .unwrap();
    let negotiated = w.tls_info().unwrap().alpn_protocol().unwrap().to_vec();
    let io = Io::new(StreamPair::new(r, w));
    let req = Request::post(format!("https://localhost{path}"))
        .header("host", "localhost")
        .body(Full::new(Bytes::from_static(b"12345")))
        .unwrap();
    let res = if negotiated == b"h2" {
        let (mut send, conn) = hyper::client::conn::http2::Builder::new(Executor)
            .timer(Timer)
            .handshake(io)
            .await
            .unwrap();
        let conn = anyloop::spawn(conn);
        let res = send.send_request(req).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        drop(send);
        conn.await.unwrap().unwrap();
        body
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        let conn = anyloop::spawn(conn);
        let res = send.send_request(req).await.unwrap();
        assert!(res.status().is_success());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        drop(send);
        conn.await.unwrap().unwrap();
        body
    };
    (negotiated, String::from_utf8(res.to_vec()).unwrap())
}

#[anyloop::test]
async fn https_fetch_over_http1_and_http2() {
    let (der, key) = cert();
    let server_cfg = tls::ServerConfig::new([der.clone()], key)
        .unwrap()
        .alpn_protocols([&b"h2"[..], b"http/1.1"]);
    let server = ServerOptions::new()
        .ssl(server_cfg)
        .start_server(serve, "127.0.0.1", 0)
        .await
        .unwrap();
    let port = server.local_addr().unwrap().port();

    let (alpn, body) = common::deadline("h2 fetch", fetch(port, &der, b"h2", "/two")).await;
    assert_eq!(
        (alpn.as_slice(), body.as_str()),
        (&b"h2"[..], "HTTP/2.0 /two 5")
    );
    let (alpn, body) = common::deadline("h1 fetch", fetch(port, &der, b"http/1.1", "/one")).await;
    assert_eq!(
        (alpn.as_slice(), body.as_str()),
        (&b"http/1.1"[..], "HTTP/1.1 /one 5")
    );
    common::shut_down(&server).await;
}

#[anyloop::test]
async fn hyper_timer_enforces_the_header_read_timeout() {
    let listener = anyloop::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = anyloop::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(Timer)
            .header_read_timeout(Duration::from_millis(200));
        let start = anyloop::time::Instant::now();
        let res = http
            .serve_connection(Io::new(stream), hyper::service::service_fn(hello))
            .await;
        (res.map_err(|e| e.to_string()), start.elapsed())
    });
    // A client that sends half a request line and then nothing.
    let (mut r, w) = anyloop::net::open_connection("127.0.0.1", addr.port())
        .await
        .unwrap();
    w.write(b"GET / HT");
    let (res, took) = common::deadline("header read timeout", server)
        .await
        .unwrap();
    assert!(res.is_err(), "the connection should time out");
    assert!(took >= Duration::from_millis(200), "{took:?}");
    // hyper answers 408 (or just closes); either way the connection ends.
    let rest = common::deadline("server close", r.read_to_eof()).await;
    assert!(rest.map_or(true, |b| b.is_empty() || b.starts_with(b"HTTP/1.1 408")));
}
