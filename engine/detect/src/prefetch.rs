//! Cache hints. With tens of thousands of identities, most of an event's time in the engine
//! is spent waiting for its identity's state to come from memory. The engine asks the
//! processor to start loading the state of the events it will evaluate next while it evaluates
//! the current one ([`crate::engine`]).
//!
//! Why this module allows `unsafe`: the prefetch instruction is reached through an intrinsic
//! that Rust marks `unsafe`, although it reads nothing a program can observe and never faults,
//! whatever the address (stable Rust has no safe wrapper yet). These functions take
//! references or slices only, so every address they hint at is one the caller may read.
#![allow(unsafe_code)]

/// Cache lines hinted at most per call: the state worth warming is at the front.
const MAX_LINES: usize = 8;

fn line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is a hint: it has no effect a program can observe and never faults.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

fn bytes(start: *const u8, len: usize) {
    for offset in (0..len.min(MAX_LINES * 64)).step_by(64) {
        line(start.wrapping_add(offset));
    }
}

/// Hints at the memory of `value` itself.
pub(crate) fn value<T>(value: &T) {
    bytes(std::ptr::from_ref(value).cast(), size_of::<T>());
}

/// Hints at the items of `items` (the first few cache lines).
pub(crate) fn slice<T>(items: &[T]) {
    bytes(items.as_ptr().cast(), size_of_val(items));
}
