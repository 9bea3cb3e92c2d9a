//! Task allocations: the global allocator natively; on single-threaded
//! wasm, size-class free lists and chunks carved in order in front of it.
//!
//! # Why on wasm only
//!
//! Every spawn allocates its task once and frees it when the task ends
//! (`raw::spawn`, `TaskCell::dealloc`). Natively that is glibc's
//! thread cache or similar: a few dozen instructions. On wasm32 the
//! allocator is a `dlmalloc` compiled to wasm (wasi-libc's on WASI, Rust's
//! port on the web) behind three wrapper calls each way: measured under
//! wasmtime (`TARGET=wasm32-wasip2 benches/callgrind.sh`), one
//! allocate-and-free of a task was ~230 instructions, a fifth of a whole
//! spawn-run-finish (`chained_spawn`: 1,237 Ir per task). A task that
//! ends and a task spawned after it usually have the same type (a
//! server's per-connection task, a chain of steps), so the freed block is
//! kept and handed to the next spawn of that size.
//!
//! # The cache
//!
//! One singly linked free list per size class (8-byte steps up to
//! [`MAX_SIZE`], alignment at most 8), linked through each free block's
//! first word. When a class's list is empty, the block is carved from a
//! chunk ([`CHUNK`] bytes from the allocator, shared by all classes) by
//! moving a pointer: no allocator call per task even the first time. A
//! freed block always goes back to its class's list; blocks are never
//! returned to the allocator one by one (a carved block is part of its
//! chunk). Blocks larger than [`MAX_SIZE`] or aligned to more than 8 go
//! straight to the allocator, as natively.
//!
//! # Why carve, and why keep every block
//!
//! The first form kept freed blocks up to a limit (at first 64 KiB, then
//! half the linear memory) and allocated every fresh block from the
//! allocator: a program that spawns 20,000 tasks and joins them (the
//! `spawn_join` bench row) paid `dlmalloc`'s allocate for every task of
//! the first burst and its free for those over the limit: ~130 and ~100
//! instructions under wasmtime, against ~900 for the whole
//! spawn-run-join. Carving costs a compare and an add, and the blocks of
//! a burst lie next to each other in spawn order (the order the loop
//! runs and joins them in).
//!
//! The price: the memory of a class's blocks stays with that class, at
//! its peak (the most blocks of that size alive at once). Linear memory
//! never shrinks, so the peak was in the heap anyway; what is lost is
//! only its reuse by allocations of other sizes after a burst. The cache
//! is a plain static: these targets have no threads
//! (`cfg(not(target_feature = "atomics"))`), and nothing in it calls out
//! to code that could re-enter it (the allocator does not spawn).

use std::alloc::Layout;

#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
/// Size classes are multiples of this.
const STEP: usize = 8;
#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
/// The largest block the cache keeps.
const MAX_SIZE: usize = 512;
#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
const CLASSES: usize = MAX_SIZE / STEP;
#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
/// The bytes of each chunk blocks are carved from (a multiple of
/// [`STEP`]; its first word links it to the previous chunk, for `Drop`).
const CHUNK: usize = 16 * 1024;

#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
/// Free task blocks by size class, and the chunk fresh ones come from.
pub(crate) struct Cache {
    /// Head of each class's free list (null: empty).
    heads: [*mut u8; CLASSES],
    /// The next free byte of the current chunk (null: none yet)...
    bump: *mut u8,
    /// ...and how many bytes are left after it.
    left: usize,
    /// The current chunk (its first word: the previous one; null: none).
    chunks: *mut u8,
}

#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
impl Cache {
    pub(crate) const fn new() -> Cache {
        Cache {
            heads: [std::ptr::null_mut(); CLASSES],
            bump: std::ptr::null_mut(),
            left: 0,
            chunks: std::ptr::null_mut(),
        }
    }

    /// The layout of every chunk.
    fn chunk_layout() -> Layout {
        Layout::from_size_align(CHUNK, STEP)
            .unwrap_or_else(|_| unreachable!("valid by construction"))
    }

    /// The class of `layout`; `None` for what the cache does not keep.
    #[inline]
    fn class(layout: Layout) -> Option<usize> {
        if layout.align() > STEP || layout.size() > MAX_SIZE || layout.size() == 0 {
            return None;
        }
        Some((layout.size() - 1) / STEP)
    }

