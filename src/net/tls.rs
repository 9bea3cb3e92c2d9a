//! TLS for streams: asyncio's `ssl=` argument and `start_tls`, on
//! [rustls](https://docs.rs/rustls) through
//! [futures-rustls](https://docs.rs/futures-rustls).
//!
//! A [`ClientConfig`] (asyncio: `ssl.create_default_context()`) trusts the
//! Mozilla roots of [webpki-roots](https://docs.rs/webpki-roots) or the
//! certificates you give it; a [`ServerConfig`] holds the server's
//! certificate chain and key. Pass them to
//! [`ConnectOptions::ssl`](super::ConnectOptions::ssl) and
//! [`ServerOptions::ssl`](super::ServerOptions::ssl), or upgrade a live
//! connection with [`StreamWriter::start_tls`](super::StreamWriter::start_tls)
//! / [`start_tls_server`](super::StreamWriter::start_tls_server). After the
//! handshake, [`StreamWriter::tls_info`](super::StreamWriter::tls_info)
//! tells the negotiated ALPN protocol, version and the peer's
//! certificates.
//!
//! # Examples
//!
//! A TLS echo server and a client that trusts its (self-signed)
//! certificate; the certificate comes from `rcgen` here, from a file in a
//! real deployment:
//!
//! ```
//! # #[cfg(all(feature = "tls", not(target_family = "wasm")))]
//! # {
//! use anyloop::net::{tls, ConnectOptions, ServerOptions};
//!
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let (cert_der, key_der) = (cert.cert.der().to_vec(), cert.signing_key.serialize_der());
//!
//! anyloop::run(async {
//!     let server_cfg = tls::ServerConfig::new([cert_der.clone()], key_der)?;
//!     let server = ServerOptions::new()
//!         .ssl(server_cfg)
//!         .start_server(|mut r, w| async move {
//!             let line = r.readline().await?;
//!             w.write(&line);
//!             w.drain().await
//!         }, "127.0.0.1", 0)
//!         .await?;
//!
//!     let client_cfg = tls::ClientConfig::with_root_certificates([cert_der])?;
//!     let (mut r, w) = ConnectOptions::new()
//!         .ssl(client_cfg)
//!         .server_hostname("localhost")
//!         .open_connection("127.0.0.1", server.local_addr()?.port())
//!         .await?;
//!     w.write(b"over TLS\n");
//!     assert_eq!(r.readline().await?, b"over TLS\n");
//!     assert_eq!(w.tls_info().unwrap().protocol_version(), Some("TLSv1.3"));
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! # }
//! ```
//!
//! # Features and hosts
//!
//! - Cargo features: `tls` (rustls, futures-rustls, webpki-roots) and a
//!   crypto provider: `tls-ring` (on by default)
//!   or `tls-aws-lc-rs`. With `tls` alone, install a provider yourself
//!   (`rustls::crypto::CryptoProvider::install_default`).
//! - Native hosts: available with the feature.
//! - WASI: `Unsupported`. rustls itself builds for `wasm32-wasip1`, but
//!   both of its providers compile C or assembly (ring needs a clang that
//!   targets wasm, aws-lc needs cmake), which this project's build does
//!   not assume.
//! - Web: `Unsupported`: the browser owns TLS (`fetch`, `WebSocket`
//!   speak `https:`/`wss:` themselves).
//!
//! Without TLS the configuration constructors return
//! `io::ErrorKind::Unsupported` naming the feature and the host, so a
//! program that merely mentions TLS still compiles everywhere.
//!
//! # Design notes
//!
//! - Closing: a [`StreamWriter`](super::StreamWriter) that is closed or
//!   dropped sends TLS's close_notify, then shuts its socket's write side
//!   (asyncio's `close()` on an SSL transport; RFC 8446 §6.1 wants the
//!   alert before the write side closes). A peer that reads to the end
//!   therefore sees a clean end of stream, not "peer closed connection
//!   without sending TLS close_notify". It costs a record write per side
//!   and connection; tokio-rustls and futures-rustls do the same work in
//!   `shutdown()`/`close()`, which the `streams` bench's peers call.
//!   anyloop does not wait for the peer's close_notify before closing the
//!   socket (asyncio does, up to `ssl_shutdown_timeout`): while the
//!   pair's reader lives it may still read it; once both halves are gone
//!   the peer's answering close_notify meets a closed socket, whose kernel
//!   answers with a TCP reset (harmless: the peer is closing too).
//! - The handshake runs under [`DEFAULT_HANDSHAKE_TIMEOUT`] (one timer per
//!   handshake and side; tokio-rustls has no default timeout). Profiles
//!   show its cost below 0.2% of a loopback handshake.
//! - A TLS stream is polled through `&mut` by whichever half needs it,
//!   with a waker that wakes both halves (a TLS read may write and the
//!   other way round). That waker's slots sit behind a `Mutex` because a
//!   `Waker` must be `Send`; each half remembers what it stored last, so
//!   polling again with the same waker takes no lock.
//! - [`TlsInfo`] is built from the rustls connection on the first
//!   [`tls_info`](super::StreamWriter::tls_info) call and then kept, not
//!   after every handshake: a connection that never asks pays no copies
//!   of the peer's certificates nor of the server name (~3 allocations
//!   per handshake and side).
//! - A TLS stream takes plaintext even when the socket refuses the
//!   records it makes of it; they wait in rustls until the next write or
//!   flush. The writer flushes after writing (in the background when the
//!   socket is full), or a peer waiting for the rest of a record and a
//!   writer with nothing left to write would wait for each other.
//! - A read decrypts record after record while the socket has them and
//!   the caller's buffer has room (futures-rustls stops after one record
//!   of at most 16 KiB; tokio-rustls goes on, as anyloop does): a 64 KiB
//!   read takes four records, and an echo writes them back in one
//!   `writev`, not four.
//! - A read copies the decrypted plaintext out of rustls itself, in
//!   1 KiB pieces when the caller's buffer lies just after rustls'
//!   modulo 4 KiB: glibc's `rep movsb` copy is ~30 times slower there on
//!   AMD Zen 3/4 (glibc bug 30994), and a record's plaintext often lands
//!   at such a distance (in the `streams` bench's TLS echo, ~40% of the
//!   copies out of rustls did, costing more than the decryption).

