//! Task allocations: the global allocator natively; on single-threaded
//! wasm, a small cache of freed task blocks in front of it.
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
//! first word; at most [`MAX_CACHED`] bytes or half the linear
//! memory in all, whichever is more, beyond which frees go to the
//! allocator as before (a burst of 100,000 tasks ending leaves at most
//! half of the heap kept for task blocks; the rest goes back to the
//! allocator for any use). Blocks of a class are always allocated with
//! the class's layout, so a block can go back to the allocator from the
//! cache or directly.
//!
//! # Why the limit grows with the heap
//!
//! A fixed 64 KiB served only the first few hundred of a burst: a program
//! that spawns 20,000 tasks and joins them (the `spawn_join` bench row)
//! paid `dlmalloc`'s allocate and free for almost every one, ~290 of its
//! ~995 instructions per task under wasmtime. Linear memory never shrinks,
//! so the blocks a burst needed are in the heap anyway; the limit only
//! decides how many stay task blocks (served in a dozen instructions) and
//! how many go back to `dlmalloc`'s free lists for other sizes. The cache is a plain static: these targets have no
//! threads (`cfg(not(target_feature = "atomics"))`), and nothing in it
//! calls out to code that could re-enter it.

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
/// The bytes the cache may always keep in all (see [`limit`] for more).
const MAX_CACHED: usize = 64 * 1024;

/// The most bytes the cache keeps: [`MAX_CACHED`] or half the linear
/// memory, whichever is more (see the module docs).
#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
#[inline]
fn limit() -> usize {
    #[cfg(target_arch = "wasm32")]
    let heap = std::arch::wasm32::memory_size(0).saturating_mul(65_536);
    #[cfg(not(target_arch = "wasm32"))]
    let heap = 0;
    MAX_CACHED.max(heap / 2)
}

#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
/// Free task blocks by size class.
pub(crate) struct Cache {
    /// Head of each class's free list (null: empty).
    heads: [*mut u8; CLASSES],
    /// Bytes held in all lists.
    bytes: usize,
}

#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
impl Cache {
    pub(crate) const fn new() -> Cache {
        Cache {
            heads: [std::ptr::null_mut(); CLASSES],
            bytes: 0,
        }
    }

    /// The class of `layout` and the layout its blocks are allocated
    /// with; `None` for what the cache does not keep.
    #[inline]
    fn class(layout: Layout) -> Option<(usize, Layout)> {
        if layout.align() > STEP || layout.size() > MAX_SIZE || layout.size() == 0 {
            return None;
        }
        let class = (layout.size() - 1) / STEP;
        // SAFETY: a non-zero multiple of 8 up to 512 with alignment 8 is
        // a valid layout.
        let block = unsafe { Layout::from_size_align_unchecked((class + 1) * STEP, STEP) };
        Some((class, block))
    }

    /// A block for `layout`: a cached one, else a fresh one (null if the
    /// allocator fails).
    ///
    /// # Safety
    ///
    /// As [`std::alloc::alloc`]: `layout` is not zero-sized.
    #[inline]
    pub(crate) unsafe fn alloc(&mut self, layout: Layout) -> *mut u8 {
        let Some((class, block)) = Self::class(layout) else {
            // SAFETY: forwarded from the caller.
            return unsafe { std::alloc::alloc(layout) };
        };
        let head = self.heads[class];
        if head.is_null() {
            // SAFETY: `block` is not zero-sized.
            return unsafe { std::alloc::alloc(block) };
        }
        // SAFETY: a cached block is at least one word, aligned to 8, and
        // its first word holds the next free block (written by `dealloc`).
        self.heads[class] = unsafe { head.cast::<*mut u8>().read() };
        self.bytes -= block.size();
        head
    }

    /// Gives back a block [`alloc`](Self::alloc) returned for `layout`.
    ///
    /// # Safety
    ///
    /// `ptr` came from `self.alloc(layout)` (or from a `Cache`'s, any:
    /// the layout decides) and is not used after.
    #[inline]
    pub(crate) unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        let Some((class, block)) = Self::class(layout) else {
            // SAFETY: allocated with `layout` (see `alloc`).
            return unsafe { std::alloc::dealloc(ptr, layout) };
        };
        if self.bytes + block.size() > MAX_CACHED && self.bytes + block.size() > limit() {
            // SAFETY: blocks of a class are allocated with `block`.
            return unsafe { std::alloc::dealloc(ptr, block) };
        }
        // SAFETY: the block is ours, at least a word and aligned to 8.
        unsafe { ptr.cast::<*mut u8>().write(self.heads[class]) };
        self.heads[class] = ptr;
        self.bytes += block.size();
    }
}

#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
impl Drop for Cache {
    fn drop(&mut self) {
        for (class, head) in self.heads.iter_mut().enumerate() {
            let block = Layout::from_size_align((class + 1) * STEP, STEP)
                .unwrap_or_else(|_| unreachable!("valid by construction"));
            let mut p = std::mem::replace(head, std::ptr::null_mut());
            while !p.is_null() {
                // SAFETY: a cached block: its first word is the next one;
                // it was allocated with its class's layout.
                unsafe {
                    let next = p.cast::<*mut u8>().read();
                    std::alloc::dealloc(p, block);
                    p = next;
                }
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
            assert_eq!(c.bytes, 136);
            // 130 bytes rounds up to the same 136-byte class.
            let b = c.alloc(layout(130, 4));
            assert_eq!(a, b);
            assert_eq!(c.bytes, 0);
            // Another class: a fresh block.
            let d = c.alloc(layout(64, 8));
            assert_ne!(d, b);
            c.dealloc(b, layout(130, 4));
            c.dealloc(d, layout(64, 8));
        }
        // Dropping the cache frees both (miri reports a leak otherwise).
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
    fn large_overaligned_and_excess_blocks_go_to_the_allocator() {
        let mut c = Cache::new();
        // SAFETY: every block is freed once, with the layout it was
        // allocated for, and not used after.
        unsafe {
            let big = c.alloc(layout(MAX_SIZE + 8, 8));
            c.dealloc(big, layout(MAX_SIZE + 8, 8));
            let aligned = c.alloc(layout(32, 16));
            assert_eq!(aligned as usize % 16, 0);
            c.dealloc(aligned, layout(32, 16));
            assert_eq!(c.bytes, 0);
            // Fill the budget with 512-byte blocks, then one more.
            let n = MAX_CACHED / MAX_SIZE + 1;
            let blocks: Vec<*mut u8> = (0..n).map(|_| c.alloc(layout(MAX_SIZE, 8))).collect();
            for &b in &blocks {
                c.dealloc(b, layout(MAX_SIZE, 8));
            }
            assert_eq!(c.bytes, MAX_CACHED);
        }
    }
}