    /// A block for `layout`: a cached one, else a fresh one (null if the
    /// allocator fails).
    ///
    /// # Safety
    ///
    /// As [`std::alloc::alloc`]: `layout` is not zero-sized.
    #[inline]
    pub(crate) unsafe fn alloc(&mut self, layout: Layout) -> *mut u8 {
        let Some(class) = Self::class(layout) else {
            // SAFETY: forwarded from the caller.
            return unsafe { std::alloc::alloc(layout) };
        };
        let head = self.heads[class];
        if head.is_null() {
            return self.carve((class + 1) * STEP);
        }
        // SAFETY: a cached block is at least one word, aligned to 8, and
        // its first word holds the next free block (written by `dealloc`).
        self.heads[class] = unsafe { head.cast::<*mut u8>().read() };
        head
    }

    /// A fresh block of `size` bytes (a class's size) from the current
    /// chunk, or from a new one (null if the allocator fails).
    #[inline]
    fn carve(&mut self, size: usize) -> *mut u8 {
        if self.left < size {
            return self.carve_new_chunk(size);
        }
        let p = self.bump;
        // SAFETY: `size` bytes are left in the chunk after `bump`.
        self.bump = unsafe { p.add(size) };
        self.left -= size;
        p
    }

    /// [`carve`](Self::carve) from a new chunk (out of line: once per
    /// chunk). What was left of the old one (less than a block) is lost.
    #[cold]
    #[inline(never)]
    fn carve_new_chunk(&mut self, size: usize) -> *mut u8 {
        // SAFETY: `CHUNK` is not zero.
        let chunk = unsafe { std::alloc::alloc(Self::chunk_layout()) };
        if chunk.is_null() {
            return chunk;
        }
        // SAFETY: a fresh chunk, aligned to 8; its first word links the
        // previous chunk, its blocks follow.
        unsafe {
            chunk.cast::<*mut u8>().write(self.chunks);
            self.bump = chunk.add(STEP);
        }
        self.chunks = chunk;
        self.left = CHUNK - STEP;
        self.carve(size)
    }

    /// Gives back a block [`alloc`](Self::alloc) returned for `layout`.
    ///
    /// # Safety
    ///
    /// `ptr` came from `self.alloc(layout)` and is not used after.
    #[inline]
    pub(crate) unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        let Some(class) = Self::class(layout) else {
            // SAFETY: allocated with `layout` (see `alloc`).
            return unsafe { std::alloc::dealloc(ptr, layout) };
        };
        // SAFETY: the block is ours, at least a word and aligned to 8.
        unsafe { ptr.cast::<*mut u8>().write(self.heads[class]) };
        self.heads[class] = ptr;
    }
}

#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
impl Drop for Cache {
    fn drop(&mut self) {
        // Every block is part of a chunk: freeing the chunks frees them.
        let mut c = std::mem::replace(&mut self.chunks, std::ptr::null_mut());
        while !c.is_null() {
            // SAFETY: a chunk: its first word is the previous one; it was
            // allocated with `chunk_layout`.
            unsafe {
                let prev = c.cast::<*mut u8>().read();
                std::alloc::dealloc(c, Self::chunk_layout());
                c = prev;
            }
        }
    }
}

/// The process's cache (single-threaded wasm only; see the module docs).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
mod global {
    use std::cell::UnsafeCell;

    struct Global(UnsafeCell<super::Cache>);

    // SAFETY: without the `atomics` target feature a wasm instance has one
    // thread, so the cache is never reached from two threads.
    unsafe impl Sync for Global {}

    static CACHE: Global = Global(UnsafeCell::new(super::Cache::new()));

    /// # Safety
    ///
    /// `f` must not re-enter `with` (the cache's methods never do).
    #[inline]
    pub(super) unsafe fn with<R>(f: impl FnOnce(&mut super::Cache) -> R) -> R {
        // SAFETY: one thread (see `Global`) and no re-entry (the caller):
        // this is the only reference to the cache while `f` runs.
        f(unsafe { &mut *CACHE.0.get() })
    }
}

/// Allocates a task block for `layout` (null if the allocator fails).
///
/// # Safety
///
/// As [`std::alloc::alloc`]: `layout` is not zero-sized.
#[inline]
pub(crate) unsafe fn alloc(layout: Layout) -> *mut u8 {
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    // SAFETY: forwarded; `Cache::alloc` does not re-enter.
    return unsafe { global::with(|c| c.alloc(layout)) };
    #[cfg(not(all(target_family = "wasm", not(target_feature = "atomics"))))]
    // SAFETY: forwarded from the caller.
    return unsafe { std::alloc::alloc(layout) };
}

