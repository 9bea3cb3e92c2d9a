//! TLS on streams: `ssl=` on `open_connection`/`start_server`,
//! `start_tls`, ALPN and peer certificates, handshake failures and
//! timeouts natively; `Unsupported` naming the host on WASI and the web.

mod common;

use std::io;

use anyloop::net::tls;

/// Whether this build and host speak TLS.
fn tls_available() -> bool {
    cfg!(all(feature = "tls", not(target_family = "wasm")))
}

#[anyloop::test]
async fn tls_configs_exist_where_tls_does() {
    let host = anyloop::capabilities().host;
    match tls::ClientConfig::new() {
        Ok(_) => assert!(tls_available(), "TLS config built on {host}"),
        Err(e) => {
            assert!(!tls_available(), "{e}");
            assert_eq!(e.kind(), io::ErrorKind::Unsupported);
            assert!(e.to_string().contains(host), "{e}");
            assert!(e.to_string().contains("TLS"), "{e}");
        }
    }
    let res = tls::ServerConfig::from_pem(b"", b"");
    let e = res.map(drop).unwrap_err();
    let want = if tls_available() {
        io::ErrorKind::InvalidInput
    } else {
        io::ErrorKind::Unsupported
    };
    assert_eq!(e.kind(), want, "{e}");
}

#[cfg(all(feature = "tls", not(target_family = "wasm")))]
mod native {
    use super::*;
    use std::rc::Rc;
    use std::time::Duration;

    use anyloop::net::{
        open_connection, start_server, wrap, ConnectOptions, Server, ServerOptions, StreamReader,
        StreamWriter,
    };

    use crate::common;

    struct Cert {
        der: Vec<u8>,
        key: Vec<u8>,
        pem: String,
        key_pem: String,
    }

    fn cert(name: &str) -> Cert {
        let c = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        Cert {
            der: c.cert.der().to_vec(),
            key: c.signing_key.serialize_der(),
            pem: c.cert.pem(),
            key_pem: c.signing_key.serialize_pem(),
        }
    }

    async fn tls_echo_server(cfg: tls::ServerConfig) -> Server {
        ServerOptions::new()
            .ssl(cfg)
            .start_server(common::echo_until_eof, "127.0.0.1", 0)
            .await
            .unwrap()
    }

