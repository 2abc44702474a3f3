//! Allocator tuning for training loops.
//!
//! A training step allocates and frees hundreds of megabyte-sized tensors. glibc
//! serves blocks above its mmap threshold with fresh `mmap`s and returns them on
//! free, so every step pays page faults that zero the same memory again (measured:
//! LoRAN steps took 35 % longer, with wide jitter). Keeping large blocks in the heap
//! and never trimming it lets steps reuse their memory. "Never" must be -1 (mallopt's
//! documented off switch): a threshold of `c_int::MAX` still trimmed whenever more
//! than 2 GiB was free at the top, which a 1,024-token step over every linear frees at
//! its end (measured: 2.6 GB of pages faulted in again per step, a sixth of its time
//! in the kernel's `clear_page`). Peak memory is unchanged;
//! the resident size simply stays at the peak after it.

/// Keeps freed memory in the process heap (glibc only; a no-op elsewhere).
/// Returns whether the allocator accepted the settings.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MIB: libc::c_int = 1 << 20;
        // SAFETY: mallopt only adjusts allocator parameters; called before threads start.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * MIB) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, -1) == 1
                && libc::mallopt(libc::M_TOP_PAD, 64 * MIB) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Returns free heap memory to the system (glibc `malloc_trim`; a no-op elsewhere),
/// e.g. after a dense model was replaced by its quantized copy.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