/// Frees a block [`alloc`] returned for `layout`.
///
/// # Safety
///
/// `ptr` came from `alloc(layout)` and is not used after.
#[inline]
pub(crate) unsafe fn dealloc(ptr: *mut u8, layout: Layout) {
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    // SAFETY: forwarded; `Cache::dealloc` does not re-enter.
    return unsafe { global::with(|c| c.dealloc(ptr, layout)) };
    #[cfg(not(all(target_family = "wasm", not(target_feature = "atomics"))))]
    // SAFETY: forwarded from the caller.
    return unsafe { std::alloc::dealloc(ptr, layout) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn a_freed_block_goes_to_the_next_allocation_of_its_class() {
        let mut c = Cache::new();
        // SAFETY: every block is freed once, with the layout it was
        // allocated for, and not used after.
        unsafe {
            let a = c.alloc(layout(136, 8));
            a.write_bytes(0xab, 136);
            c.dealloc(a, layout(136, 8));
            // 130 bytes rounds up to the same 136-byte class.
            let b = c.alloc(layout(130, 4));
            assert_eq!(a, b);
            // Another class: a fresh block.
            let d = c.alloc(layout(64, 8));
            assert_ne!(d, b);
            c.dealloc(b, layout(130, 4));
            c.dealloc(d, layout(64, 8));
        }
        // Dropping the cache frees the chunk (miri reports a leak otherwise).
    }

    #[test]
    fn lists_are_last_in_first_out_and_keep_every_block() {
        let mut c = Cache::new();
        // SAFETY: every block is freed once, with the layout it was
        // allocated for, and not used after.
        unsafe {
            let blocks: Vec<*mut u8> = (0..4).map(|_| c.alloc(layout(40, 8))).collect();
            for &b in &blocks {
                c.dealloc(b, layout(40, 8));
            }
            for &b in blocks.iter().rev() {
                assert_eq!(c.alloc(layout(40, 8)), b);
            }
            for &b in &blocks {
                c.dealloc(b, layout(40, 8));
            }
        }
    }

    #[test]
    fn fresh_blocks_are_carved_in_order_across_chunks() {
        let mut c = Cache::new();
        // SAFETY: every block is written within its size, freed once, with
        // the layout it was allocated for, and not used after.
        unsafe {
            // More than two chunks' worth of 512-byte blocks, then some of
            // another class: consecutive blocks of a chunk are adjacent, and
            // none overlaps another.
            let n = 2 * CHUNK / MAX_SIZE + 3;
            let mut blocks: Vec<(*mut u8, usize)> = Vec::new();
            for i in 0..n {
                let b = c.alloc(layout(MAX_SIZE, 8));
                assert!(!b.is_null());
                assert_eq!(b as usize % STEP, 0);
                b.write_bytes(i as u8, MAX_SIZE);
                blocks.push((b, MAX_SIZE));
            }
            for i in 0..8 {
                let b = c.alloc(layout(24, 8));
                b.write_bytes(0x80 | i as u8, 24);
                blocks.push((b, 24));
            }
            let adjacent = blocks
                .windows(2)
                .filter(|w| w[1].0 as usize == w[0].0 as usize + w[0].1)
                .count();
            assert!(
                adjacent >= blocks.len() - 4,
                "{adjacent} of {}",
                blocks.len()
            );
            let mut spans: Vec<(usize, usize)> = blocks
                .iter()
                .map(|&(b, n)| (b as usize, b as usize + n))
                .collect();
            spans.sort();
            assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "overlap");
            for (i, &(b, n)) in blocks.iter().enumerate().take(n) {
                assert_eq!(*b.add(n - 1), i as u8);
            }
            for &(b, n) in &blocks {
                c.dealloc(b, layout(n, 8));
            }
        }
    }

    #[test]
    fn large_and_overaligned_blocks_go_to_the_allocator() {
        let mut c = Cache::new();
        // SAFETY: every block is freed once, with the layout it was
        // allocated for, and not used after.
        unsafe {
            let big = c.alloc(layout(MAX_SIZE + 8, 8));
            big.write_bytes(1, MAX_SIZE + 8);
            c.dealloc(big, layout(MAX_SIZE + 8, 8));
            let aligned = c.alloc(layout(32, 16));
            assert_eq!(aligned as usize % 16, 0);
            c.dealloc(aligned, layout(32, 16));
            // Neither took a chunk (miri: the allocator frees them).
            assert!(c.chunks.is_null());
        }
    }
}