    #[anyloop::test]
    async fn tls_echo_with_alpn_certificates_and_sni() {
        let c = cert("localhost");
        let server_cfg = tls::ServerConfig::new([c.der.clone()], c.key.clone())
            .unwrap()
            .alpn_protocols([&b"h2"[..], b"http/1.1"]);
        // The server reports what it negotiated as its first line.
        let server = ServerOptions::new()
            .ssl(server_cfg)
            .start_server(
                |r, w: StreamWriter| async move {
                    let info = w.tls_info().expect("server side TLS info");
                    let line = format!(
                        "{} {} {}\n",
                        String::from_utf8_lossy(info.alpn_protocol().unwrap_or(b"-")),
                        info.server_name().unwrap_or("-"),
                        info.peer_certificates().len(),
                    );
                    w.write(line.as_bytes());
                    common::echo_until_eof(r, w).await
                },
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
        let port = server.local_addr().unwrap().port();

        let client_cfg = tls::ClientConfig::with_root_certificates([&c.der])
            .unwrap()
            .alpn_protocols([&b"h2"[..]]);
        let (mut r, w) = ConnectOptions::new()
            .ssl(client_cfg)
            .server_hostname("localhost")
            .open_connection("127.0.0.1", port)
            .await
            .unwrap();
        assert_eq!(r.readline().await.unwrap(), b"h2 localhost 0\n");
        let info = w.tls_info().unwrap();
        assert_eq!(info.alpn_protocol(), Some(&b"h2"[..]));
        assert_eq!(info.peer_certificates(), std::slice::from_ref(&c.der));
        assert_eq!(info.protocol_version(), Some("TLSv1.3"));
        assert!(info.cipher_suite().unwrap().starts_with("TLS13_"));
        assert_eq!(w.peer_addr().unwrap().port(), port);

        // 4 MiB each way at once, with a task writing and this one reading.
        let data: Vec<u8> = (0..4 << 20).map(|i| (i % 253) as u8).collect();
        let sent = data.clone();
        let w = Rc::new(w);
        let writer = {
            let w = w.clone();
            anyloop::spawn(async move {
                for chunk in sent.chunks(50_000) {
                    w.write(chunk);
                    w.drain().await?;
                }
                w.write_eof();
                io::Result::Ok(())
            })
        };
        // Read into one buffer (decrypted straight into it).
        let echoed = common::deadline("TLS echo", async {
            let mut buf = vec![0u8; 64 * 1024];
            let mut echoed = Vec::new();
            loop {
                let n = r.read_into(&mut buf).await?;
                if n == 0 {
                    return io::Result::Ok(echoed);
                }
                echoed.extend_from_slice(&buf[..n]);
            }
        })
        .await
        .unwrap();
        assert!(
            echoed == data,
            "the TLS echo differs ({} bytes)",
            echoed.len()
        );
        writer.await.unwrap().unwrap();
        common::shut_down(&server).await;
    }

    #[anyloop::test]
    async fn server_config_from_pem() {
        let c = cert("localhost");
        let cfg = tls::ServerConfig::from_pem(c.pem.as_bytes(), c.key_pem.as_bytes()).unwrap();
        let server = tls_echo_server(cfg).await;
        let (mut r, w) = ConnectOptions::new()
            .ssl(tls::ClientConfig::with_root_certificates([&c.der]).unwrap())
            .server_hostname("localhost")
            .open_connection("127.0.0.1", server.local_addr().unwrap().port())
            .await
            .unwrap();
        w.write(b"pem\n");
        assert_eq!(r.readline().await.unwrap(), b"pem\n");
        drop((r, w));
        common::shut_down(&server).await;

        let e = tls::ServerConfig::new([c.der.clone()], b"not a key".to_vec()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let e = tls::ClientConfig::with_root_certificates([b"junk"]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
    }

    #[anyloop::test]
    async fn an_untrusted_certificate_fails_the_handshake_and_the_server_goes_on() {
        let c = cert("localhost");
        let server = tls_echo_server(tls::ServerConfig::new([c.der.clone()], c.key).unwrap()).await;
        let port = server.local_addr().unwrap().port();

        // The Mozilla roots do not trust a self-signed certificate.
        let e = ConnectOptions::new()
            .ssl(tls::ClientConfig::new().unwrap())
            .server_hostname("localhost")
            .open_connection("127.0.0.1", port)
            .await
            .map(drop)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        assert!(
            e.to_string()
                .contains("TLS handshake with localhost failed"),
            "{e}"
        );

        // The wrong name fails too.
        let trusting = tls::ClientConfig::with_root_certificates([&c.der]).unwrap();
        let e = ConnectOptions::new()
            .ssl(trusting.clone())
            .server_hostname("example.com")
            .open_connection("127.0.0.1", port)
            .await
            .map(drop)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");

        // A plain client gets no answer to its line: the server closes it.
        let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
        w.write(b"not TLS\n");
        let got = common::deadline("plain client", r.read_to_eof()).await;
        assert!(got.map_or(true, |b| !b.starts_with(b"not TLS")));

        // The server still serves good clients.
        let (mut r, w) = ConnectOptions::new()
            .ssl(trusting)
            .server_hostname("localhost")
            .open_connection("127.0.0.1", port)
            .await
            .unwrap();
        w.write(b"still here\n");
        assert_eq!(r.readline().await.unwrap(), b"still here\n");
        drop((r, w));
        common::shut_down(&server).await;
    }

    #[anyloop::test]
    async fn handshake_timeouts_on_both_sides() {
        // A server that accepts and never answers the ClientHello.
        let silent = start_server(
            |mut r: StreamReader, w| async move {
                let _open = w; // no EOF for the client either
                r.read_to_eof().await.map(drop)
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let c = cert("localhost");
        let start = anyloop::time::Instant::now();
        let e = ConnectOptions::new()
            .ssl(tls::ClientConfig::with_root_certificates([&c.der]).unwrap())
            .server_hostname("localhost")
            .ssl_handshake_timeout(Duration::from_millis(200))
            .open_connection("127.0.0.1", silent.local_addr().unwrap().port())
            .await
            .map(drop)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(start.elapsed() >= Duration::from_millis(200));
        common::shut_down(&silent).await;

        // A TLS server whose client never starts the handshake closes it.
        let server = ServerOptions::new()
            .ssl(tls::ServerConfig::new([c.der.clone()], c.key).unwrap())
            .ssl_handshake_timeout(Duration::from_millis(200))
            .start_server(common::echo_until_eof, "127.0.0.1", 0)
            .await
            .unwrap();
        let (mut r, _w) = open_connection("127.0.0.1", server.local_addr().unwrap().port())
            .await
            .unwrap();
        let got = common::deadline("server-side handshake timeout", r.read_to_eof()).await;
        assert!(got.map_or(true, |b| b.is_empty()));
        common::shut_down(&server).await;
    }

    #[anyloop::test]
    async fn start_tls_upgrades_a_plain_connection() {
        let c = cert("localhost");
        let server_cfg = tls::ServerConfig::new([c.der.clone()], c.key).unwrap();
        let server = start_server(
            move |mut r, w| {
                let cfg = server_cfg.clone();
                async move {
                    assert_eq!(r.readline().await?, b"STARTTLS\r\n");
                    assert!(w.tls_info().is_none());
                    w.write(b"220 go ahead\r\n");
                    w.start_tls_server(&cfg).await?;
                    assert!(w.tls_info().is_some());
                    common::echo_until_eof(r, w).await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (mut r, w) = open_connection("127.0.0.1", server.local_addr().unwrap().port())
            .await
            .unwrap();
        w.write(b"STARTTLS\r\n");
        assert_eq!(r.readline().await.unwrap(), b"220 go ahead\r\n");
        let cfg = tls::ClientConfig::with_root_certificates([&c.der]).unwrap();
        w.start_tls(&cfg, "localhost").await.unwrap();
        w.write(b"encrypted\n");
        assert_eq!(r.readline().await.unwrap(), b"encrypted\n");
        assert_eq!(
            w.tls_info().unwrap().peer_certificates(),
            std::slice::from_ref(&c.der)
        );
        drop((r, w));
        common::shut_down(&server).await;
    }

    #[anyloop::test]
    async fn start_tls_over_a_wrapped_in_memory_pipe() {
        let c = cert("pipe.test");
        let server_cfg = tls::ServerConfig::new([c.der.clone()], c.key).unwrap();
        let (a, b) = common::pipe();
        let server = anyloop::spawn(async move {
            let (r, w) = wrap(b);
            w.start_tls_server(&server_cfg).await?;
            common::echo_until_eof(r, w).await
        });
        let (mut r, w) = wrap(a);
        let cfg = tls::ClientConfig::with_root_certificates([&c.der]).unwrap();
        w.start_tls(&cfg, "pipe.test").await.unwrap();
        w.write(b"through the pipe\n");
        assert_eq!(r.readline().await.unwrap(), b"through the pipe\n");
        w.write_eof();
        assert_eq!(r.read_to_eof().await.unwrap(), b"");
        server.await.unwrap().unwrap();
    }

    #[anyloop::test]
    async fn a_read_takes_every_record_at_hand_then_the_error_after_them() {
        let c = cert("pipe.test");
        let server_cfg = tls::ServerConfig::new([c.der.clone()], c.key).unwrap();
        // Room for all the records: the server's writes never wait.
        let (a, b) = common::pipe_with_capacity(1 << 20);
        // Three TLS records (16 KiB of plaintext at most each).
        let data: Vec<u8> = (0..40_000).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let server = anyloop::spawn(async move {
            let (r, mut w) = wrap(b);
            w.start_tls_server(&server_cfg).await?;
            w.write(&sent);
            futures_lite::AsyncWriteExt::flush(&mut w).await?;
            // Gone without close_notify: the stream is truncated.
            w.abort();
            drop((r, w));
            io::Result::Ok(())
        });
        let (mut r, w) = wrap(a);
        let cfg = tls::ClientConfig::with_root_certificates([&c.der]).unwrap();
        w.start_tls(&cfg, "pipe.test").await.unwrap();
        server.await.unwrap().unwrap();

        // Every record is in the pipe: one read decrypts them all.
        let mut buf = vec![0u8; 64 * 1024];
        let n = r.read_into(&mut buf).await.unwrap();
        assert_eq!(n, data.len(), "one read takes the three records");
        assert!(buf[..n] == data[..], "the plaintext differs");
        // The truncation met after them is the next read's answer.
        let e = r.read_into(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
    }

    #[anyloop::test]
    async fn megabytes_of_records_arrive_intact_through_every_read_method() {
        let c = cert("localhost");
        let server_cfg = tls::ServerConfig::new([c.der.clone()], c.key).unwrap();
        let data: Rc<Vec<u8>> = Rc::new((0..3 << 20).map(|i| (i % 241) as u8).collect());
        let sent = data.clone();
        // The server sends in odd-sized writes, then closes.
        let server = ServerOptions::new()
            .ssl(server_cfg)
            .start_server(
                move |_r, w: StreamWriter| {
                    let sent = sent.clone();
                    async move {
                        for chunk in sent.chunks(70_001) {
                            w.write(chunk);
                            w.drain().await?;
                        }
                        w.close();
                        w.wait_closed().await
                    }
                },
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
        let cfg = tls::ClientConfig::with_root_certificates([&c.der]).unwrap();
        let (mut r, _w) = ConnectOptions::new()
            .ssl(cfg)
            .server_hostname("localhost")
            .open_connection("127.0.0.1", server.local_addr().unwrap().port())
            .await
            .unwrap();
        // Reads of every kind and size in turn, through the reader's
        // buffer and straight into the caller's.
        let got = common::deadline("TLS reads", async {
            let mut got = Vec::with_capacity(data.len());
            let mut buf = vec![0u8; 50_000];
            let mut step = 0usize;
            while got.len() < data.len() {
                let (left, before) = (data.len() - got.len(), got.len());
                match step % 3 {
                    0 => got.extend(r.readexactly(7_000.min(left)).await?),
                    1 => got.extend(r.read(30_000).await?),
                    _ => {
                        let n = r.read_into(&mut buf).await?;
                        got.extend_from_slice(&buf[..n]);
                    }
                }
                if got.len() == before {
                    break; // ended early: the comparison below fails
                }
                step += 1;
            }
            assert_eq!(r.read(1).await?, b"", "end of stream after the data");
            io::Result::Ok(got)
        })
        .await
        .unwrap();
        assert!(got == *data, "the plaintext differs ({} bytes)", got.len());
        common::shut_down(&server).await;
    }

    #[anyloop::test]
    async fn start_tls_misuse_and_cancellation() {
        let c = cert("localhost");
        let cfg = tls::ClientConfig::with_root_certificates([&c.der]).unwrap();

        // A writer not made by anyloop::net cannot switch transports.
        let w = StreamWriter::new(futures_lite::io::sink());
        let e = w.start_tls(&cfg, "localhost").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");

        // A handshake dropped midway (the peer never answers) closes the
        // connection for both halves.
        let (a, _peer) = common::pipe();
        let (mut r, w) = wrap(a);
        let res = anyloop::timeout(Duration::from_millis(50), w.start_tls(&cfg, "localhost")).await;
        assert!(res.is_err(), "the handshake cannot finish without a peer");
        let e = r.read(10).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionAborted, "{e}");
        w.write(b"x");
        assert_eq!(
            w.drain().await.unwrap_err().kind(),
            io::ErrorKind::ConnectionAborted
        );
    }
}
