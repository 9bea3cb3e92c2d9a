//! Files: `anyloop::fs` (aiofiles): whole-file helpers, `File` through
//! futures-io, directories. Natively through the blocking pool, on WASI
//! on the preopened directory (`wasmtime run --dir .`), `Unsupported` on
//! the web.

mod common;

use std::io::{self, SeekFrom};
use std::path::PathBuf;

use anyloop::fs;
use common::supported_feature;
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, StreamExt};

fn has_fs() -> bool {
    anyloop::capabilities().fs
}

/// A fresh directory for one test, under the crate's `target/` (inside
/// the preopened directory on WASI).
async fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from("target").join("fs-tests").join(name);
    let _ = fs::remove_dir_all(&dir).await;
    fs::create_dir_all(&dir).await.unwrap();
    dir
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 253) as u8 ^ (i >> 10) as u8)
        .collect()
}

#[anyloop::test]
async fn fs_is_unsupported_exactly_where_the_capability_is_off() {
    let dir = PathBuf::from("target").join("fs-tests");
    let res = fs::create_dir_all(&dir).await;
    supported_feature(res, has_fs(), "create_dir_all", "file system");
    let res = fs::write(dir.join("probe"), b"x").await;
    supported_feature(res, has_fs(), "fs::write", "file system");
    let res = fs::File::open(dir.join("probe")).await;
    supported_feature(res, has_fs(), "File::open", "file system");
    let res = fs::read_dir(&dir).await;
    supported_feature(res, has_fs(), "read_dir", "file system");
}

#[anyloop::test]
async fn whole_files_round_trip() {
    if !has_fs() {
        return;
    }
    let dir = scratch("whole").await;
    let path = dir.join("data.bin");
    let data = pattern(300_000);
    fs::write(&path, &data).await.unwrap();
    assert_eq!(fs::read(&path).await.unwrap(), data);
    assert_eq!(fs::metadata(&path).await.unwrap().len(), data.len() as u64);

    let text = dir.join("text.txt");
    fs::write(&text, "one\n").await.unwrap();
    fs::append(&text, "two\n").await.unwrap();
    fs::append(dir.join("new.txt"), "created by append")
        .await
        .unwrap();
    assert_eq!(fs::read_to_string(&text).await.unwrap(), "one\ntwo\n");
    assert_eq!(
        fs::read_to_string(dir.join("new.txt")).await.unwrap(),
        "created by append"
    );

    let copied = fs::copy(&text, dir.join("copy.txt")).await.unwrap();
    // std reads the count on Windows from CopyFileExW's progress callback,
    // which Wine 8 never calls (it returns 0 there); the copy itself works.
    if !common::under_wine() {
        assert_eq!(copied, 8);
    }
    fs::rename(dir.join("copy.txt"), dir.join("moved.txt"))
        .await
        .unwrap();
    assert!(!fs::try_exists(dir.join("copy.txt")).await.unwrap());
    assert_eq!(
        fs::read(dir.join("moved.txt")).await.unwrap(),
        b"one\ntwo\n"
    );
    fs::remove_file(dir.join("moved.txt")).await.unwrap();
    assert!(!fs::try_exists(dir.join("moved.txt")).await.unwrap());
    assert!(fs::try_exists(&text).await.unwrap());
    fs::remove_dir_all(&dir).await.unwrap();
}