use std::fmt;
use std::io;

#[cfg(all(feature = "tls", not(target_family = "wasm")))]
pub use futures_rustls::rustls;

/// How long a TLS handshake may take before it fails with `TimedOut`
/// (asyncio's `ssl_handshake_timeout` default: 60 s).
pub const DEFAULT_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// TLS parameters of a client: trusted roots and ALPN protocols
/// (asyncio's client `ssl.SSLContext`). Cheap to clone.
///
/// # Examples
///
/// ```
/// # #[cfg(all(feature = "tls", not(target_family = "wasm")))]
/// # {
/// let cfg = anyloop::net::tls::ClientConfig::new()
///     .unwrap()
///     .alpn_protocols([&b"h2"[..], b"http/1.1"]);
/// # drop(cfg);
/// # }
/// ```
#[doc(alias = "SSLContext")]
#[doc(alias = "create_default_context")]
#[derive(Clone)]
pub struct ClientConfig {
    #[cfg(all(feature = "tls", not(target_family = "wasm")))]
    pub(crate) inner: std::sync::Arc<rustls::ClientConfig>,
    #[cfg(not(all(feature = "tls", not(target_family = "wasm"))))]
    _none: std::convert::Infallible,
}

/// TLS parameters of a server: its certificate chain, its key and ALPN
/// protocols (asyncio's server `ssl.SSLContext`). Cheap to clone.
///
/// # Examples
///
/// See the [module docs](self).
#[doc(alias = "SSLContext")]
#[doc(alias = "load_cert_chain")]
#[derive(Clone)]
pub struct ServerConfig {
    #[cfg(all(feature = "tls", not(target_family = "wasm")))]
    pub(crate) inner: std::sync::Arc<rustls::ServerConfig>,
    #[cfg(not(all(feature = "tls", not(target_family = "wasm"))))]
    _none: std::convert::Infallible,
}

