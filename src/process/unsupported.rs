//! Hosts without subprocesses (WASI, web, non-Unix for now): the types
//! exist so portable code compiles; [`spawn`] is never reached (the
//! facade checks `capabilities().subprocess` first) and fails if it is.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A child process: none can exist on this host.
#[derive(Debug)]
pub(crate) enum Child {}

/// The parent's end of a pipe: none can exist on this host.
#[derive(Debug)]
pub(crate) enum PipeReader {}

/// The parent's end of a stdin pipe: none can exist on this host.
#[derive(Debug)]
pub(crate) enum PipeWriter {}

pub(crate) struct Pipes {
    pub(crate) stdin: Option<PipeWriter>,
    pub(crate) stdout: Option<PipeReader>,
    pub(crate) stderr: Option<PipeReader>,
}

fn unsupported() -> io::Error {
    crate::capabilities().unsupported("subprocesses (anyloop::process)")
}

pub(crate) fn spawn(_cmd: &mut std::process::Command, _kill: bool) -> io::Result<(Child, Pipes)> {
    Err(unsupported())
}

pub(crate) fn dup_stdout() -> io::Result<std::process::Stdio> {
    Err(unsupported())
}

pub(crate) fn merged_pipe() -> io::Result<(PipeReader, std::process::Stdio, std::process::Stdio)> {
    Err(unsupported())
}

impl Child {
    pub(crate) fn id(&self) -> u32 {
        match *self {}
    }

    pub(crate) fn try_wait(&mut self) -> io::Result<Option<std::process::ExitStatus>> {
        match *self {}
    }

    pub(crate) fn poll_wait(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<io::Result<std::process::ExitStatus>> {
        match *self {}
    }

    pub(crate) fn send_signal(&mut self, _sig: i32) -> io::Result<()> {
        match *self {}
    }
}

impl futures_io::AsyncRead for PipeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match *self {}
    }
}

impl futures_io::AsyncWrite for PipeWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match *self {}
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }
}
