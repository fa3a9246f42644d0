//! Giving freed memory back to the operating system. A sheet read decodes the whole
//! response (JSON values, then rows, then the parsed tab) and frees it all a moment
//! later; glibc keeps those pages in its per-thread arenas, so a 50,000-row Clans tab
//! left the process some 130 MB larger than the data it kept. Render bills (and kills)
//! by resident memory, so after a refresh the bot asks glibc to return what is free.

/// Returns the allocator's free pages to the OS (glibc on Linux; a no-op elsewhere).
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and trims glibc's own arenas; it is thread-safe and
    // touches no memory the program still uses.
    unsafe {
        libc::malloc_trim(0);
    }
}