/// What a TLS handshake negotiated (asyncio's
/// `get_extra_info('ssl_object')`, `'peercert'`, `selected_alpn_protocol()`).
///
/// # Examples
///
/// See the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct TlsInfo {
    pub(crate) alpn: Option<Vec<u8>>,
    pub(crate) peer_certificates: Vec<Vec<u8>>,
    pub(crate) version: Option<&'static str>,
    pub(crate) cipher_suite: Option<&'static str>,
    pub(crate) server_name: Option<String>,
}

impl TlsInfo {
    /// The ALPN protocol both sides agreed on, e.g. `b"h2"`
    /// (asyncio's `selected_alpn_protocol()`).
    #[doc(alias = "selected_alpn_protocol")]
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.alpn.as_deref()
    }

    /// The peer's certificate chain, DER-encoded, leaf first (asyncio's
    /// `getpeercert(binary_form=True)`); empty when the peer sent none
    /// (a client without client authentication).
    #[doc(alias = "getpeercert")]
    #[doc(alias = "peercert")]
    pub fn peer_certificates(&self) -> &[Vec<u8>] {
        &self.peer_certificates
    }

    /// `"TLSv1.3"` or `"TLSv1.2"` (Python's `SSLSocket.version()`).
    pub fn protocol_version(&self) -> Option<&'static str> {
        self.version
    }

    /// The negotiated cipher suite's name, e.g. `"TLS13_AES_256_GCM_SHA384"`
    /// (Python's `SSLSocket.cipher()`).
    #[doc(alias = "cipher")]
    pub fn cipher_suite(&self) -> Option<&str> {
        self.cipher_suite
    }

    /// On a server: the name the client asked for (SNI,
    /// `server_hostname`).
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig").finish_non_exhaustive()
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig").finish_non_exhaustive()
    }
}

/// `Unsupported`, naming why this build or host has no TLS.
#[cfg(not(all(feature = "tls", not(target_family = "wasm"))))]
pub(crate) fn unsupported() -> io::Error {
    let caps = crate::capabilities();
    let why = if cfg!(all(target_arch = "wasm32", target_os = "unknown")) {
        "; the browser owns TLS: use fetch or WebSocket with https:/wss: URLs"
    } else if cfg!(target_family = "wasm") {
        "; rustls' crypto providers do not build for this target here"
    } else {
        "; enable anyloop's `tls` feature (with `tls-ring` or `tls-aws-lc-rs`)"
    };
    anyloop_core::unsupported("TLS (anyloop::net::tls)", caps.host, why)
}

#[cfg(not(all(feature = "tls", not(target_family = "wasm"))))]
mod imp {
    use super::*;

    impl ClientConfig {
        /// Returns `Unsupported` in this build or on this host.
        ///
        /// # Errors
        ///
        /// Always `Unsupported`.
        pub fn new() -> io::Result<ClientConfig> {
            Err(unsupported())
        }

        /// Returns `Unsupported` in this build or on this host.
        ///
        /// # Errors
        ///
        /// Always `Unsupported`.
        pub fn with_root_certificates<I>(_certs: I) -> io::Result<ClientConfig>
        where
            I: IntoIterator,
            I::Item: AsRef<[u8]>,
        {
            Err(unsupported())
        }

        /// Unreachable: no `ClientConfig` exists here.
        pub fn alpn_protocols<I>(self, _protocols: I) -> ClientConfig
        where
            I: IntoIterator,
            I::Item: AsRef<[u8]>,
        {
            self
        }
    }

    impl ServerConfig {
        /// Returns `Unsupported` in this build or on this host.
        ///
        /// # Errors
        ///
        /// Always `Unsupported`.
        pub fn new<I>(_cert_chain: I, _key: impl Into<Vec<u8>>) -> io::Result<ServerConfig>
        where
            I: IntoIterator,
            I::Item: Into<Vec<u8>>,
        {
            Err(unsupported())
        }