#[anyloop::test]
async fn errors_are_the_os_errors() {
    if !has_fs() {
        return;
    }
    let dir = scratch("errors").await;
    let err = fs::read(dir.join("missing")).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = fs::File::open(dir.join("missing")).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = fs::create_dir(&dir).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    fs::write(dir.join("bad.txt"), [0xff, 0xfe, b'x'])
        .await
        .unwrap();
    let err = fs::read_to_string(dir.join("bad.txt")).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let err = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join("bad.txt"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    fs::remove_dir_all(&dir).await.unwrap();
}

#[anyloop::test]
async fn a_file_reads_writes_and_seeks() {
    if !has_fs() {
        return;
    }
    let dir = scratch("file").await;
    let path = dir.join("f.bin");
    let data = pattern(1 << 20);

    let mut f = fs::File::create(&path).await.unwrap();
    for chunk in data.chunks(10_000) {
        f.write_all(chunk).await.unwrap();
    }
    f.flush().await.unwrap();
    assert_eq!(f.metadata().await.unwrap().len(), data.len() as u64);
    drop(f);

    let mut f = fs::File::open(&path).await.unwrap();
    let mut back = Vec::new();
    f.read_to_end(&mut back).await.unwrap();
    assert!(back == data, "read back differs");

    // Seeks count from the caller's position, not the read-ahead's.
    assert_eq!(f.seek(SeekFrom::Start(100)).await.unwrap(), 100);
    let mut two = [0u8; 2];
    f.read_exact(&mut two).await.unwrap();
    assert_eq!(two, data[100..102]);
    assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 102);
    assert_eq!(f.seek(SeekFrom::Current(-2)).await.unwrap(), 100);
    assert_eq!(
        f.seek(SeekFrom::End(-1)).await.unwrap(),
        data.len() as u64 - 1
    );
    let mut last = Vec::new();
    f.read_to_end(&mut last).await.unwrap();
    assert_eq!(last, data[data.len() - 1..]);

    // A write after a short read lands right after what was read.
    // Closed before the directory is removed: on Windows without POSIX
    // delete semantics (Wine, older Windows) an open file leaves it
    // "not empty".
    drop(f);
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .await
        .unwrap();
    let mut ten = [0u8; 10];
    f.read_exact(&mut ten).await.unwrap();
    f.write_all(b"XYZ").await.unwrap();
    f.flush().await.unwrap();
    f.set_len(20).await.unwrap();
    f.sync_all().await.unwrap();
    drop(f);
    let mut expected = data[..20].to_vec();
    expected[10..13].copy_from_slice(b"XYZ");
    assert_eq!(fs::read(&path).await.unwrap(), expected);

    // Append mode.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .await
        .unwrap();
    f.write_all(b"END").await.unwrap();
    f.close().await.unwrap();
    drop(f);
    let all = fs::read(&path).await.unwrap();
    assert_eq!(&all[20..], b"END");
    fs::remove_dir_all(&dir).await.unwrap();
}

#[anyloop::test]
async fn directories_list_create_and_remove() {
    if !has_fs() {
        return;
    }
    let dir = scratch("dirs").await;
    fs::create_dir_all(dir.join("a/b/c")).await.unwrap();
    fs::create_dir_all(dir.join("a/b/c")).await.unwrap(); // exists: fine
    fs::write(dir.join("a/file.txt"), "x").await.unwrap();
    fs::create_dir(dir.join("a/empty")).await.unwrap();

    let mut entries = fs::read_dir(dir.join("a")).await.unwrap();
    let mut seen = Vec::new();
    while let Some(e) = entries.next_entry().await.unwrap() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert_eq!(e.path(), dir.join("a").join(&name));
        let md = e.metadata().await.unwrap();
        assert_eq!(md.is_dir(), e.file_type().is_dir());
        seen.push((name, e.file_type().is_dir()));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("b".to_string(), true),
            ("empty".to_string(), true),
            ("file.txt".to_string(), false)
        ]
    );
    // Also a Stream.
    let n = fs::read_dir(dir.join("a/b")).await.unwrap().count().await;
    assert_eq!(n, 1);

    assert!(fs::metadata(dir.join("a/b")).await.unwrap().is_dir());
    fs::remove_dir(dir.join("a/empty")).await.unwrap();
    let err = fs::remove_dir(dir.join("a")).await.unwrap_err();
    assert_ne!(err.kind(), io::ErrorKind::NotFound, "{err}");
    fs::remove_dir_all(&dir).await.unwrap();
    assert!(!fs::try_exists(&dir).await.unwrap());
}

#[anyloop::test]
async fn other_tasks_run_while_files_are_read() {
    if !has_fs() {
        return;
    }
    let dir = scratch("concurrent").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let path = dir.join(format!("f{i}"));
            anyloop::spawn(async move {
                let data = pattern(100_000 + i);
                fs::write(&path, &data).await?;
                io::Result::Ok(fs::read(&path).await? == data)
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().unwrap());
    }
    fs::remove_dir_all(&dir).await.unwrap();
}
