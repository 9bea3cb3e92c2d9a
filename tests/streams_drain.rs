//! `drain` blocks a writer whose peer does not read: 100 MiB written with
//! drain to a stalled peer keeps the process's resident memory under
//! 64 MiB. Its own test binary, so no other test's memory counts.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::net::{open_connection, start_server};

const TOTAL: usize = 100 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
const RSS_LIMIT_KB: u64 = 64 * 1024;

/// Resident set size and its peak in KiB, where `/proc` exists.
fn rss_kb() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[anyloop::test]
async fn drain_blocks_a_writer_whose_peer_does_not_read() {
    let caps = anyloop::capabilities();
    let release = Rc::new(Cell::new(false));
    let received = Rc::new(Cell::new(usize::MAX));
    let (rel2, rec2) = (release.clone(), received.clone());
    let server = start_server(
        move |mut r, _w| {
            let (release, received) = (rel2.clone(), rec2.clone());
            async move {
                // Stall: read nothing until released.
                while !release.get() {
                    anyloop::sleep(Duration::from_millis(1)).await;
                }
                let mut total = 0;
                loop {
                    let chunk = r.read(CHUNK).await?;
                    if chunk.is_empty() {
                        break;
                    }
                    assert!(chunk.iter().all(|&b| b == 0xA5));
                    total += chunk.len();
                }
                received.set(total);
                std::io::Result::Ok(())
            }
        },
        "127.0.0.1",
        0,
    )
    .await;
    let Some(server) = common::supported(server, caps.tcp_listen, "start_server") else {
        return;
    };
    let port = server.local_addr().unwrap().port();
    let Some((_r, w)) = common::supported(
        open_connection("127.0.0.1", port).await,
        caps.tcp_connect,
        "open_connection",
    ) else {
        return;
    };

    let written = Rc::new(Cell::new(0usize));
    let max_buffered = Rc::new(Cell::new(0usize));
    let (wr2, mb2) = (written.clone(), max_buffered.clone());
    let writer = anyloop::spawn(async move {
        let chunk = vec![0xA5u8; CHUNK];
        while wr2.get() < TOTAL {
            w.write(&chunk);
            mb2.set(mb2.get().max(w.write_buffer_size()));
            w.drain().await?;
            wr2.set(wr2.get() + CHUNK);
        }
        w.close();
        w.wait_closed().await
    });

    // Wait until the writer makes no more progress: blocked in drain.
    let mut last = usize::MAX;
    let mut stable = 0;
    common::deadline("the writer to block", async {
        while stable < 5 {
            anyloop::sleep(Duration::from_millis(20)).await;
            let now = written.get();
            if now == last {
                stable += 1;
            } else {
                stable = 0;
                last = now;
            }
        }
    })
    .await;
    let blocked_at = written.get();
    assert!(
        blocked_at < TOTAL / 4,
        "the writer got {blocked_at} bytes out although the peer reads nothing"
    );
    assert!(!writer.is_finished());
    if let Some((rss, _)) = rss_kb() {
        eprintln!(
            "drain: writer blocked after {} KiB (kernel buffers + {} KiB in the writer); RSS {rss} KiB",
            blocked_at / 1024,
            max_buffered.get() / 1024
        );
        assert!(rss < RSS_LIMIT_KB, "RSS {rss} KiB while blocked");
    }

    // Let the peer read: everything arrives, memory stayed bounded.
    release.set(true);
    common::deadline("the writer", writer)
        .await
        .unwrap()
        .unwrap();
    common::wait_until("the reader", Duration::from_secs(60), || {
        received.get() != usize::MAX
    })
    .await;
    assert_eq!(received.get(), TOTAL);
    assert!(max_buffered.get() <= 2 * CHUNK + anyloop::net::DEFAULT_HIGH_WATER);
    if let Some((rss, peak)) = rss_kb() {
        eprintln!("drain: after 100 MiB, RSS {rss} KiB, peak {peak} KiB");
        assert!(peak < RSS_LIMIT_KB, "peak RSS {peak} KiB");
    }
}