        /// Returns `Unsupported` in this build or on this host.
        ///
        /// # Errors
        ///
        /// Always `Unsupported`.
        pub fn from_pem(_cert_chain: &[u8], _key: &[u8]) -> io::Result<ServerConfig> {
            Err(unsupported())
        }

        /// Unreachable: no `ServerConfig` exists here.
        pub fn alpn_protocols<I>(self, _protocols: I) -> ServerConfig
        where
            I: IntoIterator,
            I::Item: AsRef<[u8]>,
        {
            self
        }
    }

    pub(crate) async fn connect(
        cfg: &ClientConfig,
        _name: &str,
        _io: crate::net::transport::BoxIo,
    ) -> io::Result<crate::net::transport::BoxIo> {
        match cfg._none {}
    }

    pub(crate) async fn accept(
        cfg: &ServerConfig,
        _io: crate::net::transport::BoxIo,
    ) -> io::Result<crate::net::transport::BoxIo> {
        match cfg._none {}
    }

    /// No TLS stream exists in this build.
    pub(crate) fn info(_io: &dyn std::any::Any) -> Option<TlsInfo> {
        None
    }
}

#[cfg(all(feature = "tls", not(target_family = "wasm")))]
mod imp {
    use std::io::IoSlice;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use futures_io::{AsyncRead, AsyncWrite};
    use futures_rustls::rustls::crypto::CryptoProvider;
    use futures_rustls::rustls::pki_types::pem::PemObject;
    use futures_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use futures_rustls::rustls::{self, CommonState, ProtocolVersion, RootCertStore};

    use super::*;
    use crate::net::transport::BoxIo;

    /// The provider chosen by the cargo features, else the process-wide
    /// default one.
    fn provider() -> io::Result<Arc<CryptoProvider>> {
        #[cfg(feature = "tls-ring")]
        return Ok(Arc::new(rustls::crypto::ring::default_provider()));
        #[cfg(all(feature = "tls-aws-lc-rs", not(feature = "tls-ring")))]
        return Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        #[allow(unreachable_code)]
        CryptoProvider::get_default().cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "TLS: no crypto provider: enable anyloop's `tls-ring` or `tls-aws-lc-rs` \
                 feature, or call rustls::crypto::CryptoProvider::install_default",
            )
        })
    }

    fn invalid(what: &str, e: impl fmt::Display) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, format!("TLS: {what}: {e}"))
    }

    fn client(roots: RootCertStore) -> io::Result<ClientConfig> {
        let cfg = rustls::ClientConfig::builder_with_provider(provider()?)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("protocol versions", e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(ClientConfig {
            inner: Arc::new(cfg),
        })
    }

    fn alpn<I>(protocols: I) -> Vec<Vec<u8>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        protocols.into_iter().map(|p| p.as_ref().to_vec()).collect()
    }

    impl ClientConfig {
        /// Verifies servers against the Mozilla root certificates
        /// (webpki-roots): asyncio's `ssl.create_default_context()`.
        ///
        /// # Errors
        ///
        /// `Unsupported` without TLS (see the [module docs](super)) or
        /// without a crypto provider.
        pub fn new() -> io::Result<ClientConfig> {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            client(roots)
        }

        /// Trusts exactly `certs` (DER-encoded CA or self-signed
        /// certificates): asyncio's `load_verify_locations(cadata=...)`.
        ///
        /// # Errors
        ///
        /// `InvalidInput` for a certificate rustls cannot use as a trust
        /// anchor; `Unsupported` as [`new`](Self::new).
        #[doc(alias = "load_verify_locations")]
        pub fn with_root_certificates<I>(certs: I) -> io::Result<ClientConfig>
        where
            I: IntoIterator,
            I::Item: AsRef<[u8]>,
        {
            let mut roots = RootCertStore::empty();
            for c in certs {
                roots
                    .add(CertificateDer::from(c.as_ref().to_vec()))
                    .map_err(|e| invalid("root certificate", e))?;
            }
            client(roots)
        }

        /// Offers these ALPN protocols, most preferred first (asyncio's
        /// `set_alpn_protocols`).
        #[doc(alias = "set_alpn_protocols")]
        pub fn alpn_protocols<I>(mut self, protocols: I) -> ClientConfig
        where
            I: IntoIterator,
            I::Item: AsRef<[u8]>,
        {
            Arc::make_mut(&mut self.inner).alpn_protocols = alpn(protocols);
            self
        }

        /// Uses a rustls configuration built by hand (client
        /// certificates, custom verifiers, key logging, ...).
        pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> ClientConfig {
            ClientConfig { inner: config }
        }

        /// The rustls configuration.
        pub fn as_rustls(&self) -> &Arc<rustls::ClientConfig> {
            &self.inner
        }
    }

    impl ServerConfig {
        /// Serves `cert_chain` (DER, leaf first) with its private key
        /// (DER: PKCS#8, PKCS#1 or SEC1): asyncio's `load_cert_chain`.
        ///
        /// # Errors
        ///
        /// `InvalidInput` if the key is not a private key rustls reads or
        /// does not match the certificate; `Unsupported` without TLS.
        pub fn new<I>(cert_chain: I, key: impl Into<Vec<u8>>) -> io::Result<ServerConfig>
        where
            I: IntoIterator,
            I::Item: Into<Vec<u8>>,
        {
            let chain: Vec<CertificateDer<'static>> = cert_chain
                .into_iter()
                .map(|c| CertificateDer::from(c.into()))
                .collect();
            let key = PrivateKeyDer::try_from(key.into()).map_err(|e| invalid("private key", e))?;
            server(chain, key)
        }

        /// Like [`new`](Self::new), from PEM text (`-----BEGIN
        /// CERTIFICATE-----` blocks, then a `PRIVATE KEY` block).
        ///
        /// # Errors
        ///
        /// `InvalidInput` if the PEM holds no certificate or no key, or
        /// as [`new`](Self::new).
        pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> io::Result<ServerConfig> {
            let chain = CertificateDer::pem_slice_iter(cert_chain)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid("certificate PEM", e))?;
            if chain.is_empty() {
                return Err(invalid("certificate PEM", "no CERTIFICATE block"));
            }
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid("key PEM", e))?;
            server(chain, key)
        }

        /// Accepts these ALPN protocols, most preferred first.
        #[doc(alias = "set_alpn_protocols")]
        pub fn alpn_protocols<I>(mut self, protocols: I) -> ServerConfig
        where
            I: IntoIterator,
            I::Item: AsRef<[u8]>,
        {
            Arc::make_mut(&mut self.inner).alpn_protocols = alpn(protocols);
            self
        }

        /// Uses a rustls configuration built by hand (client
        /// authentication, session storage, ...).
        pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> ServerConfig {
            ServerConfig { inner: config }
        }

        /// The rustls configuration.
        pub fn as_rustls(&self) -> &Arc<rustls::ServerConfig> {
            &self.inner
        }
    }

    fn server(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> io::Result<ServerConfig> {
        let cfg = rustls::ServerConfig::builder_with_provider(provider()?)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("protocol versions", e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid("certificate and key", e))?;
        Ok(ServerConfig {
            inner: Arc::new(cfg),
        })
    }

    fn info_of(state: &CommonState, server_name: Option<&str>) -> TlsInfo {
        TlsInfo {
            alpn: state.alpn_protocol().map(<[u8]>::to_vec),
            peer_certificates: state
                .peer_certificates()
                .unwrap_or_default()
                .iter()
                .map(|c| c.to_vec())
                .collect(),
            version: state.protocol_version().map(|v| match v {
                ProtocolVersion::TLSv1_3 => "TLSv1.3",
                ProtocolVersion::TLSv1_2 => "TLSv1.2",
                _ => "TLS",
            }),
            cipher_suite: state
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str()),
            server_name: server_name.map(str::to_owned),
        }
    }

    /// What the TLS stream `io` negotiated; `None` if `io` is not one
    /// of [`connect`]'s or [`accept`]'s streams.
    pub(crate) fn info(io: &dyn std::any::Any) -> Option<TlsInfo> {
        if let Some(s) = io.downcast_ref::<Tls<futures_rustls::client::TlsStream<BoxIo>>>() {
            return Some(info_of(s.inner.get_ref().1, None));
        }
        let conn = io
            .downcast_ref::<Tls<futures_rustls::server::TlsStream<BoxIo>>>()?
            .inner
            .get_ref()
            .1;
        Some(info_of(conn, conn.server_name()))
    }

    /// A futures-rustls stream whose reads take all the plaintext at
    /// hand, not one record, and copy it out themselves.
    ///
    /// futures-rustls' `poll_read` returns after the first record that
    /// decrypts (16 KiB at most), so an echo of 64 KiB messages wrote
    /// every record in a `writev` of its own. This reads on, record after
    /// record, while the socket has data and `buf` has room, as
    /// tokio-rustls does: with the 64 KiB reads of `read_into`, the
    /// `streams` bench's TLS echo (`--quick`) makes ~550 `writev`s
    /// instead of ~1,300, as many as tokio. An error met after some data
    /// is kept for the next read, which returns it (the data before it
    /// is not lost).
    ///
    /// The plaintext rustls holds is copied out here with
    /// [`copy_plaintext`], not by rustls' `Reader::read`: futures-rustls
    /// is asked for one byte (it reads and decrypts the next record,
    /// with its own handling of end of stream, close_notify and errors)
    /// and the rest of the record is taken from rustls' buffer.
    pub(crate) struct Tls<S> {
        inner: S,
        error: Option<io::Error>,
    }

    impl<S> Tls<S> {
        fn new(inner: S) -> Tls<S> {
            Tls { inner, error: None }
        }
    }

    /// The rustls connection of a futures-rustls stream.
    pub(crate) trait Session {
        /// The plaintext rustls has decrypted and not yet handed out.
        fn reader(&mut self) -> rustls::Reader<'_>;
    }

    impl<IO> Session for futures_rustls::client::TlsStream<IO> {
        fn reader(&mut self) -> rustls::Reader<'_> {
            self.get_mut().1.reader()
        }
    }

    impl<IO> Session for futures_rustls::server::TlsStream<IO> {
        fn reader(&mut self) -> rustls::Reader<'_> {
            self.get_mut().1.reader()
        }
    }

    /// Moves the plaintext `session` holds into `buf`; returns how many
    /// bytes. Nothing held (or the end, or an error, which the next
    /// futures-rustls read reports): 0.
    fn take_plaintext(session: &mut impl Session, buf: &mut [u8]) -> usize {
        use std::io::BufRead;
        let mut reader = session.reader();
        let mut n = 0;
        while n < buf.len() {
            let k = match reader.fill_buf() {
                Ok(chunk) if !chunk.is_empty() => {
                    let k = chunk.len().min(buf.len() - n);
                    copy_plaintext(&mut buf[n..n + k], &chunk[..k]);
                    k
                }
                _ => break,
            };
            reader.consume(k);
            n += k;
        }
        n
    }

    /// `dst.copy_from_slice(src)`, in pieces of 1 KiB when `dst` lies 1
    /// to 63 bytes after `src` modulo 4 KiB.
    ///
    /// glibc (before 2.39) copies more than ~2 KiB with `rep movsb`,
    /// which on AMD Zen 3/4 runs ~30 times slower at such distances
    /// (glibc bug 30994: 3 GB/s instead of ~90 for 16 KiB on the bench
    /// machine); pieces below that size take glibc's vector loop, which
    /// has no such case (40-80 GB/s). A record's plaintext lands at
    /// such a distance from the reader's buffer often (heap blocks of
    /// 16 KiB + a header are 16 bytes apart modulo 4 KiB): in the
    /// `streams` bench's TLS echo, ~40% of anyloop's copies out of
    /// rustls did, which cost more CPU than decrypting the data.
    fn copy_plaintext(dst: &mut [u8], src: &[u8]) {
        const PIECE: usize = 1024;
        let distance = (dst.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize) % 4096;
        if src.len() <= 2 * PIECE || !(1..64).contains(&distance) {
            dst.copy_from_slice(src);
            return;
        }
        for (d, s) in dst.chunks_mut(PIECE).zip(src.chunks(PIECE)) {
            d.copy_from_slice(s);
        }
    }

    #[cfg(test)]
    #[test]
    fn copy_plaintext_copies_at_every_distance_and_length() {
        let src: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8).collect();
        let mut dst = vec![0u8; 20_000 + 4096];
        // Lengths around the piece size and a record's; destinations
        // from 0 to 4 KiB away from the source modulo 4 KiB, the close
        // ones (chunked copy) included.
        for len in [0, 1, 2047, 2048, 2049, 3000, 16_384, 16_385, 19_999] {
            for shift in (0..130).chain([4000, 4095]) {
                let base = dst.as_ptr() as usize;
                let to = (src.as_ptr() as usize + shift).wrapping_sub(base) % 4096;
                dst.fill(0);
                copy_plaintext(&mut dst[to..to + len], &src[..len]);
                assert!(
                    dst[to..to + len] == src[..len],
                    "len {len}, distance {shift}"
                );
                assert!(dst[..to].iter().chain(&dst[to + len..]).all(|&b| b == 0));
            }
        }
    }

    impl<S: AsyncRead + Session + Unpin> AsyncRead for Tls<S> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            if let Some(e) = this.error.take() {
                return Poll::Ready(Err(e));
            }
            if buf.is_empty() {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut n = 0;
            loop {
                n += take_plaintext(&mut this.inner, &mut buf[n..]);
                if n == buf.len() {
                    break;
                }
                // The next record, if the socket has one (a `Pending`
                // leaves the waker registered, as any read would): its
                // first byte through futures-rustls, the rest above.
                match Pin::new(&mut this.inner).poll_read(cx, &mut buf[n..=n]) {
                    Poll::Ready(Ok(0)) => break,
                    Poll::Ready(Ok(k)) => n += k,
                    Poll::Pending if n == 0 => return Poll::Pending,
                    Poll::Pending => break,
                    Poll::Ready(Err(e)) if n == 0 => return Poll::Ready(Err(e)),
                    Poll::Ready(Err(e)) => {
                        this.error = Some(e);
                        break;
                    }
                }
            }
            Poll::Ready(Ok(n))
        }
    }

    impl<S: AsyncWrite + Unpin> AsyncWrite for Tls<S> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
        }
        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
        }
        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().inner).poll_flush(cx)
        }
        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().inner).poll_close(cx)
        }
    }

    /// The client handshake over `io`.
    pub(crate) async fn connect(cfg: &ClientConfig, name: &str, io: BoxIo) -> io::Result<BoxIo> {
        let literal = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        let server_name = ServerName::try_from(literal.to_owned())
            .map_err(|e| invalid(&format!("server_hostname {name:?}"), e))?;
        let stream = futures_rustls::TlsConnector::from(cfg.inner.clone())
            .connect(server_name, io)
            .await
            .map_err(|e| handshake_error(e, name))?;
        Ok(Box::pin(Tls::new(stream)))
    }

    /// The server handshake over `io`.
    pub(crate) async fn accept(cfg: &ServerConfig, io: BoxIo) -> io::Result<BoxIo> {
        let stream = futures_rustls::TlsAcceptor::from(cfg.inner.clone())
            .accept(io)
            .await
            .map_err(|e| handshake_error(e, "the client"))?;
        Ok(Box::pin(Tls::new(stream)))
    }

    fn handshake_error(e: io::Error, peer: &str) -> io::Error {
        io::Error::new(e.kind(), format!("TLS handshake with {peer} failed: {e}"))
    }
}

pub(crate) use imp::{accept, connect, info};
